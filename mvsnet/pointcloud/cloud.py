"""One coloured point cloud from a dense folder's depth maps: fuse, then write the PLY.
The one route of depthfusion.py's built-in fusion and of reconstruct.py's last stage.
"""

import dataclasses
import logging
import os
import time

import numpy as np

from cameras import layout
from cameras.errors import InputError
from mvsnet.options import option
from mvsnet.pointcloud import mesh as meshing

FUSION_MODES = ("fusibile", "normal", "dynamic", "consistency")
CONSISTENCY_MODES = FUSION_MODES[1:]  # mvsnet.pointcloud.consistency's
MASK_FOLDER = "mask"  # --fusion_masks: NAME_photo.png, NAME_geo.png, NAME_final.png (as the ports)
AVERAGES = ("depth", "points", "prob")


@dataclasses.dataclass
class FusionOptions:
    """depthfusion.py's options: the original's flags (names and defaults; no fusibile path
    by default: the built-in fusion runs) plus the built-in fusion's (its flags are generated
    from these fields; docs/pointclouds.md). The defaults of the normal and dynamic modes'
    fields are the PyTorch ports' and TransMVSNet's."""

    fusibile_exe_path: str = option(None, "fusibile executable: run the original's Gipuma route "
                                    "instead of the built-in fusion.")
    prob_threshold: float = option(0.8, "Depths with probability below this are dropped.")
    disp_threshold: float = option(0.25, "Largest disagreement, as a disparity in pixels, of a "
                                   "consistent view (fusibile mode).")
    num_consistent: float = option(3.0, "Views that must agree with a pixel (a whole number).")
    fusion_mode: str = option("fusibile", "Built-in fusion: fusibile's algorithm; the PyTorch "
                              "ports' photometric + geometric filter (normal; consistency: the "
                              "same with the sources' depths probability-filtered); the dynamic "
                              "consistency check of AA-RMVSNet / TransMVSNet (dynamic).",
                              choices=FUSION_MODES)
    geo_pixel_threshold: float = option(1.0, "normal/dynamic modes: largest reprojection "
                                        "error (pixels) of an agreeing source.")
    geo_depth_threshold: float = option(0.01, "normal/dynamic modes: largest relative depth "
                                        "difference of an agreeing source.")
    dynamic_pixel_step: float = option(0.25, "dynamic mode: n sources agreeing within n times "
                                       "this reprojection error (pixels) keep a pixel.")
    dynamic_depth_step: float = option(1.0 / 1300, "dynamic mode: ... and within n times this "
                                       "relative depth difference.")
    dynamic_min_views: int = option(2, "dynamic mode: the smallest n of the dynamic test.")
    dynamic_prob_threshold: float = option(-1.0, "dynamic mode: pixels that pass the dynamic "
                                           "test are kept down to this probability (negative: "
                                           "--prob_threshold, as TransMVSNet).")
    geo_average: str = option("depth", "normal/dynamic modes: a kept pixel is the mean of the "
                              "agreeing depths along its ray ('depth', the ports), the same "
                              "weighted by each view's probability there ('prob'), or the mean "
                              "of the agreeing 3-D points ('points').", choices=AVERAGES)
    source_prob_threshold: float = option(0.0, "normal/dynamic modes: a source's depths less "
                                          "probable than this count as missing (0: the ports).")
    edge_threshold: float = option(0.0, "normal/dynamic modes: drop reference pixels whose depth "
                                   "differs from a neighbour's by more than this relatively "
                                   "(0: off).")
    fusion_masks: bool = option(False, "normal/dynamic/consistency modes: write each view's "
                                "masks (NAME_photo.png, NAME_geo.png, NAME_final.png) into mask/ "
                                "next to the output PLY.")
    output: str = option(None, "Built-in fusion: PLY to write (default SCENE/points_mvsnet/fused.ply).")
    preview: bool = option(False, "Built-in fusion: also write preview.png next to the PLY (photos, "
                           "the cloud from their cameras, depth and probability maps).")
    mesh: bool = option(False, "Built-in fusion: also write a coloured mesh, OUTPUT_mesh.ply "
                        "(screened Poisson, needs the mesh extra: pip install -e .[mesh]).")
    mesh_depth: int = option(meshing.DEFAULT_DEPTH, "--mesh: Poisson octree depth (at most "
                             "2^depth cells per side).")
    mesh_trim: float = option(meshing.DEFAULT_TRIM, "--mesh: share of the lowest-density vertices "
                              "removed (no skin over what the cameras did not see).")

    def check(self):
        n = self.num_consistent
        if not np.isfinite(n) or n != int(n) or n < 0:
            raise InputError("--num_consistent must be a whole number >= 0, got %g" % n)
        if not self.disp_threshold > 0:
            raise InputError("--disp_threshold must be positive, got %g" % self.disp_threshold)
        if self.prob_threshold != self.prob_threshold:
            raise InputError("--prob_threshold must be a number")
        if self.fusion_mode not in FUSION_MODES:
            raise InputError("--fusion_mode must be one of %s, got %r"
                             % (", ".join(FUSION_MODES), self.fusion_mode))
        if self.geo_average not in AVERAGES:
            raise InputError("--geo_average must be one of %s, got %r"
                             % (", ".join(AVERAGES), self.geo_average))
        for name in ("geo_pixel_threshold", "geo_depth_threshold", "dynamic_pixel_step",
                     "dynamic_depth_step", "source_prob_threshold", "edge_threshold"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise InputError("--%s must be a finite number >= 0, got %r" % (name, value))
        if not np.isfinite(self.dynamic_prob_threshold):
            raise InputError("--dynamic_prob_threshold must be a finite number, got %r"
                             % self.dynamic_prob_threshold)
        value = self.dynamic_min_views
        if value != int(value) or value < 0:
            raise InputError("--dynamic_min_views must be a whole number >= 0, got %r" % value)
        if self.fusion_masks and self.fusion_mode not in CONSISTENCY_MODES:
            raise InputError("--fusion_masks needs --fusion_mode normal, dynamic or consistency")
        if self.mesh:
            meshing.check_options(self.mesh_depth, self.mesh_trim)


TUNED = {"fusion_mode": "dynamic", "prob_threshold": 0.3, "num_consistent": 3,
         "dynamic_prob_threshold": 0.15, "dynamic_depth_step": 0.0006, "dynamic_min_views": 3,
         "geo_average": "prob"}
"""The best-measured built-in fusion (docs/pointclouds.md, "Quality"): the dynamic mode with
TransMVSNet's static test at probability 0.3 (1 px, 1 %, 3 sources), and pixels down to
probability 0.15 that n >= 3 sources confirm within n x 0.25 px and n x 0.06 %, averaged with
probability weights. reconstruct.py's default; depthfusion.py's stay the original's."""


def tuned(**fields):
    """:class:`FusionOptions` with the :data:`TUNED` settings (``fields`` override them)."""
    return FusionOptions(**dict(TUNED, **fields))


def fuse(dense_folder, options, log=None, warn=logging.warning, mask_folder=None):
    """The built-in fusion of ``dense_folder`` as :class:`FusionOptions` ``options`` say,
    nothing written but the masks (``mask_folder``, normal/dynamic/consistency modes).
    Returns a :class:`mvsnet.pointcloud.fusion.FusedCloud`."""
    options.check()
    if options.fusion_mode == "fusibile":
        from mvsnet.pointcloud import fusion

        return fusion.fuse_dense_folder(dense_folder, options.prob_threshold, options.disp_threshold,
                                        int(options.num_consistent), log=log, warn=warn)
    from mvsnet.pointcloud import consistency

    return consistency.fuse_dense_folder(dense_folder, options, mask_folder, log=log, warn=warn)


def pointcloud(dense_folder, options, allow_empty=True, log=None, warn=logging.warning):
    """Fuse ``dense_folder/depths_mvsnet`` as :class:`FusionOptions` ``options`` say and
    write the cloud as a binary PLY at ``options.output`` (default
    ``DENSE/points_mvsnet/fused.ply``, :func:`cameras.layout.fused_ply`).

    fusion_mode  ``fusibile``: fusibile's algorithm (:mod:`mvsnet.pointcloud.fusion`,
                 ``disp_threshold`` pixels); ``normal``, ``dynamic``, ``consistency``:
                 the PyTorch ports' and TransMVSNet's filters
                 (:mod:`mvsnet.pointcloud.consistency`); with ``fusion_masks`` each view's
                 masks go to ``mask/`` next to the output
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
    if not options.output:
        from mvsnet.pointcloud.views import DenseOutput

        DenseOutput(dense_folder, warn)  # the dense folder's errors before anything is made
        os.makedirs(out_dir, exist_ok=True)
    mask_folder = None
    if options.fusion_masks:
        if not os.path.isdir(out_dir):
            raise InputError("the output folder does not exist", out_dir)
        mask_folder = os.path.join(out_dir, MASK_FOLDER)
    cloud = fuse(dense_folder, options, log=log, warn=warn, mask_folder=mask_folder)
    if not allow_empty and len(cloud.points) == 0:
        raise InputError("no point passed the thresholds (lower --prob_threshold or --num_consistent)")
    if not os.path.isdir(out_dir):
        raise InputError("the output folder does not exist", out_dir)
    ply.write_ply(output, cloud.points, cloud.colors)
    return cloud, output, time.time() - start
