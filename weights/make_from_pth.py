#!/usr/bin/env python
"""Rebuild weights/rmvsnet_gru_dtu/ (TF1 layout) from the PyTorch copy of the released weights.

    python weights/make_from_pth.py RMVSNet-pretrained.pth OUT_FOLDER

RMVSNet-pretrained.pth is rmvsnet/RMVSNet-pretrained.pth of github leejaeyong7/RMVSNet-Pytorch
(commit dc878fd2e5743053b1d5bc0d091f9e33883701f1, sha256 544dca49...eec331): the released
R-MVSNet GRU/DTU weights (tf_model_19307 GRU, step 100000) under PyTorch names. This script
writes OUT_FOLDER/model.ckpt-100000.{index,data-00000-of-00001} and OUT_FOLDER/checkpoint:
the 126 model variables under the TF1 names of the original graph (mvsnet.checkpoint's name
table decides them: the layout is checked against the port's GRU model, every variable
with its shape) plus ``global_step`` = 100000 (int32), in the tensor order of the shipped
files: the output equals them byte for byte (sha256 in weights/README.md).

Needs tensorflow and numpy (the project's requirements), NOT torch: the .pth file is in
PyTorch's legacy (non-zip) serialization, which is read here with pickle and numpy.
"""

import collections
import os
import pickle
import re
import struct
import sys
import tempfile

import numpy as np

STEP = 100000
_STORAGE_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64,
                   "IntStorage": np.int32, "LongStorage": np.int64}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class _Storage:
    """Placeholder for a torch storage class named in the pickle."""

    def __init__(self, name):
        self.name = name


class _TorchLegacyUnpickler(pickle.Unpickler):
    """Unpickles a legacy torch state dict without torch: tensors become
    ('tensor', storage_key, storage_type, offset, size, stride)."""

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            def rebuild(storage, offset, size, stride, *unused):
                return ("tensor", storage[1], storage[0], offset, tuple(size), tuple(stride))
            return rebuild
        if module == "torch" and name.endswith("Storage"):
            return _Storage(name)
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError("unexpected class %s.%s in the .pth file" % (module, name))

    def persistent_load(self, pid):
        # ('storage', storage class, key, location, numel[, view metadata])
        return (pid[1].name, pid[2])


def read_legacy_pth(path):
    """{name: ndarray} of a state dict saved by torch.save in the legacy format."""
    with open(path, "rb") as f:
        if pickle.load(f) != _LEGACY_MAGIC:
            raise SystemExit("error: %s: not a legacy (non-zip) torch file" % path)
        pickle.load(f)  # protocol version
        pickle.load(f)  # system info (little endian, type sizes)
        state = _TorchLegacyUnpickler(f).load()
        keys = pickle.load(f)
        storage_types = {t[1]: t[2] for t in state.values()}
        storages = {}
        for key in keys:  # each storage: int64 element count, then the raw elements
            count, = struct.unpack("<q", f.read(8))
            dtype = np.dtype(_STORAGE_DTYPES[storage_types[key]])
            storages[key] = np.frombuffer(f.read(count * dtype.itemsize), dtype=dtype)
    out = collections.OrderedDict()
    for name, (_, key, _, offset, size, stride) in state.items():
        data = storages[key]
        out[name] = np.lib.stride_tricks.as_strided(
            data[offset:], shape=size, strides=[s * data.itemsize for s in stride]).copy()
    return out


_GRU_PARTS = {"gate_conv": "Gates/conv", "reset_gate_norm": "Gates/LayerNorm",
              "update_gate_norm": "Gates/LayerNorm_1", "output_conv": "Output/output_conv",
              "output_norm": "Output/LayerNorm"}


