"""The settings of an inference process: TensorFlow's op threads, glibc's mmap threshold and
one region of TensorFlow's tensor pool. They change no value, only the memory a run holds
(measured by tools/benchmark_inference.py, docs/benchmarks.md), and they belong to the whole
process: the commands that run inference (test.py, reconstruct.py) call :func:`configure`
once, before the network is built; the library (:func:`mvsnet.inference.pipeline.run`)
never changes them. A program that uses the library may call it too.
"""

import ctypes

import tensorflow as tf


def configure(max_w, max_h):
    """Set up this process for inference at network input ``max_w`` x ``max_h`` (the largest
    it will run): :func:`run_ops_one_at_a_time` (only while TensorFlow's runtime has not
    started), :func:`fix_malloc_mmap_threshold`, then :func:`reserve_tensor_pool` of
    :data:`RESERVE_BYTES_PER_PIXEL` per input pixel. Returns {setting: whether it applied}."""
    applied = {"inter_op_threads": run_ops_one_at_a_time(),
               "mmap_threshold": fix_malloc_mmap_threshold()}
    reserve_tensor_pool(RESERVE_BYTES_PER_PIXEL * int(max_w) * int(max_h))
    applied["tensor_pool"] = True
    return applied


RESERVE_BYTES_PER_PIXEL = 160
"""Bytes per network-input pixel reserved in TensorFlow's CPU tensor pool before the first
view (:func:`reserve_tensor_pool`): about the feature towers' full-resolution working set,
five 8-channel float32 maps (307 MB at 1600x1200)."""

MMAP_THRESHOLD = 1 << 20
"""Bytes from which glibc's malloc maps a block on its own (returned to the system when
freed), set by :func:`fix_malloc_mmap_threshold`."""


def fix_malloc_mmap_threshold(nbytes=MMAP_THRESHOLD):
    """Fix glibc malloc's mmap threshold (``mallopt(M_MMAP_THRESHOLD)``; the same as the
    ``MALLOC_MMAP_THRESHOLD_`` environment variable). By default glibc raises it, up to
    32 MB, after every large block freed, after which decoded images and other view-set
    arrays land in the reading thread's heap and stay resident: the peak RSS of the same
    run then varied by 130 MB from run to run (1421 to 1579 MiB at 1600x1200). Returns
    False where there is no glibc (nothing changed)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, int(nbytes)))     # M_MMAP_THRESHOLD = -3
    except (OSError, AttributeError):
        return False


def run_ops_one_at_a_time():
    """Let TensorFlow run one op at a time (each op still on every core:
    ``inter_op_parallelism_threads=1``), if its runtime has not started yet (otherwise
    nothing changes; returns whether it was set).

    The network is a chain (feature towers one after the other, then a sequential sweep),
    so running independent ops side by side gains nothing measurable here; but it made
    the order of allocations vary, and with it the peak RSS: 1300 or 1455 MiB for the same
    run at 1600x1200, against 1235 MiB every time with one op at a time."""
    try:
        tf.config.threading.set_inter_op_parallelism_threads(1)
        return True
    except RuntimeError:   # the runtime is initialised: the setting is fixed
        return False


def reserve_tensor_pool(nbytes):
    """Make TensorFlow's CPU tensor pool grow by one region of ``nbytes`` now, without
    touching its pages (an uninitialised tensor, freed at once).

    With oneDNN (TensorFlow's default on x86) tensors come from a BFC pool that grows by
    regions of doubling size and never gives memory back; a large tensor that finds no
    free block of its size in the existing regions opens a new one, so the resident memory
    ends well above the largest amount ever in use (measured at 1600x1200, 64 planes, before
    the other memory settings: 1558 MiB peak RSS instead of 1428 MiB with one region opened
    first; with them, 1278-1313 instead of 1235-1265 MiB). Values are not affected; without
    the pool (TF_ENABLE_ONEDNN_OPTS=0) this is a malloc and a free.
    """
    tf.raw_ops.Empty(shape=[int(nbytes)], dtype=tf.uint8)
