"""mvsnet/visualize.py: value range, colour-mapped PNG (headless), readers, clear errors."""

import os
import struct
import subprocess
import sys

import cv2
import numpy as np
import pytest

from cameras.dmb import read_dmb
from cameras.errors import InputError
from mvsnet import visualize as vis
from cameras.pfm import write_pfm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def depth_map():
    depth = np.linspace(500, 900, 12 * 16, dtype=np.float32).reshape(12, 16)
    depth[0, 0] = 0  # invalid pixel
    return depth


def test_rainbow_lut_is_matplotlibs():
    lut = vis.rainbow_lut()
    assert lut.shape == (256, 3)
    assert tuple(lut[0]) == (127, 0, 255)      # rainbow(0) = (0.5, 0, 1)
    assert tuple(lut[-1]) == (255, 0, 0)       # rainbow(1) = (1, ~0, ~0)
    assert tuple(lut[64]) == (0, 180, 235)     # x = 64/255: |2x-.5|, sin(pi x), cos(pi x/2)


def test_colorize_stretches_min_to_max():
    rgb = vis.colorize(np.array([[0.0, 1.0], [2.0, np.nan]]))
    lut = vis.rainbow_lut()
    assert tuple(rgb[0, 0]) == tuple(lut[0]) and tuple(rgb[1, 0]) == tuple(lut[-1])
    assert tuple(rgb[1, 1]) == (0, 0, 0)


def test_cli_pfm_to_png(tmp_path):
    path = tmp_path / "00000000_init.pfm"
    write_pfm(str(path), depth_map())
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "mvsnet", "visualize.py"), str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "value range:  %r %r" % (float(depth_map()[depth_map() > 0].min()), 900.0) in proc.stdout
    png = cv2.imread(str(tmp_path / "00000000_init.png"))
    assert png.shape == (12, 16, 3)
    assert tuple(png[-1, -1][::-1]) == tuple(vis.rainbow_lut()[-1])


def test_cli_errors(tmp_path):
    script = os.path.join(ROOT, "mvsnet", "visualize.py")
    proc = subprocess.run([sys.executable, script, str(tmp_path / "none.pfm")], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: %s: does not exist" % (tmp_path / "none.pfm")
    bad = tmp_path / "bad.pfm"
    bad.write_bytes(b"P6\n1 1\n255\n...")
    proc = subprocess.run([sys.executable, script, str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr.startswith("error: %s: not a PFM" % bad)
    assert len(proc.stderr.strip().splitlines()) == 1


def test_never_overwrites_the_input(tmp_path):
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(InputError, match="overwrite the input"):
        vis.visualize(str(path), output=str(path), log=lambda _: None)
    assert vis.visualize(str(path), log=lambda _: None) == str(tmp_path / "a_vis.png")


def test_npy_and_dmb(tmp_path):
    depth = depth_map()
    np.save(tmp_path / "d.npy", depth[None, :, :, None])
    lines = []
    assert vis.visualize(str(tmp_path / "d.npy"), log=lines.append) == str(tmp_path / "d.png")
    assert lines[0].startswith("value range:")
    # Gipuma dmb: type, height, width, channels, then float32 rows (x fastest)
    with open(tmp_path / "d.dmb", "wb") as f:
        f.write(struct.pack("<4i", 1, 12, 16, 1) + depth.astype("<f4").tobytes())
    np.testing.assert_array_equal(read_dmb(str(tmp_path / "d.dmb")), depth)
    (tmp_path / "e.dmb").write_bytes(struct.pack("<4i", 1, 12, 16, 1) + b"\0" * 10)
    with pytest.raises(InputError, match="data size is wrong"):
        read_dmb(str(tmp_path / "e.dmb"))
