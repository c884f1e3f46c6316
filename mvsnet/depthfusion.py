#!/usr/bin/env python
"""Depth maps of a dense folder to one coloured point cloud, as the original mvsnet/depthfusion.py.

    python mvsnet/depthfusion.py --dense_folder SCENE [--prob_threshold 0.8]
        [--disp_threshold 0.25] [--num_consistent 3]            # built-in fusion, no CUDA
    python mvsnet/depthfusion.py --dense_folder SCENE --fusibile_exe_path FUSIBILE ...

Reads what mvsnet/test.py wrote in SCENE/depths_mvsnet/ (the views are the files of
SCENE/images/). Without --fusibile_exe_path: fuses the depth maps on the CPU with
fusibile's algorithm (--fusion_mode fusibile, the default), the PyTorch ports' photometric
+ geometric filter (--fusion_mode normal; `consistency` is its earlier variant) or the
dynamic consistency check of AA-RMVSNet / TransMVSNet (--fusion_mode dynamic) and writes
SCENE/points_mvsnet/fused.ply (with --fusion_masks, per-view mask PNGs in
SCENE/points_mvsnet/mask/). With --fusibile_exe_path: writes the original's files
(depths_mvsnet/*_prob_filtered.pfm, points_mvsnet/cams, images, 2333__*/disp.dmb and
normals.dmb), runs fusibile and reports the final3d_model.ply it wrote.
Bad input: one line "error: PATH: problem" on stderr, exit code 1. See docs/pointclouds.md.
"""

import sys

from absl import flags

from cameras import layout
from cameras.errors import InputError
from mvsnet import cli, options
from mvsnet.pointcloud.cloud import FusionOptions, pointcloud

FLAGS = flags.FLAGS


def define_flags():
    """The original's flags (names and defaults; no fusibile path by default: the built-in
    fusion runs) plus the built-in fusion's options, generated from
    :class:`mvsnet.pointcloud.cloud.FusionOptions`. Defined only when run as a script."""
    flags.DEFINE_string("dense_folder", None, "Dense folder on which mvsnet/test.py has run.")
    options.define_flags(FusionOptions)


def run_fusibile_route(dense_folder, opts):
    """The original's route: Gipuma files, then fusibile (``opts.fusibile_exe_path``)."""
    from mvsnet.pointcloud import gipuma

    exe = opts.fusibile_exe_path
    gipuma.check_executable(exe)
    out = gipuma.export_gipuma(dense_folder, opts.prob_threshold, log=_log, warn=_warn)
    _log("Run depth map fusion & filter")
    ply = gipuma.run_fusibile(exe, layout.point_folder(out.dense_folder),
                              opts.disp_threshold, opts.num_consistent, log=_log)
    _log("point cloud: %s" % ply)
    return ply


def run_builtin(dense_folder, opts):
    """The built-in fusion (:func:`mvsnet.pointcloud.cloud.pointcloud`); returns the PLY path."""
    cloud, output, seconds = pointcloud(dense_folder, opts, log=_log, warn=_warn)
    _log("fused %d points from %d views in %.1f s (%s mode) -> %s"
         % (len(cloud.points), len(cloud.view_points), seconds, opts.fusion_mode, output))
    return output


def _log(line):
    print(line, flush=True)


def _warn(line):
    sys.stdout.flush()
    print("warning: " + line, file=sys.stderr, flush=True)


def main(argv):
    cli.reject_extra_arguments(argv)
    if not FLAGS.dense_folder:
        raise InputError("--dense_folder is required")
    opts = options.from_flags(FusionOptions, FLAGS)
    opts.check()
    if opts.fusibile_exe_path:
        if FLAGS["fusion_mode"].present or FLAGS["output"].present or opts.fusion_masks:
            raise InputError("--fusion_mode, --output and --fusion_masks are options of the "
                             "built-in fusion; not with --fusibile_exe_path")
        run_fusibile_route(FLAGS.dense_folder, opts)
    else:
        run_builtin(FLAGS.dense_folder, opts)


def run():
    """Console entry point ``mvsnet-depthfusion``."""
    define_flags()
    cli.run(main)


if __name__ == "__main__":
    run()
