"""Tests of tools/synthetic/ (python -m tools.synthetic): exact depth, file layouts and formats,
determinism."""
import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMAND = [sys.executable, "-m", "tools.synthetic"]   # run from the repository root (cwd=ROOT)

from cameras.errors import InputError  # noqa: E402
from tools import synthetic as S  # noqa: E402


# ----------------------------------------------------------------------------- minimal parsers

def parse_cam(path):
    """(extrinsic, intrinsic, depth numbers) of an original-format cam.txt."""
    w = open(path).read().split()
    assert w[0] == "extrinsic" and w[17] == "intrinsic"
    ext = np.array(w[1:17], float).reshape(4, 4)
    k = np.array(w[18:27], float).reshape(3, 3)
    return ext, k, [float(x) for x in w[27:]]


def parse_pair(path):
    w = open(path).read().split()
    n, pos, out = int(w[0]), 1, []
    for _ in range(n):
        ref, cnt = int(w[pos]), int(w[pos + 1])
        src = [(int(w[pos + 2 + 2 * j]), float(w[pos + 3 + 2 * j])) for j in range(cnt)]
        out.append((ref, src))
        pos += 2 + 2 * cnt
    assert pos == len(w)
    return out


def parse_pfm(path):
    with open(path, "rb") as f:
        data = f.read()
    head, dims, scale, rest = data.split(b"\n", 3)
    assert head == b"Pf" and scale == b"-1.000000"
    w, h = map(int, dims.split())
    assert len(rest) == 4 * w * h
    return np.flipud(np.frombuffer(rest, "<f4").reshape(h, w))


def digest(folder):
    h = hashlib.sha256()
    for base, dirs, files in sorted(os.walk(folder)):
        dirs.sort()
        for name in sorted(files):
            p = os.path.join(base, name)
            h.update(os.path.relpath(p, folder).encode())
            h.update(open(p, "rb").read())
    return h.hexdigest()


# ----------------------------------------------------------------------------- exact geometry

def _identity_camera():
    return S.intrinsic_matrix(50.0, 48.0, 20.0, 15.0), np.eye(4)


def _solid_texture():
    rng = np.random.default_rng(0)
    return S.random_texture(rng, 1.0, 1)


def test_fronto_parallel_plane_depth_is_constant():
    k, e = _identity_camera()
    plane = S.Plane(np.array([0.0, 0.0, 5.0]), np.eye(3), None, _solid_texture())
    scene = S.Scene([plane], np.array([0.0, 0.0, -1.0]))
    _, depth = S.render(scene, k, e, 40, 30, supersample=0)
    assert np.all(depth == 5.0)


def test_tilted_plane_depth_matches_analytic():
    k = S.intrinsic_matrix(70.0, 69.0, 31.5, 22.25)
    e = S.look_at([30.0, -20.0, -100.0], [1.0, 2.0, 3.0])
    axes = S.random_rotation(np.random.default_rng(3), 40.0)
    c = np.array([2.0, -1.0, 15.0])
    scene = S.Scene([S.Plane(c, axes, None, _solid_texture())], np.array([0.0, 0.0, -1.0]))
    _, depth = S.render(scene, k, e, 64, 48, supersample=0)
    # plane n.X = n.c in camera coordinates: (R n).X_c = n.c + (R n).t, X_c = z K^-1 (u, v, 1)
    n = axes[2]
    rn = e[:3, :3] @ n
    vv, uu = np.mgrid[0:48, 0:64]
    rays = np.linalg.inv(k) @ np.stack([uu.ravel(), vv.ravel(), np.ones(uu.size)])
    expected = (n @ c + rn @ e[:3, 3]) / (rn @ rays)
    np.testing.assert_allclose(depth.ravel(), expected, rtol=1e-12)


def test_sphere_depth_at_its_centre_pixel():
    k, e = _identity_camera()
    sphere = S.Sphere(np.array([0.0, 0.0, 10.0]), 2.0, np.eye(3), _solid_texture())
    scene = S.Scene([sphere], np.array([0.0, 0.0, -1.0]))
    _, depth = S.render(scene, k, e, 40, 30, supersample=0)
    assert depth[15, 20] == pytest.approx(8.0, abs=1e-12)
    assert depth[0, 0] == 0.0  # misses: no surface


