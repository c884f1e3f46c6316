#!/usr/bin/env python
"""A COLMAP dense workspace to an MVSNet dense folder, as the original colmap2mvsnet.py.

    python mvsnet/colmap2mvsnet.py --dense_folder COLMAP/dense [--max_d 0] [--interval_scale 1]
        [--theta0 5] [--sigma1 1] [--sigma2 10] [--test] [--convert_format]

Reads COLMAP/dense/sparse (text or binary, any COLMAP layout, through pycolmap) and writes
cams/%08d_cam.txt, pair.txt and images/%08d.jpg (into --output_folder when given, else into
the dense folder as the original). Differences from the original, all about its failures:
distorted camera models, missing models and photos that a copy would overwrite are one-line
errors; image ids need not be 1..N; a photo already named %08d.jpg is left in place; a view
without sparse points is a warning; --test writes nothing (the original ignores it).
The computation is mvsnet.colmap.convert.
"""

from absl import flags

from cameras.errors import InputError
from mvsnet import cli

FLAGS = flags.FLAGS


def define_flags():
    """The original's flags (names and defaults) and the fixes, off by default."""
    flags.DEFINE_string("dense_folder", None, "COLMAP dense workspace: images/ and sparse/.")
    flags.DEFINE_integer("max_d", 0, "DEPTH_NUM of every view; 0: estimated per view from "
                         "inverse depth (the original's default).")
    flags.DEFINE_float("interval_scale", 1, "DEPTH_INTERVAL is divided by this.")
    flags.DEFINE_float("theta0", 5, "View selection: best triangulation angle (degrees).")
    flags.DEFINE_float("sigma1", 1, "View selection: spread below theta0 (degrees).")
    flags.DEFINE_float("sigma2", 10, "View selection: spread above theta0 (degrees).")
    flags.DEFINE_bool("test", False, "Compute and print only; write nothing.")
    flags.DEFINE_bool("convert_format", False, "Re-encode the images as JPEG (else their bytes "
                      "are copied, whatever their format, as the original).")
    flags.DEFINE_string("output_folder", None, "Write images/, cams/ and pair.txt here instead "
                        "of into --dense_folder (keeps the COLMAP workspace untouched).")
    flags.DEFINE_bool("exclude_reference", False, "Never list a view as its own source (the "
                      "original does, with score 0, when there are fewer than 11 views).")
    flags.DEFINE_bool("full_precision", False, "Write the depth line with every digit (the "
                      "original writes %f: 6 decimals).")
    flags.DEFINE_bool("allow_distorted", False, "Accept distorted camera models, ignoring the "
                      "distortion as the original did (wrong cameras: undistort instead).")


def main(argv):
    cli.reject_extra_arguments(argv)
    if not FLAGS.dense_folder:
        raise InputError("--dense_folder is required")
    from mvsnet.colmap import convert

    options = convert.Options(
        max_d=FLAGS.max_d, interval_scale=FLAGS.interval_scale, theta0=FLAGS.theta0,
        sigma1=FLAGS.sigma1, sigma2=FLAGS.sigma2, convert_format=FLAGS.convert_format,
        exclude_reference=FLAGS.exclude_reference, full_precision=FLAGS.full_precision)
    convert.convert(FLAGS.dense_folder, options, output_folder=FLAGS.output_folder,
                    test=FLAGS.test, allow_distorted=FLAGS.allow_distorted)


def run():
    """Console entry point ``mvsnet-colmap2mvsnet``."""
    define_flags()
    cli.run(main)


if __name__ == "__main__":
    run()
