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

from mvsnet import cli, options  # noqa: E402
from mvsnet.training import config, data  # noqa: E402

FLAGS = flags.FLAGS


def define_flags():
    """The flags of the original validate.py (names and defaults): the data roots and every
    field of :class:`~mvsnet.training.config.ValidateConfig`."""
    options.define_flags(config.DataRoots)
    options.define_flags(config.ValidateConfig)


def main(argv):
    cli.reject_extra_arguments(argv)
    roots = options.from_flags(config.DataRoots, FLAGS)
    validate_config = options.from_flags(config.ValidateConfig, FLAGS,
                                         data_root=roots.root(FLAGS.validate_set)
                                         if FLAGS.validate_set in data.DATASETS else "")
    validate_config.check()          # before TensorFlow is imported: bad input fails in a second
    from mvsnet import quiet_tf

    quiet_tf.import_tensorflow()     # stderr stays for warnings and the one error line
    from mvsnet.training import validation
    print("Validating MVSNet with totally %d view inputs (including reference view)"
          % validate_config.view_num)
    validation.validate(validate_config, warn=lambda text: print("warning: %s" % text, file=sys.stderr))


def run():
    """Console entry point ``mvsnet-validate``."""
    define_flags()
    cli.run(main)


if __name__ == "__main__":
    run()
