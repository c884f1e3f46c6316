"""Where the shipped weights are: the released R-MVSNet GRU checkpoint (DTU, step 100000).

    from mvsnet.weights import released_gru_checkpoint
    prefix = released_gru_checkpoint()     # .../weights/rmvsnet_gru_dtu/model.ckpt-100000

The files live in ``weights/rmvsnet_gru_dtu/`` of the repository (provenance, licences and
sha256 in ``weights/README.md``). Lookup, first hit wins:

1. ``weights/`` next to the ``mvsnet`` package: a checkout, or ``pip install -e .``;
2. ``<sys.prefix>/share/rmvsnet-tf2/weights/``: where ``pip install .`` puts them
   (``data_files`` of setup.py).

No TensorFlow here (test.py checks its input before TensorFlow starts).
"""

import os
import sys

from cameras.errors import InputError

RELEASED_GRU_FOLDER = "rmvsnet_gru_dtu"
RELEASED_GRU_STEP = 100000
RELEASED_GRU_FILES = ("checkpoint", "model.ckpt-%d.index" % RELEASED_GRU_STEP,
                      "model.ckpt-%d.data-00000-of-00001" % RELEASED_GRU_STEP)
RELEASED_GRU_DESCRIPTION = ("the released R-MVSNet GRU weights (tf_model_19307 GRU, trained on DTU, "
                            "step %d)" % RELEASED_GRU_STEP)


def weights_folders():
    """The folders searched for shipped weights, in order."""
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return [os.path.join(package_root, "weights"),
            os.path.join(sys.prefix, "share", "rmvsnet-tf2", "weights")]


def released_gru_checkpoint():
    """TF1 checkpoint prefix of the shipped GRU weights (``.../model.ckpt-100000``).

    InputError naming the searched places when the files are not there (e.g. an install
    from a copy without ``weights/``)."""
    for folder in weights_folders():
        base = os.path.join(folder, RELEASED_GRU_FOLDER)
        if all(os.path.isfile(os.path.join(base, f)) for f in RELEASED_GRU_FILES[1:]):
            return os.path.join(base, "model.ckpt-%d" % RELEASED_GRU_STEP)
    searched = " and ".join(os.path.join(f, RELEASED_GRU_FOLDER) for f in weights_folders())
    raise InputError("the shipped GRU weights are missing (looked for model.ckpt-%d.index and "
                     ".data-00000-of-00001 in %s); reinstall from a full checkout, or give "
                     "--pretrained_model_ckpt_path" % (RELEASED_GRU_STEP, searched))


def released_gru_path_and_step():
    """(path, step) of the shipped GRU weights in test.py's convention (PATH-STEP is read)."""
    prefix = released_gru_checkpoint()
    return prefix[:-len("-%d" % RELEASED_GRU_STEP)], RELEASED_GRU_STEP
