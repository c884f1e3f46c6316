#!/usr/bin/env python
"""Depth inference on a dense folder, as the original R-MVSNet / MVSNet mvsnet/test.py.

    python mvsnet/test.py --regularization GRU --dense_folder SCENE \\
        --pretrained_model_ckpt_path MODEL/model.ckpt --ckpt_step 100000 \\
        --max_w 1600 --max_h 1200 --max_d 256 --interval_scale 0.8

Writes SCENE/depths_mvsnet/%08d_init.pfm, %08d_prob.pfm, %08d.jpg, %08d.txt per reference
view of SCENE/pair.txt. Without --pretrained_model_ckpt_path the shipped released GRU
weights are read (weights/rmvsnet_gru_dtu/model.ckpt-100000, see mvsnet.weights).
Bad input: one line "error: PATH: problem" on stderr, exit code 1.
The pipeline itself is mvsnet.inference (library, explicit parameters).
"""


from absl import flags

from cameras import layout
from cameras.errors import InputError
from mvsnet import cli, options, weights
from mvsnet.inference import plan, shard

FLAGS = flags.FLAGS


def define_flags():
    """The flags of the original test.py (names and defaults): the input options generated
    from :class:`mvsnet.inference.plan.Options`, plus where to read and how to run. Defined
    only when run as a script, so that importing this module adds nothing to absl's registry."""
    flags.DEFINE_string("dense_folder", None, "Dense folder to process: images/, cams/ and pair.txt.")
    define_checkpoint_flags()
    options.define_flags(plan.Options)
    define_run_flags()
    # not in the original: sharing the views between processes (docs/distributed.md)
    define_sharing_flags()
    flags.DEFINE_string("shard", None, "K/N: compute only the K-th of N shares of the reference "
                        "views (1-based; contiguous runs in pair.txt order), for one process per "
                        "GPU or a job array; the N shares together write the files of one run.")


def define_run_flags():
    """--batch_size and --refinement (the original's; also mvsnet/cluster.py's)."""
    flags.DEFINE_integer("batch_size", 1, "Reference views per network call.")
    flags.DEFINE_bool("refinement", False, "3DCNNs: also run the refinement network and write "
                      "%08d_refined.pfm.")


def define_checkpoint_flags():
    """--pretrained_model_ckpt_path and --ckpt_step (read by :func:`checkpoint_flags`)."""
    # deviation: the original's default is a path on its author's machine
    # (/data/tf_model/3DCNNs/BlendedMVS/blended_augmented/model.ckpt); here no path means the
    # shipped GRU weights (weights/rmvsnet_gru_dtu/model.ckpt-100000, see mvsnet.weights)
    flags.DEFINE_string("pretrained_model_ckpt_path", None,
                        "Checkpoint path without the step: PATH-STEP is read (a TF1 checkpoint, the "
                        "original's or this port's; or PATH-STEP.weights.h5, or PATH ending .weights.h5). "
                        "Not given: the shipped released GRU weights (DTU, step 100000); 3DCNNs "
                        "weights are not shipped.")
    flags.DEFINE_integer("ckpt_step", 150000, "Checkpoint step appended to the path (with no path, "
                         "only 100000, the step of the shipped GRU weights, is accepted).")


def define_sharing_flags():
    """Not in the original: --resume, --cluster and --views_per_task (docs/distributed.md)."""
    flags.DEFINE_bool("resume", False, "Skip the reference views whose files are all there "
                      "already (with maps of this run's size): resume an interrupted run.")
    flags.DEFINE_string("cluster", None, "Run the view sets on a Dask cluster: a scheduler "
                        "ADDRESS (tcp://HOST:8786) or local:N (N worker processes on this "
                        "machine). Needs pip install -e .[cluster].")
    flags.DEFINE_integer("views_per_task", 8, "--cluster: view sets per task (a contiguous run, "
                         "so that the feature cache hits).")
    flags.DEFINE_integer("worker_threads", 0, "--cluster: TensorFlow threads per worker (0: "
                         "TensorFlow's default, every core; the files are byte for byte those of "
                         "one process only with its number of threads).")


