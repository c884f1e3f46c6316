"""mvsnet.preprocess: worked examples of the original preprocessing."""

import numpy as np
import pytest

from cameras.camera import Camera
from cameras.errors import InputError
from mvsnet.preprocess import (adaptive_scale, center_image, crop_mvs_input, crop_size,
                               mask_depth_image, scale_image, scale_mvs_camera, scale_mvs_input)

K = [[100.0, 0.0, 50.0], [0.0, 100.0, 40.0], [0.0, 0.0, 1.0]]


def make_cam(cx=50.0, cy=40.0):
    return Camera(np.eye(4), [[100.0, 0.0, cx], [0.0, 110.0, cy], [0.0, 0.0, 1.0]], 425.0, 2.5, 192, 905.0)


def grid(h, w, c=None):
    image = np.arange(h * w, dtype=np.float32).reshape(h, w)
    return image if c is None else np.repeat(image[:, :, None], c, axis=2) + np.arange(c, dtype=np.float32)


def test_center_image():
    img = np.zeros((2, 2, 2), np.uint8)
    img[:, :, 0] = [[0, 2], [4, 6]]   # mean 3, variance 5
    img[:, :, 1] = [[1, 1], [1, 1]]   # variance 0: only the epsilon is left
    out = center_image(img)
    assert out.dtype == np.float32 and out.shape == (2, 2, 2)
    np.testing.assert_allclose(out[:, :, 0], np.array([[-3, -1], [1, 3]]) / np.sqrt(5.0), rtol=1e-6)
    np.testing.assert_array_equal(out[:, :, 1], 0)
    assert img[0, 1, 0] == 2  # input unchanged


def test_scale_image():
    image = grid(4, 4)
    np.testing.assert_array_equal(scale_image(image, 0.5, "nearest"), [[0, 2], [8, 10]])
    # bilinear halving averages each 2x2 block
    np.testing.assert_array_equal(scale_image(image, 0.5), [[2.5, 4.5], [10.5, 12.5]])
    assert scale_image(grid(120, 160, 3), 0.25).shape == (30, 40, 3)
    assert scale_image(grid(10, 10), 0.37).shape == (4, 4)  # cv2 rounds 3.7
    with pytest.raises(ValueError):
        scale_image(image, 0.5, "cubic")


def test_scale_mvs_input():
    images = [grid(8, 12, 3), grid(4, 4, 3)]
    cams = [make_cam(), make_cam(10.0, 20.0)]
    depth = grid(8, 12)
    out_images, out_cams, out_depth = scale_mvs_input(images, cams, depth, scale=0.5)
    assert [i.shape for i in out_images] == [(4, 6, 3), (2, 2, 3)]
    np.testing.assert_array_equal(out_images[0], scale_image(images[0], 0.5))
    np.testing.assert_array_equal(out_depth, grid(8, 12)[::2, ::2])  # nearest
    np.testing.assert_array_equal(out_cams[1].intrinsic, [[50.0, 0, 5.0], [0, 55.0, 10.0], [0, 0, 1]])
    assert cams[1] == make_cam(10.0, 20.0) and images[0].shape == (8, 12, 3)  # inputs unchanged
    two = scale_mvs_input(images, cams, scale=0.5)
    assert len(two) == 2 and two[1] == out_cams
    assert scale_mvs_camera(cams, 0.25)[0].intrinsic[1, 1] == 27.5


def test_crop_size():
    # longer than max: cut to max; otherwise rounded UP to base_image_size (a real ceil)
    assert crop_size(1300, 1700, max_w=1600, max_h=1200, base_image_size=8) == (1200, 1600)
    assert crop_size(1200, 1600, max_w=1600, max_h=1200, base_image_size=8.0) == (1200, 1600)
    assert crop_size(100, 1700, max_w=1600, max_h=1200, base_image_size=8.0) == (104, 1600)
    assert crop_size(96, 64, max_w=1600, max_h=1200, base_image_size=32) == (96, 64)
    # the original's max_w / max_h arguments force the size
    assert crop_size(96, 64, 1600, 1200, 8, force_w=40, force_h=24) == (24, 40)


def test_crop_odd_excess_goes_to_the_end():
    # 11x13 -> 8x8: excess 3 rows and 5 columns; py2 (3)/2 = 1 and (5)/2 = 2 at the start,
    # the extra row / column at the end
    image = grid(11, 13)
    depth = grid(11, 13) + 1000
    images, cams, out_depth = crop_mvs_input([image], [make_cam()], depth,
                                             max_w=8, max_h=8, base_image_size=8)
    np.testing.assert_array_equal(images[0], image[1:9, 2:10])
    np.testing.assert_array_equal(out_depth, depth[1:9, 2:10])
    assert (cams[0].intrinsic[0, 2], cams[0].intrinsic[1, 2]) == (48.0, 39.0)
    assert cams[0].intrinsic[0, 0] == 100.0 and cams[0].depth_max == 905.0


