"""What the GRU sweep reads off the winning plane (test.py's --subplane and --prob_window;
mvsnet.network.spec.Readout): hand-worked answers on made-up costs, then the shipped weights
on the tiny scene."""

import numpy as np
import pytest

from cameras.errors import InputError
from mvsnet.inference import plan
from mvsnet.network.spec import Readout


def test_subplane_offset_by_hand():
    from mvsnet.network.model import subplane_offset

    left = np.array([0.5, 0.0, 1.0, 1.0, 1.0, 10.0, 1.0], np.float32)
    centre = np.array([1.0, 1.0, 1.0, 0.0, 0.9, 0.0, 0.9], np.float32)
    right = np.array([0.0, 0.0, 1.0, 1.0, -5.0, -10.0, 0.5], np.float32)
    # (0.5, 1, 0): y = -0.75 x^2 - 0.25 x + 1 peaks at -1/6; symmetric: 0; flat, convex,
    # straight: no peak, 0; (1, 0.9, -5): -0.517, clipped to -0.5; (1, .9, .5): .5 * .5 / -.4 -> clipped
    expected = [-1 / 6, 0.0, 0.0, 0.0, -0.5, 0.0, -0.5]
    offset = subplane_offset(left, centre, right).numpy()
    np.testing.assert_allclose(offset, expected, atol=1e-6)
    left2, centre2, right2 = np.float32([-1.69]), np.float32([-0.09]), np.float32([-0.49])
    np.testing.assert_allclose(subplane_offset(left2, centre2, right2).numpy(), [0.3], atol=1e-6)


def _sweep(costs, readout, inverse=False):
    """Run _Planes.update over costs (D, n) for n pixels (batch 1, n x 1 image) with planes at
    depths 1, 2, ..., D (linear) or 1 / (1 - d * (1 - 1 / D) / (D - 1)) (inverse: 1 .. D)."""
    import tensorflow as tf

    from mvsnet.network.model import _Planes

    num = costs.shape[0]
    if inverse:
        inv_step = (1.0 - 1.0 / num) / (num - 1)

        def plane_depth(d):
            return 1.0 / (1.0 - d * inv_step)
    else:
        def plane_depth(d):
            return 1.0 + d + 0 * tf.zeros([1, 1, 1, 1])
    planes = _Planes(tf.constant(num), [], plane_depth, readout)
    best = planes.initial(tf.zeros([1, costs.shape[1], 1, 32]))
    for d in range(num):
        best = planes.update(tf.constant(d), tf.constant(costs[d].reshape(1, -1, 1, 1)), *best)
    depth, prob = planes.result(*best)
    return depth.numpy().ravel(), prob.numpy().ravel()


def test_sweep_readout_by_hand():
    d = np.arange(6, dtype=np.float32)[:, None]
    # pixel 0: a parabola peaking at plane 2.3; 1: peak at plane 0 (no left neighbour);
    # 2: at the last plane 5; 3: two equal planes 1 and 2 (the first wins, as the original's <)
    costs = np.concatenate([-(d - 2.3) ** 2, -(d - 0.2) ** 2, -(d - 5.4) ** 2,
                            np.float32([[0], [3], [3], [0], [0], [0]])], axis=1).astype(np.float32)
    total = np.exp(costs).sum(0)
    depth1, prob1 = _sweep(costs, Readout())
    np.testing.assert_allclose(depth1, [3, 1, 6, 2])   # plane depths 1 + index
    np.testing.assert_allclose(prob1, np.exp(costs).max(0) / (total + 1e-7), rtol=1e-6)

    depth, prob = _sweep(costs, Readout(subplane=True))
    # pixel 3: costs 0, 3, 3 around plane 1: the parabola peaks at +0.5
    np.testing.assert_allclose(depth, [3.3, 1, 6, 2.5], atol=1e-5)
    np.testing.assert_array_equal(prob, prob1)

    depth, prob = _sweep(costs, Readout(prob_window=3))
    np.testing.assert_array_equal(depth, depth1)
    e = np.exp(costs)
    around = [e[1:4, 0].sum(), e[0:2, 1].sum(), e[4:6, 2].sum(), e[0:3, 3].sum()]
    np.testing.assert_allclose(prob, np.array(around) / (total + 1e-7), rtol=1e-6)


def test_subplane_in_inverse_depth():
    """Between two planes sampled in inverse depth the offset is taken in inverse depth."""
    d = np.arange(6, dtype=np.float32)[:, None]
    depth, _ = _sweep((-(d - 2.3) ** 2).astype(np.float32), Readout(subplane=True), inverse=True)
    inv_step = (1 - 1 / 6) / 5
    np.testing.assert_allclose(depth, [1 / (1 - 2.3 * inv_step)], rtol=1e-5)


def test_readout_options_checked():
    assert plan.Options().readout() == Readout(False, 1)   # the original's
    assert plan.Options(subplane=True, prob_window=3).readout() == Readout(True, 3)
    with pytest.raises(InputError, match="--prob_window must be 1 or 3, got 2"):
        plan.Options(prob_window=2).check()
    with pytest.raises(InputError, match="--subplane and --prob_window are for GRU"):
        plan.Options(regularization="3DCNNs", max_d=192, subplane=True).check()


def test_readout_through_both_sweeps():
    """The fixture checkpoint on the tiny scene (3 views, 32 planes): the fast and the exact
    sweep read the same depth and probability off the winner, the 3-plane probability is at
    least the winner's, and the sub-plane depth stays within half a plane (in inverse depth)
    of the winner's plane."""
    import tensorflow as tf

    import tolerances as tol
    from mvsnet.inference import network, prepare
    from test_inference import CKPT, SCENE, STEP, options

    model = network.load_model("GRU", CKPT["GRU"] + "-%d" % STEP)[0]
    opts = options()
    view_set = plan.plan_dense_folder(SCENE, opts)[0]
    item = prepare.prepare_view_set(view_set, opts)
    images, cams = tf.constant(item.centered_images[None]), tf.constant(item.scaled_cams[None])
    start, interval = cams[:, 0, 1, 3, 0], cams[:, 0, 1, 3, 1]
    num = int(item.scaled_cams[0, 1, 3, 2])
    end = start + (num - 1) * interval

    def maps(readout, exact):
        depth, prob = model.winner_take_all(images, cams, num, start, end, exact=exact,
                                            chunk=network.PLANE_CHUNK, readout=readout)
        return depth.numpy()[0, ..., 0], prob.numpy()[0, ..., 0]

    depth1, prob1 = maps(Readout(), False)
    both = Readout(subplane=True, prob_window=3)
    depth, prob = maps(both, False)
    depth_exact, prob_exact = maps(both, True)
    tol.assert_maps_match(depth, prob, depth_exact, prob_exact, view_set.cams[0], "GRU")
    assert np.all(prob >= prob1 - 1e-6) and prob.mean() > 1.5 * prob1.mean()
    inv_step = (1 / float(start[0]) - 1 / float(end[0])) / (num - 1)
    shift = np.abs(1 / depth - 1 / depth1) / inv_step        # in planes
    assert shift.max() <= 0.5 + 1e-3 and shift.mean() > 0.05
