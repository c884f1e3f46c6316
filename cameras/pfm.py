"""PFM (portable float map) files, as the original MVSNet load_pfm / write_pfm.

Layout: a header of three text lines, ``PF`` (3 channels) or ``Pf`` (1 channel), then
``WIDTH HEIGHT``, then the scale, whose sign gives the byte order (negative: little
endian); then WIDTH*HEIGHT*C float32 values, bottom row first.
"""

import re
import sys

import numpy as np

from cameras.atomic import read_bytes, write_bytes_atomic
from cameras.checks import check_finite_array
from cameras.errors import InputError

_HEADER = re.compile(rb"(P[Ff])\s+(\S+)\s+(\S+)\s+(\S+)(\s)")


def read_pfm(path, allow_non_finite=False):
    """Read a PFM file: (H, W) float32 for ``Pf``, (H, W, 3) float32 for ``PF``, rows in
    top-to-bottom order, native byte order. Little-endian (negative scale, what MVSNet and
    most tools write) and big-endian (positive scale) files are both read; the scale's
    magnitude is ignored, as in the original. Raises InputError naming the file when it
    is missing, is not a PFM, its header, scale (a finite, non-zero number) or size is
    wrong, or, unless ``allow_non_finite`` (then the caller deals with them), a value is
    nan or inf."""
    data = read_bytes(path, "PFM file")
    path = str(path)
    magic = data[:2]
    if magic not in (b"PF", b"Pf") or not data[2:3].isspace():
        raise InputError("not a PFM file: the first line must be 'PF' or 'Pf', found %r"
                         % data[:16].split(b"\n", 1)[0].decode("latin-1"), path)
    match = _HEADER.match(data, 0, 256)  # the header is three short lines
    if match is None:
        raise InputError("malformed PFM header: expected 'WIDTH HEIGHT' and a scale after %r"
                         % magic.decode(), path)
    color = match.group(1) == b"PF"
    try:
        width, height = int(match.group(2)), int(match.group(3))
    except ValueError:
        raise InputError("malformed PFM header: width and height must be integers, found %r %r"
                         % (match.group(2)[:16].decode("latin-1"),
                            match.group(3)[:16].decode("latin-1")), path) from None
    if width <= 0 or height <= 0:
        raise InputError("malformed PFM header: width and height must be positive, found %d %d"
                         % (width, height), path)
    try:
        scale = float(match.group(4))
    except ValueError:
        raise InputError("malformed PFM header: the scale must be a number, found %r"
                         % match.group(4)[:16].decode("latin-1"), path) from None
    if not np.isfinite(scale) or scale == 0:
        raise InputError("malformed PFM header: the scale must be a finite, non-zero number, found %r"
                         % match.group(4)[:16].decode("latin-1"), path)
    channels = 3 if color else 1
    expected = width * height * channels * 4
    start = match.end()
    if len(data) - start == expected + 1 and match.group(5) == b"\r" and data[start:start + 1] == b"\n":
        start += 1  # header lines ended with CRLF
    if len(data) - start != expected:
        raise InputError("PFM data size is wrong: a %dx%d %s image needs %d bytes, the file has %d"
                         % (width, height, "color" if color else "greyscale", expected,
                            len(data) - start), path)
    dtype = "<f4" if scale < 0 else ">f4"
    image = np.frombuffer(data, dtype=dtype, count=width * height * channels, offset=start)
    image = image.reshape((height, width, 3) if color else (height, width))
    image = np.ascontiguousarray(np.flipud(image), dtype=np.float32)
    if not allow_non_finite:
        check_finite_array(image, path, "the map", "pixels" if not color else "values")
    return image


def pfm_bytes(image, scale=1):
    """The bytes :func:`write_pfm` writes."""
    if not isinstance(image, np.ndarray) or image.dtype.name != "float32":
        raise ValueError("Image dtype must be float32.")
    if image.ndim == 3 and image.shape[2] == 3:
        color = True
    elif image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        color = False
    else:
        raise ValueError("Image must have H x W x 3, H x W x 1 or H x W dimensions.")
    image = np.flipud(image)
    byteorder = image.dtype.byteorder
    if byteorder == "<" or (byteorder == "=" and sys.byteorder == "little"):
        scale = -scale
    header = ("PF\n" if color else "Pf\n") + "%d %d\n" % (image.shape[1], image.shape[0]) + "%f\n" % scale
    return header.encode("ascii") + image.tobytes()


def write_pfm(path, image, scale=1):
    """Write ``image`` ((H, W), (H, W, 1) or (H, W, 3) float32) as a PFM, byte for byte
    as the original write_pfm: ``Pf``/``PF``, ``"%d %d\\n" % (W, H)``, ``"%f\\n"`` of the
    scale (negated for little-endian data), then the rows bottom first in the array's own
    byte order. Atomic. Raises ValueError for a non-float32 array or another shape."""
    write_bytes_atomic(path, pfm_bytes(image, scale))