def tf1_tensors(state):
    """{TF1 name: ndarray} of the PyTorch state dict. Kernels (out, in, kh, kw) of Conv2d and
    (in, out, kh, kw) of ConvTranspose2d both become TF's (kh, kw, dim1, dim0) — the TF1
    layouts (kh, kw, in, out) and (kh, kw, out, in); GroupNorm / LayerNorm weight and bias
    become gamma and beta."""
    def kernel(value):
        return np.ascontiguousarray(value.transpose(2, 3, 1, 0)) if value.ndim == 4 else value

    out = {}
    for name, value in state.items():
        m = re.match(r"feature_extractor\.conv(\d+)_(\d+)(?:\.([01]))?\.(weight|bias)$", name)
        if m:
            block, index, sub, kind = m.groups()
            # the original UNetDS2GN names its layers 2dconvA_B up to block 8, convA_B after
            scope = "%sconv%s_%s" % ("2d" if int(block) <= 8 else "", block, index)
            if sub == "1":  # GroupNorm after the convolution
                out[scope + "/gn/" + ("gamma" if kind == "weight" else "beta")] = value
            else:
                out[scope + "/" + ("kernel" if kind == "weight" else "bias")] = kernel(value)
            continue
        m = re.match(r"gru(\d)\.(\w+)\.(weight|bias)$", name)
        if m and m.group(2) in _GRU_PARTS:
            number, part, kind = m.groups()
            scope = "conv_gru%s/%s" % (number, _GRU_PARTS[part])
            if part.endswith("_norm"):
                out[scope + "/" + ("gamma" if kind == "weight" else "beta")] = value
            else:
                out[scope + "/" + ("kernel" if kind == "weight" else "bias")] = kernel(value)
            continue
        m = re.match(r"prob_conv\.(weight|bias)$", name)
        if m:
            out["prob_conv/" + ("kernel" if m.group(1) == "weight" else "bias")] = kernel(value)
            continue
        raise SystemExit("error: no TF1 name for the PyTorch variable %s" % name)
    return out


def check_layout(tensors):
    """Every variable of the port's GRU model is there with its shape, and nothing else."""
    from mvsnet import checkpoint
    from mvsnet.network.model import RMVSNet

    checkpoint.match_variables(RMVSNet(), tensors, source="converted .pth")


def write_checkpoint(out_folder, tensors):
    """OUT_FOLDER/model.ckpt-STEP.* and OUT_FOLDER/checkpoint, each written under a temporary
    name and renamed. Not mvsnet.checkpoint.write_tf1_checkpoint: the shipped data file holds
    the model tensors in name order and global_step LAST (the index is sorted either way),
    and that order is what makes the output byte-identical to the shipped files."""
    import tensorflow as tf

    os.makedirs(out_folder, exist_ok=True)
    names = sorted(tensors) + ["global_step"]
    values = [tf.constant(tensors[n]) for n in names[:-1]] + [tf.constant(STEP, tf.int32)]
    tmp = tempfile.mkdtemp(prefix=".tmp_ckpt_", dir=out_folder)
    try:
        tf.raw_ops.SaveV2(prefix=os.path.join(tmp, "model.ckpt-%d" % STEP), tensor_names=names,
                          shape_and_slices=[""] * len(names), tensors=values)
        with open(os.path.join(tmp, "checkpoint"), "w") as f:
            f.write('model_checkpoint_path: "model.ckpt-%d"\n'
                    'all_model_checkpoint_paths: "model.ckpt-%d"\n' % (STEP, STEP))
        for name in sorted(os.listdir(tmp)):
            os.replace(os.path.join(tmp, name), os.path.join(out_folder, name))
    finally:
        for name in os.listdir(tmp):
            os.remove(os.path.join(tmp, name))
        os.rmdir(tmp)


def main(argv):
    if len(argv) != 3:
        raise SystemExit(__doc__.split("\n\n")[1].rstrip())
    pth, out_folder = argv[1], argv[2]
    tensors = tf1_tensors(read_legacy_pth(pth))
    check_layout(tensors)
    params = sum(v.size for v in tensors.values())
    write_checkpoint(out_folder, tensors)
    print("wrote %s: %d model tensors, %d parameters, global_step %d"
          % (os.path.join(out_folder, "model.ckpt-%d" % STEP), len(tensors), params, STEP))


if __name__ == "__main__":
    main(sys.argv)
