"""Network blocks (mvsnet.network): hand-checked normalisations, config round trips, loss arithmetic."""

import numpy as np
import pytest

from mvsnet.network import convgru, cost_regularization, feature_towers, loss, norms, refinement
from mvsnet.network.cost_volume import variance_cost
from mvsnet.network.depth_regression import probability_map
from mvsnet.network.model import MVSNet, RMVSNet, build_model


def test_group_norm_matches_numpy_with_g_equals_c_over_8():
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 16)).astype(np.float32)
    gn = norms.GroupNorm()
    gn.build(x.shape)
    gn.gamma.assign(np.linspace(0.5, 2, 16)); gn.beta.assign(np.linspace(-1, 1, 16))
    groups = x.reshape(2, 4, 5, 2, 8)
    mean = groups.mean(axis=(1, 2, 4), keepdims=True)
    var = groups.var(axis=(1, 2, 4), keepdims=True)
    want = ((groups - mean) / np.sqrt(var + 1e-5)).reshape(x.shape) * np.linspace(0.5, 2, 16) + np.linspace(-1, 1, 16)
    assert gn.groups == 2
    np.testing.assert_allclose(gn(x).numpy(), want, atol=1e-5)


def test_layer_norm_is_over_h_w_c_with_tiny_epsilon():
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 4)).astype(np.float32)
    ln = norms.LayerNorm()
    out = ln(x).numpy()
    np.testing.assert_allclose(out.reshape(2, -1).mean(1), 0, atol=1e-6)
    np.testing.assert_allclose(out.reshape(2, -1).std(1), 1, atol=1e-5)
    assert ln.epsilon == 1e-12


def test_batch_norm_uses_batch_statistics_unless_told_otherwise():
    x = np.random.default_rng(2).standard_normal((1, 3, 4, 2)).astype(np.float32) * 3 + 5
    faithful = norms.BatchNorm()
    out = faithful(x).numpy()
    np.testing.assert_allclose(out.reshape(-1, 2).mean(0), 0, atol=1e-5)
    moving = norms.BatchNorm(batch_stats=False)
    moving.build(x.shape)
    moving.moving_mean.assign([1.0, 2.0]); moving.moving_variance.assign([4.0, 9.0])
    np.testing.assert_allclose(moving(x).numpy(), (x - [1, 2]) / np.sqrt(np.array([4, 9]) + 1e-5), rtol=1e-5)
    # training updates the moving statistics with momentum 0.99 and Bessel's correction
    trained = norms.BatchNorm()
    trained(x, training=True)
    flat = x.reshape(-1, 2)
    np.testing.assert_allclose(trained.moving_mean.numpy(), 0.01 * flat.mean(0), rtol=1e-5)
    np.testing.assert_allclose(trained.moving_variance.numpy(), 0.99 + 0.01 * flat.var(0, ddof=1), rtol=1e-5)


def test_gru_cell_keeps_the_state_when_the_update_gate_saturates():
    cell = convgru.ConvGRUCell(2)
    x = np.random.default_rng(3).standard_normal((1, 4, 4, 3)).astype(np.float32)
    h = np.random.default_rng(4).standard_normal((1, 4, 4, 2)).astype(np.float32)
    cell(x, h)
    cell.update_norm.beta.assign([50.0, 50.0])          # u = sigmoid(LN + 50) = 1 -> h' = h
    np.testing.assert_allclose(cell(x, h).numpy(), h, atol=1e-6)
    cell.update_norm.beta.assign([-50.0, -50.0])         # u = 0 -> h' = tanh(...) in (-1, 1)
    assert np.abs(cell(x, h).numpy()).max() < 1


@pytest.mark.parametrize("make", [
    lambda: norms.GroupNorm(group_channel=4, name="g"),
    lambda: norms.BatchNorm(center=False, batch_stats=False, name="b"),
    lambda: norms.LayerNorm(name="l"),
    lambda: norms.ConvNorm(16, 5, 2, norm="bn", rank=3, transpose=True, name="3dconv4_0"),
    lambda: feature_towers.UNetDS2GN(name="t"),
    lambda: feature_towers.UniNetDS2(norm="gn", name="u"),
    lambda: cost_regularization.RegNetUS0(batch_stats=False, name="r"),
    lambda: convgru.ConvGRUCell(4, name="conv_gru2"),
    lambda: refinement.RefineNet(name="refine"),
])
def test_layer_config_round_trips(make):
    layer = make()
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_model_config_round_trips():
    model = build_model("3DCNNs", refinement=True, batch_stats=False, warp="gather")
    clone = MVSNet.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    assert len(clone.weights) == len(model.weights)
    with pytest.raises(ValueError, match="regularization must be one of"):
        build_model("LSTM")
    gru = RMVSNet(warp="gather")
    assert RMVSNet.from_config(gru.get_config()).get_config() == gru.get_config()
    assert (gru.regularization, sorted(gru.blocks()), sorted(model.blocks())) == \
        ("GRU", ["feature_tower", "gru"], ["feature_tower", "refine_net", "reg_net"])


