"""A COLMAP sparse model as plain numpy arrays, read with pycolmap.

pycolmap's ``Reconstruction`` reads every layout COLMAP writes: text or binary, with or
without the ``rigs``/``frames`` files of COLMAP >= 3.12. pycolmap is imported inside
:func:`read_model` only.
"""

import dataclasses
import os

import numpy as np

from cameras.checks import check_extrinsic, check_intrinsic
from cameras.errors import InputError
from mvsnet.colmap.model_files import check_model_files, model_paths

PINHOLE_MODELS = ("SIMPLE_PINHOLE", "PINHOLE")
MODEL_FILES = ("cameras", "images", "points3D")


@dataclasses.dataclass
class View:
    """One registered image of the model.

    image_id    COLMAP image id
    name        image file name relative to the image folder
    camera_id   COLMAP camera id
    intrinsic   (3, 3) float64 K
    extrinsic   (4, 4) float64 world-to-camera [R | t; 0 0 0 1]
    point_ids   (n,) int64 ids of the 3-D points this image observes, in the order of its
                2-D points (observations without a 3-D point left out)
    """
    image_id: int
    name: str
    camera_id: int
    width: int
    height: int
    intrinsic: np.ndarray
    extrinsic: np.ndarray
    point_ids: np.ndarray


@dataclasses.dataclass
class SparseModel:
    """Registered views sorted by image id, and the 3-D points (ids sorted, xyz (P, 3))."""
    views: list
    point_ids: np.ndarray
    point_xyz: np.ndarray
    skipped: list  # names of images in the model without a pose (not registered)

    def xyz(self, ids):
        """World coordinates (n, 3) of the points ``ids``."""
        return self.point_xyz[np.searchsorted(self.point_ids, ids)]


def qvec_to_rotation(w, x, y, z):
    """Rotation matrix of the quaternion (w, x, y, z), the expression COLMAP's scripts use."""
    return np.array([
        [1 - 2 * y ** 2 - 2 * z ** 2, 2 * x * y - 2 * w * z, 2 * z * x + 2 * w * y],
        [2 * x * y + 2 * w * z, 1 - 2 * x ** 2 - 2 * z ** 2, 2 * y * z - 2 * w * x],
        [2 * z * x - 2 * w * y, 2 * y * z + 2 * w * x, 1 - 2 * x ** 2 - 2 * y ** 2]])


def model_format(sparse_dir):
    """'text' or 'binary' (which files COLMAP wrote in ``sparse_dir``), or None."""
    for ext, kind in ((".bin", "binary"), (".txt", "text")):
        if all(os.path.isfile(os.path.join(sparse_dir, f + ext)) for f in MODEL_FILES):
            return kind
    return None


def _missing_model_error(sparse_dir):
    if not os.path.isdir(sparse_dir):
        return InputError("no sparse model: the folder does not exist (a COLMAP dense workspace, "
                          "as image_undistorter writes it, holds images/ and sparse/)", sparse_dir)
    subs = sorted(d for d in os.listdir(sparse_dir)
                  if model_format(os.path.join(sparse_dir, d)) is not None)
    hint = (" (found a model in %s/: run COLMAP's image_undistorter on it and pass its output "
            "folder)" % subs[0]) if subs else ""
    return InputError("no sparse model: expected cameras, images and points3D .txt or .bin "
                      "files%s" % hint, sparse_dir)


def read_model(sparse_dir, allow_distorted=False):
    """Read the COLMAP model in ``sparse_dir`` into a :class:`SparseModel`.

    Every camera must be SIMPLE_PINHOLE or PINHOLE (MVSNet's cameras have no distortion);
    another model is an InputError telling the user to undistort, unless ``allow_distorted``
    (then, as the original colmap2mvsnet, focal lengths and principal point are used and the
    distortion parameters ignored). Images without a pose are left out (listed in
    ``skipped``). Raises InputError naming the folder for a missing model, and the file
    (``images.bin``, ``cameras.txt``, ...) for a broken one
    (:func:`mvsnet.colmap.model_files.check_model_files`, run before pycolmap reads
    anything) or a camera that fails :mod:`cameras.checks`.
    """
    sparse_dir = os.fspath(sparse_dir)
    kind = model_format(sparse_dir)
    if kind is None:
        raise _missing_model_error(sparse_dir)
    check_model_files(sparse_dir, kind)
    paths = model_paths(sparse_dir, kind)
    pose_file = paths["frames"] if os.path.isfile(paths["frames"]) else paths["images"]
    import pycolmap  # only this code path needs it

    try:
        rec = pycolmap.Reconstruction(sparse_dir)
    except Exception as err:  # pycolmap raises plain RuntimeError/ValueError for bad files
        raise InputError("cannot read the COLMAP model: %s" % err, sparse_dir) from None

    intrinsics = {}
    for camera_id, cam in rec.cameras.items():
        name = cam.model.name
        params = [float(p) for p in cam.params]
        if name == "SIMPLE_PINHOLE":
            fx = fy = params[0]
            cx, cy = params[1], params[2]
        elif name == "PINHOLE" or allow_distorted:
            fx, fy = cam.focal_length_x, cam.focal_length_y
            cx, cy = cam.principal_point_x, cam.principal_point_y
        else:
            raise InputError("camera %d has the distorted model %s; MVSNet needs undistorted "
                             "SIMPLE_PINHOLE or PINHOLE cameras: run COLMAP's image_undistorter "
                             "and convert its output" % (camera_id, name), sparse_dir)
        intrinsic = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], np.float64)
        check_intrinsic(intrinsic, paths["cameras"], "camera %d (%s)" % (camera_id, name))
        intrinsics[camera_id] = (intrinsic, int(cam.width), int(cam.height))

    views, skipped = [], []
    for image_id in sorted(rec.images):
        image = rec.images[image_id]
        if not image.has_pose:
            skipped.append(image.name)
            continue
        pose = image.cam_from_world()
        qx, qy, qz, qw = (float(v) for v in pose.rotation.quat)
        extrinsic = np.zeros((4, 4))
        extrinsic[:3, :3] = qvec_to_rotation(qw, qx, qy, qz)
        extrinsic[:3, 3] = np.asarray(pose.translation, np.float64)
        extrinsic[3, 3] = 1
        check_extrinsic(extrinsic, pose_file, "the pose of image %d (%s)" % (image_id, image.name))
        ids = [p.point3D_id for p in image.points2D if p.has_point3D()]
        k, w, h = intrinsics[image.camera_id]
        views.append(View(int(image_id), image.name, int(image.camera_id), w, h, k.copy(), extrinsic,
                          np.array(ids, dtype=np.int64)))
    point_ids = np.array(sorted(rec.points3D), dtype=np.int64)
    xyz = np.array([rec.points3D[i].xyz for i in point_ids.tolist()], np.float64).reshape(-1, 3)
    return SparseModel(views, point_ids, xyz, skipped)