def test_hits_lie_on_their_surfaces():
    scene, views = S.dense_scene(views=2, width=48, height=40, seed=5, supersample=0)
    v = views[0]
    vv, uu = np.mgrid[0:40, 0:48]
    depth, idx, pts = S.cast(scene, v.intrinsic, v.extrinsic, uu, vv)
    np.testing.assert_array_equal(depth.reshape(40, 48), v.depth)
    kinds = set()
    for k, obj in enumerate(scene.objects):
        p = pts[idx == k]
        if not len(p):
            continue
        kinds.add(type(obj).__name__)
        q = obj.local(p)
        if isinstance(obj, S.Plane):
            res = q[:, 2]
        elif isinstance(obj, S.Sphere):
            res = np.linalg.norm(q, axis=1) - obj.radius
        else:
            res = np.max(np.abs(q) / obj.half, axis=1) - 1.0
        assert np.max(np.abs(res)) < 1e-9 * 1000.0
    assert len(kinds) >= 2


def test_reprojection_between_views_agrees(tmp_path):
    out = str(tmp_path / "scene")
    S.write_dense(out, views=3, width=64, height=48, seed=2)
    cams = [parse_cam(os.path.join(out, "cams", "%08d_cam.txt" % i)) for i in range(3)]
    depth_a = np.load(os.path.join(out, "gt", "00000000_depth.npy"))
    scene, _ = S.dense_scene(views=3, width=64, height=48, seed=2, supersample=0)
    ext_a, k_a, _ = cams[0]
    vv, uu = np.mgrid[0:48, 0:64]
    m = depth_a > 0
    x = S.backproject(k_a, ext_a, uu[m], vv[m], depth_a[m])
    for ext_b, k_b, _ in cams[1:]:
        pix, z = S.project(k_b, ext_b, x)
        d_b, _, _ = S.cast(scene, k_b, ext_b, pix[:, 0], pix[:, 1])
        # the first surface along B's ray to X is never behind X; where nothing is in
        # front (X visible from B) B's depth at the projected pixel equals X's depth
        assert np.all(d_b <= z * (1 + 1e-6))
        visible = np.abs(d_b - z) <= 1e-5 * z
        assert visible.mean() > 0.7
        # integer pixels of B seen by A too: the stored B depth reprojects onto A's surface
    ext_b, k_b, _ = cams[1]
    depth_b = np.load(os.path.join(out, "gt", "00000001_depth.npy"))
    xb = S.backproject(k_b, ext_b, uu[depth_b > 0], vv[depth_b > 0], depth_b[depth_b > 0])
    pix, z = S.project(k_a, ext_a, xb)
    d_a, _, _ = S.cast(scene, k_a, ext_a, pix[:, 0], pix[:, 1])
    assert np.mean(np.abs(d_a - z) <= 1e-5 * z) > 0.7


# ----------------------------------------------------------------------------- dense layout

@pytest.mark.parametrize("depth_line", [2, 3, 4])
def test_dense_folder_files_and_formats(tmp_path, depth_line):
    out = str(tmp_path / "d")
    n, w, h, max_d, iscale = 4, 56, 40, 48, 0.8
    S.write_dense(out, views=n, width=w, height=h, seed=1, depth_line=depth_line, max_d=max_d,
                  interval_scale=iscale, num_src=2)
    scene, views = S.dense_scene(views=n, width=w, height=h, seed=1)
    import cv2
    for i, v in enumerate(views):
        img = cv2.imread(os.path.join(out, "images", "%08d.jpg" % i))
        assert img.shape == (h, w, 3)
        assert np.abs(img[:, :, ::-1].astype(float) - v.image).mean() < 6.0  # RGB order, jpeg loss
        ext, k, dl = parse_cam(os.path.join(out, "cams", "%08d_cam.txt" % i))
        np.testing.assert_array_equal(ext, v.extrinsic)  # written exactly
        np.testing.assert_array_equal(k, v.intrinsic)
        assert len(dl) == depth_line
        gt = np.load(os.path.join(out, "gt", "%08d_depth.npy" % i))
        assert gt.dtype == np.float32 and gt.shape == (h, w)
        np.testing.assert_array_equal(gt, v.depth.astype(np.float32))
        np.testing.assert_array_equal(parse_pfm(os.path.join(out, "gt", "%08d_depth.pfm" % i)), gt)
        dmin, interval = dl[0], dl[1]
        dmax = dmin + (max_d - 1) * interval * iscale  # the range test.py will sample
        assert dmin < gt[gt > 0].min() and dmax > gt.max()
        if depth_line >= 3:
            assert dl[2] == max_d
        if depth_line == 4:
            assert dl[3] == pytest.approx(dmax, rel=1e-5)
    pairs = parse_pair(os.path.join(out, "pair.txt"))
    assert [p[0] for p in pairs] == list(range(n))
    for ref, src in pairs:
        assert len(src) == 2 and ref not in [s for s, _ in src]
        scores = [s for _, s in src]
        assert scores == sorted(scores, reverse=True) and scores[-1] > 0
    # a neighbour on the arc is the best source of the first view
    assert pairs[0][1][0][0] == 1


