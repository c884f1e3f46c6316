"""cameras.pfm: byte-exact writing as the original write_pfm, reading both byte orders."""

import os
import struct

import numpy as np
import pytest

from cameras.errors import InputError
from cameras.pfm import pfm_bytes, read_pfm, write_pfm

GREY = np.array([[1.0, 2.0, 3.0], [4.0, 5.5, -6.25]], dtype=np.float32)
# rows bottom first, little endian, scale -1
GREY_BYTES = b"Pf\n3 2\n-1.000000\n" + struct.pack("<6f", 4.0, 5.5, -6.25, 1.0, 2.0, 3.0)


def test_write_pfm_bytes(tmp_path):
    path = str(tmp_path / "d.pfm")
    write_pfm(path, GREY)
    with open(path, "rb") as f:
        assert f.read() == GREY_BYTES
    assert os.listdir(tmp_path) == ["d.pfm"]
    # (H, W, 1) is greyscale too; the scale is written with %f
    assert pfm_bytes(GREY[:, :, None]) == GREY_BYTES
    assert pfm_bytes(GREY, scale=2.5) == GREY_BYTES.replace(b"-1.000000", b"-2.500000")


def test_write_pfm_color_bytes():
    image = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    expected = b"PF\n2 2\n-1.000000\n" + struct.pack("<12f", 6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5)
    assert pfm_bytes(image) == expected


def test_write_pfm_big_endian_array():
    # a big-endian array is written as is, with a positive scale (as the original)
    assert pfm_bytes(GREY.astype(">f4")) == (b"Pf\n3 2\n1.000000\n"
                                             + struct.pack(">6f", 4.0, 5.5, -6.25, 1.0, 2.0, 3.0))


def test_write_pfm_rejects(tmp_path):
    with pytest.raises(ValueError, match="float32"):
        write_pfm(str(tmp_path / "a.pfm"), GREY.astype(np.float64))
    with pytest.raises(ValueError, match="dimensions"):
        write_pfm(str(tmp_path / "a.pfm"), np.zeros((2, 2, 2), np.float32))
    assert os.listdir(tmp_path) == []


def test_round_trip(tmp_path):
    rng = np.random.RandomState(1)
    for shape in [(5, 7), (4, 6, 3), (1, 1)]:
        image = rng.randn(*shape).astype(np.float32)
        path = str(tmp_path / "r.pfm")
        write_pfm(path, image)
        back = read_pfm(path)
        assert back.dtype == np.float32 and back.dtype.isnative and back.flags.c_contiguous
        np.testing.assert_array_equal(back, image)
    write_pfm(path, GREY[:, :, None])
    assert read_pfm(path).shape == (2, 3)


def test_read_big_endian(tmp_path):
    path = tmp_path / "be.pfm"
    path.write_bytes(b"Pf\n3 2\n1.0\n" + struct.pack(">6f", 4.0, 5.5, -6.25, 1.0, 2.0, 3.0))
    image = read_pfm(str(path))
    assert image.dtype == np.dtype("float32") and image.dtype.isnative
    np.testing.assert_array_equal(image, GREY)
    path.write_bytes(b"PF\n1 2\n4.0\n" + struct.pack(">6f", 1, 2, 3, 4, 5, 6))
    np.testing.assert_array_equal(read_pfm(str(path)), [[[4, 5, 6]], [[1, 2, 3]]])


def test_read_lenient_header(tmp_path):
    path = tmp_path / "crlf.pfm"
    path.write_bytes(b"Pf\r\n3 2\r\n-1.0\r\n" + GREY_BYTES.split(b"-1.000000\n", 1)[1])
    np.testing.assert_array_equal(read_pfm(str(path)), GREY)
    path.write_bytes(b"Pf\n3  2\n-1\n" + GREY_BYTES.split(b"-1.000000\n", 1)[1])
    np.testing.assert_array_equal(read_pfm(str(path)), GREY)


@pytest.mark.parametrize("data, problem", [
    (b"P5\n3 2\n255\n", "not a PFM file: the first line must be 'PF' or 'Pf', found 'P5'"),
    (b"", "not a PFM file: the first line must be 'PF' or 'Pf', found ''"),
    (b"Pfx\n3 2\n-1.0\n", "not a PFM file: the first line must be 'PF' or 'Pf', found 'Pfx'"),
    (b"Pf\n3\n", "malformed PFM header: expected 'WIDTH HEIGHT' and a scale after 'Pf'"),
    (b"Pf\n3 two\n-1.0\n" + bytes(24),
     "malformed PFM header: width and height must be integers, found '3' 'two'"),
    (b"Pf\n0 2\n-1.0\n", "malformed PFM header: width and height must be positive, found 0 2"),
    (b"Pf\n3 2\nlittle\n" + bytes(24), "malformed PFM header: the scale must be a number, found 'little'"),
    (b"Pf\n3 2\n-1.0\n" + bytes(20),
     "PFM data size is wrong: a 3x2 greyscale image needs 24 bytes, the file has 20"),
    (b"PF\n3 2\n-1.0\n" + bytes(28),
     "PFM data size is wrong: a 3x2 color image needs 72 bytes, the file has 28"),
])
def test_read_malformed(tmp_path, data, problem):
    path = tmp_path / "bad.pfm"
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        read_pfm(str(path))
    assert str(info.value) == "%s: %s" % (path, problem)


def test_read_missing(tmp_path):
    path = str(tmp_path / "none.pfm")
    with pytest.raises(InputError) as info:
        read_pfm(path)
    assert str(info.value) == path + ": PFM file does not exist"
