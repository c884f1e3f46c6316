"""The training step (mvsnet/step.py): TF1 RMSProp, learning rate, training-path
parity with the original graph, snapshot layout and round trip."""

import os

import numpy as np
import pytest
import tensorflow as tf
import tolerances as tol

import keras
from mvsnet import checkpoint as ck
from mvsnet.training import step as train_step
from mvsnet.network.model import build_model

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
CKPT = {"GRU": os.path.join(FIXTURES, "ckpt_gru", "model.ckpt-100000"),
        "3DCNNs": os.path.join(FIXTURES, "ckpt_3dcnns", "model.ckpt-100000")}
REFS = {"GRU": os.path.join(FIXTURES, "ref_gru.npz"),
        "3DCNNs": os.path.join(FIXTURES, "ref_3dcnns.npz")}

# tf.compat.v1.train.RMSPropOptimizer(exponential_decay(0.001, gs, 3, 0.9)) minimising
# sum(w^3) from w = [1, -2, 3] for 5 steps, run by TF1 in the oracle environment
TF1_LR = [0.001, 0.0009654894, 0.0009321698, 0.00090000004, 0.00086894043]
TF1_W = [0.9917430281639099, -2.0099172592163086, 2.989983081817627]
TF1_MS = [4.215470314025879, 60.178958892822266, 297.02069091796875]
TF1_MOM = [0.0012519365409389138, 0.0013556864578276873, 0.0013534694444388151]


def test_rmsprop_is_tf1_rmsprop_bit_for_bit():
    w = keras.Variable(np.array([1.0, -2.0, 3.0], np.float32), name="w")
    opt = train_step.make_optimizer(base_lr=0.001, stepvalue=3, gamma=0.9)
    opt.build([w])
    ms, mom = opt.slots(w)
    assert ms.numpy().tolist() == [1.0, 1.0, 1.0] and mom.numpy().tolist() == [0.0, 0.0, 0.0]

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(w * w * w)
        lr = opt.learning_rate
        opt.apply_gradients(zip(tape.gradient(value, [w]), [w]))
        return lr

    lrs = [float(step()) for _ in range(5)]
    assert np.array_equal(np.float32(lrs), np.float32(TF1_LR))
    assert np.array_equal(w.numpy(), np.float32(TF1_W))
    assert np.array_equal(ms.numpy(), np.float32(TF1_MS))
    assert np.array_equal(mom.numpy(), np.float32(TF1_MOM))
    assert int(opt.iterations.numpy()) == 5


def test_learning_rate_is_exponential_not_staircase():
    schedule = train_step.learning_rate_schedule(0.001, 10000, 0.9)
    for step in (0, 1, 5000, 10000, 25000):
        expected = np.float32(0.001) * np.float32(0.9) ** (np.float32(step) / np.float32(10000))
        assert float(schedule(step)) == pytest.approx(float(expected), rel=1e-6)
    assert float(schedule(5000)) < 0.001 * 0.9 ** 0.4  # decays between the step values


@pytest.mark.parametrize("regularization", ["GRU", "3DCNNs"])
def test_training_path_matches_original_graph(regularization):
    """loss, metrics and gradients of the code train.py runs vs the original graph, up to
    float noise (tests/tolerances.py; the first-convolution kernel's gradient is ill-conditioned)."""
    with np.load(REFS[regularization]) as f:
        ref = {k: f[k] for k in f.files}
    model = build_model(regularization)
    ck.load_weights(model, CKPT[regularization])
    names = [k[len("grad/"):] for k in ref if k.startswith("grad/")]
    assert names
    values, grads = train_step.loss_and_grads(model, ref["images"], ref["cams"], ref["gt_depth"],
                                            int(ref["depth_num"]), names)
    # depth range read from the cameras, as train.py
    assert np.array_equal(ref["cams"][:, 0, 1, 3, 0], ref["depth_start"])
    for key in ("loss", "mae", "less_one", "less_three"):
        if key in ref:
            tol.assert_scalar_close(key, values[key], ref[key])
    for name, grad in grads.items():
        tol.assert_grad_close(name, grad, ref["grad/" + name])


