"""The camera record and its packing to the original MVSNet (2, 4, 4) array."""

from dataclasses import dataclass

import numpy as np


def _matrix(value, shape, name):
    array = np.array(value, dtype=np.float64)  # always a private copy
    if array.shape != shape:
        raise ValueError("Camera.%s must have shape %s, got %s" % (name, shape, array.shape))
    return array


@dataclass(eq=False)
class Camera:
    """A pinhole camera with the MVSNet depth range.

    extrinsic       (4, 4) float64 world-to-camera matrix [R | t; 0 0 0 1]
    intrinsic       (3, 3) float64 K
    depth_min       first depth plane (DEPTH_MIN of the cam file)
    depth_interval  distance between depth planes (already multiplied by interval_scale)
    depth_num       number of depth planes, kept as a float like the original array
    depth_max       last depth (DEPTH_MAX)

    All values are float64, like the original's ``np.zeros((2, 4, 4))``. Records are
    treated as values: the functions in ``cameras`` never modify one, they return a new one.
    """

    extrinsic: np.ndarray
    intrinsic: np.ndarray
    depth_min: float = 0.0
    depth_interval: float = 0.0
    depth_num: float = 0.0
    depth_max: float = 0.0

    def __post_init__(self):
        self.extrinsic = _matrix(self.extrinsic, (4, 4), "extrinsic")
        self.intrinsic = _matrix(self.intrinsic, (3, 3), "intrinsic")
        self.depth_min = float(self.depth_min)
        self.depth_interval = float(self.depth_interval)
        self.depth_num = float(self.depth_num)
        self.depth_max = float(self.depth_max)

    def to_array(self):
        """The original layout: a (2, 4, 4) float64 array, ``[0]`` the extrinsic,
        ``[1, :3, :3]`` the intrinsic, ``[1, 3, :]`` = depth_min, depth_interval,
        depth_num, depth_max; ``[1, :3, 3]`` is zero."""
        cam = np.zeros((2, 4, 4), dtype=np.float64)
        cam[0] = self.extrinsic
        cam[1, :3, :3] = self.intrinsic
        cam[1, 3, :] = (self.depth_min, self.depth_interval, self.depth_num, self.depth_max)
        return cam

    @classmethod
    def from_array(cls, array):
        """Inverse of :meth:`to_array`; accepts any float dtype (e.g. float32 from TF),
        values are converted to float64. ``[1, :3, 3]`` is ignored."""
        array = np.asarray(array)
        if array.shape != (2, 4, 4):
            raise ValueError("a camera array must have shape (2, 4, 4), got %s" % (array.shape,))
        array = array.astype(np.float64)
        return cls(array[0], array[1, :3, :3], *array[1, 3, :])

    def copy(self):
        return Camera(self.extrinsic, self.intrinsic, self.depth_min, self.depth_interval,
                      self.depth_num, self.depth_max)

    def __eq__(self, other):
        """Exact equality of every value (NaN-free cameras)."""
        if not isinstance(other, Camera):
            return NotImplemented
        return bool(np.array_equal(self.to_array(), other.to_array()))

    __hash__ = None
