"""The built-in fusion (mvsnet.pointcloud.fusion, consistency) on hand-made geometry.

Cameras with identity rotation at x = -10, 0, 10 look down +z at the plane z = 100; with
f = 50 a point shifts by f * 10 / 100 = 5 pixels between neighbouring views, and the
disparity of a depth d is 500 / d (0.25 px at d = 100 is a depth change of about 5)."""

import numpy as np
import pytest

from cameras.camera import Camera
from mvsnet.pointcloud import fusion
from mvsnet.pointcloud.views import geometry

H, W, F = 30, 40, 50.0
K = np.array([[F, 0, 20.0], [0, F, 15.0], [0, 0, 1]])


def camera(cx):
    ext = np.eye(4)
    ext[0, 3] = -cx  # t = -R C
    return Camera(ext, K)


def views(centers, depths):
    geos = [geometry(camera(c)) for c in centers]
    maps = [np.full((H, W), d, np.float32) if np.isscalar(d) else d for d in depths]
    images = [np.full((H, W, 3), 10 * (i + 1), np.uint8) for i in range(len(centers))]
    return maps, images, geos


@pytest.mark.parametrize("impl", [fusion.fuse_reference, fusion.fuse_reference_numpy])
def test_plane_points_and_counts(impl):
    maps, images, geos = views([-10, 0, 10], [100, 100, 100])
    points, colors = impl(1, maps, images, geos, 0.25, 2)
    # both sources see the pixel only for 5 <= x < 35 (shift +5 into view 0, -5 into view 2)
    assert len(points) == 30 * H
    np.testing.assert_allclose(points[:, 2], 100, rtol=1e-6)
    # the source points are the same surface points: the average is the reference point
    xs = np.tile(np.arange(5, 35), H)
    np.testing.assert_allclose(points[:, 0], (xs - 20) * 100 / F, atol=1e-3)
    assert (colors == 20).all()  # (20 + 10 + 30) / 3
    points1, _ = impl(1, maps, images, geos, 0.25, 1)
    assert len(points1) == 35 * H + 35 * H - 30 * H  # either source
    points3, _ = impl(1, maps, images, geos, 0.25, 3)
    assert len(points3) == 0  # only two other views


@pytest.mark.parametrize("impl", [fusion.fuse_reference, fusion.fuse_reference_numpy])
def test_disparity_threshold_and_average_includes_reference(impl):
    # view 0 sees the plane 4 units too far: |5 - 500/104| = 0.19 px < 0.25, accepted
    maps, images, geos = views([-10, 0], [104, 100])
    points, colors = impl(1, maps, images, geos, 0.25, 1)
    assert len(points) == 35 * H
    np.testing.assert_allclose(points[:, 2], (100 + 104) / 2, rtol=1e-6)  # (ref + source) / (1 + 1)
    assert (colors == 15).all()  # int((20 + 10) / 2)
    # 6 units too far: |5 - 500/106| = 0.28 px > 0.25, rejected
    maps, images, geos = views([-10, 0], [106, 100])
    assert len(impl(1, maps, images, geos, 0.25, 1)[0]) == 0
    assert len(impl(1, maps, images, geos, 0.3, 1)[0]) == 35 * H


@pytest.mark.parametrize("impl", [fusion.fuse_reference, fusion.fuse_reference_numpy])
def test_invalid_depth_is_skipped_and_never_consistent(impl):
    ref = np.full((H, W), 100, np.float32)
    ref[:, :10] = 0
    src = np.full((H, W), 100, np.float32)
    src[:, 20:] = 0  # pixels landing on (or interpolating with) 0 fail
    maps, images, geos = views([-10, 0], [src, ref])
    points, _ = impl(1, maps, images, geos, 0.25, 1)
    # ref x in [10, 35) maps to source u = x + 5 in [15, 40); valid only where u <= 18
    # (u = 19 interpolates exactly at the texel 19: weight 0 for texel 20)
    xs = np.round(points[:, 0] * F / 100 + 20).astype(int)
    assert set(xs) == set(range(10, 15))


def test_kernel_matches_numpy_reference_on_network_output():
    from mvsnet.pointcloud.views import DenseOutput
    import os, shutil, tempfile

    root = os.path.join(os.path.dirname(__file__), "fixtures")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(os.path.join(root, "scene_tiny", "images"), os.path.join(tmp, "images"))
        shutil.copytree(os.path.join(root, "orig_test_gru"), os.path.join(tmp, "depths_mvsnet"))
        out = DenseOutput(tmp)
        maps = [out.depth(n, 0.035) for n in out.names]
        images = [out.image(n, maps[0].shape) for n in out.names]
        geos = [out.geometry(n) for n in out.names]
    total = 0
    for r in range(len(geos)):
        for n in (1, 2):
            a = fusion.fuse_reference(r, maps, images, geos, 2.0, n)
            b = fusion.fuse_reference_numpy(r, maps, images, geos, 2.0, n)
            assert len(a[0]) == len(b[0])
            np.testing.assert_allclose(a[0], b[0], rtol=1e-5, atol=1e-3)
            assert np.abs(a[1].astype(int) - b[1]).max() <= 1
            total += len(a[0])
    assert total > 100


def test_zero_coordinate_points_are_dropped():
    sum_x = np.array([[1, 2, 3], [0, 2, 3], [4, 5, 6]], np.float32)
    points, colors = fusion._average(sum_x, np.full((3, 3), 9, np.float32), np.zeros(3, np.int32),
                                     np.array([True, True, True]))
    assert points.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert colors.dtype == np.uint8 and (colors == 9).all()


def test_consistency_mode_plane():
    from mvsnet.pointcloud import consistency

    ref_cam, src_cam = camera(0), camera(-10)
    ref = np.full((H, W), 100, np.float32)
    mask, back = consistency.check(ref, K, ref_cam.extrinsic, np.full((H, W), 100, np.float32),
                                   K, src_cam.extrinsic)
    assert mask[:, :35].all() and not mask[:, 35:].any()  # beyond x = 34 the source has no data
    np.testing.assert_allclose(back[mask], 100, rtol=1e-5)
    mask, _ = consistency.check(ref, K, ref_cam.extrinsic, np.full((H, W), 102, np.float32),
                                K, src_cam.extrinsic)
    assert not mask.any()  # 2 % relative depth difference > 0.01
