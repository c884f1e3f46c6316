"""Convert an original TF1 R-MVSNet / MVSNet checkpoint to Keras weights.

    python tools/convert_checkpoint.py --ckpt tf_model/GRU/model.ckpt-100000 \
        --regularization GRU --output rmvsnet_gru.weights.h5

Reads the checkpoint directly (no TF1 graph, no .meta), drops optimizer slots and
global_step, checks that every model variable is there with the right shape, and
writes a ``.weights.h5`` file for the network of :func:`mvsnet.network.model.build_model` (atomically; its folder
must exist and be writable, which is checked before the checkpoint is read).  Bad input:
one line ``error: PATH: problem`` on stderr, exit code 1.  The library is
:mod:`mvsnet.checkpoint`; test.py uses the same code to read TF1 checkpoints directly.
"""

from absl import flags

FLAGS = flags.FLAGS
flags.DEFINE_string("ckpt", None, "TF1 checkpoint prefix, e.g. tf_model/GRU/model.ckpt-100000.")
flags.DEFINE_enum("regularization", "GRU", ["GRU", "3DCNNs"], "Network of the checkpoint.")
flags.DEFINE_bool("refinement", False, "The checkpoint has the MVSNet refinement network.")
flags.DEFINE_string("output", None, "Keras weights file to write (must end with .weights.h5).")


def main(argv):
    from cameras.errors import InputError
    from mvsnet import checks, cli, quiet_tf
    cli.reject_extra_arguments(argv)
    if not FLAGS.ckpt or not FLAGS.output:
        raise InputError("--ckpt and --output are required")
    if not FLAGS.output.endswith(".weights.h5"):
        raise InputError("the output must end with .weights.h5", FLAGS.output)
    checks.check_output_file(FLAGS.output, "--output")   # before the checkpoint is read
    quiet_tf.import_tensorflow()
    from mvsnet import checkpoint
    from mvsnet.network.model import build_model
    model = build_model(FLAGS.regularization, refinement=FLAGS.refinement)
    summary = checkpoint.load_tf1_checkpoint(model, FLAGS.ckpt)
    checkpoint.save_weights(model, FLAGS.output)
    print("converted %s (%s, global_step %s)" % (FLAGS.ckpt, FLAGS.regularization, summary["global_step"]))
    print("  %d model variables matched, %d parameters" % (summary["matched"], summary["parameters"]))
    print("  %d optimizer slots / training-only variables dropped" % summary["dropped"])
    print("  wrote %s" % FLAGS.output)
    return 0


if __name__ == "__main__":
    from mvsnet import cli
    cli.run(main)
