#!/usr/bin/env python
"""Photos in, coloured point cloud out: one command, on the CPU.

    python mvsnet/reconstruct.py --images PHOTOS/ --workspace WS/ [--max_w 1600 --max_h 1200 --max_d 0]

1. structure from motion with pycolmap (SIFT, exhaustive / sequential / vocabulary-tree
   matching, incremental mapping) and undistortion into WS/dense/;
2. colmap2mvsnet into WS/mvsnet/ (cams with --max_d planes over the sparse depth range; by
   default a number per view that suits the network's resolution);
3. R-MVSNet (GRU) depth maps into WS/mvsnet/depths_mvsnet/, with the shipped released
   weights unless --pretrained_model_ckpt_path; the network input is the largest multiple
   of 32 that fits the undistorted photos, capped by --max_w x --max_h;
4. depth fusion into WS/points.ply.
A stage whose output exists is skipped (resume after an interruption); --force redoes all.
A failure is one line "error: stage N (name): why". The photos are never modified.
The pipeline itself is mvsnet.colmap.pipeline.
"""

from absl import flags

from cameras.errors import InputError
from mvsnet import cli

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_string("images", None, "Folder of photos (jpg/png/...; not searched recursively).")
    flags.DEFINE_string("workspace", None, "Folder for every output (created if needed).")
    flags.DEFINE_integer("max_w", 1600, "Largest network input width (a multiple of 32 is used).")
    flags.DEFINE_integer("max_h", 1200, "Largest network input height (a multiple of 32 is used).")
    flags.DEFINE_integer("max_d", 0, "Depth planes per view, spread over the view's sparse depth "
                         "range; 0 (default): per view, about one pixel apart in the network's "
                         "1/4-scale cost volume, 32 to 256 (see docs/own-photos.md).")
    flags.DEFINE_integer("view_num", 5, "Views per depth map: the reference and view_num - 1 sources.")
    flags.DEFINE_float("interval_scale", 1.0, "colmap2mvsnet's: the depth interval is divided by it "
                       "(above 1: a narrower range around the near end).")
    flags.DEFINE_string("pretrained_model_ckpt_path", None, "Checkpoint path without the step "
                        "(default: the shipped released GRU weights).")
    flags.DEFINE_integer("ckpt_step", 100000, "Step of --pretrained_model_ckpt_path.")
    flags.DEFINE_float("prob_threshold", 0.3, "Fusion: least probability of a depth (0.3: the "
                       "original README's value for R-MVSNet).")
    flags.DEFINE_float("disp_threshold", 0.25, "Fusion: largest reprojection disparity (pixels).")
    flags.DEFINE_integer("num_consistent", 3, "Fusion: least number of agreeing source views.")
    flags.DEFINE_enum("matcher", "exhaustive", ["exhaustive", "sequential", "vocabtree"],
                      "Feature matching: exhaustive (up to a few hundred photos), sequential "
                      "(video frames in name order), vocabtree (large sets; --vocab_tree_path).")
    flags.DEFINE_string("vocab_tree_path", "", "Vocabulary tree file for --matcher vocabtree.")
    flags.DEFINE_integer("sequential_overlap", 10, "--matcher sequential: next photos matched.")
    flags.DEFINE_bool("single_camera", True, "All photos share one camera (same body and zoom).")
    flags.DEFINE_string("camera_model", "SIMPLE_RADIAL", "COLMAP camera model SfM estimates "
                        "(SIMPLE_RADIAL, RADIAL, OPENCV, PINHOLE, ...).")
    flags.DEFINE_integer("max_image_size", 3200, "SIFT runs on photos downscaled to this side.")
    flags.DEFINE_integer("min_registered", 3, "Fewer registered photos is a failure.")
    flags.DEFINE_bool("force", False, "Redo every stage even when its output exists.")


def main(argv):
    cli.reject_extra_arguments(argv)
    if not FLAGS.images or not FLAGS.workspace:
        raise InputError("--images and --workspace are required")
    from mvsnet.colmap import pipeline, sfm

    options = pipeline.PipelineOptions(
        max_w=FLAGS.max_w, max_h=FLAGS.max_h, max_d=FLAGS.max_d, view_num=FLAGS.view_num,
        interval_scale=FLAGS.interval_scale, ckpt_path=FLAGS.pretrained_model_ckpt_path or "",
        ckpt_step=FLAGS.ckpt_step, prob_threshold=FLAGS.prob_threshold,
        disp_threshold=FLAGS.disp_threshold, num_consistent=FLAGS.num_consistent, force=FLAGS.force,
        sfm=sfm.SfmOptions(matcher=FLAGS.matcher, vocab_tree_path=FLAGS.vocab_tree_path,
                           sequential_overlap=FLAGS.sequential_overlap,
                           single_camera=FLAGS.single_camera, camera_model=FLAGS.camera_model,
                           max_image_size=FLAGS.max_image_size,
                           min_registered=FLAGS.min_registered))
    pipeline.reconstruct(FLAGS.images, FLAGS.workspace, options)


def run():
    """Console entry point ``mvsnet-reconstruct``."""
    define_flags()
    cli.run(main)


if __name__ == "__main__":
    run()
