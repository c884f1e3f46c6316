#!/usr/bin/env python
"""Train R-MVSNet (GRU) or MVSNet (3DCNNs) as the original mvsnet/train.py.

    python mvsnet/train.py --regularization GRU --train_dtu --dtu_data_root DTU \
        --max_w 640 --max_h 512 --max_d 128 --model_folder MODELS --log_folder LOGS

Snapshots go to MODEL_FOLDER/<regularization>/model.ckpt-<global step> in the original
TF1 layout (weights, RMSProp slots, global_step): test.py reads them with
``--pretrained_model_ckpt_path MODEL_FOLDER/GRU/model.ckpt --ckpt_step N``; training
resumes from one with ``--use_pretrain --ckpt_step N`` (also from the released TF1
checkpoints copied there).  ``--num_gpus N`` trains on N GPUs with MirroredStrategy;
``--multi_worker`` on several machines with MultiWorkerMirroredStrategy (TF_CONFIG).

Everything is checked before the first step: the options, the dataset, the
``--use_pretrain`` snapshot, and that ``--log_folder`` and ``--model_folder`` are writable
folders.  A missing one is created (as the original did on its first write) only when its
parent folder exists and is writable, and only once every check has passed; otherwise,
e.g. for the original's defaults /data/tf_log and /data/tf_model on a machine without
/data, the run stops at once.  Bad input, and a step that runs out of memory: one line
``error: PATH: problem`` on stderr, exit code 1.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from cameras.errors import InputError  # noqa: E402
from mvsnet import cli, options  # noqa: E402
from mvsnet.training import config, data  # noqa: E402

DATASET_NAMES = {"dtu": "DTU", "blendedmvs": "BlendedMVS", "blendedmvg": "BlendedMVG", "eth3d": "ETH3D"}

FLAGS = flags.FLAGS


def define_flags():
    """The flags of the original train.py (names and defaults): the dataset choice
    (``--train_*``), the data roots (:class:`~mvsnet.training.config.DataRoots`) and every
    field of :class:`~mvsnet.training.config.TrainConfig`."""
    for name in data.DATASETS:
        flags.DEFINE_boolean("train_" + name, False, "Train on %s." % DATASET_NAMES[name])
    options.define_flags(config.DataRoots)
    options.define_flags(config.TrainConfig)


def config_from_flags():
    """The TrainConfig of the parsed flags; InputError unless exactly one --train_* is given."""
    chosen = [name for name in data.DATASETS if getattr(FLAGS, "train_" + name)]
    if len(chosen) != 1:
        raise InputError("give exactly one training dataset: --train_dtu, --train_blendedmvs, "
                         "--train_blendedmvg or --train_eth3d%s"
                         % (" (got %s)" % ", ".join("--train_" + n for n in chosen) if chosen else ""))
    roots = options.from_flags(config.DataRoots, FLAGS)
    return options.from_flags(config.TrainConfig, FLAGS, dataset=chosen[0],
                              data_root=roots.root(chosen[0]))


def main(argv):
    cli.reject_extra_arguments(argv)
    train_config = config_from_flags()
    train_config.check()             # before TensorFlow is imported: bad input fails in a second
    from mvsnet import quiet_tf

    quiet_tf.import_tensorflow()     # stderr stays for warnings and the one error line
    from mvsnet.training import loop

    print("Training MVSNet with totally %d views inputs (including reference view)" % train_config.view_num)
    loop.train(train_config, warn=lambda text: print("warning: %s" % text, file=sys.stderr))


def run():
    """Console entry point ``mvsnet-train``."""
    define_flags()
    cli.run(main)


if __name__ == "__main__":
    run()
