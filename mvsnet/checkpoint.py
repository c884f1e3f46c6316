"""TF1 checkpoints of the original code <-> Keras weights of the networks of :mod:`mvsnet.network.model`.

The released models (``tf_model_19307/GRU/model.ckpt-100000``, ``3DCNNs/...``) are read
directly with TensorFlow's checkpoint reader: no TF1 graph and no ``.meta`` file.
Optimizer slots and ``global_step`` are dropped; every model variable must be matched
(missing, unexpected or wrongly shaped variables are reported together in one error).

Name table: a Keras weight path, relative to its top-level block (``feature_tower``,
``gru``, ``reg_net``, ``refine_net``), maps to a TF1 name by the first matching rule
of :data:`NAME_TABLE`.  Transpose table: none is needed — TF1 ``tf.layers`` and Keras 3
store convolution kernels as (kh, kw[, kd], in, out) and transposed-convolution kernels
as (kh, kw[, kd], out, in) alike; shapes are checked for every variable.
"""

import os
import re
import tempfile

import numpy as np
import tensorflow as tf

from cameras.checks import describe_non_finite
from cameras.errors import InputError
from mvsnet.weights import checkpoints_in

# (Keras path relative to its block, TF1 name) — regex and replacement
NAME_TABLE = [
    (r"^(conv_gru\d)/gates_conv/(kernel|bias)$", r"\1/Gates/conv/\2"),
    (r"^(conv_gru\d)/reset_norm/(gamma|beta)$", r"\1/Gates/LayerNorm/\2"),
    (r"^(conv_gru\d)/update_norm/(gamma|beta)$", r"\1/Gates/LayerNorm_1/\2"),
    (r"^(conv_gru\d)/output_conv/(kernel|bias)$", r"\1/Output/output_conv/\2"),
    (r"^(conv_gru\d)/output_norm/(gamma|beta)$", r"\1/Output/LayerNorm/\2"),
    (r"^([^/]+)/conv/(kernel|bias)$", r"\1/\2"),                       # conv_gn / conv_bn
    (r"^([^/]+)/(gn|bn)/(gamma|beta|moving_mean|moving_variance)$", r"\1/\2/\3"),
    (r"^([^/]+)/(kernel|bias)$", r"\1/\2"),                            # plain convs
]

# TF1 variables that are not model weights
_DROPPED = re.compile(r"(^global_step$|/RMSProp(_\d+)?$|/Momentum$|/Adam(_\d+)?$|"
                      r"^beta[12]_power(_\d+)?$|/ExponentialMovingAverage$)")


class CheckpointError(InputError):
    """A checkpoint that cannot be read or does not fit the model."""


def is_model_variable(name):
    """False for optimizer slots, global_step and other training-only variables."""
    return not _DROPPED.search(name)


def tf1_name(relative_path):
    """TF1 variable name of a Keras weight path relative to its block."""
    for pattern, replacement in NAME_TABLE:
        if re.match(pattern, relative_path):
            return re.sub(pattern, replacement, relative_path)
    raise KeyError("no TF1 name rule for Keras weight %r" % relative_path)


def model_tf1_names(model):
    """{TF1 name: Keras variable} for every weight of ``model`` (an RMVSNet or MVSNet)."""
    table = {}
    for block_name, block in model.blocks().items():
        for weight in block.weights:
            parts = weight.path.split("/")
            relative = "/".join(parts[parts.index(block_name) + 1:])
            table[tf1_name(relative)] = weight
    return table


def checkpoint_exists(prefix):
    return os.path.isfile(prefix + ".index")


def read_tf1_checkpoint(prefix, with_slots=False):
    """{name: ndarray} of a TF1 (V2 format) checkpoint, model variables only by default."""
    if not checkpoint_exists(prefix):
        found = checkpoints_in(os.path.dirname(prefix) or ".")
        hint = " (found: %s)" % ", ".join(found[:5]) if found else ""
        raise CheckpointError("no checkpoint there (missing %s.index)%s"
                              % (os.path.basename(prefix), hint), prefix)
    try:
        reader = tf.train.load_checkpoint(prefix)
        names = reader.get_variable_to_shape_map()
        tensors = {name: reader.get_tensor(name) for name in sorted(names)
                   if with_slots or is_model_variable(name)}
    except (tf.errors.OpError, ValueError, IndexError) as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError("unreadable checkpoint (truncated or corrupt?): %s" % message,
                              prefix) from None
    for name, value in tensors.items():
        check_weights_finite(name, value, prefix)
    return tensors


