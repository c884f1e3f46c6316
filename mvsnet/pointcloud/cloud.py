"""One coloured point cloud from a dense folder's depth maps: fuse, then write the PLY.
The one route of depthfusion.py's built-in fusion and of reconstruct.py's last stage.
"""

import dataclasses
import logging
import os
import time

from cameras import layout
from cameras.errors import InputError
from mvsnet.options import option

FUSION_MODES = ("fusibile", "consistency")


@dataclasses.dataclass
class FusionOptions:
    """depthfusion.py's options: the original's flags (names and defaults; no fusibile path
    by default: the built-in fusion runs) plus the built-in fusion's (its flags are generated
    from these fields)."""

    fusibile_exe_path: str = option(None, "fusibile executable: run the original's Gipuma route "
                                    "instead of the built-in fusion.")
    prob_threshold: float = option(0.8, "Depths with probability below this are dropped.")
    disp_threshold: float = option(0.25, "Largest disagreement, as a disparity in pixels, of a "
                                   "consistent view (fusibile mode).")
    num_consistent: float = option(3.0, "Views that must agree with a pixel (a whole number).")
    fusion_mode: str = option("fusibile", "Built-in fusion: fusibile's algorithm, or the PyTorch "
                              "ports' geometric-consistency filter.", choices=FUSION_MODES)
    geo_pixel_threshold: float = option(1.0, "consistency mode: largest reprojection error in pixels.")
    geo_depth_threshold: float = option(0.01, "consistency mode: largest relative depth difference.")
    output: str = option(None, "Built-in fusion: PLY to write (default SCENE/points_mvsnet/fused.ply).")

    def check(self):
        n = self.num_consistent
        if n != int(n) or n < 0:
            raise InputError("--num_consistent must be a whole number >= 0, got %g" % n)
        if not self.disp_threshold > 0:
            raise InputError("--disp_threshold must be positive, got %g" % self.disp_threshold)
        if self.prob_threshold != self.prob_threshold:
            raise InputError("--prob_threshold must be a number")
        if self.fusion_mode not in FUSION_MODES:
            raise InputError("--fusion_mode must be one of %s, got %r"
                             % (", ".join(FUSION_MODES), self.fusion_mode))


def pointcloud(dense_folder, options, allow_empty=True, log=None, warn=logging.warning):
    """Fuse ``dense_folder/depths_mvsnet`` as :class:`FusionOptions` ``options`` say and
    write the cloud as a binary PLY at ``options.output`` (default
    ``DENSE/points_mvsnet/fused.ply``, :func:`cameras.layout.fused_ply`).

    fusion_mode  ``fusibile``: fusibile's algorithm (:mod:`mvsnet.pointcloud.fusion`,
                 ``disp_threshold`` pixels); ``consistency``: the PyTorch ports' filter
                 (:mod:`mvsnet.pointcloud.consistency`, ``geo_pixel_threshold`` pixels,
                 ``geo_depth_threshold`` relative)
    allow_empty  False: InputError, and no file, when no point passes the thresholds
    log          called with progress lines (None: silent)
    warn         called with one line per depth or probability map that holds
                 non-finite pixels (those pixels get no depth)

    Returns (cloud :class:`mvsnet.pointcloud.fusion.FusedCloud`, output path, seconds).
    """
    from mvsnet.pointcloud import ply

    options.check()
    output = options.output or layout.fused_ply(dense_folder)
    out_dir = os.path.dirname(os.path.abspath(output))
    start = time.time()
    if options.fusion_mode == "fusibile":
        from mvsnet.pointcloud import fusion

        cloud = fusion.fuse_dense_folder(dense_folder, options.prob_threshold, options.disp_threshold,
                                         int(options.num_consistent), log=log, warn=warn)
    else:
        from mvsnet.pointcloud import consistency

        cloud = consistency.fuse_dense_folder(dense_folder, options.prob_threshold,
                                              int(options.num_consistent), options.geo_pixel_threshold,
                                              options.geo_depth_threshold, log=log, warn=warn)
    if not allow_empty and len(cloud.points) == 0:
        raise InputError("no point passed the thresholds (lower --prob_threshold or --num_consistent)")
    if not os.path.isdir(out_dir):
        raise InputError("the output folder does not exist", out_dir)
    ply.write_ply(output, cloud.points, cloud.colors)
    return cloud, output, time.time() - start