def checkpoint_flags(regularization):
    """(path, step, note) read by this run: the flags as given, or the shipped GRU weights
    when --pretrained_model_ckpt_path is not given (a deviation: the original's default is a
    path on its author's machine); ``note`` is the log line saying so (None with a path).
    InputError for 3DCNNs without a path (no shipped 3DCNNs weights) and for a --ckpt_step
    other than the shipped one without a path."""
    if FLAGS["pretrained_model_ckpt_path"].present:
        return FLAGS.pretrained_model_ckpt_path, FLAGS.ckpt_step, None
    if regularization != "GRU":
        raise InputError("--regularization %s needs --pretrained_model_ckpt_path (only GRU weights "
                         "are shipped), e.g. --pretrained_model_ckpt_path MODELS/3DCNNs/model.ckpt "
                         "--ckpt_step 100000" % regularization)
    path, step = weights.released_gru_path_and_step()
    if FLAGS["ckpt_step"].present and FLAGS.ckpt_step != step:
        raise InputError("--ckpt_step %d without --pretrained_model_ckpt_path: the shipped GRU weights "
                         "are step %d only; give --pretrained_model_ckpt_path to read another checkpoint"
                         % (FLAGS.ckpt_step, step))
    return path, step, ("no --pretrained_model_ckpt_path: reading the shipped weights, %s"
                        % weights.RELEASED_GRU_DESCRIPTION)


def main(argv):
    cli.reject_extra_arguments(argv)
    if not FLAGS.dense_folder:
        raise InputError("--dense_folder is required")
    opts = options.from_flags(plan.Options, FLAGS)
    opts.check()
    ckpt_path, ckpt_step, ckpt_note = checkpoint_flags(opts.regularization)
    share = shard.parse_shard(FLAGS.shard) if FLAGS.shard is not None else None
    if FLAGS.batch_size < 1:
        raise InputError("--batch_size must be at least 1, got %d" % FLAGS.batch_size)
    if FLAGS.cluster is not None:
        from mvsnet.inference import cluster

        if share:
            raise InputError("--shard and --cluster do not go together (the cluster shares the "
                             "views out itself)")
        cluster.check_engine()
        cluster.parse_address(FLAGS.cluster)
    print("Testing %s with totally %d view inputs (including reference view)"
          % ("R-MVSNet" if opts.regularization == "GRU" else "MVSNet", opts.view_num), flush=True)
    # everything checkable without TensorFlow first: bad input fails fast and cleanly
    plans = plan.plan_dense_folder(FLAGS.dense_folder, opts)
    if ckpt_note:
        print(ckpt_note, flush=True)
    checkpoint = weights.resolve_checkpoint(ckpt_path, ckpt_step)   # before TensorFlow loads
    if FLAGS.cluster is not None:
        return run_on_cluster(plans, checkpoint, opts)
    todo = plans
    if share:
        first, todo = shard.select(plans, share[0], share[1], FLAGS.batch_size)
        print(shard.describe(share[0], share[1], first, len(todo), len(plans)), flush=True)
    if FLAGS.resume:
        before = len(todo)
        todo = shard.pending(todo, layout.depth_folder(FLAGS.dense_folder), opts, FLAGS.batch_size,
                             FLAGS.refinement)
        print("--resume: %d of %d view set(s) complete already, %d to compute"
              % (before - len(todo), before, len(todo)), flush=True)
    if not todo:
        print("nothing to do", flush=True)
        return 0
    from mvsnet import quiet_tf

    quiet_tf.import_tensorflow()
    from mvsnet.inference import pipeline, process

    process.configure(opts.max_w, opts.max_h)   # this process's memory settings
    pipeline.run(FLAGS.dense_folder, checkpoint, None, opts,
                 batch_size=FLAGS.batch_size, refinement=FLAGS.refinement, plans=todo)


def run_on_cluster(plans, checkpoint, opts):
    """--cluster: the view sets of --dense_folder on a Dask cluster (no fusion: as test.py)."""
    from mvsnet.inference import cluster

    job = cluster.Job(checkpoint, None, opts, batch_size=FLAGS.batch_size,
                      refinement=FLAGS.refinement, views_per_task=FLAGS.views_per_task,
                      resume=FLAGS.resume, threads=FLAGS.worker_threads)
    job.check()
    cluster.run_folder(FLAGS.cluster, FLAGS.dense_folder, plans, job)


def run():
    """Console entry point ``mvsnet-test``."""
    define_flags()
    cli.run(main)


if __name__ == "__main__":
    run()
