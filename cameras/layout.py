"""The names of a dense folder's files, input and output, in one place.

    DENSE/images/%08d.jpg  cams/%08d_cam.txt  pair.txt      the input (colmap2mvsnet writes it)
    DENSE/depths_mvsnet/NAME_init.pfm  NAME_prob.pfm          test.py: depth, probability,
                        NAME.jpg  NAME.txt  [NAME_refined.pfm] 1/4-scale image and camera
    DENSE/depths_mvsnet/NAME_prob_filtered.pfm                depthfusion.py (fusibile route)
    DENSE/points_mvsnet/fused.ply                             depthfusion.py (built-in fusion)
    DENSE/points_mvsnet/                                      fusibile's input (pointcloud.gipuma)

NAME is a view's ``%08d`` (:func:`view_name`); fusion takes the names of ``images/``.
Standard library only.
"""

import os

IMAGES = "images"
CAMS = "cams"
PAIR = "pair.txt"
DEPTHS = "depths_mvsnet"
POINTS = "points_mvsnet"
FUSED_PLY = "fused.ply"
CAM_SUFFIX = "_cam.txt"  # cams/NAME_cam.txt

# the files of one view in depths_mvsnet/, by kind (suffixes of NAME)
DEPTH_FILES = {"init": "_init.pfm", "prob": "_prob.pfm", "image": ".jpg", "cam": ".txt",
               "refined": "_refined.pfm"}
PROB_FILTERED = "_prob_filtered.pfm"


def view_name(view_id):
    """The ``%08d`` name of view ``view_id`` in every folder."""
    return "%08d" % view_id


def image_path(dense_folder, view_id):
    return os.path.join(dense_folder, IMAGES, view_name(view_id) + ".jpg")


def cam_path(dense_folder, view_id):
    return os.path.join(dense_folder, CAMS, view_name(view_id) + CAM_SUFFIX)


def pair_path(dense_folder):
    return os.path.join(dense_folder, PAIR)


def depth_folder(dense_folder):
    """``DENSE/depths_mvsnet``: test.py's outputs."""
    return os.path.join(dense_folder, DEPTHS)


def point_folder(dense_folder):
    """``DENSE/points_mvsnet``: depth fusion's outputs."""
    return os.path.join(dense_folder, POINTS)


def fused_ply(dense_folder):
    """The built-in fusion's default point cloud."""
    return os.path.join(point_folder(dense_folder), FUSED_PLY)


def depth_file(folder, name, kind):
    """The file of ``kind`` (a key of :data:`DEPTH_FILES`) of view ``name`` in the depth
    ``folder`` (:func:`depth_folder`)."""
    return os.path.join(folder, name + DEPTH_FILES[kind])


def depth_files(folder, name):
    """{kind: path} of every file of view ``name`` in the depth ``folder``."""
    return {kind: depth_file(folder, name, kind) for kind in DEPTH_FILES}
