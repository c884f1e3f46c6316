"""``--precision``: the number format of the fast GRU sweep's convolutions (NumPy only).

``float32`` (the default) is the original's arithmetic. ``bfloat16`` runs the first GRU
layer's convolutions (the batched part on the cost and the part on the hidden state) and the
feature towers' convolutions on bfloat16 operands; oneDNN accumulates them in float32 and
rounds the result to bfloat16 once, which is cast back to float32 at once. Everything else
stays float32: the towers' group norms, the GRU layer norms, gates and states, the second
and third GRU layers and prob_conv, the warps and the variance, the softmax denominator and
the winner-take-all. Only worth it on hardware with bfloat16 units (AVX512_BF16 or AMX on
x86 CPUs, or a GPU); elsewhere TensorFlow emulates it slowly, so :func:`effective_precision`
falls back to float32 and says so in one line.

The option is declared here once (:func:`option`, :func:`check`) for every command that
has it: test.py and mvsnet/cluster.py (``plan.Options``), reconstruct.py
(``PipelineOptions``).
"""

import os

from cameras.errors import InputError
from mvsnet.options import option as _option

PRECISIONS = ("float32", "bfloat16")
DEFAULT = "float32"

BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
"""/proc/cpuinfo flags of x86 CPUs with bfloat16 arithmetic units (AMD Zen 4 and later,
Intel Cooper Lake, Sapphire Rapids and later)."""

CPUINFO = "/proc/cpuinfo"

HELP = ("GRU, fast sweep: float32 (the original's arithmetic) or bfloat16 (the first GRU "
        "layer's and the feature towers' convolutions on bfloat16 operands with float32 "
        "accumulation; norms, gates, softmax and winner-take-all stay float32). Only on a CPU "
        "with bfloat16 units (avx512_bf16, amx_bf16) or a GPU; elsewhere one line says so and "
        "float32 runs.")


def option():
    """The ``precision`` field of an options dataclass (its flag ``--precision``)."""
    return _option(DEFAULT, HELP, choices=PRECISIONS)


def check(precision, regularization="GRU", exact=False):
    """InputError unless ``precision`` is one of :data:`PRECISIONS`, and float32 unless the
    network runs the fast GRU sweep (``--exact`` is the original's float32 formulation;
    3DCNNs has that one only)."""
    if precision not in PRECISIONS:
        raise InputError("--precision must be one of %s, got %r" % (", ".join(PRECISIONS), precision))
    if precision != "float32" and (exact or regularization != "GRU"):
        raise InputError("--precision %s applies to the fast GRU sweep only (not to %s)"
                         % (precision, "--exact" if exact else "--regularization %s" % regularization))


def cpu_bf16_flags(cpuinfo_text):
    """The bfloat16 flags (of :data:`BF16_CPU_FLAGS`) of the first ``flags`` line of a
    /proc/cpuinfo text, in that order ([] when none, or no such line: not x86 Linux)."""
    for line in cpuinfo_text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            present = set(value.split())
            return [f for f in BF16_CPU_FLAGS if f in present]
    return []


def bf16_hardware(cpuinfo_path=CPUINFO, gpus=None):
    """(True, what) when this machine has bfloat16 units: a GPU visible to TensorFlow or a
    CPU flag of :data:`BF16_CPU_FLAGS`; (False, why not) otherwise.

    gpus: the number of GPUs TensorFlow sees (None: ask TensorFlow, imported here)."""
    if gpus is None:
        import tensorflow as tf

        gpus = len(tf.config.list_physical_devices("GPU"))
    if gpus:
        return True, "%d GPU(s)" % gpus
    try:
        with open(cpuinfo_path, errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""
    found = cpu_bf16_flags(text)
    if found:
        return True, "CPU flags " + ", ".join(found)
    where = cpuinfo_path if os.path.isfile(cpuinfo_path) else "%s (not readable)" % cpuinfo_path
    return False, "no GPU and no %s in %s" % (" / ".join(BF16_CPU_FLAGS), where)


def effective_precision(requested, log, cpuinfo_path=CPUINFO, gpus=None):
    """The precision to run: ``requested``, or float32 when bfloat16 is asked for on a machine
    without bfloat16 units (then one line through ``log`` says so; with them, one line says
    which units)."""
    if requested != "bfloat16":
        return requested
    ok, what = bf16_hardware(cpuinfo_path, gpus)
    if ok:
        log("precision: bfloat16 convolutions (%s)" % what)
        return requested
    log("note: --precision bfloat16: this machine has no bfloat16 units (%s); running float32" % what)
    return "float32"
