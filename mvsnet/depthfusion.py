#!/usr/bin/env python
"""Depth maps of a dense folder to one coloured point cloud, as the original mvsnet/depthfusion.py.

    python mvsnet/depthfusion.py --dense_folder SCENE [--prob_threshold 0.8]
        [--disp_threshold 0.25] [--num_consistent 3]            # built-in fusion, no CUDA
    python mvsnet/depthfusion.py --dense_folder SCENE --fusibile_exe_path FUSIBILE ...

Reads what mvsnet/test.py wrote in SCENE/depths_mvsnet/ (the views are the files of
SCENE/images/). Without --fusibile_exe_path: fuses the depth maps on the CPU with
fusibile's algorithm (--fusion_mode fusibile, the default) or with the PyTorch ports'
geometric-consistency filter (--fusion_mode consistency) and writes
SCENE/points_mvsnet/fused.ply. With --fusibile_exe_path: writes the original's files
(depths_mvsnet/*_prob_filtered.pfm, points_mvsnet/cams, images, 2333__*/disp.dmb and
normals.dmb), runs fusibile and reports the final3d_model.ply it wrote.
Bad input: one line "error: PATH: problem" on stderr, exit code 1. See docs/pointclouds.md.
"""

import sys

from absl import flags

from cameras import layout
from cameras.errors import InputError
from mvsnet import cli
from mvsnet.pointcloud.cloud import FUSION_MODES, pointcloud

FLAGS = flags.FLAGS


def define_flags():
    """The original's flags (names and defaults; no fusibile path by default: the built-in
    fusion runs) plus the built-in fusion's options. Defined only when run as a script."""
    flags.DEFINE_string("dense_folder", None, "Dense folder on which mvsnet/test.py has run.")
    flags.DEFINE_string("fusibile_exe_path", None, "fusibile executable: run the original's "
                        "Gipuma route instead of the built-in fusion.")
    flags.DEFINE_float("prob_threshold", 0.8, "Depths with probability below this are dropped.")
    flags.DEFINE_float("disp_threshold", 0.25, "Largest disagreement, as a disparity in pixels, "
                       "of a consistent view (fusibile mode).")
    flags.DEFINE_float("num_consistent", 3, "Views that must agree with a pixel (a whole number).")
    flags.DEFINE_enum("fusion_mode", "fusibile", FUSION_MODES, "Built-in fusion: fusibile's "
                      "algorithm, or the PyTorch ports' geometric-consistency filter.")
    flags.DEFINE_float("geo_pixel_threshold", 1.0, "consistency mode: largest reprojection "
                       "error in pixels.")
    flags.DEFINE_float("geo_depth_threshold", 0.01, "consistency mode: largest relative depth "
                       "difference.")
    flags.DEFINE_string("output", None, "Built-in fusion: PLY to write "
                        "(default SCENE/points_mvsnet/fused.ply).")


def check_options(prob_threshold, disp_threshold, num_consistent):
    if num_consistent != int(num_consistent) or num_consistent < 0:
        raise InputError("--num_consistent must be a whole number >= 0, got %g" % num_consistent)
    if not disp_threshold > 0:
        raise InputError("--disp_threshold must be positive, got %g" % disp_threshold)
    if prob_threshold != prob_threshold:
        raise InputError("--prob_threshold must be a number")


def run_fusibile_route(dense_folder, exe, prob_threshold, disp_threshold, num_consistent):
    from mvsnet.pointcloud import gipuma

    gipuma.check_executable(exe)
    out = gipuma.export_gipuma(dense_folder, prob_threshold, log=_log, warn=_warn)
    _log("Run depth map fusion & filter")
    ply = gipuma.run_fusibile(exe, layout.point_folder(out.dense_folder),
                              disp_threshold, num_consistent, log=_log)
    _log("point cloud: %s" % ply)
    return ply


def run_builtin(dense_folder, output, mode, prob_threshold, disp_threshold, num_consistent,
                pixel_threshold=1.0, depth_threshold=0.01):
    cloud, output, seconds = pointcloud(dense_folder, output, mode, prob_threshold, disp_threshold,
                                        num_consistent, pixel_threshold, depth_threshold, log=_log, warn=_warn)
    _log("fused %d points from %d views in %.1f s (%s mode) -> %s"
         % (len(cloud.points), len(cloud.view_points), seconds, mode, output))
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
    check_options(FLAGS.prob_threshold, FLAGS.disp_threshold, FLAGS.num_consistent)
    if FLAGS.fusibile_exe_path:
        if FLAGS["fusion_mode"].present or FLAGS["output"].present:
            raise InputError("--fusion_mode and --output are options of the built-in fusion; "
                             "not with --fusibile_exe_path")
        run_fusibile_route(FLAGS.dense_folder, FLAGS.fusibile_exe_path, FLAGS.prob_threshold,
                           FLAGS.disp_threshold, FLAGS.num_consistent)
    else:
        run_builtin(FLAGS.dense_folder, FLAGS.output, FLAGS.fusion_mode, FLAGS.prob_threshold,
                    FLAGS.disp_threshold, FLAGS.num_consistent, FLAGS.geo_pixel_threshold,
                    FLAGS.geo_depth_threshold)


def run():
    """Console entry point ``mvsnet-depthfusion``."""
    define_flags()
    cli.run(main)


if __name__ == "__main__":
    run()