def test_dense_with_foundation_readers(tmp_path):
    from cameras import camfile, pair, pfm
    out = str(tmp_path / "d")
    S.write_dense(out, views=3, width=32, height=24, seed=0, depth_line=2, max_d=24, interval_scale=0.8)
    for i in range(3):
        path = os.path.join(out, "cams", "%08d_cam.txt" % i)
        ext, k, dl = parse_cam(path)
        cam = camfile.read_cam(path, interval_scale=0.8, max_d=24)
        np.testing.assert_array_equal(cam.extrinsic, ext)
        np.testing.assert_array_equal(cam.intrinsic, k)
        assert cam.depth_min == dl[0] and cam.depth_interval == dl[1] * 0.8 and cam.depth_num == 24
        gt = np.load(os.path.join(out, "gt", "%08d_depth.npy" % i))
        np.testing.assert_array_equal(pfm.read_pfm(os.path.join(out, "gt", "%08d_depth.pfm" % i)), gt)
        with open(os.path.join(out, "gt", "%08d_depth.pfm" % i), "rb") as f:
            assert f.read() == pfm.pfm_bytes(gt)
    assert pair.read_pair(os.path.join(out, "pair.txt")) == parse_pair(os.path.join(out, "pair.txt"))


def test_dense_is_deterministic(tmp_path):
    a, b, c = (str(tmp_path / x) for x in "abc")
    S.write_dense(a, views=3, width=40, height=32, seed=7)
    S.write_dense(b, views=3, width=40, height=32, seed=7)
    S.write_dense(c, views=3, width=40, height=32, seed=8)
    assert digest(a) == digest(b)
    assert not np.array_equal(np.load(os.path.join(a, "gt", "00000000_depth.npy")),
                              np.load(os.path.join(c, "gt", "00000000_depth.npy")))


def test_no_back_plane_leaves_empty_pixels(tmp_path):
    out = str(tmp_path / "d")
    S.write_dense(out, views=2, width=48, height=40, seed=0, back_plane=False)
    gt = np.load(os.path.join(out, "gt", "00000000_depth.npy"))
    assert (gt == 0).any() and (gt > 0).any()


