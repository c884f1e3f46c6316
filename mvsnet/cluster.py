#!/usr/bin/env python
"""Depth maps of one or many dense folders on a Dask cluster, then a point cloud of each.

    python mvsnet/cluster.py --cluster local:2 --dense_folder SCENE_A --dense_folder SCENE_B \\
        --max_w 1600 --max_h 1200 --max_d 256 --interval_scale 0.8 --prob_threshold 0.3
    python mvsnet/cluster.py --cluster tcp://HOST:8786 --dense_folder /shared/SCENE ...

(Not named distributed.py: run as a script, its folder comes first on sys.path and the
file would hide the ``distributed`` package.)

test.py's flags (the network, the checkpoint, the input size), for every --dense_folder
(repeat the flag); the view sets are computed by the cluster's workers (one model per worker
process), then each scene is fused on one worker into SCENE/points_mvsnet/fused.ply
(depthfusion.py's built-in fusion, its modes and defaults; --nofuse: depth maps only, as
``test.py --cluster``). --cluster local:N starts N worker processes on this machine. The
folders must be at the same path on every worker. Needs the optional extra
``pip install -e .[cluster]`` (Dask distributed). Bad input: one line "error: PATH: problem"
on stderr, exit code 1, before the cluster starts. See docs/distributed.md.
"""

import os

from absl import flags

from cameras.errors import InputError
from mvsnet import cli, options, weights
from mvsnet import test as test_cli
from mvsnet.inference import plan
from mvsnet.pointcloud.cloud import FusionOptions

FLAGS = flags.FLAGS

FUSION_FLAGS = tuple(f.name for f in options.flag_fields(FusionOptions)
                     if f.name not in ("fusibile_exe_path", "output"))
"""depthfusion.py's built-in fusion flags (FusionOptions), all but two: the cloud is always
SCENE/points_mvsnet/fused.ply, and fusibile itself does not run on the cluster."""


def define_flags():
    flags.DEFINE_multi_string("dense_folder", None, "Dense folder to process (images/, cams/, "
                              "pair.txt); repeat the flag for several scenes.")
    test_cli.define_checkpoint_flags()
    options.define_flags(plan.Options)
    test_cli.define_run_flags()
    test_cli.define_sharing_flags()
    flags.DEFINE_integer("retries", 2, "Further attempts of a task that failed with an exception "
                         "(the tasks of a worker that died are rescheduled without counting here).")
    flags.DEFINE_bool("fuse", True, "Fuse each scene once its depth maps are written "
                      "(SCENE/points_mvsnet/fused.ply).")
    options.define_flags(FusionOptions, only=FUSION_FLAGS)


def main(argv):
    cli.reject_extra_arguments(argv)
    folders = FLAGS.dense_folder or []
    if not folders:
        raise InputError("--dense_folder is required (repeat it for several scenes)")
    if not FLAGS.cluster:
        raise InputError("--cluster is required: local:N or a Dask scheduler address (tcp://HOST:8786)")
    from mvsnet.inference import cluster

    cluster.parse_address(FLAGS.cluster)
    cluster.check_engine()
    seen = {}
    for folder in folders:
        key = os.path.realpath(folder)
        if key in seen:
            raise InputError("given twice (also as %s)" % seen[key], folder)
        seen[key] = folder
    opts = options.from_flags(plan.Options, FLAGS)
    opts.check()
    ckpt_path, ckpt_step, ckpt_note = test_cli.checkpoint_flags(opts.regularization)
    fusion = None
    if FLAGS.fuse:
        fusion = options.from_flags(FusionOptions, FLAGS, only=FUSION_FLAGS)
        fusion.check()
    checkpoint = weights.resolve_checkpoint(ckpt_path, ckpt_step)   # before the cluster starts
    job = cluster.Job(checkpoint, None, opts, batch_size=FLAGS.batch_size, refinement=FLAGS.refinement,
                      views_per_task=FLAGS.views_per_task, resume=FLAGS.resume, retries=FLAGS.retries,
                      threads=FLAGS.worker_threads)
    job.check()
    # every scene is checked before the cluster starts
    scenes = [cluster.Scene(folder, plan.plan_dense_folder(folder, opts), fusion) for folder in folders]
    if ckpt_note:
        print(ckpt_note, flush=True)
    with cluster.connect(FLAGS.cluster) as client:
        cluster.run(client, scenes, job)


def run():
    """Console entry point ``mvsnet-cluster``."""
    define_flags()
    cli.run(main)


if __name__ == "__main__":
    run()
