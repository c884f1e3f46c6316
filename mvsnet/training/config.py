"""The options of train.py and validate.py: one dataclass each, the single source of their
flags (:mod:`mvsnet.options` generates the absl flags from the fields), defaults and checks.
No TensorFlow here: the CLIs check their flags before TensorFlow loads.
"""

import dataclasses
import os
from typing import Optional

from cameras.errors import InputError
from mvsnet import checks
from mvsnet.network.spec import (SAMPLE_SCALE, check_max_d, check_max_size, check_regularization,
                                 check_sample_scale, check_view_num)
from mvsnet.options import option
from mvsnet.training import data


GT_PLANES = "the ground truth is masked to planes 1..max_d-2"


@dataclasses.dataclass(frozen=True)
class DataRoots:
    """Where the datasets are (the original's ``--*_data_root`` flags and defaults)."""

    blendedmvs_data_root: str = option("/data/BlendedMVS/dataset_low_res",
                                       "Path to the BlendedMVS dataset (also BlendedMVG).")
    eth3d_data_root: str = option("/data/eth3d/lowres/training/undistorted", "Path to the ETH3D dataset.")
    dtu_data_root: str = option("/data/dtu", "Path to the DTU dataset (mvs_training/dtu).")

    def root(self, dataset):
        """The root folder of ``dataset`` (one of :data:`mvsnet.training.data.DATASETS`)."""
        name = "blendedmvs" if dataset == "blendedmvg" else dataset
        return getattr(self, name + "_data_root")


@dataclasses.dataclass
class TrainConfig:
    """train.py's options: the original's flags (names and defaults), generated from these
    fields (:mod:`mvsnet.options`); ``dataset`` and ``data_root`` come from the
    ``--train_*`` and ``--*_data_root`` flags (:class:`DataRoots`)."""

    dataset: str = option("dtu", flag=False)      # dtu, blendedmvs, blendedmvg, eth3d (--train_*)
    data_root: str = option("/data/dtu", flag=False)  # the chosen dataset's --*_data_root
    log_folder: str = option("/data/tf_log", "Path to store the TensorBoard log.")
    model_folder: str = option("/data/tf_model", "Path to save the model (snapshots in "
                               "MODEL_FOLDER/<regularization>).")
    ckpt_step: int = option(0, "Step of the checkpoint to resume from (with --use_pretrain).")
    use_pretrain: bool = option(False, "Resume from MODEL_FOLDER/<regularization>/model.ckpt-<ckpt_step>.")
    view_num: int = option(3, "Number of images (1 reference image and view_num - 1 source images).")
    max_d: int = option(192, "Number of depth planes when training.")
    max_w: int = option(640, "Image width when training (ETH3D crop).")
    max_h: int = option(512, "Image height when training (ETH3D crop).")
    sample_scale: float = option(SAMPLE_SCALE, "Downsample scale of the depth maps and cameras "
                                 "(must be 0.25: the feature towers downsample by 4).")
    regularization: str = option("GRU", "Regularization method: GRU or 3DCNNs.")
    refinement: bool = option(False, "Whether to apply depth map refinement (3DCNNs).")
    num_gpus: int = option(1, "Number of GPUs.")
    batch_size: int = option(1, "Training batch size (per GPU).")
    epoch: int = option(6, "Training epoch number.")
    base_lr: float = option(0.001, "Base learning rate.")
    display: int = option(1, "Interval of the progress line (steps); summaries every 10 x display.")
    stepvalue: int = option(10000, "Step interval to decay the learning rate.")
    snapshot: int = option(5000, "Step interval to save the model.")
    gamma: float = option(0.9, "Learning rate decay rate.")
    online_augmentation: bool = option(False, "Whether to apply online photometric augmentation.")
    # beyond the original
    multi_worker: bool = option(False, "Train on several machines with MultiWorkerMirroredStrategy "
                                "(TF_CONFIG).")
    seed: Optional[int] = option(None, "Seed of the sample shuffle (default: random, as the original).")
    max_steps: int = option(0, "Stop after this many steps (0: train every epoch).")

    def check(self):
        """InputError for values the original would have crashed on later."""
        if self.dataset not in data.DATASETS:
            raise InputError("unknown dataset %r (one of %s)" % (self.dataset, ", ".join(data.DATASETS)))
        check_regularization(self.regularization)
        check_view_num(self.view_num)
        check_max_d(self.max_d, 3, GT_PLANES)
        for name in ("num_gpus", "batch_size", "display", "stepvalue", "snapshot"):
            if getattr(self, name) < 1:
                raise InputError("--%s must be at least 1, got %d" % (name, getattr(self, name)))
        if self.epoch < 0:
            raise InputError("--epoch must not be negative")
        if self.max_steps < 0:
            raise InputError("--max_steps must not be negative (0: train every epoch), got %d" % self.max_steps)
        check_max_size(self.max_w, self.max_h)
        for name in ("base_lr", "gamma"):
            if not getattr(self, name) > 0:
                raise InputError("--%s must be positive, got %g" % (name, getattr(self, name)))
        check_sample_scale(self.sample_scale)

    def snapshot_folder(self):
        """``model_folder/<regularization>``: where the snapshots go (and --use_pretrain reads)."""
        return os.path.join(self.model_folder, self.regularization)

    def check_outputs(self):
        """InputError unless the TensorBoard log folder and the snapshot folder are writable
        folders or can be created (their parent exists and is writable; see
        :func:`mvsnet.checks.check_output_folder`). Nothing is created here."""
        checks.check_output_folder(self.log_folder, "--log_folder")
        checks.check_output_folder(self.model_folder, "--model_folder")
        if os.path.isdir(self.model_folder):
            checks.check_output_folder(self.snapshot_folder(), "--model_folder")

    def data_options(self):
        return data.DataOptions(dataset=self.dataset, view_num=self.view_num, max_d=self.max_d,
                                max_w=self.max_w, max_h=self.max_h, sample_scale=self.sample_scale)


