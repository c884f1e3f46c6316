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
from mvsnet import cli, options
from mvsnet.colmap import convert

FLAGS = flags.FLAGS


def define_flags():
    """The original's flags (names and defaults) and the fixes, off by default: the conversion
    options generated from :class:`mvsnet.colmap.convert.Options`, plus where to read and write."""
    flags.DEFINE_string("dense_folder", None, "COLMAP dense workspace: images/ and sparse/.")
    options.define_flags(convert.Options)
    flags.DEFINE_bool("test", False, "Compute and print only; write nothing.")
    flags.DEFINE_string("output_folder", None, "Write images/, cams/ and pair.txt here instead "
                        "of into --dense_folder (keeps the COLMAP workspace untouched).")
    flags.DEFINE_bool("allow_distorted", False, "Accept distorted camera models, ignoring the "
                      "distortion as the original did (wrong cameras: undistort instead).")


def main(argv):
    cli.reject_extra_arguments(argv)
    if not FLAGS.dense_folder:
        raise InputError("--dense_folder is required")
    convert.convert(FLAGS.dense_folder, options.from_flags(convert.Options, FLAGS),
                    output_folder=FLAGS.output_folder,
                    test=FLAGS.test, allow_distorted=FLAGS.allow_distorted)


def run():
    """Console entry point ``mvsnet-colmap2mvsnet``."""
    define_flags()
    cli.run(main)


if __name__ == "__main__":
    run()