def test_crop_per_view_and_depth_follows_view_0():
    images = [grid(16, 40, 3), grid(20, 44, 3)]
    depth = grid(16, 40)
    out_images, out_cams, out_depth = crop_mvs_input(images, [make_cam(), make_cam()], depth,
                                                     max_w=32, max_h=16, base_image_size=8.0)
    # view 0: h 16 stays (a multiple of 8), w 40 > 32 -> 32 from column 4
    np.testing.assert_array_equal(out_images[0], images[0][0:16, 4:36])
    np.testing.assert_array_equal(out_depth, depth[0:16, 4:36])
    # view 1: h 20 > 16 -> rows 2..17, w 44 > 32 -> columns 6..37
    np.testing.assert_array_equal(out_images[1], images[1][2:18, 6:38])
    assert (out_cams[0].intrinsic[0, 2], out_cams[0].intrinsic[1, 2]) == (46.0, 40.0)
    assert (out_cams[1].intrinsic[0, 2], out_cams[1].intrinsic[1, 2]) == (44.0, 38.0)
    assert len(crop_mvs_input(images, [make_cam(), make_cam()], max_w=32, max_h=16,
                              base_image_size=8)) == 2


def test_crop_forced_size_as_train_py():
    image = grid(20, 30)
    images, cams = crop_mvs_input([image], [make_cam()], max_w=24, max_h=16, base_image_size=8,
                                  force_w=24, force_h=16)
    np.testing.assert_array_equal(images[0], image[2:18, 3:27])
    assert (cams[0].intrinsic[0, 2], cams[0].intrinsic[1, 2]) == (47.0, 38.0)


def test_crop_larger_than_image_is_an_error():
    # h 100 <= max_h is rounded up to 104: the original sliced [-2:102] (2 rows)
    with pytest.raises(InputError) as info:
        crop_mvs_input([grid(100, 1700)], [make_cam()], max_w=1600, max_h=1200, base_image_size=8)
    assert str(info.value) == ("cannot crop view 0 (1700x100, WxH) to 1600x104: the image is smaller; "
                               "its sides must exceed max_w/max_h or be multiples of base_image_size=8")
    with pytest.raises(InputError):
        crop_mvs_input([grid(8, 8)], [make_cam()], max_w=8, max_h=8, base_image_size=8, force_w=16)


def test_mask_depth_image():
    depth = np.array([[0.0, 425.0, 426.0, 937.0, 938.0, 500.0]], dtype=np.float32)
    out = mask_depth_image(depth, 425.0, 937.0)
    assert out.shape == (1, 6, 1) and out.dtype == np.float32
    # keeps min < d <= max
    np.testing.assert_array_equal(out[:, :, 0], [[0, 0, 426, 937, 0, 500]])
    np.testing.assert_array_equal(depth, [[0.0, 425.0, 426.0, 937.0, 938.0, 500.0]])


def test_adaptive_scale():
    # h scales 0.4 and 0.6, w scales 0.4 and 0.4: the largest, 0.6, keeps every view >= max
    assert adaptive_scale([(300, 400, 3), (200, 400, 3)], max_w=160, max_h=120) == 0.6
    assert adaptive_scale([(300, 400)], max_w=320, max_h=120) == 0.8
    assert adaptive_scale([(120, 160)], max_w=160, max_h=120) == 1.0
    with pytest.raises(InputError) as info:
        adaptive_scale([(300, 400), (100, 200)], max_w=160, max_h=120)
    assert str(info.value) == ("max_w x max_h = 160x120 is larger than an input image (200x100, WxH); "
                               "lower --max_w/--max_h (they must not exceed any image)")


def test_test_py_pipeline():
    # adaptive scale -> scale_mvs_input -> crop, as the original test.py
    images = [grid(300, 400, 3), grid(200, 400, 3)]
    cams = [make_cam(200.0, 150.0), make_cam(200.0, 100.0)]
    scale = adaptive_scale([i.shape for i in images], max_w=160, max_h=120)
    images, cams = scale_mvs_input(images, cams, scale=scale)
    assert [i.shape for i in images] == [(180, 240, 3), (120, 240, 3)]
    images, cams = crop_mvs_input(images, cams, max_w=160, max_h=120, base_image_size=8)
    assert [i.shape for i in images] == [(120, 160, 3), (120, 160, 3)]
    assert cams[0].intrinsic[0, 2] == 200.0 * 0.6 - 40 and cams[0].intrinsic[1, 2] == 150.0 * 0.6 - 30
    assert cams[1].intrinsic[0, 2] == 200.0 * 0.6 - 40 and cams[1].intrinsic[1, 2] == 100.0 * 0.6
    assert cams[0].intrinsic[0, 0] == 100.0 * 0.6
