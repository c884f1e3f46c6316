"""tests/tolerances.py on small synthetic maps: float noise and rare winner flips pass,
systematic changes fail. (On real outputs: tests/test_inference.py::test_tolerances_reject_real_bugs.)"""

import numpy as np
import pytest
import tolerances as tol

from cameras.camera import Camera

# 32 planes from 500, interval 10 (last plane 810)
CAM = Camera(np.eye(4), np.eye(3), 500.0, 10.0, 32.0, 820.0)


def maps(seed=0, shape=(32, 40)):
    rng = np.random.default_rng(seed)
    depth = (500 + 10 * rng.integers(0, 32, shape)).astype(np.float32)
    prob = rng.uniform(0.03, 0.3, shape).astype(np.float32)
    return depth, prob


def test_float_noise_and_rare_flips_pass():
    depth, prob = maps()
    noisy = depth * np.float32(1 + 4e-6)
    flipped = noisy.copy()
    flipped.ravel()[:12] = 500 + 10 * 31   # 12 of 1280 pixels (< 1 %) flip, far away
    assert tol.map_problems(flipped, prob + 2e-5, depth, prob, CAM, "GRU") == []


def test_too_many_flips_fail():
    depth, prob = maps()
    flipped = depth.copy()
    flipped.ravel()[:14] += 10   # 14 of 1280 pixels: 98.9 %
    found = tol.map_problems(flipped, prob, depth, prob, CAM, "GRU")
    assert len(found) == 1 and found[0].startswith("depth: only 98.91% of depth pixels")


def test_a_small_systematic_depth_change_fails():
    depth, prob = maps()
    assert tol.depth_problems(depth * np.float32(1 + 2e-4), depth, CAM)   # 2e-4 relative everywhere
    assert tol.depth_problems(depth[:, :-1], depth, CAM)                  # shape


def test_flips_outside_the_depth_range_fail():
    depth, prob = maps()
    out = depth.copy()
    out[0, 0] = 200.0
    assert tol.depth_problems(out, depth, CAM) == ["1 differing depths outside the range 500..810"]
    out[0, 0] = np.nan
    assert tol.depth_problems(out, depth, CAM) == ["1 non-finite depths"]


def test_probabilities():
    _, prob = maps()
    assert tol.prob_problems(prob + 9e-5, prob) == []
    assert tol.prob_problems(prob + 1.1e-4, prob)
    out = prob.copy()
    out[3, 4] += 1e-3
    assert tol.prob_problems(out, prob) == ["probabilities off by up to 0.001 (> 0.0001) at 1 pixels"]
    out[3, 4] = np.nan
    assert tol.prob_problems(out, prob)


def test_4_plane_probabilities_skip_only_integral_plane_indices():
    """3DCNNs: a pixel whose soft-argmin depth index is (nearly) integral may sum other planes."""
    depth, prob = maps()
    soft = depth + np.float32(3.0)          # index k + 0.3: compared
    soft[0, 0] = 600.0 + 1e-3 * 10 / 2     # index 10.0005: not compared
    out = prob.copy()
    out[0, 0] += 5e-3
    assert tol.map_problems(soft, out, soft, prob, CAM, "3DCNNs") == []
    assert tol.map_problems(soft, out, soft, prob, CAM, "GRU")   # the GRU prob is continuous
    out[0, 1] += 5e-3
    assert tol.map_problems(soft, out, soft, prob, CAM, "3DCNNs")


def test_output_folders(tmp_path):
    from cameras.camfile import write_cam
    from cameras.pfm import write_pfm

    depth, prob = maps()
    for folder, d in (("ref", depth), ("ours", depth * np.float32(1 + 4e-6))):
        (tmp_path / folder).mkdir()
        write_pfm(str(tmp_path / folder / "00000000_init.pfm"), d)
        write_pfm(str(tmp_path / folder / "00000000_prob.pfm"), prob)
        write_cam(str(tmp_path / folder / "00000000.txt"), CAM.to_array(), dtype=np.float32)
    names = ["00000000_init.pfm", "00000000_prob.pfm", "00000000.txt"]
    assert tol.output_problems(tmp_path / "ours", tmp_path / "ref", names, "GRU") == []
    (tmp_path / "ours" / "00000000.txt").write_text("changed")
    assert tol.output_problems(tmp_path / "ours", tmp_path / "ref", names, "GRU") == [
        "00000000.txt: bytes differ"]


def test_jpg_pixels_within_levels(tmp_path):
    """The jpg check: another encoding of the same picture passes, a channel swap does not."""
    import imageio.v2 as iio

    from mvsnet.inference.outputs import jpeg_bytes

    rgb = np.random.default_rng(0).integers(0, 256, (32, 40, 3)).astype(np.uint8)
    rgb = np.uint8(np.clip(np.cumsum(rgb, axis=1) / np.arange(1, 41)[None, :, None], 0, 255))  # smooth rows
    (tmp_path / "ref.jpg").write_bytes(jpeg_bytes(rgb))
    nudged = rgb.copy()
    nudged[3, 5, 1] += 1
    (tmp_path / "nudged.jpg").write_bytes(jpeg_bytes(nudged))
    assert tol.jpg_problems(tmp_path / "nudged.jpg", tmp_path / "ref.jpg") == []
    (tmp_path / "swapped.jpg").write_bytes(jpeg_bytes(np.ascontiguousarray(rgb[:, :, ::-1])))
    assert tol.jpg_problems(tmp_path / "swapped.jpg", tmp_path / "ref.jpg")[0].startswith(
        "decoded pixels differ by up to")
    iio.imwrite(tmp_path / "small.jpg", rgb[:16])
    assert tol.jpg_problems(tmp_path / "small.jpg", tmp_path / "ref.jpg") == ["shape (16, 40, 3), expected (32, 40, 3)"]


def test_gradients_and_scalars():
    want = np.linspace(-1, 1, 50)
    tol.assert_grad_close("conv10_2/kernel", want + 9e-4, want)
    tol.assert_grad_close("2dconv0_1/kernel", want + 1e-2, want)   # ill-conditioned: looser
    for name, error in (("conv10_2/kernel", 2e-3), ("2dconv0_1/kernel", 3e-2)):
        with pytest.raises(AssertionError, match="gradient of " + name):
            tol.assert_grad_close(name, want + error, want)
    tol.assert_scalar_close("loss", 2.0001, 2.0)
    with pytest.raises(AssertionError, match="loss"):
        tol.assert_scalar_close("loss", 2.001, 2.0)
