"""mvsnet/depthfusion.py: the original's files for fusibile (byte for byte against the
original's functions: tests/fixtures/orig_depthfusion), the fusibile run, the built-in
fusion, and bad input as one-line errors."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from cameras.pfm import read_pfm, write_pfm
from mvsnet.pointcloud import gipuma
from mvsnet.pointcloud.ply import read_ply
from cameras.dmb import dmb_bytes, read_dmb, write_dmb
from scenes import fused_scene

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
ORIG = os.path.join(FIXTURES, "orig_depthfusion")
SCRIPT = os.path.join(ROOT, "mvsnet", "depthfusion.py")


def standin(tmp_path, body):
    """A fusibile stand-in: records its arguments (one per line) in args.txt, then ``body``."""
    exe = tmp_path / "fusibile"
    exe.write_text("#!%s\nimport os, sys\nopen(%r, 'w').write(''.join(a + '\\n' for a in sys.argv[1:]))\n%s\n"
                   % (sys.executable, str(tmp_path / "args.txt"), body))
    exe.chmod(0o755)
    return exe


WRITE_PLY = ("d = os.path.join(sys.argv[2], 'consistencyCheck-20190101-000000')\nos.makedirs(d, exist_ok=True)\n"
             "open(os.path.join(d, 'final3d_model.ply'), 'wb').write(b'ply')")


def run(*args):
    return subprocess.run([sys.executable, SCRIPT] + [str(a) for a in args], capture_output=True,
                          text=True, timeout=300)


def test_fusibile_route_files_match_the_original(tmp_path):
    scene = fused_scene(tmp_path)
    exe = standin(tmp_path, WRITE_PLY)
    proc = run("--dense_folder", scene, "--fusibile_exe_path", exe, "--prob_threshold", 0.043)
    assert proc.returncode == 0, proc.stderr
    ply = scene / "points_mvsnet" / "consistencyCheck-20190101-000000" / "final3d_model.ply"
    assert proc.stdout.strip().splitlines()[-1] == "point cloud: %s" % ply
    compared = 0
    for folder, _, files in os.walk(ORIG):
        for name in files:
            rel = os.path.relpath(os.path.join(folder, name), ORIG)
            if rel == "fusibile_args.txt":
                continue
            if name.endswith(".P"):  # K @ E in float64 (BLAS kernels of the CPU), str() of each value
                np.testing.assert_allclose(np.loadtxt(scene / rel), np.loadtxt(os.path.join(folder, name)),
                                           rtol=1e-12, atol=1e-9, err_msg=rel)
            else:
                with open(os.path.join(folder, name), "rb") as a, open(scene / rel, "rb") as b:
                    assert a.read() == b.read(), rel
            compared += 1
    assert compared == 5 * 4  # filtered PFM, .P, disp.dmb, normals.dmb per view
    for i in range(5):  # images/ holds test.py's images
        name = "%08d.jpg" % i
        assert (scene / "points_mvsnet" / "images" / name).read_bytes() == \
            (scene / "depths_mvsnet" / name).read_bytes()
    expected = open(os.path.join(ORIG, "fusibile_args.txt")).read().replace("DENSE", str(scene))
    assert (tmp_path / "args.txt").read_text() == expected
    # the user's input is untouched
    assert (scene / "depths_mvsnet" / "00000000_init.pfm").read_bytes() == \
        open(os.path.join(FIXTURES, "orig_test_gru", "00000000_init.pfm"), "rb").read()


def test_dmb_layout_and_fake_normals(tmp_path):
    depth = np.array([[1.5, 0], [2, 3]], np.float32)
    data = dmb_bytes(gipuma.fake_normals(depth))
    assert data[:16] == np.array([1, 2, 2, 3], "<i4").tobytes()
    planes = np.frombuffer(data[16:], "<f4").reshape(3, 2, 2)  # channel after channel
    for c in range(3):
        np.testing.assert_array_equal(planes[c], np.float32(1 / np.float32(1.732050808)) * (depth > 0))
    disp = ORIG + "/points_mvsnet/2333__00000000/disp.dmb"
    np.testing.assert_array_equal(read_dmb(disp), read_pfm(ORIG + "/depths_mvsnet/00000000_prob_filtered.pfm"))
    normals = gipuma.fake_normals(np.array([[1.5, 0, 2], [2, 3, 0]], np.float32))   # (2, 3, 3)
    path = str(tmp_path / "normals.dmb")
    write_dmb(path, normals)                                                      # round trip
    np.testing.assert_array_equal(read_dmb(path), normals)
    assert gipuma.p_text(np.arange(12.0).reshape(3, 4) / 4) == \
        "0.0 0.25 0.5 0.75 \n1.0 1.25 1.5 1.75 \n2.0 2.25 2.5 2.75 \n\n"


@pytest.mark.parametrize("body, message", [
    ("sys.exit(3)", "fusibile exited with status 3"),
    ("", "fusibile wrote no consistencyCheck-*/final3d_model.ply"),
])
def test_fusibile_failures_are_one_line_errors(tmp_path, body, message):
    scene = fused_scene(tmp_path)
    proc = run("--dense_folder", scene, "--fusibile_exe_path", standin(tmp_path, body))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and message in proc.stderr and "Traceback" not in proc.stderr


def test_missing_or_non_executable_fusibile(tmp_path):
    scene = fused_scene(tmp_path)
    proc = run("--dense_folder", scene, "--fusibile_exe_path", tmp_path / "nothing")
    assert proc.returncode == 1 and proc.stderr == "error: %s: fusibile executable does not exist\n" % (tmp_path / "nothing")
    plain = tmp_path / "plain"
    plain.write_text("x")
    proc = run("--dense_folder", scene, "--fusibile_exe_path", plain)
    assert proc.returncode == 1 and proc.stderr == "error: %s: fusibile is not an executable file\n" % plain
    assert not (scene / "points_mvsnet").exists()  # checked before anything is written


def test_builtin_fusion_writes_a_coloured_ply(tmp_path):
    scene = fused_scene(tmp_path)
    proc = run("--dense_folder", scene, "--prob_threshold", 0.035, "--disp_threshold", 2,
               "--num_consistent", 1)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert sum(line.startswith("view ") for line in lines) == 5
    out = scene / "points_mvsnet" / "fused.ply"
    assert lines[-1].startswith("fused ") and lines[-1].endswith("(fusibile mode) -> %s" % out)
    points, colors, _ = read_ply(out)
    assert len(points) == int(lines[-1].split()[1]) > 100 and colors is not None
    assert [p for p in os.listdir(scene / "points_mvsnet")] == ["fused.ply"]  # no scratch left


@pytest.mark.parametrize("setup, message", [
    (lambda s: shutil.rmtree(s / "depths_mvsnet"), "depths_mvsnet: missing depths_mvsnet/ folder"),
    (lambda s: os.remove(s / "depths_mvsnet" / "00000002_prob.pfm"), "00000002_prob.pfm: PFM file does not exist"),
    (lambda s: write_pfm(s / "depths_mvsnet" / "00000001_prob.pfm", np.ones((3, 4), np.float32)),
     "00000001_prob.pfm: probability map is 4x3 but the depth map is 40x32"),
    (lambda s: write_pfm(s / "depths_mvsnet" / "00000003_init.pfm", np.ones((3, 4), np.float32)),
     "00000003_prob.pfm: probability map is 40x32 but the depth map is 4x3"),
])
def test_bad_input_is_one_line(tmp_path, setup, message):
    scene = fused_scene(tmp_path)
    setup(scene)
    modes = [[], ["--fusion_mode", "consistency"], ["--fusibile_exe_path", standin(tmp_path, "")]]
    for extra in modes if "exist" in message else modes[:1]:  # every route reads through one loader
        proc = run("--dense_folder", scene, *extra)
        assert proc.returncode == 1, extra
        assert proc.stderr.count("\n") == 1 and message in proc.stderr, (extra, proc.stderr)


def test_bad_options(tmp_path):
    scene = fused_scene(tmp_path)
    proc = run("--dense_folder", scene, "--num_consistent", 2.5)
    assert proc.returncode == 1 and "whole number" in proc.stderr
    proc = run()
    assert proc.stderr == "error: --dense_folder is required\n"
