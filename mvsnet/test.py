#!/usr/bin/env python
"""Depth inference on a dense folder, as the original R-MVSNet / MVSNet mvsnet/test.py.

    python mvsnet/test.py --regularization GRU --dense_folder SCENE \\
        --pretrained_model_ckpt_path MODEL/model.ckpt --ckpt_step 100000 \\
        --max_w 1600 --max_h 1200 --max_d 256 --interval_scale 0.8

Writes SCENE/depths_mvsnet/%08d_init.pfm, %08d_prob.pfm, %08d.jpg, %08d.txt per reference
view of SCENE/pair.txt. Bad input: one line "error: PATH: problem" on stderr, exit code 1.
The pipeline itself is mvsnet.inference (library, explicit parameters).
"""


from absl import flags

from cameras.errors import InputError
from mvsnet import cli, dense_input

FLAGS = flags.FLAGS


def define_flags():
    """The flags of the original test.py (names and defaults); defined only when run as a
    script, so that importing this module adds nothing to the global absl registry."""
    # where to read
    flags.DEFINE_string("dense_folder", None, "Dense folder to process: images/, cams/ and pair.txt.")
    flags.DEFINE_string("pretrained_model_ckpt_path",
                        "/data/tf_model/3DCNNs/BlendedMVS/blended_augmented/model.ckpt",
                        "Checkpoint path without the step: PATH-STEP is read (a TF1 checkpoint, the "
                        "original's or this port's; or PATH-STEP.weights.h5, or PATH ending .weights.h5).")
    flags.DEFINE_integer("ckpt_step", 150000, "Checkpoint step appended to the path.")
    # input
    flags.DEFINE_integer("view_num", 5, "Views per depth map: the reference plus view_num - 1 sources.")
    flags.DEFINE_integer("max_d", 256, "Depth planes: GRU uses it when a cam has no DEPTH_NUM, "
                         "3DCNNs always.")
    flags.DEFINE_integer("max_w", 1600, "Network input width (images are scaled and cropped to it).")
    flags.DEFINE_integer("max_h", 1200, "Network input height (images are scaled and cropped to it).")
    flags.DEFINE_float("sample_scale", 0.25, "Scale of the cost volume (and of the output maps) "
                       "relative to the network input.")
    flags.DEFINE_float("interval_scale", 0.8, "Factor applied to DEPTH_INTERVAL of the cam files.")
    flags.DEFINE_float("base_image_size", 8, "Cropped sides are rounded up to a multiple of this.")
    flags.DEFINE_integer("batch_size", 1, "Reference views per network call.")
    flags.DEFINE_bool("adaptive_scaling", True, "Scale the images so that they just cover "
                      "max_w x max_h, then crop the centre.")
    # network
    flags.DEFINE_string("regularization", "GRU", "GRU (R-MVSNet) or 3DCNNs (MVSNet).")
    flags.DEFINE_bool("refinement", False, "3DCNNs: also run the refinement network and write "
                      "%08d_refined.pfm.")
    flags.DEFINE_bool("inverse_depth", True, "GRU: sample the depth planes uniformly in inverse depth.")


def main(argv):
    cli.reject_extra_arguments(argv)
    if not FLAGS.dense_folder:
        raise InputError("--dense_folder is required")
    options = dense_input.Options(
        view_num=FLAGS.view_num, max_d=FLAGS.max_d, max_w=FLAGS.max_w, max_h=FLAGS.max_h,
        sample_scale=FLAGS.sample_scale, interval_scale=FLAGS.interval_scale,
        base_image_size=FLAGS.base_image_size, adaptive_scaling=FLAGS.adaptive_scaling,
        regularization=FLAGS.regularization, inverse_depth=FLAGS.inverse_depth)
    options.check()
    print("Testing %s with totally %d view inputs (including reference view)"
          % ("R-MVSNet" if options.regularization == "GRU" else "MVSNet", options.view_num), flush=True)
    # everything checkable without TensorFlow first: bad input fails fast and cleanly
    plans = dense_input.plan_dense_folder(FLAGS.dense_folder, options)
    dense_input.resolve_checkpoint(FLAGS.pretrained_model_ckpt_path, FLAGS.ckpt_step)
    from mvsnet import quiet_tf

    quiet_tf.import_tensorflow()
    from mvsnet import inference

    inference.run(FLAGS.dense_folder, FLAGS.pretrained_model_ckpt_path, FLAGS.ckpt_step, options,
                  batch_size=FLAGS.batch_size, refinement=FLAGS.refinement, plans=plans)


if __name__ == "__main__":
    define_flags()
    cli.run(main)
