"""Homographies and warps against answers worked out by hand."""

import numpy as np
import pytest
import tensorflow as tf

from mvsnet.network import homography as hg

F, CX, CY = 20.0, 8.0, 6.0


def _cam(t=(0.0, 0.0, 0.0)):
    """Packed (2,4,4) camera: identity rotation, translation t, K with focal F."""
    cam = np.zeros((2, 4, 4), np.float32)
    cam[0] = np.eye(4)
    cam[0, :3, 3] = t
    cam[1, :3, :3] = [[F, 0, CX], [0, F, CY], [0, 0, 1]]
    return cam


def test_linear_and_inverse_depth_samples():
    lin = hg.depth_samples([2.0], 5, depth_interval=[0.5]).numpy()
    np.testing.assert_allclose(lin, [[2.0, 2.5, 3.0, 3.5, 4.0]])
    inv = hg.depth_samples([2.0], 5, depth_end=[4.0], inverse=True).numpy()[0]
    np.testing.assert_allclose(inv[[0, -1]], [2.0, 4.0], rtol=1e-6)
    np.testing.assert_allclose(np.diff(1.0 / inv), -0.0625, rtol=1e-5)  # 1/2 -> 1/4 in 4 steps
    with pytest.raises(ValueError):
        hg.depth_samples([2.0], 5, inverse=True)


def test_identical_cameras_give_the_identity():
    cams = _cam()[None]
    h = hg.get_homographies(cams, cams, hg.depth_samples([1.0], 4, depth_interval=[1.0])).numpy()
    assert h.shape == (1, 4, 3, 3)
    np.testing.assert_allclose(h, np.broadcast_to(np.eye(3), h.shape), atol=1e-6)


def test_x_translation_is_a_shift_of_focal_times_baseline_over_depth():
    # source camera centre at x = +b: x_cam = x_world - b, so t = (-b, 0, 0)
    b = 0.5
    ref, src = _cam()[None], _cam((-b, 0.0, 0.0))[None]
    depths = np.array([[2.0, 5.0, 10.0]], np.float32)
    h = hg.get_homographies(ref, src, depths).numpy()[0]
    for d, hd in zip(depths[0], h):
        expected = np.eye(3)
        expected[0, 2] = -F * b / d          # x_src = x_ref - f b / d
        np.testing.assert_allclose(hd / hd[2, 2], expected, atol=1e-5)


def _ramp(h=6, w=8):
    return (np.arange(w, dtype=np.float32)[None, None, :, None] + 1.0) * np.ones((1, h, w, 2), np.float32)


def test_transform_warp_shifts_by_whole_pixels_with_zeros_outside():
    shift = np.eye(3, dtype=np.float32)
    shift[0, 2] = -2.0                       # reference pixel x samples source x - 2
    out = hg.warp_transform(_ramp(), shift[None]).numpy()
    ramp = _ramp()
    np.testing.assert_allclose(out[:, :, 2:], ramp[:, :, :-2])
    np.testing.assert_allclose(out[:, :, :2], 0.0)


def test_transform_warp_half_pixel_is_bilinear():
    shift = np.eye(3, dtype=np.float32)
    shift[0, 2] = 0.5
    out = hg.warp_transform(_ramp(), shift[None]).numpy()
    np.testing.assert_allclose(out[0, 0, :-1, 0], np.arange(8)[:-1] + 1.5)


def test_gather_warp_matches_the_original_border_arithmetic():
    # interior: the same whole-pixel shift; outside on the left the clamped neighbours'
    # weights cancel to 0; on the last row the clamped y1 == y0 gives all-zero weights
    shift = np.eye(3, dtype=np.float32)
    shift[0, 2] = -2.0
    out = hg.warp_gather(tf.constant(_ramp()), tf.constant(shift[None])).numpy()
    np.testing.assert_allclose(out[:, :-1, 2:], _ramp()[:, :-1, :-2])
    np.testing.assert_allclose(out[:, :, :2], 0.0)
    np.testing.assert_allclose(out[:, -1], 0.0)


def test_identity_warp_returns_the_feature():
    feat = np.random.default_rng(0).standard_normal((2, 6, 8, 3)).astype(np.float32)
    eye = np.tile(np.eye(3, dtype=np.float32)[None], [2, 1, 1])
    np.testing.assert_allclose(hg.warp_transform(feat, eye).numpy(), feat, atol=1e-6)
    gathered = hg.warp_gather(tf.constant(feat), tf.constant(eye)).numpy()
    np.testing.assert_allclose(gathered[:, :-1, :-1], feat[:, :-1, :-1], atol=1e-6)
    np.testing.assert_allclose(gathered[:, -1], 0.0)      # the original's bottom/right quirk
    np.testing.assert_allclose(gathered[:, :, -1], 0.0)
