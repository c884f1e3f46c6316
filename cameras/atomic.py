"""Atomic file writes (a temporary file in the destination folder, then os.replace), and
reads whose errors name the file."""

import os
import re
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


_TEMPORARY = re.compile(r"^\.(.+)\.\d+\.[0-9a-f]+\.tmp$")


def temporary_of(name):
    """The file name whose temporary :func:`write_bytes_atomic` names ``name`` (a file name,
    no folder: ``.NAME.PID.HEX.tmp``), or None for any other name. A temporary left behind
    belongs to a writer that was killed."""
    match = _TEMPORARY.match(name)
    return match.group(1) if match else None


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def open_input(path, what="file"):
    """``open(path, "rb")`` (a file object to read from); InputError naming the file when it
    cannot be opened."""
    path = os.fspath(path)
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError("%s does not exist" % what, path) from None
    except IsADirectoryError:
        raise InputError("%s is a directory, not a file" % what, path) from None
    except OSError as e:
        raise InputError("cannot read %s: %s" % (what, e.strerror or e), path) from None


def read_bytes(path, what="file"):
    """The bytes of ``path``; InputError naming the file when it cannot be read."""
    with open_input(path, what) as f:
        try:
            return f.read()
        except OSError as e:
            raise InputError("cannot read %s: %s" % (what, e.strerror or e), os.fspath(path)) from None
