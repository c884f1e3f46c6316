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

from mvsnet import cli  # noqa: E402

# paths
flags.DEFINE_string("blendedmvs_data_root", "/data/BlendedMVS/dataset_low_res", "Path to the BlendedMVS dataset.")
flags.DEFINE_string("eth3d_data_root", "/data/eth3d/lowres/training/undistorted", "Path to the ETH3D dataset.")
flags.DEFINE_string("dtu_data_root", "/data/dtu", "Path to the DTU dataset (mvs_training/dtu).")
flags.DEFINE_boolean("train_blendedmvs", False, "Train on BlendedMVS.")
flags.DEFINE_boolean("train_blendedmvg", False, "Train on BlendedMVG.")
flags.DEFINE_boolean("train_dtu", False, "Train on DTU.")
flags.DEFINE_boolean("train_eth3d", False, "Train on ETH3D.")
flags.DEFINE_string("log_folder", "/data/tf_log", "Path to store the TensorBoard log.")
flags.DEFINE_string("model_folder", "/data/tf_model", "Path to save the model (snapshots in MODEL_FOLDER/<regularization>).")
flags.DEFINE_integer("ckpt_step", 0, "Step of the checkpoint to resume from (with --use_pretrain).")
flags.DEFINE_boolean("use_pretrain", False, "Resume from MODEL_FOLDER/<regularization>/model.ckpt-<ckpt_step>.")
# input parameters
flags.DEFINE_integer("view_num", 3, "Number of images (1 reference image and view_num - 1 source images).")
flags.DEFINE_integer("max_d", 192, "Number of depth planes when training.")
flags.DEFINE_integer("max_w", 640, "Image width when training (ETH3D crop).")
flags.DEFINE_integer("max_h", 512, "Image height when training (ETH3D crop).")
flags.DEFINE_float("sample_scale", 0.25, "Downsample scale of the depth maps and cameras (BlendedMVS, ETH3D).")
# network architectures
flags.DEFINE_string("regularization", "GRU", "Regularization method: GRU or 3DCNNs.")
flags.DEFINE_boolean("refinement", False, "Whether to apply depth map refinement (3DCNNs).")
# training parameters
flags.DEFINE_integer("num_gpus", 1, "Number of GPUs.")
flags.DEFINE_integer("batch_size", 1, "Training batch size (per GPU).")
flags.DEFINE_integer("epoch", 6, "Training epoch number.")
flags.DEFINE_float("base_lr", 0.001, "Base learning rate.")
flags.DEFINE_integer("display", 1, "Interval of the progress line (steps); summaries every 10 x display.")
flags.DEFINE_integer("stepvalue", 10000, "Step interval to decay the learning rate.")
flags.DEFINE_integer("snapshot", 5000, "Step interval to save the model.")
flags.DEFINE_float("gamma", 0.9, "Learning rate decay rate.")
flags.DEFINE_boolean("online_augmentation", False, "Whether to apply online photometric augmentation.")
# beyond the original
flags.DEFINE_boolean("multi_worker", False, "Train on several machines with MultiWorkerMirroredStrategy (TF_CONFIG).")
flags.DEFINE_integer("max_steps", 0, "Stop after this many steps (0: train every epoch).")
flags.DEFINE_integer("seed", None, "Seed of the sample shuffle (default: random, as the original).")

FLAGS = flags.FLAGS


def config_from_flags():
    from cameras.errors import InputError

    chosen = [(name, root) for name, root in (
        ("blendedmvs", FLAGS.blendedmvs_data_root), ("blendedmvg", FLAGS.blendedmvs_data_root),
        ("dtu", FLAGS.dtu_data_root), ("eth3d", FLAGS.eth3d_data_root))
        if getattr(FLAGS, "train_" + name)]
    if len(chosen) != 1:
        raise InputError("give exactly one training dataset: --train_dtu, --train_blendedmvs, "
                         "--train_blendedmvg or --train_eth3d%s"
                         % (" (got %s)" % ", ".join("--train_" + n for n, _ in chosen) if chosen else ""))
    dataset, root = chosen[0]
    from mvsnet.training.loop import TrainConfig
    names = ("log_folder", "model_folder", "ckpt_step", "use_pretrain", "view_num", "max_d", "max_w",
             "max_h", "sample_scale", "regularization", "refinement", "num_gpus", "batch_size", "epoch",
             "base_lr", "display", "stepvalue", "snapshot", "gamma", "online_augmentation",
             "multi_worker", "max_steps", "seed")
    return TrainConfig(dataset=dataset, data_root=root, **{n: getattr(FLAGS, n) for n in names})


def main(argv):
    cli.reject_extra_arguments(argv)
    from mvsnet import quiet_tf

    quiet_tf.import_tensorflow()     # stderr stays for warnings and the one error line
    config = config_from_flags()
    config.check()
    from mvsnet.training import loop
    print("Training MVSNet with totally %d views inputs (including reference view)" % config.view_num)
    loop.train(config, warn=lambda text: print("warning: %s" % text, file=sys.stderr))


if __name__ == "__main__":
    cli.run(main)
