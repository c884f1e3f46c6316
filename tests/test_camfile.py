"""cameras.camera / cameras.camfile: the record, its array packing, cam-file read and write."""

import os

import numpy as np
import pytest

from cameras.camera import Camera
from cameras.camfile import format_cam, parse_cam, read_cam, write_cam
from cameras.errors import InputError

EXTRINSIC = [[1, 0, 0, 10], [0, 1, 0, 20], [0, 0, 1, 30], [0, 0, 0, 1]]
INTRINSIC = [[100, 0, 50], [0, 100, 40], [0, 0, 1]]

HEAD = ("extrinsic\n1 0 0 10\n0 1 0 20\n0 0 1 30\n0 0 0 1\n\n"
        "intrinsic\n100 0 50\n0 100 40\n0 0 1\n\n")


def write_text(tmp_path, text, name="00000000_cam.txt"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_input_error_format():
    assert str(InputError("bad thing", "/a/b.txt")) == "/a/b.txt: bad thing"
    assert str(InputError("bad\nthing")) == "bad thing"
    e = InputError("x", "p")
    assert isinstance(e, ValueError) and e.path == "p" and e.problem == "x"


def test_camera_array_round_trip():
    cam = Camera(EXTRINSIC, INTRINSIC, 425.0, 2.5, 192, 905.0)
    a = cam.to_array()
    assert a.shape == (2, 4, 4) and a.dtype == np.float64
    np.testing.assert_array_equal(a[0], EXTRINSIC)
    np.testing.assert_array_equal(a[1, :3, :3], INTRINSIC)
    np.testing.assert_array_equal(a[1, 3], [425.0, 2.5, 192.0, 905.0])
    np.testing.assert_array_equal(a[1, :3, 3], [0, 0, 0])
    back = Camera.from_array(a)
    assert back == cam
    assert isinstance(back.depth_num, float) and back.depth_num == 192.0
    # float32 arrays (from TensorFlow) are accepted and widened
    assert Camera.from_array(a.astype(np.float32)) == cam


def test_camera_copies_and_validates():
    ext = np.array(EXTRINSIC, dtype=np.float64)
    cam = Camera(ext, INTRINSIC)
    ext[0, 0] = 5
    assert cam.extrinsic[0, 0] == 1
    assert cam.copy() == cam and cam.copy() is not cam
    assert cam.depth_min == cam.depth_interval == cam.depth_num == cam.depth_max == 0.0
    with pytest.raises(ValueError):
        Camera(np.eye(3), INTRINSIC)
    with pytest.raises(ValueError):
        Camera.from_array(np.zeros((2, 3, 4)))


def test_read_cam_two_depth_numbers_uses_max_d(tmp_path):
    path = write_text(tmp_path, HEAD + "425 2.5\n")
    cam = read_cam(path, interval_scale=0.5, max_d=192)
    np.testing.assert_array_equal(cam.extrinsic, EXTRINSIC)
    np.testing.assert_array_equal(cam.intrinsic, INTRINSIC)
    # interval = 2.5 * 0.5; num = max_d; max = 425 + 1.25 * 192
    assert (cam.depth_min, cam.depth_interval, cam.depth_num, cam.depth_max) == (425.0, 1.25, 192.0, 665.0)
    # interval_scale as test.py's default 0.8: the original's float64 arithmetic
    cam = read_cam(path, interval_scale=0.8, max_d=256)
    assert cam.depth_interval == 2.5 * 0.8
    assert cam.depth_max == 425.0 + (2.5 * 0.8) * 256.0
    # default max_d = 0: no planes, depth_max = depth_min
    cam = read_cam(path)
    assert (cam.depth_min, cam.depth_interval, cam.depth_num, cam.depth_max) == (425.0, 2.5, 0.0, 425.0)


def test_read_cam_three_depth_numbers(tmp_path):
    path = write_text(tmp_path, HEAD + "425 2.5 128\n")
    cam = read_cam(path, interval_scale=0.5, max_d=999)  # max_d unused
    assert (cam.depth_min, cam.depth_interval, cam.depth_num, cam.depth_max) == (425.0, 1.25, 128.0, 585.0)


def test_read_cam_four_depth_numbers(tmp_path):
    path = write_text(tmp_path, HEAD + "425 2.5 128 937\n")
    cam = read_cam(path, interval_scale=0.5, max_d=999)
    # depth_max as written, not recomputed
    assert (cam.depth_min, cam.depth_interval, cam.depth_num, cam.depth_max) == (425.0, 1.25, 128.0, 937.0)


def test_read_cam_no_depth_line(tmp_path):
    path = write_text(tmp_path, HEAD)
    cam = read_cam(path, interval_scale=0.5, max_d=192)
    assert (cam.depth_min, cam.depth_interval, cam.depth_num, cam.depth_max) == (0.0, 0.0, 0.0, 0.0)
    np.testing.assert_array_equal(cam.intrinsic, INTRINSIC)


def test_read_cam_layout_is_free_whitespace(tmp_path):
    words = (HEAD + "425 2.5 128 937").split()
    path = write_text(tmp_path, "\ufeff" + "  ".join(words) + "\r\n")
    cam = read_cam(path)
    assert cam.depth_max == 937.0 and cam.intrinsic[1, 2] == 40.0
    assert parse_cam(HEAD + "1e2 0.5") == Camera(EXTRINSIC, INTRINSIC, 100.0, 0.5, 0.0, 100.0)


@pytest.mark.parametrize("text, problem", [
    ("", "empty camera file"),
    (HEAD.replace("extrinsic", "extrinsics"),
     "not a camera file: expected the word 'extrinsic' first, found 'extrinsics'"),
    (HEAD.replace("intrinsic", "K"), "missing the word 'intrinsic'"),
    (HEAD.replace("0 0 0 1\n", "0 0 0\n", 1),
     "expected 16 extrinsic numbers before 'intrinsic', found 15"),
    ("extrinsic\n" + "1 " * 20 + "intrinsic 1",
     "expected 16 extrinsic numbers before 'intrinsic', found 20"),
    (HEAD.replace("0 100 40\n0 0 1", "0 100 40\n0 0"), "expected 9 intrinsic numbers after 'intrinsic', found 8"),
    (HEAD.replace("1 0 0 10", "1 0 zero 10"), "extrinsic: 'zero' (word 4) is not a number"),
    (HEAD.replace("0 100 40", "0 100 4O"), "intrinsic: '4O' (word 24) is not a number"),
    (HEAD + "425\n", "the depth line has 1 numbers; expected DEPTH_MIN DEPTH_INTERVAL "
                     "[DEPTH_NUM [DEPTH_MAX]] (2, 3 or 4 numbers) or nothing"),
    (HEAD + "425 2.5 192 905 1\n", "the depth line has 5 numbers; expected DEPTH_MIN DEPTH_INTERVAL "
                                   "[DEPTH_NUM [DEPTH_MAX]] (2, 3 or 4 numbers) or nothing"),
    (HEAD + "425 2.5 many\n", "DEPTH_NUM: 'many' (word 30) is not a number"),
    (HEAD + "425 x\n", "DEPTH_INTERVAL: 'x' (word 29) is not a number"),
])
def test_read_cam_malformed(tmp_path, text, problem):
    path = write_text(tmp_path, text)
    with pytest.raises(InputError) as info:
        read_cam(path)
    assert str(info.value) == "%s: %s" % (path, problem)
    assert "\n" not in str(info.value)


def test_read_cam_missing_file(tmp_path):
    path = str(tmp_path / "nope_cam.txt")
    with pytest.raises(InputError) as info:
        read_cam(path)
    assert str(info.value) == path + ": camera file does not exist"


def test_write_cam_layout(tmp_path):
    cam = Camera(EXTRINSIC, [[100, 0, 50.5], [0, 100, 40], [0, 0, 1]], 425.0, 0.1, 192, 444.2)
    path = str(tmp_path / "00000003.txt")
    write_cam(path, cam)
    expected = ("extrinsic\n"
                "1.0 0.0 0.0 10.0 \n0.0 1.0 0.0 20.0 \n0.0 0.0 1.0 30.0 \n0.0 0.0 0.0 1.0 \n"
                "\n"
                "intrinsic\n"
                "100.0 0.0 50.5 \n0.0 100.0 40.0 \n0.0 0.0 1.0 \n"
                "\n"
                "425.0 0.1 192.0 444.2\n")
    with open(path, "rb") as f:
        assert f.read() == expected.encode()
    assert read_cam(path) == cam  # float64 str() round-trips exactly
    assert [n for n in os.listdir(tmp_path)] == ["00000003.txt"]  # no temp file left


def test_write_cam_float32_strings(tmp_path):
    # what the original test.py wrote: str() of the float32 values TensorFlow returned
    cam = Camera(EXTRINSIC, [[1 / 3.0, 0, 50], [0, 100, 40], [0, 0, 1]], 425.0, 0.1 * 3, 256, 1e-5)
    text = format_cam(cam, dtype=np.float32)
    assert text.splitlines()[7] == "0.33333334 0.0 50.0 "
    assert text.splitlines()[-1] == "425.0 0.3 256.0 1e-05"
    assert format_cam(cam.to_array().astype(np.float32)) == text  # the float32 array itself
    assert format_cam(cam).splitlines()[7] == "0.3333333333333333 0.0 50.0 "
    assert format_cam(cam).splitlines()[-1] == "425.0 0.30000000000000004 256.0 1e-05"
    path = str(tmp_path / "c.txt")
    write_cam(path, cam, dtype=np.float32)
    with open(path) as f:
        assert f.read() == text


def test_write_cam_rejects_bad_shape(tmp_path):
    with pytest.raises(ValueError):
        write_cam(str(tmp_path / "c.txt"), np.zeros((4, 4)))
    assert not os.listdir(tmp_path)


def test_write_cam_unwritable(tmp_path):
    path = str(tmp_path / "missing_folder" / "c.txt")
    with pytest.raises(InputError) as info:
        write_cam(path, Camera(EXTRINSIC, INTRINSIC))
    assert str(info.value).startswith(path + ": cannot write file: ")
