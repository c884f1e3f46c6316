"""The output of test.py in a dense folder, as the original depthfusion.py reads it.

The views are the files of ``SCENE/images/`` (the original lists that folder), sorted by
name (fusibile processes its ``2333__<name>`` folders in sorted order). For a view
``NAME.EXT`` the maps are ``SCENE/depths_mvsnet/NAME_init.pfm`` and ``NAME_prob.pfm``, the
camera ``NAME.txt`` and the colour image ``NAME.jpg`` (test.py writes all four at the
depth-map resolution).
"""

import logging
import os
from dataclasses import dataclass

import numpy as np

from cameras import layout
from cameras.camfile import read_cam
from cameras.checks import describe_non_finite
from cameras.errors import InputError
from cameras.pfm import read_pfm
from mvsnet.images import check_decodes


@dataclass
class ViewGeometry:
    """A view's camera as fusibile uses it: P = K [R | t] (3, 4) float64, the inverse of
    its left 3x3 block, its last column, the camera centre and the focal length fx."""

    P: np.ndarray
    M_inv: np.ndarray
    p4: np.ndarray
    center: np.ndarray
    f: float


def projection_matrix(cam):
    """P (3, 4) float64 of a Camera, with the original's arithmetic (mvsnet_to_gipuma_cam):
    the 4x4 intrinsic block with its last row zeroed, times the extrinsic, first 3 rows."""
    array = cam.to_array()
    intrinsic = array[1].copy()
    intrinsic[3, :] = 0
    return np.matmul(intrinsic, array[0])[0:3]


def geometry(cam):
    P = projection_matrix(cam)
    try:
        M_inv = np.linalg.inv(P[:, :3])
    except np.linalg.LinAlgError:
        raise InputError("camera has a singular projection matrix") from None
    p4 = P[:, 3].copy()
    return ViewGeometry(P, M_inv, p4, -M_inv @ p4, float(cam.intrinsic[0, 0]))


class DenseOutput:
    """Paths and readers of a dense folder's ``depths_mvsnet/``.

    ``warn`` is called with one line per map that holds non-finite pixels (once per
    file; default ``logging.warning``); the lines are also kept in ``warnings``."""

    def __init__(self, dense_folder, warn=logging.warning):
        self.warn = warn
        self.warnings = []
        self._warned = set()
        self.dense_folder = os.fspath(dense_folder)
        if not os.path.isdir(self.dense_folder):
            raise InputError("dense folder does not exist" if not os.path.exists(self.dense_folder)
                             else "dense folder is not a folder", self.dense_folder)
        self.image_folder = os.path.join(self.dense_folder, layout.IMAGES)
        self.depth_folder = layout.depth_folder(self.dense_folder)
        if not os.path.isdir(self.image_folder):
            raise InputError("missing images/ folder (the views are the files listed there)",
                             self.image_folder)
        if not os.path.isdir(self.depth_folder):
            raise InputError("missing depths_mvsnet/ folder (run mvsnet/test.py on the dense "
                             "folder first)", self.depth_folder)
        self.image_names = sorted(n for n in os.listdir(self.image_folder)
                                  if not n.startswith(".")
                                  and os.path.isfile(os.path.join(self.image_folder, n)))
        if not self.image_names:
            raise InputError("no images in images/", self.image_folder)
        self.names = [os.path.splitext(n)[0] for n in self.image_names]

    def path(self, name, kind):
        """The file of ``kind`` (a key of :data:`cameras.layout.DEPTH_FILES`) of view ``name``."""
        return layout.depth_file(self.depth_folder, name, kind)

    def _map(self, name, kind):
        """A map read with its non-finite pixels allowed, and a warning naming the file
        and their count when it has any (once per file)."""
        path = self.path(name, kind)
        image = read_pfm(path, allow_non_finite=True)
        problem = describe_non_finite(image, "pixels")
        if problem is not None and path not in self._warned:
            self._warned.add(path)
            line = "%s: %s, treated as pixels without depth" % (path, problem)
            self.warnings.append(line)
            self.warn(line)
        return image

    def maps(self, name):
        """(depth, probability) (H, W) float32 of view ``name``, unfiltered; the two must
        have one size. Pixels whose depth or probability is nan or inf have depth and
        probability 0 (no depth), each such map named once through ``warn``."""
        depth = self._map(name, "init")
        prob = self._map(name, "prob")
        if depth.ndim != 2:
            raise InputError("expected a one-channel depth map, got %s" % (depth.shape,),
                             self.path(name, "init"))
        if prob.shape != depth.shape:
            raise InputError("probability map is %s but the depth map is %s"
                             % ("x".join(map(str, prob.shape[1::-1])), "x".join(map(str, depth.shape[::-1]))),
                             self.path(name, "prob"))
        bad = ~(np.isfinite(depth) & np.isfinite(prob))
        depth[bad] = 0
        prob[bad] = 0
        return depth, prob

    def depth(self, name, prob_threshold):
        """The depth map with 0 where the probability is below ``prob_threshold``, as the
        original probability_filter (``depth[prob < threshold] = 0``), float32 (H, W);
        non-finite pixels as :meth:`maps`."""
        depth, prob = self.maps(name)
        depth[prob < prob_threshold] = 0
        return depth

    def camera(self, name):
        return read_cam(self.path(name, "cam"))

    def geometry(self, name):
        """The :class:`ViewGeometry` of view ``name``; errors name its cam file."""
        try:
            return geometry(self.camera(name))
        except InputError as e:
            if e.path is None:
                raise InputError(e.problem, self.path(name, "cam")) from None
            raise

    def image(self, name, shape):
        """The colour image ``NAME.jpg`` as (H, W, 3) uint8 RGB; must be ``shape`` (H, W)."""
        import cv2

        path = self.path(name, "image")
        if not os.path.isfile(path):
            raise InputError("missing image (test.py writes NAME.jpg next to the depth maps)", path)
        check_decodes(path)   # OpenCV decodes a truncated JPEG with grey rows and a warning
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise InputError("not a readable image", path)
        if image.shape[:2] != tuple(shape):
            raise InputError("image is %dx%d but the depth map is %dx%d"
                             % (image.shape[1], image.shape[0], shape[1], shape[0]), path)
        return np.ascontiguousarray(image[:, :, ::-1])
