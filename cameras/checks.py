"""The checks every camera the project reads goes through (numpy only).

One place for them: ``*_cam.txt`` files (dense folders, the cameras test.py writes beside
its maps, the training sets) through :func:`cameras.camfile.parse_cam`, COLMAP models
through :func:`mvsnet.colmap.model.read_model`. Every number must be finite and fit a
float32 (the network computes in float32), the focal lengths positive, the intrinsic
matrix invertible with last row ``0 0 1``, the extrinsic's 3x3 block a rotation (within
:data:`ROTATION_TOLERANCE`) with last row ``0 0 0 1``, and a depth line, when there is
one, finite with a positive interval. A failure is an :class:`InputError` naming the file
and the field, rows and columns counted from 1 as a reader counts the lines of the file:
``scan1/cams/00000002_cam.txt: extrinsic row 1 holds inf``.
"""

import numpy as np

from cameras.errors import InputError

ROTATION_TOLERANCE = 1e-3
"""Largest entry of ``|R R^T - I|`` accepted for the extrinsic's rotation R (whose
determinant must also be positive: no reflection). Calibrated on real files
(docs/input-checks.md, tools/calibrate_rotation_tolerance.py): the published DTU training
camera (6 significant digits, as the TF1-era cams) deviates by 7.2e-7, the float32 cams
the original test.py wrote by 6.3e-8, COLMAP's and the synthetic generator's by 2-3e-16;
the same rotations printed with 5 significant digits deviate by up to 9.7e-6, with 4 by
1.1e-4, with 3 by 1.0e-3. 1e-3 accepts every file written with 4 or more digits (9x
margin) and rejects a rotation scaled by 1.0005 or more, a shear, or a camera-to-world
matrix with a scale."""

FIXED_ROW_TOLERANCE = 1e-6
"""Largest difference from ``0 0 0 1`` (extrinsic row 4) and ``0 0 1`` (intrinsic row 3)."""

FLOAT32_MAX = float(np.finfo(np.float32).max)

_WORDS = {np.inf: "inf", -np.inf: "-inf"}


def _bad_word(values):
    """'nan', 'inf', '-inf' or the number beyond float32 of the first bad value, else None."""
    for v in np.asarray(values, np.float64).ravel().tolist():
        if v != v:
            return "nan"
        if v in _WORDS:
            return _WORDS[v]
        if abs(v) > FLOAT32_MAX:
            return "%g (beyond the float32 range the network computes in)" % v
    return None


def check_finite(values, what, path=None):
    """InputError ``PATH: WHAT holds nan`` unless every value is finite and fits a float32."""
    bad = _bad_word(values)
    if bad is not None:
        raise InputError("%s holds %s" % (what, bad), path)


def _fmt(row):
    return " ".join("%g" % v for v in row)


def check_intrinsic(K, path=None, what="intrinsic"):
    """K (3, 3): finite, fx and fy positive, last row ``0 0 1``, invertible (finite inverse)."""
    K = np.asarray(K, np.float64)
    for i in range(3):
        check_finite(K[i], "%s row %d" % (what, i + 1), path)
    for i, name in ((0, "fx"), (1, "fy")):
        if not K[i, i] > 0:
            raise InputError("%s: the focal length %s (row %d, column %d) must be positive, found %g"
                             % (what, name, i + 1, i + 1, K[i, i]), path)
    if np.abs(K[2] - (0, 0, 1)).max() > FIXED_ROW_TOLERANCE:
        raise InputError("%s row 3 must be 0 0 1, found %s" % (what, _fmt(K[2])), path)
    with np.errstate(all="ignore"):
        det = float(np.linalg.det(K))
        inverse = np.linalg.inv(K) if det != 0 and np.isfinite(det) else None
    if inverse is None or not np.isfinite(inverse).all() or _bad_word(inverse) is not None:
        raise InputError("%s is not invertible (determinant %g)" % (what, det), path)


