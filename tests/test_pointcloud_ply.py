"""PLY writing and reading (mvsnet.pointcloud.ply)."""

import numpy as np
import pytest

from cameras.errors import InputError
from mvsnet.pointcloud.ply import ply_bytes, read_ply, write_ply


def test_round_trip_and_layout(tmp_path):
    rng = np.random.default_rng(0)
    points = rng.normal(size=(50, 3)).astype(np.float32)
    colors = rng.integers(0, 256, (50, 3), dtype=np.uint8)
    normals = rng.normal(size=(50, 3)).astype(np.float32)
    path = tmp_path / "a.ply"
    write_ply(path, points, colors, normals)
    data = path.read_bytes()
    header, body = data.split(b"end_header\n", 1)
    assert header.decode().splitlines() == [
        "ply", "format binary_little_endian 1.0", "element vertex 50",
        "property float x", "property float y", "property float z",
        "property float nx", "property float ny", "property float nz",
        "property uchar red", "property uchar green", "property uchar blue"]
    assert len(body) == 50 * (6 * 4 + 3)
    first = np.frombuffer(body[:24], "<f4")
    np.testing.assert_array_equal(first, np.concatenate([points[0], normals[0]]))
    assert list(body[24:27]) == list(colors[0])
    p, c, n = read_ply(path)
    np.testing.assert_array_equal(p, points)
    np.testing.assert_array_equal(c, colors)
    np.testing.assert_array_equal(n, normals)


def test_points_only_and_empty(tmp_path):
    write_ply(tmp_path / "p.ply", np.zeros((0, 3)))
    p, c, n = read_ply(tmp_path / "p.ply")
    assert p.shape == (0, 3) and c is None and n is None
    assert b"property uchar" not in ply_bytes(np.ones((2, 3)))


def test_ascii_ply_reads(tmp_path):
    path = tmp_path / "a.ply"
    path.write_text("ply\nformat ascii 1.0\nelement vertex 2\nproperty double x\nproperty double y\n"
                    "property double z\nelement face 0\nproperty list uchar int vertex_indices\n"
                    "end_header\n1 2 3\n4 5 6\n")
    p, c, _ = read_ply(path)
    assert p.tolist() == [[1, 2, 3], [4, 5, 6]] and c is None


def test_bad_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_ply(tmp_path / "none.ply")
    (tmp_path / "bad.ply").write_bytes(b"not a ply")
    with pytest.raises(InputError, match="not a readable PLY") as e:
        read_ply(tmp_path / "bad.ply")
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError):
        ply_bytes(np.zeros((2, 3)), colors=np.zeros((2, 3)))  # colours must be uint8
