#!/usr/bin/env bash
# Make the virtual environment that runs the ORIGINAL R-MVSNet code (see README.md here).
#   usage: tools/original/make_venv.sh VENV
# Never needed by the project or its tests; the project's own environment is not touched.
set -euo pipefail
if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 VENV" >&2
    exit 1
fi
VENV=$1
if [ -e "$VENV" ] && [ ! -x "$VENV/bin/python" ]; then
    echo "error: $VENV: exists and is not a virtual environment" >&2
    exit 1
fi
PYTHON=${PYTHON:-python3}
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# tensorflow 2.21: runs the original TF1 graph through tf.compat.v1
# tf-keras 2.21:   tf.compat.v1.layers (used by the original's cnn_wrapper) needs Keras 2;
#                  selected with TF_USE_LEGACY_KERAS=1 (set by original.py)
# tf_slim:         layer_norm, instance_norm, l2_regularizer (the original's tf.contrib.layers)
# scipy:           the original imports scipy.io and scipy.misc
# opencv-python-headless: the original's image resizing and reading (cv2)
# imageio, pillow: stand-ins for scipy.misc.imread / imsave (removed from SciPy)
"$VENV/bin/python" -m pip install --quiet \
    "tensorflow==2.21.*" "tf-keras==2.21.*" tf_slim scipy opencv-python-headless imageio pillow
"$VENV/bin/python" - <<'PY'
import os
os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import cv2, imageio, scipy, tensorflow as tf, tf_slim  # noqa: F401
print("ok: tensorflow %s, scipy %s, opencv %s, imageio %s"
      % (tf.__version__, scipy.__version__, cv2.__version__, imageio.__version__))
PY
echo "export ORACLE_PY=$(cd "$VENV" && pwd)/bin/python"
