"""cameras.geometry: scale_camera / crop_camera are pure and move only K's focal / principal point."""

import numpy as np

from cameras.camera import Camera
from cameras.geometry import crop_camera, scale_camera

EXT = np.arange(16, dtype=np.float64).reshape(4, 4)
K = [[1000.0, 0.5, 800.0], [0.0, 1100.0, 600.0], [0.0, 0.0, 1.0]]


def make():
    return Camera(EXT, K, 425.0, 2.5, 192, 905.0)


def test_scale_camera():
    cam = make()
    out = scale_camera(cam, 0.25)
    np.testing.assert_array_equal(out.intrinsic, [[250.0, 0.5, 200.0], [0.0, 275.0, 150.0], [0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(out.extrinsic, EXT)
    assert (out.depth_min, out.depth_interval, out.depth_num, out.depth_max) == (425.0, 2.5, 192.0, 905.0)
    assert cam == make()  # input unchanged
    assert scale_camera(cam) == cam and scale_camera(cam) is not cam
    # the original's float64 products
    out = scale_camera(cam, 0.37)
    assert out.intrinsic[0, 0] == 1000.0 * 0.37 and out.intrinsic[1, 2] == 600.0 * 0.37


def test_crop_camera():
    cam = make()
    out = crop_camera(cam, 7, 3)
    np.testing.assert_array_equal(out.intrinsic, [[1000.0, 0.5, 793.0], [0.0, 1100.0, 597.0], [0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(out.extrinsic, EXT)
    assert out.depth_max == 905.0
    assert cam == make()


def test_scale_then_crop_matches_array_arithmetic():
    a = make().to_array()
    a[1][0][0] *= 0.5
    a[1][1][1] *= 0.5
    a[1][0][2] = a[1][0][2] * 0.5 - 12
    a[1][1][2] = a[1][1][2] * 0.5 - 5
    assert crop_camera(scale_camera(make(), 0.5), 12, 5) == Camera.from_array(a)
