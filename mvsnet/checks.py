"""Checks that every command runs before its long work, so that a run does not end, after
hours, on a folder it cannot write: :func:`check_output_folder`, :func:`check_output_file`,
:func:`make_folder`; and :func:`out_of_memory`, the one wording of "the network did not fit
in memory" with the flags to lower. Each problem is an :class:`cameras.errors.InputError`
naming the path and the flag (the CLIs print it as one line, :mod:`mvsnet.cli`).
Standard library only.
"""

import os
import tempfile

from cameras.errors import InputError


def _not_writable(folder):
    """None when a file can be created in the existing ``folder``, else the reason. Probed
    with an anonymous temporary file (nothing is left behind): permission bits, ACLs,
    read-only mounts and a full disk's quota all show up, and root is not fooled."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        return err.strerror or str(err)
    return None


def _missing_folder_text(folder):
    return "is a file, not a folder" if os.path.exists(folder) else "does not exist (create it first)"


def check_output_folder(path, flag):
    """InputError (naming ``path`` and ``flag``) unless ``path`` is a writable folder, or
    does not exist and can be created: its parent is an existing, writable folder. Only
    the last component is ever created (as ``mkdir``), so a mistyped parent is reported
    instead of being created. Nothing is created here (see :func:`make_folder`)."""
    if not path:
        raise InputError("%s is empty: give a folder" % flag)
    path = os.fspath(path)
    if os.path.isdir(path):
        problem = _not_writable(path)
        if problem:
            raise InputError("%s is not writable: %s" % (flag, problem), path)
        return path
    if os.path.lexists(path):
        raise InputError("%s exists but is not a folder" % flag, path)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise InputError("cannot create %s: its parent %s %s"
                         % (flag, parent, _missing_folder_text(parent)), path)
    problem = _not_writable(parent)
    if problem:
        raise InputError("cannot create %s in %s: %s" % (flag, parent, problem), path)
    return path


def check_output_file(path, flag, append=False):
    """InputError (naming ``path`` and ``flag``) unless the file can be written atomically:
    its folder exists and is writable (a temporary file is written there, then renamed)
    and ``path`` is not a folder; with ``append``, an existing file must also be readable
    (its old lines are kept). Nothing is written here."""
    if not path:
        raise InputError("%s is empty: give a file" % flag)
    path = os.fspath(path)
    if os.path.isdir(path):
        raise InputError("%s is a folder, not a file" % flag, path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError("cannot write %s: its folder %s %s" % (flag, folder, _missing_folder_text(folder)),
                         path)
    problem = _not_writable(folder)
    if problem:
        raise InputError("cannot write %s: its folder %s is not writable: %s" % (flag, folder, problem),
                         path)
    if append and os.path.lexists(path):
        try:
            with open(path, "rb"):
                pass
        except OSError as err:
            raise InputError("cannot read the existing %s to append to it: %s"
                             % (flag, err.strerror or err), path) from None
    return path


def make_folder(path, flag):
    """Create the folder ``path`` (and missing parents; checked first with
    :func:`check_output_folder`); InputError naming it when that fails."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as err:
        raise InputError("cannot create %s: %s" % (flag, err.strerror or err), path) from None
    return path


def out_of_memory(path, size, regularization, advice):
    """The InputError of a network run that did not fit in memory (TensorFlow's
    ResourceExhaustedError, or a MemoryError): ``PATH: out of memory at WxHxD (REG) -- ADVICE``.
    ``size`` is (w, h, d); ``advice`` names the flags to lower."""
    return InputError("out of memory at %dx%dx%d (%s) — %s" % (tuple(size) + (regularization, advice)),
                      path)
