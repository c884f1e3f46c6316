#!/usr/bin/env python
"""Photos in, coloured point cloud out: one command, on the CPU.

    python mvsnet/reconstruct.py --images PHOTOS/ --workspace WS/ [--max_w 1600 --max_h 1200 --max_d 0]

1. structure from motion with pycolmap (SIFT, exhaustive / sequential / vocabulary-tree
   matching, incremental mapping) and undistortion into WS/dense/;
2. colmap2mvsnet into WS/mvsnet/ (cams with --max_d planes over the sparse depth range widened
   by --depth_margin; by default a number per view that suits the network's resolution);
3. R-MVSNet (GRU) depth maps into WS/mvsnet/depths_mvsnet/, with the shipped released
   weights unless --pretrained_model_ckpt_path; the network input is the largest multiple
   of 32 that fits the undistorted photos, capped by --max_w x --max_h;
4. depth fusion into WS/points.ply (--mesh: also WS/mesh.ply, docs/mesh.md);
then WS/preview.png: the photos of three views, the cloud from their cameras, the depth and
probability maps of one view (docs/rendering.md); its path is printed.
A stage whose output exists is skipped (resume after an interruption); --force redoes all.
A failure is one line "error: stage N (name): why". The photos are never modified.
The pipeline itself is mvsnet.reconstruction (one function per stage).
"""

from absl import flags

from cameras.errors import InputError
from mvsnet import cli, options
from mvsnet import reconstruction
from mvsnet.colmap import sfm

FLAGS = flags.FLAGS


def define_flags():
    """--images, --workspace, and the fields of PipelineOptions and SfmOptions."""
    flags.DEFINE_string("images", None, "Folder of photos (jpg/png/...; not searched recursively).")
    flags.DEFINE_string("workspace", None, "Folder for every output (created if needed).")
    options.define_flags(reconstruction.PipelineOptions)
    options.define_flags(sfm.SfmOptions)


def main(argv):
    cli.reject_extra_arguments(argv)
    if not FLAGS.images or not FLAGS.workspace:
        raise InputError("--images and --workspace are required")
    run_options = options.from_flags(reconstruction.PipelineOptions, FLAGS,
                                     sfm=options.from_flags(sfm.SfmOptions, FLAGS))
    reconstruction.reconstruct(FLAGS.images, FLAGS.workspace, run_options)


def run():
    """Console entry point ``mvsnet-reconstruct``."""
    define_flags()
    cli.run(main)


if __name__ == "__main__":
    run()
