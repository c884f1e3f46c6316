"""Where checkpoints are: the shipped weights and the original's ``PATH-STEP`` convention.

The shipped weights: the released R-MVSNet GRU checkpoint (DTU, step 100000).

    from mvsnet.weights import released_gru_checkpoint
    prefix = released_gru_checkpoint()     # .../weights/rmvsnet_gru_dtu/model.ckpt-100000

The files live in ``weights/rmvsnet_gru_dtu/`` of the repository (provenance, licences and
sha256 in ``weights/README.md``). Lookup, first hit wins:

1. ``weights/`` next to the ``mvsnet`` package: a checkout, or ``pip install -e .``;
2. ``<sys.prefix>/share/rmvsnet-tf2/weights/``: where ``pip install .`` puts them
   (``data_files`` of setup.py).

:func:`resolve_checkpoint` finds the checkpoint a ``--pretrained_model_ckpt_path`` and
``--ckpt_step`` name (test.py, validate.py), with a "found: ..." hint when it is missing.

No TensorFlow here (the CLIs check their input before TensorFlow starts).
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


def resolve_checkpoint(path, step):
    """The checkpoint the original reads, ``PATH-STEP`` (a TF1 prefix: the original's or one
    written by this port), or a Keras ``.weights.h5`` file: ``PATH`` itself when it ends in
    ``.weights.h5`` (then ``step`` is ignored), else ``PATH-STEP.weights.h5``. Checked for
    existence without TensorFlow; InputError when nothing is there."""
    if not path:
        raise InputError("no checkpoint given: set --pretrained_model_ckpt_path (and --ckpt_step)")
    path = os.fspath(path)
    if path.endswith(".weights.h5"):
        if not os.path.isfile(path):
            raise InputError("no such weights file", path)
        return path
    prefix = "%s-%s" % (path, step)
    if os.path.isfile(prefix + ".index"):
        return prefix
    if os.path.isfile(prefix + ".weights.h5"):
        return prefix + ".weights.h5"
    found = checkpoints_in(os.path.dirname(prefix) or ".")
    hint = " (found: %s; --ckpt_step picks the number)" % ", ".join(found[:5]) if found else ""
    raise InputError("no checkpoint there: missing %s.index (the checkpoint read is "
                     "--pretrained_model_ckpt_path + '-' + --ckpt_step)%s"
                     % (os.path.basename(prefix), hint), prefix)


def checkpoints_in(folder):
    """Sorted TF1 checkpoint prefixes (``NAME`` of every ``NAME.index``) in ``folder``, for
    the "found: ..." hint of a missing checkpoint; [] when the folder does not exist or
    cannot be listed (the hint is a courtesy: it never turns into an error of its own)."""
    try:
        names = os.listdir(folder)
    except OSError:      # missing, not a folder, unreadable, ...
        return []
    return sorted(f[:-len(".index")] for f in names if f.endswith(".index"))