VALIDATE_SETS = ("dtu", "blendedmvs", "eth3d")


@dataclasses.dataclass
class ValidateConfig:
    """validate.py's options: the original's flags (names and defaults), generated from these
    fields; ``data_root`` is the ``--*_data_root`` flag of ``validate_set``."""

    validate_set: str = option("dtu", "Dataset to validate: dtu, blendedmvs or eth3d.")
    data_root: str = option("/data/dtu", flag=False)  # the --*_data_root of validate_set
    view_num: int = option(3, "Number of images (1 reference image and view_num - 1 source images).")
    max_d: int = option(256, "Number of depth planes.")
    max_w: int = option(640, "Image width (ETH3D crop).")
    max_h: int = option(512, "Image height (ETH3D crop).")
    sample_scale: float = option(SAMPLE_SCALE, "Downsample scale of the depth maps and cameras "
                                 "(must be 0.25: the feature towers downsample by 4).")
    interval_scale: float = option(1.0, "Scale of the depth interval of the camera files.")
    batch_size: int = option(1, "Validation batch size.")
    inverse_depth: bool = option(False, "GRU: sample the depth planes in inverse depth.")
    regularization: str = option("3DCNNs", "Regularization type: GRU or 3DCNNs.")
    pretrained_model_ckpt_path: str = option(
        "/data/tf_model/3DCNNs/BlendedMVS/blended_augmented/model.ckpt",
        "Checkpoint prefix without the step (PATH-STEP is read), or a .weights.h5 file.")
    ckpt_step: int = option(150000, "Checkpoint step.")
    validation_result_path: str = option(
        "/data/tf_model/3DCNNs/BlendedMVS/blended_augmented/validation_results.txt",
        "Text file the averages are appended to.")

    def check(self):
        if self.validate_set not in VALIDATE_SETS:
            raise InputError("--validate_set must be one of %s, got %r"
                             % (", ".join(VALIDATE_SETS), self.validate_set))
        check_regularization(self.regularization)
        check_view_num(self.view_num)
        check_max_d(self.max_d, 3, GT_PLANES)
        if self.batch_size < 1:
            raise InputError("--batch_size must be at least 1, got %d" % self.batch_size)
        check_max_size(self.max_w, self.max_h)
        if not self.interval_scale > 0:
            raise InputError("--interval_scale must be positive, got %g" % self.interval_scale)
        check_sample_scale(self.sample_scale)

    def data_options(self):
        return data.DataOptions(dataset=self.validate_set, view_num=self.view_num, max_d=self.max_d,
                                max_w=self.max_w, max_h=self.max_h, sample_scale=self.sample_scale,
                                interval_scale=self.interval_scale)
