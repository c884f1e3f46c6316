"""Atomic file writes: write a temporary file in the destination folder, then os.replace."""

import os
import secrets

from cameras.errors import InputError


def write_bytes_atomic(path, data):
    """Write ``data`` (bytes) to ``path`` atomically: readers see the old file or the
    complete new one, never a partial file. The file gets the usual umask permissions.
    Raises InputError naming ``path`` when it cannot be written."""
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, ".%s.%d.%s.tmp" % (name, os.getpid(), secrets.token_hex(4)))
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as e:
        raise InputError("cannot write file: %s" % (e.strerror or e), path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as e:
        _remove_quietly(tmp)
        raise InputError("cannot write file: %s" % (e.strerror or e), path) from None
    except BaseException:
        _remove_quietly(tmp)
        raise


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def read_bytes(path, what="file"):
    """The bytes of ``path``; InputError naming the file when it cannot be read."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise InputError("%s does not exist" % what, path) from None
    except IsADirectoryError:
        raise InputError("%s is a directory, not a file" % what, path) from None
    except OSError as e:
        raise InputError("cannot read %s: %s" % (what, e.strerror or e), path) from None