def check_weights_finite(name, value, source):
    """CheckpointError naming the variable when a floating-point value is nan or inf."""
    value = np.asarray(value)
    if value.dtype.kind == "f":
        problem = describe_non_finite(value.reshape(-1), "values")
        if problem is not None:
            raise CheckpointError("variable %s holds %s: a corrupt checkpoint, or training diverged"
                                  % (name, problem.split(", the first")[0]), source)


def match_variables(model, tf1_vars, source="checkpoint"):
    """Pair every model weight with its TF1 value; one error lists every problem."""
    table = model_tf1_names(model)
    missing = sorted(set(table) - set(tf1_vars))
    extra = sorted(set(tf1_vars) - set(table))
    wrong = sorted("%s %s (model %s)" % (n, tuple(tf1_vars[n].shape), tuple(table[n].shape))
                   for n in set(table) & set(tf1_vars)
                   if tuple(tf1_vars[n].shape) != tuple(table[n].shape))
    if missing or extra or wrong:
        has_gru = any(n.startswith("conv_gru") for n in tf1_vars)
        has_3d = any(n.startswith("3dconv") for n in tf1_vars)
        kind = "GRU" if has_gru else "3DCNNs" if has_3d else None
        if kind and kind != model.regularization:
            raise CheckpointError("a %s checkpoint, but the model is %s (--regularization %s?)"
                                  % (kind, model.regularization, kind), source)
        problems = []
        for label, items in (("missing", missing), ("unexpected", extra), ("wrong shape", wrong)):
            if items:
                shown = ", ".join(items[:6]) + (" ..." if len(items) > 6 else "")
                problems.append("%d %s: %s" % (len(items), label, shown))
        raise CheckpointError("does not fit the %s model: %s"
                              % (model.regularization, "; ".join(problems)), source)
    return {name: (table[name], tf1_vars[name]) for name in table}


def load_tf1_checkpoint(model, prefix):
    """Assign a TF1 checkpoint to ``model``; returns a summary dict."""
    all_vars = read_tf1_checkpoint(prefix, with_slots=True)
    model_vars = {n: v for n, v in all_vars.items() if is_model_variable(n)}
    pairs = match_variables(model, model_vars, source=prefix)
    for variable, value in pairs.values():
        variable.assign(value)
    return {"source": prefix, "format": "TF1 checkpoint", "matched": len(pairs),
            "dropped": len(all_vars) - len(model_vars),
            "parameters": int(sum(v.size for v in model_vars.values())),
            "global_step": int(all_vars["global_step"]) if "global_step" in all_vars else None}


def model_to_tf1(model):
    """{TF1 name: ndarray} of the model weights (the inverse of the name table)."""
    return {name: np.asarray(var.numpy()) for name, var in model_tf1_names(model).items()}


def write_tf1_checkpoint(prefix, tensors):
    """Write {name: array} as a TF1-layout (V2 format) checkpoint at PREFIX, atomically.

    The files are written under a temporary prefix in the same folder and renamed.
    """
    folder = os.path.dirname(os.path.abspath(prefix))
    os.makedirs(folder, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".tmp_ckpt_", dir=folder)
    try:
        tmp_prefix = os.path.join(tmp, "ckpt")
        names = sorted(tensors)
        tf.raw_ops.SaveV2(prefix=tmp_prefix, tensor_names=names,
                          shape_and_slices=[""] * len(names),
                          tensors=[tf.convert_to_tensor(tensors[n]) for n in names])
        for fname in os.listdir(tmp):
            os.replace(os.path.join(tmp, fname), os.path.abspath(prefix) + fname[len("ckpt"):])
    finally:
        for fname in os.listdir(tmp):
            os.remove(os.path.join(tmp, fname))
        os.rmdir(tmp)


def load_weights(model, path):
    """Load a TF1 checkpoint prefix (original or ours) or a Keras ``.weights.h5`` file."""
    if path.endswith(".weights.h5"):
        if not os.path.isfile(path):
            raise CheckpointError("no such weights file", path)
        try:
            model.load_weights(path)
        except Exception as err:  # keras reports layout mismatches with many types
            raise CheckpointError("does not fit the %s model: %s"
                                  % (model.regularization, str(err).splitlines()[0]), path) from None
        for weight in model.weights:
            check_weights_finite(weight.path, weight.numpy(), path)
        return {"source": path, "format": "Keras weights", "matched": len(model.weights),
                "dropped": 0, "global_step": None}
    return load_tf1_checkpoint(model, path)


def save_weights(model, path):
    """Save Keras weights atomically (``.weights.h5``)."""
    if not path.endswith(".weights.h5"):
        raise CheckpointError("the output must end with .weights.h5", path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".weights.h5", dir=folder)
    os.close(fd)
    try:
        model.save_weights(tmp, overwrite=True)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