def test_loss_and_grads_default_is_every_trainable_variable():
    model = build_model("3DCNNs")
    with pytest.raises(KeyError):
        train_step.loss_and_grads(model, np.zeros((1, 2, 32, 32, 3)), np.zeros((1, 2, 2, 4, 4)),
                                np.zeros((1, 8, 8, 1)), 4, ["no/such/variable"])


def _expected_layout(regularization):
    """Names of the original checkpoint: model variables, two RMSProp slots per trainable
    variable and global_step (the fixture checkpoints are slot-free copies of it)."""
    stored = ck.read_tf1_checkpoint(CKPT[regularization], with_slots=True)
    model = build_model(regularization)
    trainable = {id(v) for v in model.trainable_variables}
    names = set(stored)
    for name, var in ck.model_tf1_names(model).items():
        if id(var) in trainable:
            names |= {name + "/RMSProp", name + "/RMSProp_1"}
    return names, stored


@pytest.mark.parametrize("regularization", ["GRU", "3DCNNs"])
def test_snapshot_has_the_original_layout_and_round_trips(tmp_path, regularization):
    names, stored = _expected_layout(regularization)
    model = build_model(regularization)
    opt = train_step.make_optimizer()
    opt.build(model.trainable_variables)
    ck.load_weights(model, CKPT[regularization])
    rng = np.random.default_rng(0)
    for var in model.trainable_variables:           # distinct slot values
        ms, mom = opt.slots(var)
        ms.assign(rng.uniform(0.5, 2, ms.shape).astype(np.float32))
        mom.assign(rng.normal(0, 1e-3, mom.shape).astype(np.float32))
    opt.iterations.assign(1234)
    prefix = train_step.save_snapshot(model, opt, str(tmp_path / "GRU" / "model.ckpt-1234"))
    written = ck.read_tf1_checkpoint(prefix, with_slots=True)
    assert set(written) == names
    assert written["global_step"].dtype == np.int32 and int(written["global_step"]) == 1234
    for name, value in stored.items():
        assert value.shape == written[name].shape and value.dtype == written[name].dtype, name
    with open(tmp_path / "GRU" / "checkpoint") as fh:
        assert fh.readline().strip() == 'model_checkpoint_path: "model.ckpt-1234"'

    # test.py's loader reads it
    other = build_model(regularization)
    summary = ck.load_weights(other, prefix)
    assert summary["global_step"] == 1234
    for a, b in zip(model.weights, other.weights):
        assert np.array_equal(a.numpy(), b.numpy())

    # resuming restores weights, slots and step
    fresh = build_model(regularization)
    fresh_opt = train_step.make_optimizer()
    fresh_opt.build(fresh.trainable_variables)
    restored = train_step.restore_snapshot(fresh, fresh_opt, prefix)
    assert restored["slots"] and restored["global_step"] == 1234
    assert int(fresh_opt.iterations.numpy()) == 1234
    for var, fresh_var in zip(model.trainable_variables, fresh.trainable_variables):
        for slot, fresh_slot in zip(opt.slots(var), fresh_opt.slots(fresh_var)):
            assert np.array_equal(slot.numpy(), fresh_slot.numpy())


def test_restore_without_slots_keeps_fresh_slots():
    model = build_model("GRU")
    opt = train_step.make_optimizer()
    opt.build(model.trainable_variables)
    restored = train_step.restore_snapshot(model, opt, CKPT["GRU"])   # slot-free fixture
    assert not restored["slots"] and restored["global_step"] == 100000
    ms, mom = opt.slots(model.trainable_variables[0])
    assert np.all(ms.numpy() == 1) and np.all(mom.numpy() == 0)


def test_restore_rejects_a_checkpoint_of_the_other_network(tmp_path):
    model = build_model("3DCNNs")
    opt = train_step.make_optimizer()
    opt.build(model.trainable_variables)
    with pytest.raises(ck.CheckpointError, match="GRU"):
        train_step.restore_snapshot(model, opt, CKPT["GRU"])
    with pytest.raises(ck.CheckpointError):
        train_step.restore_snapshot(model, opt, str(tmp_path / "model.ckpt-5"))
