"""Import TensorFlow for a command-line script without its C++ start-up chatter on stderr.

TensorFlow prints lines such as "Could not find cuda drivers on your machine" to file
descriptor 2 while it is imported and while it looks for devices, whatever
TF_CPP_MIN_LOG_LEVEL says. A script whose stderr is reserved for one clear error line
imports TensorFlow through :func:`import_tensorflow`, which sends descriptor 2 to
/dev/null only for that time. Python exceptions are not hidden: they are raised after
stderr is restored.
"""

import os
import sys


def import_tensorflow(min_log_level="2"):
    """Import and return the ``tensorflow`` module quietly (a no-op when already imported)."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", str(min_log_level))
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
        import tensorflow as tf

        tf.config.list_physical_devices()  # device discovery logs too (cuInit)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return tf
