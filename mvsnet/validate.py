#!/usr/bin/env python
"""Validate a trained model as the original mvsnet/validate.py.

    python mvsnet/validate.py --validate_set dtu --dtu_data_root DTU --regularization GRU \
        --max_d 256 --pretrained_model_ckpt_path MODELS/GRU/model.ckpt --ckpt_step 100000 \
        --validation_result_path MODELS/GRU/validation_results.txt

Prints the mean absolute error (in depth intervals) and the <1 / <3 interval accuracy of
every validation sample and their averages, and appends the averages to the result file
(checked to be writable before the run; its folder must exist).  Bad input, and a
network run out of memory: one line ``error: PATH: problem`` on stderr, exit code 1.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from mvsnet import cli  # noqa: E402

flags.DEFINE_string("blendedmvs_data_root", "/data/BlendedMVS/dataset_low_res", "Path to the BlendedMVS dataset.")
flags.DEFINE_string("eth3d_data_root", "/data/eth3d/lowres/training/undistorted", "Path to the ETH3D dataset.")
flags.DEFINE_string("dtu_data_root", "/data/dtu", "Path to the DTU dataset (mvs_training/dtu).")
flags.DEFINE_string("validate_set", "dtu", "Dataset to validate: dtu, blendedmvs or eth3d.")
flags.DEFINE_integer("view_num", 3, "Number of images (1 reference image and view_num - 1 source images).")
flags.DEFINE_integer("max_d", 256, "Number of depth planes.")
flags.DEFINE_integer("max_w", 640, "Image width (ETH3D crop).")
flags.DEFINE_integer("max_h", 512, "Image height (ETH3D crop).")
flags.DEFINE_float("sample_scale", 0.25, "Downsample scale of the depth maps and cameras (BlendedMVS, ETH3D).")
flags.DEFINE_float("interval_scale", 1, "Scale of the depth interval of the camera files.")
flags.DEFINE_integer("batch_size", 1, "Validation batch size.")
flags.DEFINE_bool("inverse_depth", False, "GRU: sample the depth planes in inverse depth.")
flags.DEFINE_string("regularization", "3DCNNs", "Regularization type: GRU or 3DCNNs.")
flags.DEFINE_string("pretrained_model_ckpt_path",
                    "/data/tf_model/3DCNNs/BlendedMVS/blended_augmented/model.ckpt",
                    "Checkpoint prefix without the step (PATH-STEP is read), or a .weights.h5 file.")
flags.DEFINE_integer("ckpt_step", 150000, "Checkpoint step.")
flags.DEFINE_string("validation_result_path",
                    "/data/tf_model/3DCNNs/BlendedMVS/blended_augmented/validation_results.txt",
                    "Text file the averages are appended to.")

FLAGS = flags.FLAGS


def main(argv):
    cli.reject_extra_arguments(argv)
    from mvsnet import quiet_tf

    quiet_tf.import_tensorflow()     # stderr stays for warnings and the one error line
    from mvsnet.training import validation
    roots = {"dtu": FLAGS.dtu_data_root, "blendedmvs": FLAGS.blendedmvs_data_root,
             "eth3d": FLAGS.eth3d_data_root}
    names = ("validate_set", "view_num", "max_d", "max_w", "max_h", "sample_scale",
             "interval_scale", "batch_size", "inverse_depth", "regularization",
             "pretrained_model_ckpt_path", "ckpt_step", "validation_result_path")
    config = validation.ValidateConfig(data_root=roots.get(FLAGS.validate_set, ""),
                                       **{n: getattr(FLAGS, n) for n in names})
    config.check()
    print("Validating MVSNet with totally %d view inputs (including reference view)" % config.view_num)
    validation.validate(config, warn=lambda text: print("warning: %s" % text, file=sys.stderr))


if __name__ == "__main__":
    cli.run(main)
