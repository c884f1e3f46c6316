"""Gipuma ``.dmb`` maps (the files fusibile reads), as the original depthfusion.py's
write_gipuma_dmb / read_gipuma_dmb.

Layout: int32 little-endian type (1 = float), height, width, channels, then float32 values,
x fastest, then y, then the channel (for 3 channels: the whole first channel, then the
second, then the third).
"""

import struct

import numpy as np

from cameras.atomic import read_bytes, write_bytes_atomic
from cameras.errors import InputError


def dmb_bytes(image):
    """The bytes of the original write_gipuma_dmb for an (H, W) or (H, W, C) float32 map."""
    image = np.asarray(image, dtype="<f4")
    height, width = image.shape[:2]
    channels = image.shape[2] if image.ndim == 3 else 1
    if image.ndim == 3:
        image = np.transpose(image, (2, 0, 1))
    return struct.pack("<4i", 1, height, width, channels) + np.ascontiguousarray(image).tobytes()


def write_dmb(path, image):
    """Write an (H, W) or (H, W, C) map as a ``.dmb`` file (to a temporary name, then renamed)."""
    write_bytes_atomic(path, dmb_bytes(image))


def read_dmb(path):
    """A ``.dmb`` map as float32 (H, W) or (H, W, C) (as the original read_gipuma_dmb).
    InputError naming the file when it is missing, too short or its size is wrong."""
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