def check_extrinsic(E, path=None, what="extrinsic"):
    """E (4, 4) world-to-camera ``[R | t; 0 0 0 1]``: finite, last row ``0 0 0 1``, R a
    rotation within :data:`ROTATION_TOLERANCE` (orthonormal, determinant +1)."""
    E = np.asarray(E, np.float64)
    for i in range(E.shape[0]):
        check_finite(E[i], "%s row %d" % (what, i + 1), path)
    if E.shape[0] == 4 and np.abs(E[3] - (0, 0, 0, 1)).max() > FIXED_ROW_TOLERANCE:
        raise InputError("%s row 4 must be 0 0 0 1, found %s (a transposed matrix?)"
                         % (what, _fmt(E[3])), path)
    check_rotation(E[:3, :3], path, "%s rotation (rows 1-3, columns 1-3)" % what)


def rotation_error(R):
    """(largest entry of |R R^T - I|, det R) of a (3, 3) matrix."""
    R = np.asarray(R, np.float64)
    return float(np.abs(R @ R.T - np.eye(3)).max()), float(np.linalg.det(R))


def check_rotation(R, path=None, what="rotation"):
    deviation, det = rotation_error(R)
    if not deviation <= ROTATION_TOLERANCE:
        raise InputError("%s is not a rotation: R R^T differs from the identity by up to %.3g "
                         "(tolerance %g)" % (what, deviation, ROTATION_TOLERANCE), path)
    if not det > 0:
        raise InputError("%s is not a rotation: its determinant is %.6g (a reflection)" % (what, det),
                         path)


DEPTH_NAMES = ("DEPTH_MIN", "DEPTH_INTERVAL", "DEPTH_NUM", "DEPTH_MAX")


def check_depth(values, path=None, given=True):
    """The depth line (depth_min, depth_interval, depth_num, depth_max) as read: finite;
    when the file has one (``given``) the interval positive and DEPTH_NUM not negative."""
    for name, v in zip(DEPTH_NAMES, values):
        bad = _bad_word([v])
        if bad is not None:
            raise InputError("%s is %s" % (name, bad), path)
    if given:
        if not values[1] > 0:
            raise InputError("DEPTH_INTERVAL must be positive, found %g" % values[1], path)
        if values[2] < 0:
            raise InputError("DEPTH_NUM must not be negative, found %g" % values[2], path)


def check_camera(cam, path=None, depth_given=True):
    """Every check of this module on a :class:`cameras.camera.Camera`; ``depth_given``
    says whether its source had a depth line (without one the depth values are 0)."""
    check_extrinsic(cam.extrinsic, path)
    check_intrinsic(cam.intrinsic, path)
    check_depth((cam.depth_min, cam.depth_interval, cam.depth_num, cam.depth_max), path, depth_given)
    return cam


# ----------------------------------------------------------------------------- arrays

def non_finite(array):
    """(number of values of ``array`` that are nan or inf, index of the first one or None)."""
    bad = ~np.isfinite(np.asarray(array))
    count = int(np.count_nonzero(bad))
    if not count:
        return 0, None
    return count, tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), bad.shape))


def describe_non_finite(array, unit="values"):
    """None when every value is finite, else ``"N non-finite UNIT (nan or inf) of M, the
    first at row R, column C"`` (rows and columns counted from 1; further axes listed)."""
    count, first = non_finite(array)
    if not count:
        return None
    where = ""
    if first is not None and len(first) >= 2:
        where = ", the first at row %d, column %d" % (first[0] + 1, first[1] + 1)
    elif first is not None and len(first) == 1:
        where = ", the first at %d" % (first[0] + 1)
    return "%d non-finite %s (nan or inf) of %d%s" % (count, unit, np.asarray(array).size, where)


def check_finite_array(array, path=None, what="the file", unit="values"):
    """InputError ``PATH: WHAT holds N non-finite values ...`` unless every value is finite."""
    text = describe_non_finite(array, unit)
    if text is not None:
        raise InputError("%s holds %s" % (what, text), path)
    return array
