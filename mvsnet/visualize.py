#!/usr/bin/env python
"""Look at a depth / probability map, as the original mvsnet/visualize.py, and save it.

    python mvsnet/visualize.py DEPTH.pfm [--output OUT.png] [--show]

Reads ``.pfm`` (MVSNet depth and probability maps), ``.npy``, ``.dmb`` (Gipuma) or an
ordinary image; prints ``value range:  MIN MAX`` (MIN over the non-zero values, as the
original); writes a colour-mapped PNG (default: the input path with ``.png`` for maps,
``_vis.png`` for images), which works without a display. Maps are coloured with
matplotlib's 'rainbow' colour map stretched from the map's minimum to its maximum, as the
original's ``plt.imshow(depth, 'rainbow')``; non-finite values are black. ``--show`` also
opens the original's matplotlib window (needs matplotlib and a display).
"""

import os
import struct

import numpy as np
from absl import flags

from cameras.atomic import read_bytes, write_bytes_atomic
from cameras.errors import InputError
from mvsnet import cli
from cameras.pfm import read_pfm

FLAGS = flags.FLAGS


def define_flags():
    """The command-line flags (defined only when run as a script: importing this module
    must not add flags to the global absl registry)."""
    flags.DEFINE_string("output", None, "PNG to write (default: next to the input, see above).")
    flags.DEFINE_bool("show", False, "Also show the map in a matplotlib window, as the original.")

MAP_EXTENSIONS = (".pfm", ".npy", ".dmb")


def rainbow_lut(n=256):
    """matplotlib's 'rainbow' colour map as an (n, 3) uint8 table: red |2x - 0.5|,
    green sin(pi x), blue cos(pi x / 2), clipped to [0, 1]."""
    x = np.linspace(0.0, 1.0, n)
    rgb = np.stack([np.abs(2 * x - 0.5), np.sin(x * np.pi), np.cos(x * np.pi / 2)], axis=1)
    return (np.clip(rgb, 0.0, 1.0) * 255).astype(np.uint8)


def colorize(depth, lut=None):
    """(H, W) float map -> (H, W, 3) uint8 RGB: min..max of the finite values over the lut
    (a constant map takes the lowest colour), non-finite pixels black."""
    lut = rainbow_lut() if lut is None else lut
    depth = np.asarray(depth, dtype=np.float64)
    finite = np.isfinite(depth)
    out = np.zeros(depth.shape + (3,), np.uint8)
    if not finite.any():
        return out
    lo, hi = depth[finite].min(), depth[finite].max()
    norm = (depth - lo) / (hi - lo) if hi > lo else np.zeros_like(depth)
    index = np.clip((np.nan_to_num(norm) * len(lut)).astype(np.int64), 0, len(lut) - 1)
    out[finite] = lut[index[finite]]
    return out


def read_dmb(path):
    """A Gipuma ``.dmb`` map: int32 type, height, width, channels, then float32 values,
    x fastest, then y, then the channel (as the original read_gipuma_dmb)."""
    data = read_bytes(path, "dmb file")
    if len(data) < 16:
        raise InputError("not a dmb file: shorter than its 16-byte header", path)
    _, height, width, channels = struct.unpack("<4i", data[:16])
    if height < 1 or width < 1 or channels < 1:
        raise InputError("not a dmb file: bad header %dx%dx%d" % (height, width, channels), path)
    expected = height * width * channels * 4
    if len(data) - 16 != expected:
        raise InputError("dmb data size is wrong: a %dx%dx%d map needs %d bytes, the file has %d"
                         % (height, width, channels, expected, len(data) - 16), path)
    array = np.frombuffer(data, "<f4", offset=16).reshape((width, height, channels), order="F")
    return np.transpose(array, (1, 0, 2)).squeeze()


def read_map(path):
    """(array, is_map): a float map for .pfm/.npy/.dmb, else the image as RGB uint8."""
    ext = os.path.splitext(path)[1].lower()
    if not os.path.isfile(path):
        raise InputError("does not exist" if not os.path.exists(path) else "is not a file", path)
    if ext == ".pfm":
        return read_pfm(path), True
    if ext == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except Exception as e:
            raise InputError("not a readable .npy file: %s" % " ".join(str(e).split()), path) from None
        array = np.squeeze(array)
        if array.ndim != 2 or not np.issubdtype(array.dtype, np.number):
            raise InputError("expected a 2-D numeric map, got %s %s" % (array.dtype, array.shape), path)
        return array.astype(np.float64), True
    if ext == ".dmb":
        return read_dmb(path), True
    import cv2

    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputError("not a readable map or image (expected .pfm, .npy, .dmb or an image)", path)
    if image.ndim == 3:
        image = image[:, :, 2::-1] if image.shape[2] >= 3 else image[:, :, 0]
    return image, image.ndim == 2


def value_range(array):
    """(min, max) of the non-zero values (the original masks 0), or (None, None)."""
    values = np.asarray(array, dtype=np.float64)
    values = values[(values != 0) & np.isfinite(values)]
    if values.size == 0:
        return None, None
    return values.min(), values.max()


def default_output(path, is_map):
    stem, ext = os.path.splitext(path)
    if ext.lower() in MAP_EXTENSIONS:
        return stem + ".png"
    return stem + "_vis.png"


def visualize(path, output=None, show=False, log=print):
    """Print the value range of ``path``, write its colour-mapped PNG; returns the PNG path."""
    import cv2

    array, is_map = read_map(path)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 3 and array.shape[2] == 3 and np.issubdtype(array.dtype, np.floating):
        array = array.mean(axis=2)  # a colour PFM: show its mean like a map
    lo, hi = value_range(array)
    log("value range:  %s %s" % (lo, hi) if lo is not None else "value range:  (all values are 0)")
    output = output or default_output(path, is_map)
    if os.path.abspath(output) == os.path.abspath(path):
        raise InputError("the output would overwrite the input; choose another --output", output)
    if not output.lower().endswith(".png"):
        raise InputError("the output must be a .png file", output)
    if array.ndim == 2:
        rgb = colorize(array)
    else:
        rgb = np.asarray(array)
        if rgb.dtype != np.uint8:  # e.g. 16-bit images: stretch to 8 bits for the PNG
            rgb = colorize(rgb.mean(axis=2))
    ok, png = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))
    if not ok:
        raise InputError("cannot encode the PNG", output)
    write_bytes_atomic(output, png.tobytes())
    log("wrote %s (%dx%d)" % (output, rgb.shape[1], rgb.shape[0]))
    if show:
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise InputError("--show needs matplotlib (pip install matplotlib); the PNG was written") from None
        plt.imshow(array, "rainbow") if array.ndim == 2 else plt.imshow(rgb)
        plt.show()
    return output


def main(argv):
    if len(argv) != 2:
        raise InputError("usage: python mvsnet/visualize.py FILE.pfm|.npy|.dmb|image [--output OUT.png] [--show]")
    visualize(argv[1], FLAGS.output, FLAGS.show)


def run():
    """Console entry point ``mvsnet-visualize``."""
    define_flags()
    cli.run(main)


if __name__ == "__main__":
    run()