def test_refuses_non_empty_out_without_overwrite(tmp_path, capsys):
    out = tmp_path / "d"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(InputError):
        S.write_dense(str(out), views=2, width=16, height=16)
    assert S.main(["dense", str(out), "--views", "2", "--width", "16", "--height", "16"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert S.main(["dense", str(out), "--views", "2", "--width", "16", "--height", "16", "--overwrite"]) == 0
    assert (out / "keep.txt").exists() and (out / "pair.txt").exists()


def test_cli_script_runs(tmp_path):
    out = str(tmp_path / "cli")
    r = subprocess.run(COMMAND + ["dense", out, "--views", "2", "--width", "24", "--height", "16",
                        "--depth_line", "3", "--max_d", "16"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert parse_cam(os.path.join(out, "cams", "00000001_cam.txt"))[2][2] == 16
    r = subprocess.run(COMMAND + ["dense", out], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr


# ----------------------------------------------------------------------------- DTU layout

def test_dtu_layout(tmp_path):
    out = str(tmp_path / "dtu")
    n, w, h = 4, 64, 48
    S.write_dtu(out, scans=[2, 3], views=n, width=w, height=h, seed=0)
    words = open(os.path.join(out, "Cameras", "pair.txt")).read().split()
    assert int(words[0]) == n and len(words) == 1 + 22 * n  # what gen_dtu_resized_path assumes
    for p in range(n):
        assert int(words[22 * p + 1]) == p and int(words[22 * p + 2]) == 10
        src = [int(words[22 * p + 2 * j + 3]) for j in range(10)]
        assert set(src) == set(range(n)) - {p}  # 3 distinct sources repeated up to 10
    k_q, exts = S.dtu_cameras(n, w, h, seed=0)
    import cv2
    for scan in (2, 3):
        scene = S.dtu_scan_scene(scan, 0, w, h)
        for i in range(n):
            path = os.path.join(out, "Cameras", "train", "%08d_cam.txt" % i)
            assert len(open(path).read().split()) == 29
            ext, k, dl = parse_cam(path)
            assert dl == [425.0, 2.5]
            np.testing.assert_array_equal(k, k_q)
            np.testing.assert_array_equal(ext, exts[i])
            depth = parse_pfm(os.path.join(out, "Depths", "scan%d_train" % scan, "depth_map_%04d.pfm" % i))
            assert depth.shape == (h // 4, w // 4)
            assert depth.min() > 425.0 and depth.max() < 937.0
            _, exact = S.render(scene, k, ext, w // 4, h // 4, supersample=0)
            np.testing.assert_array_equal(depth, exact.astype(np.float32))
            means = []
            for light in range(7):
                img = cv2.imread(os.path.join(out, "Rectified", "scan%d_train" % scan,
                                              "rect_%03d_%d_r5000.png" % (i + 1, light)))
                assert img.shape == (h, w, 3)
                means.append(img.mean())
            assert means == sorted(means) and means[0] < means[-1]
    # the image camera is the depth camera with K[:2] * 4: same rays at (4u, 4v) and (u, v)
    k_full = k_q.copy()
    k_full[:2] *= 4
    scene = S.dtu_scan_scene(2, 0, w, h)
    u, v = np.array([1.0, 7.0, 12.0]), np.array([2.0, 5.0, 9.0])
    d_q, _, _ = S.cast(scene, k_q, exts[0], u, v)
    d_f, _, _ = S.cast(scene, k_full, exts[0], 4 * u, 4 * v)
    np.testing.assert_allclose(d_f, d_q, rtol=1e-12)
    # scans differ, cameras are shared
    d2 = parse_pfm(os.path.join(out, "Depths", "scan2_train", "depth_map_0000.pfm"))
    d3 = parse_pfm(os.path.join(out, "Depths", "scan3_train", "depth_map_0000.pfm"))
    assert not np.array_equal(d2, d3)


def test_dtu_default_cameras_have_49_views_in_range():
    k_q, exts = S.dtu_cameras()
    assert len(exts) == 49 and k_q[0, 0] == pytest.approx(361.54125)
    scene = S.dtu_scan_scene(2, 0)
    for e in exts[::6]:
        _, d = S.render(scene, k_q, e, 160, 128, supersample=0)
        assert d.min() > 425.0 and d.max() < 937.0


def test_scene_tiny_fixture_is_reproducible(tmp_path):
    """tests/fixtures/scene_tiny is what the command in tests/fixtures/README.md writes: a change
    to the generator that alters it means the oracle fixtures made from it must be redone."""
    fix = os.path.join(ROOT, "tests", "fixtures", "scene_tiny")
    assert os.path.isdir(fix), "tests/fixtures/scene_tiny is missing"
    out = str(tmp_path / "scene_tiny")
    assert S.main(["dense", out, "--views", "5", "--width", "200", "--height", "150", "--seed", "0",
                   "--depth_line", "2", "--max_d", "32", "--interval_scale", "0.8"]) == 0
    names = ["pair.txt", "gt/00000000_depth.npy"] + ["cams/%08d_cam.txt" % i for i in range(5)]
    for name in names:
        with open(os.path.join(out, name), "rb") as a, open(os.path.join(fix, name), "rb") as b:
            assert a.read() == b.read(), name
    import cv2
    for i in range(5):
        a = cv2.imread(os.path.join(out, "images", "%08d.jpg" % i)).astype(float)
        b = cv2.imread(os.path.join(fix, "images", "%08d.jpg" % i)).astype(float)
        assert np.abs(a - b).mean() < 0.5  # jpeg encoders may differ in the last bits


def test_colmap_subcommand_reproduces_the_colmap_scene_fixture(tmp_path):
    """tests/fixtures/colmap_scene is what `python -m tools.synthetic colmap OUT` writes with
    the defaults (tests/fixtures/README.md): same pixels, same model apart from comments."""
    import imageio.v3 as iio
    fix = os.path.join(ROOT, "tests", "fixtures", "colmap_scene")
    out = str(tmp_path / "colmap_scene")
    assert S.main(["colmap", out]) == 0
    assert sorted(os.listdir(os.path.join(out, "images"))) == sorted(os.listdir(os.path.join(fix, "images")))
    for name in os.listdir(os.path.join(fix, "images")):
        np.testing.assert_array_equal(iio.imread(os.path.join(out, "images", name)),
                                      iio.imread(os.path.join(fix, "images", name)))
    names = sorted(os.listdir(os.path.join(fix, "sparse")))
    assert names and sorted(os.listdir(os.path.join(out, "sparse"))) == names
    for name in names:
        with open(os.path.join(out, "sparse", name)) as a, open(os.path.join(fix, "sparse", name)) as b:
            ours, want = ([line.split() for line in f.read().splitlines() if not line.startswith("#")]
                          for f in (a, b))
        assert ours and [len(t) for t in ours] == [len(t) for t in want], name
        assert_same_tokens(sum(ours, []), sum(want, []), name)


COLMAP_TEXT_RTOL = 1e-9
"""The numbers of the COLMAP text model come from NumPy and pycolmap float math (rotations to
quaternions, projections), whose last bits change with the CPU's kernels and the library's
version: 2e-17 seen on a rotation of 0.11 (17th digit) between two AMD EPYC machines. The
tolerance is 10^7 times that and still a millionth of a pixel or millimetre of the scene."""


def assert_same_tokens(ours, want, name):
    """Whitespace-separated tokens of two text files: words equal, integers equal, other
    numbers within COLMAP_TEXT_RTOL (absolute below 1)."""
    def number(token):
        try:
            return float(token)
        except ValueError:
            return None

    for k, (a, b) in enumerate(zip(ours, want)):
        x, y = number(a), number(b)
        if x is None or y is None or (a.lstrip("-").isdigit() and b.lstrip("-").isdigit()):
            assert a == b, "%s: token %d is %r, expected %r" % (name, k, a, b)
        else:
            assert abs(x - y) <= COLMAP_TEXT_RTOL * max(1.0, abs(y)), "%s: token %d is %r, expected %r" % (name, k, a, b)


def test_colmap_text_comparison_rejects_real_changes():
    assert_same_tokens(["1", "0.10977729762258703", "CAMERA"], ["1", "0.10977729762258705", "CAMERA"], "x")
    for ours in (["2", "0.10977729762258703", "CAMERA"], ["1", "0.1097773", "CAMERA"], ["1", "0.10977729762258703", "X"]):
        with pytest.raises(AssertionError, match="token"):
            assert_same_tokens(ours, ["1", "0.10977729762258705", "CAMERA"], "x")


@pytest.mark.parametrize("name", ["orig_test_gru", "orig_test_gru_v3", "orig_test_3dcnns", "orig_test_3dcnns_v3"])
def test_oracle_test_fixtures_layout(name):
    folder = os.path.join(ROOT, "tests", "fixtures", name)
    assert os.path.isdir(folder), "tests/fixtures/%s is missing" % name
    assert len(os.listdir(folder)) == 20
    for i in range(5):
        for kind in ("init", "prob"):
            m = parse_pfm(os.path.join(folder, "%08d_%s.pfm" % (i, kind)))
            assert m.shape == (32, 40) and np.all(np.isfinite(m))
        ext, k, dl = parse_cam(os.path.join(folder, "%08d.txt" % i))
        assert len(dl) == 4 and dl[2] == 32.0
        assert os.path.getsize(os.path.join(folder, "%08d.jpg" % i)) > 0
