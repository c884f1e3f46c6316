"""One coloured point cloud from a dense folder's depth maps: fuse, then write the PLY.
The one route of depthfusion.py's built-in fusion and of reconstruct.py's last stage.
"""

import logging
import os
import time

from cameras import layout
from cameras.errors import InputError

FUSION_MODES = ("fusibile", "consistency")


def pointcloud(dense_folder, output=None, mode="fusibile", prob_threshold=0.8, disp_threshold=0.25,
               num_consistent=3, pixel_threshold=1.0, depth_threshold=0.01, allow_empty=True,
               log=None, warn=logging.warning):
    """Fuse ``dense_folder/depths_mvsnet`` and write the cloud as a binary PLY at ``output``
    (default ``DENSE/points_mvsnet/fused.ply``, :func:`cameras.layout.fused_ply`).

    mode             ``fusibile``: fusibile's algorithm (:mod:`mvsnet.pointcloud.fusion`,
                     ``disp_threshold`` pixels); ``consistency``: the PyTorch ports' filter
                     (:mod:`mvsnet.pointcloud.consistency`, ``pixel_threshold`` pixels,
                     ``depth_threshold`` relative)
    num_consistent   views that must agree with a pixel
    allow_empty      False: InputError, and no file, when no point passes the thresholds
    log              called with progress lines (None: silent)
    warn             called with one line per depth or probability map that holds
                     non-finite pixels (those pixels get no depth)

    Returns (cloud :class:`mvsnet.pointcloud.fusion.FusedCloud`, output path, seconds).
    """
    from mvsnet.pointcloud import ply

    if mode not in FUSION_MODES:
        raise InputError("--fusion_mode must be one of %s, got %r" % (", ".join(FUSION_MODES), mode))
    output = output or layout.fused_ply(dense_folder)
    out_dir = os.path.dirname(os.path.abspath(output))
    start = time.time()
    if mode == "fusibile":
        from mvsnet.pointcloud import fusion

        cloud = fusion.fuse_dense_folder(dense_folder, prob_threshold, disp_threshold,
                                         int(num_consistent), log=log, warn=warn)
    else:
        from mvsnet.pointcloud import consistency

        cloud = consistency.fuse_dense_folder(dense_folder, prob_threshold, int(num_consistent),
                                              pixel_threshold, depth_threshold, log=log, warn=warn)
    if not allow_empty and len(cloud.points) == 0:
        raise InputError("no point passed the thresholds (lower --prob_threshold or --num_consistent)")
    if not os.path.isdir(out_dir):
        raise InputError("the output folder does not exist", out_dir)
    ply.write_ply(output, cloud.points, cloud.colors)
    return cloud, output, time.time() - start
