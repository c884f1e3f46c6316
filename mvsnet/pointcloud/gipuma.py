"""The original depthfusion.py's route to fusibile: Gipuma files and the fusibile run.

Files, byte for byte as the original's functions (checked against them on
tests/fixtures/orig_depthfusion):

- ``depths_mvsnet/NAME_prob_filtered.pfm``: the depth map with 0 where prob < threshold
- ``points_mvsnet/cams/IMAGE.P``: P = K [R | t] as 3 lines of ``str(value) + ' '``, then an
  empty line (the original's mvsnet_to_gipuma_cam)
- ``points_mvsnet/images/IMAGE``: a copy of ``depths_mvsnet/IMAGE``
- ``points_mvsnet/2333__NAME/disp.dmb``: the filtered depth as a Gipuma .dmb
- ``points_mvsnet/2333__NAME/normals.dmb``: the fake normal map, (1, 1, 1) / 1.732050808
  where the depth is > 0, written channel after channel (as the original)

The ``.dmb`` format: :mod:`cameras.dmb`; the dense folder's names: :mod:`cameras.layout`.
"""

import glob
import logging
import os
import shlex
import subprocess
import time

import numpy as np

from cameras import layout
from cameras.atomic import read_bytes, write_bytes_atomic
from cameras.dmb import write_dmb
from cameras.errors import InputError
from cameras.pfm import write_pfm
from mvsnet.pointcloud.views import DenseOutput

GIPUMA_PREFIX = "2333__"
DEPTH_MIN, DEPTH_MAX, NORMAL_THRESH = 0.001, 100000, 360  # the original's fixed fusibile options


def fake_normals(depth):
    """The original fake_gipuma_normal: (H, W, 3) float32, 1 / 1.732050808 where depth > 0."""
    normal = np.ones_like(depth, dtype=np.float32)[:, :, None]
    normal = np.tile(normal, [1, 1, 3]) / 1.732050808
    mask = np.float32(np.tile(np.where(depth > 0, 1, 0)[:, :, None], [1, 1, 3]))
    return np.float32(np.multiply(normal, mask))


def p_text(P):
    """The text of a ``.P`` file: each value as str() of the float64 and a space, 3 lines,
    then an empty line."""
    return "".join("".join(str(P[i][j]) + " " for j in range(4)) + "\n" for i in range(3)) + "\n"


def export_gipuma(dense_folder, prob_threshold=0.8, log=print, warn=logging.warning):
    """Write the probability-filtered maps and the fusibile input folder
    ``dense_folder/points_mvsnet`` as the original; returns the DenseOutput."""
    out = DenseOutput(dense_folder, warn)
    point_folder = layout.point_folder(out.dense_folder)
    cam_folder = os.path.join(point_folder, "cams")
    image_folder = os.path.join(point_folder, "images")
    for folder in (point_folder, cam_folder, image_folder):
        os.makedirs(folder, exist_ok=True)
    log("filter depth map with probability map")
    depths = {}
    for name in out.names:
        depths[name] = out.depth(name, prob_threshold)
        write_pfm(os.path.join(out.depth_folder, name + layout.PROB_FILTERED), depths[name])
    log("Convert mvsnet output to gipuma input")
    for image_name, name in zip(out.image_names, out.names):
        P = out.geometry(name).P
        write_bytes_atomic(os.path.join(cam_folder, image_name + ".P"), p_text(P).encode("ascii"))
    for image_name in out.image_names:
        source = os.path.join(out.depth_folder, image_name)
        write_bytes_atomic(os.path.join(image_folder, image_name), read_bytes(source, "image"))
    for name in out.names:
        sub = os.path.join(point_folder, GIPUMA_PREFIX + name)
        os.makedirs(sub, exist_ok=True)
        write_dmb(os.path.join(sub, "disp.dmb"), depths[name])
        write_dmb(os.path.join(sub, "normals.dmb"), fake_normals(depths[name]))
    return out


def fusibile_command(exe, point_folder, disp_threshold, num_consistent):
    """The original's fusibile command line, as an argument list (values as str() of the
    Python floats the original's argparse produced, e.g. ``--num_consistent=3.0``)."""
    return [exe,
            "-input_folder", point_folder + "/",
            "-p_folder", os.path.join(point_folder, "cams") + "/",
            "-images_folder", os.path.join(point_folder, "images") + "/",
            "--depth_min=" + str(DEPTH_MIN),
            "--depth_max=" + str(DEPTH_MAX),
            "--normal_thresh=" + str(NORMAL_THRESH),
            "--disp_thresh=" + str(float(disp_threshold)),
            "--num_consistent=" + str(float(num_consistent))]


def check_executable(exe):
    if not os.path.exists(exe):
        raise InputError("fusibile executable does not exist", exe)
    if os.path.isdir(exe) or not os.access(exe, os.X_OK):
        raise InputError("fusibile is not an executable file", exe)


def run_fusibile(exe, point_folder, disp_threshold, num_consistent, log=print):
    """Run fusibile (no shell) and return the path of the ``final3d_model.ply`` it wrote.
    InputError when it cannot be started, exits non-zero or writes no PLY."""
    check_executable(exe)
    command = fusibile_command(exe, point_folder, disp_threshold, num_consistent)
    log(shlex.join(command))
    start = time.time() - 1.0  # fusibile names its output folder by the second
    try:
        status = subprocess.run(command).returncode
    except OSError as e:
        raise InputError("cannot run fusibile: %s" % (e.strerror or e), exe) from None
    if status != 0:
        raise InputError("fusibile exited with status %d" % status, exe)
    plys = [p for p in glob.glob(os.path.join(glob.escape(point_folder), "consistencyCheck-*",
                                              "final3d_model.ply"))
            if os.path.getmtime(p) >= start]
    if not plys:
        raise InputError("fusibile wrote no consistencyCheck-*/final3d_model.ply (is CUDA "
                         "available to it?)", point_folder)
    return max(plys, key=os.path.getmtime)
