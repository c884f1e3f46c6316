"""MVSNet ``*_cam.txt`` camera files.

Layout (whitespace-separated words; line breaks do not matter when reading)::

    extrinsic
    E00 E01 E02 E03
    E10 E11 E12 E13
    E20 E21 E22 E23
    E30 E31 E32 E33

    intrinsic
    K00 K01 K02
    K10 K11 K12
    K20 K21 K22

    DEPTH_MIN DEPTH_INTERVAL [DEPTH_NUM [DEPTH_MAX]]

The depth line may hold 2, 3 or 4 numbers, or be absent (then all four depth values are 0).
"""

import numpy as np

from cameras.atomic import read_bytes, write_bytes_atomic
from cameras.camera import Camera
from cameras.checks import check_camera
from cameras.errors import InputError

_DEPTH_NAMES = ("DEPTH_MIN", "DEPTH_INTERVAL", "DEPTH_NUM", "DEPTH_MAX")


def _show(word, limit=24):
    return repr(word if len(word) <= limit else word[:limit] + "...")


def _numbers(words, first, count, what, path):
    values = []
    for k in range(first, first + count):
        try:
            values.append(float(words[k]))
        except ValueError:
            raise InputError("%s: %s (word %d) is not a number" % (what, _show(words[k]), k + 1),
                             path) from None
    return values


def parse_cam(text, path="<camera>", interval_scale=1.0, max_d=0):
    """Parse the text of a cam file; see :func:`read_cam`. ``path`` only names the
    source in error messages."""
    words = text.split()
    if not words:
        raise InputError("empty camera file", path)
    if words[0] != "extrinsic":
        raise InputError("not a camera file: expected the word 'extrinsic' first, found %s"
                         % _show(words[0]), path)
    if "intrinsic" not in words:
        raise InputError("missing the word 'intrinsic'", path)
    at = words.index("intrinsic")
    if at != 17:
        raise InputError("expected 16 extrinsic numbers before 'intrinsic', found %d" % (at - 1), path)
    extrinsic = _numbers(words, 1, 16, "extrinsic", path)
    if len(words) < 27:
        raise InputError("expected 9 intrinsic numbers after 'intrinsic', found %d"
                         % (len(words) - 18), path)
    intrinsic = _numbers(words, 18, 9, "intrinsic", path)
    depth_count = len(words) - 27
    if depth_count not in (0, 2, 3, 4):
        raise InputError("the depth line has %d numbers; expected DEPTH_MIN DEPTH_INTERVAL "
                         "[DEPTH_NUM [DEPTH_MAX]] (2, 3 or 4 numbers) or nothing" % depth_count, path)
    depth = [0.0, 0.0, 0.0, 0.0]
    if depth_count:
        given = []
        for k in range(depth_count):
            given += _numbers(words, 27 + k, 1, _DEPTH_NAMES[k], path)
        # the same float64 arithmetic as the original load_cam
        depth[0] = given[0]
        depth[1] = given[1] * interval_scale
        depth[2] = float(max_d) if depth_count == 2 else given[2]
        depth[3] = given[3] if depth_count == 4 else depth[0] + depth[1] * depth[2]
    cam = Camera(np.reshape(extrinsic, (4, 4)), np.reshape(intrinsic, (3, 3)), *depth)
    return check_camera(cam, path, depth_given=depth_count > 0)


def read_cam(path, interval_scale=1.0, max_d=0):
    """Read a ``*_cam.txt`` file into a :class:`Camera`, like the original ``load_cam``.

    - depth line ``MIN INTERVAL``: depth_num = ``max_d`` and depth_max = min + interval * num
    - ``MIN INTERVAL NUM``: depth_max = min + interval * num
    - ``MIN INTERVAL NUM MAX``: all four as given
    - no depth line: all four are 0
    In every case the interval is multiplied by ``interval_scale`` first (depth_max given
    in the file is not changed). Raises InputError naming the file when it is missing or
    malformed (missing 'extrinsic'/'intrinsic', too few numbers, non-numbers, a depth line
    with 1 or more than 4 numbers).
    """
    text = read_bytes(path, "camera file").decode("utf-8-sig", errors="replace")
    return parse_cam(text, str(path), interval_scale, max_d)


def format_cam(cam, dtype=None):
    """The text :func:`write_cam` writes."""
    array = cam.to_array() if isinstance(cam, Camera) else np.asarray(cam)
    if array.shape != (2, 4, 4):
        raise ValueError("a camera must be a Camera or a (2, 4, 4) array, got shape %s"
                         % (array.shape,))
    if dtype is not None:
        array = array.astype(dtype)
    out = ["extrinsic\n"]
    for i in range(4):
        out.append("".join(str(array[0, i, j]) + " " for j in range(4)) + "\n")
    out.append("\nintrinsic\n")
    for i in range(3):
        out.append("".join(str(array[1, i, j]) + " " for j in range(3)) + "\n")
    out.append("\n" + " ".join(str(array[1, 3, j]) for j in range(4)) + "\n")
    return "".join(out)


def write_cam(path, cam, dtype=None):
    """Write a camera in the layout of the original ``write_cam`` (what the original
    test.py writes as ``depths_mvsnet/%08d.txt``), atomically.

    ``cam`` is a :class:`Camera` or a (2, 4, 4) array in the original layout. Every value
    is written as ``str()`` of the numpy scalar, so the text depends on the dtype:
    a Camera is float64 (``0.1``); the original test.py wrote the float32 cameras it got
    back from TensorFlow, e.g. ``str(np.float32(0.1))`` -- pass ``dtype=np.float32`` (or
    the float32 array itself) to write exactly those strings.
    """
    write_bytes_atomic(path, format_cam(cam, dtype).encode("ascii"))
