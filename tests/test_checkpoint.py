"""TF1 checkpoint conversion: name table, slot dropping, errors, CLI."""

import os
import subprocess
import sys

import numpy as np
import pytest

from mvsnet import checkpoint as ck
from mvsnet.network.model import build_model

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
GRU_CKPT = os.path.join(FIXTURES, "ckpt_gru", "model.ckpt-100000")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def gru():
    return build_model("GRU")


def test_name_table_covers_every_weight_once(gru):
    names = ck.model_tf1_names(gru)
    assert len(names) == len(gru.weights) == 126
    assert "conv_gru1/Gates/LayerNorm_1/gamma" in names
    assert "conv_gru2/Output/output_conv/bias" in names
    assert "2dconv5_0/kernel" in names and "2dconv5_0/gn/beta" in names
    assert "prob_conv/kernel" in names and "conv10_2/kernel" in names
    three_d = ck.model_tf1_names(build_model("3DCNNs", refinement=True))
    assert "3dconv4_0/bn/moving_variance" in three_d and "3dconv6_2/kernel" in three_d
    assert "refine_conv0/bn/moving_mean" in three_d and "refine_conv3/bias" in three_d
    assert "refine_conv0/bn/gamma" not in three_d      # the original's refine BN has no scale


def test_fixture_checkpoint_loads_into_every_variable(gru):
    summary = ck.load_weights(gru, GRU_CKPT)
    assert summary["matched"] == 126 and summary["global_step"] == 100000
    stored = ck.read_tf1_checkpoint(GRU_CKPT)
    for name, var in ck.model_tf1_names(gru).items():
        np.testing.assert_array_equal(var.numpy(), stored[name])


def _with_slots(tensors):
    full = dict(tensors)
    for name, value in tensors.items():
        full[name + "/RMSProp"] = np.ones_like(value)
        full[name + "/RMSProp_1"] = np.zeros_like(value)
    full["global_step"] = np.int64(42)
    return full


def test_slots_and_global_step_are_dropped(tmp_path, gru):
    tensors = ck.model_to_tf1(gru)
    prefix = str(tmp_path / "model.ckpt-42")
    ck.write_tf1_checkpoint(prefix, _with_slots(tensors))
    assert sorted(os.listdir(tmp_path)) == ["model.ckpt-42.data-00000-of-00001", "model.ckpt-42.index"]
    assert set(ck.read_tf1_checkpoint(prefix)) == set(tensors)
    model = build_model("GRU")
    summary = ck.load_weights(model, prefix)
    assert summary["dropped"] == 2 * len(tensors) + 1 and summary["global_step"] == 42


def _broken(tmp_path, gru, edit):
    tensors = ck.model_to_tf1(gru)
    edit(tensors)
    prefix = str(tmp_path / "model.ckpt-1")
    ck.write_tf1_checkpoint(prefix, tensors)
    with pytest.raises(ck.CheckpointError) as err:
        ck.load_weights(build_model("GRU"), prefix)
    assert "\n" not in str(err.value) and str(err.value).startswith(prefix + ": ")
    return str(err.value)


def test_missing_variable_is_named(tmp_path, gru):
    msg = _broken(tmp_path, gru, lambda t: t.pop("conv_gru2/Gates/conv/bias"))
    assert "1 missing: conv_gru2/Gates/conv/bias" in msg


def test_renamed_variable_is_missing_and_unexpected(tmp_path, gru):
    msg = _broken(tmp_path, gru, lambda t: t.update({"prob_conv/weights": t.pop("prob_conv/kernel")}))
    assert "1 missing: prob_conv/kernel" in msg and "1 unexpected: prob_conv/weights" in msg


def test_wrong_shape_is_reported(tmp_path, gru):
    msg = _broken(tmp_path, gru, lambda t: t.update({"conv10_2/kernel": np.zeros((3, 3, 32, 16), np.float32)}))
    assert "1 wrong shape: conv10_2/kernel (3, 3, 32, 16) (model (3, 3, 32, 32))" in msg


def test_checkpoint_of_the_other_network(gru):
    with pytest.raises(ck.CheckpointError, match="a GRU checkpoint, but the model is 3DCNNs"):
        ck.load_weights(build_model("3DCNNs"), GRU_CKPT)


def test_missing_and_truncated_checkpoints(tmp_path, gru):
    with pytest.raises(ck.CheckpointError, match=r"missing model.ckpt-7.index\) \(found: model.ckpt-100000\)"):
        ck.load_weights(gru, os.path.join(FIXTURES, "ckpt_gru", "model.ckpt-7"))
    prefix = str(tmp_path / "model.ckpt-5")
    ck.write_tf1_checkpoint(prefix, ck.model_to_tf1(gru))
    data = prefix + ".data-00000-of-00001"
    with open(data, "r+b") as fh:
        fh.truncate(os.path.getsize(data) // 2)
    with pytest.raises(ck.CheckpointError, match="unreadable checkpoint"):
        ck.load_weights(gru, prefix)


def test_keras_weights_round_trip(tmp_path, gru):
    ck.load_weights(gru, GRU_CKPT)
    path = str(tmp_path / "gru.weights.h5")
    ck.save_weights(gru, path)
    other = build_model("GRU")
    summary = ck.load_weights(other, path)
    assert summary["format"] == "Keras weights"
    for a, b in zip(gru.weights, other.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def _cli(*args):
    return subprocess.run([sys.executable, os.path.join(REPO, "tools", "convert_checkpoint.py"), *args],
                          capture_output=True, text=True, cwd=REPO)


def test_cli_converts_and_reports(tmp_path):
    out = str(tmp_path / "gru.weights.h5")
    run = _cli("--ckpt", GRU_CKPT, "--regularization", "GRU", "--output", out)
    assert run.returncode == 0, run.stderr
    assert "126 model variables matched" in run.stdout and os.path.isfile(out)
    bad = _cli("--ckpt", GRU_CKPT, "--regularization", "3DCNNs", "--output", str(tmp_path / "x.weights.h5"))
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1].startswith("error: %s: a GRU checkpoint" % GRU_CKPT)
    assert "Traceback" not in bad.stderr and not os.path.exists(tmp_path / "x.weights.h5")