def test_variance_cost_is_the_population_variance_over_views():
    views = [np.full((1, 1, 1, 1), v, np.float32) for v in (1.0, 2.0, 6.0)]
    np.testing.assert_allclose(variance_cost(views[0], views[1:]).numpy(), np.var([1, 2, 6]), rtol=1e-6)


def test_probability_map_sums_four_planes_and_double_counts_integers():
    volume = np.arange(1, 7, dtype=np.float32).reshape(1, 6, 1, 1) / 100
    start, interval = np.array([10.0], np.float32), np.array([2.0], np.float32)
    half = probability_map(volume, np.full((1, 1, 1, 1), 15.0, np.float32), start, interval).numpy()
    np.testing.assert_allclose(half.ravel(), [(2 + 3 + 4 + 5) / 100])    # index 2.5: planes 1..4
    whole = probability_map(volume, np.full((1, 1, 1, 1), 14.0, np.float32), start, interval).numpy()
    np.testing.assert_allclose(whole.ravel(), [(2 + 3 + 3 + 4) / 100])   # index 2: plane 2 twice
    edge = probability_map(volume, np.full((1, 1, 1, 1), 10.0, np.float32), start, interval).numpy()
    np.testing.assert_allclose(edge.ravel(), [(1 + 1 + 1 + 2) / 100])    # clipped at plane 0


def test_classification_loss_by_hand():
    # 2 pixels, 3 planes; gt at plane 1 and plane 2; a third pixel invalid
    prob = np.array([[0.2, 0.5, 0.3], [0.1, 0.3, 0.6], [0.3, 0.3, 0.4]], np.float32).T.reshape(1, 3, 1, 3, 1)
    gt = np.array([12.0, 14.0, 0.0], np.float32).reshape(1, 1, 3, 1)
    total, mae, less_one, less_three, wta = loss.mvsnet_classification_loss(
        prob, gt, 3, np.array([10.0], np.float32), np.array([2.0], np.float32))
    np.testing.assert_allclose(total.numpy(), -(np.log(0.5) + np.log(0.6)) / 2, rtol=1e-5)
    np.testing.assert_allclose(wta.numpy().ravel(), [12.0, 14.0, 14.0])
    assert mae.numpy() == pytest.approx(0.0, abs=1e-6) and less_one.numpy() == pytest.approx(1.0)


def test_regression_loss_by_hand():
    gt = np.array([10.0, 20.0, 0.0, 30.0], np.float32).reshape(1, 1, 4, 1)
    est = np.array([11.0, 26.0, 5.0, 30.5], np.float32).reshape(1, 1, 4, 1)
    mae, less_one, less_three = loss.mvsnet_regression_loss(est, gt, np.array([2.0], np.float32))
    np.testing.assert_allclose(mae.numpy(), (0.5 + 3 + 0.25) / 3, rtol=1e-5)
    np.testing.assert_allclose(less_one.numpy(), 2 / 3, rtol=1e-5)
    np.testing.assert_allclose(less_three.numpy(), 1.0, rtol=1e-5)


@pytest.mark.parametrize("images,cams,message", [
    ((1, 3, 64, 80), (1, 3, 2, 4, 4), "images must be (B, V, H, W, 3)"),
    ((1, 3, 64, 80, 3), (1, 3, 4, 4), "cams must be (B, V, 2, 4, 4)"),
    ((1, 3, 64, 80, 3), (1, 2, 2, 4, 4), "images have 3 views but cams 2"),
    ((1, 3, 64, 72, 3), (1, 3, 2, 4, 4), "image W = 72: the GRU network needs a multiple of 16"),
])
def test_model_checks_input_shapes_on_entry(images, cams, message):
    model = RMVSNet()
    with pytest.raises(ValueError) as info:
        model.winner_take_all(np.zeros(images, np.float32), np.zeros(cams, np.float32), 4,
                              np.ones(1, np.float32), np.full(1, 2.0, np.float32))
    assert message in str(info.value)
