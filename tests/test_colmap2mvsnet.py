"""mvsnet/colmap2mvsnet.py and mvsnet.colmap: the original's numbers on hand-computable
models and on an oracle fixture, every model layout, the original's failures as errors."""

import math
import os
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest

import pycolmap  # noqa: F401  (a listed requirement: fail here when missing)

from cameras.camfile import read_cam
from cameras.errors import InputError
from cameras.pair import read_pair
from mvsnet.colmap import convert, model
from tools.synthetic import colmap as synthetic_colmap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
SCENE = os.path.join(FIXTURES, "colmap_scene")
ORIG = os.path.join(FIXTURES, "colmap_scene_orig")

K = np.array([[100.0, 0, 50], [0, 100.0, 40], [0, 0, 1]])
BASELINE = 0.5
DEPTHS = (2.0, 4.0, 6.0, 8.0, 10.0)


def run_cli(args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "mvsnet", "colmap2mvsnet.py")] + args,
                          cwd=ROOT, capture_output=True, text=True)


def translation_ext(center):
    ext = np.eye(4)
    ext[:3, 3] = -np.asarray(center, float)
    return ext


def write_model(folder, exts, xyz, tracks, names=None, first_id=1, binary=False, photos=True):
    """A dense workspace: sparse/ (text or binary, current layout) and images/."""
    views = [types.SimpleNamespace(intrinsic=K, extrinsic=e) for e in exts]
    tr = [[(j, tuple((K @ (e[:3, :3] @ p + e[:3, 3]))[:2] / (e[:3, :3] @ p + e[:3, 3])[2]))
           for j in track for e in [exts[j]]] for p, track in zip(xyz, tracks)]
    rec = synthetic_colmap.build_reconstruction(views, np.asarray(xyz, float), tr, 100, 80,
                                                first_id, names)
    os.makedirs(os.path.join(folder, "sparse"), exist_ok=True)
    (rec.write_binary if binary else rec.write_text)(os.path.join(folder, "sparse"))
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    if photos:
        for k in range(len(exts)):
            name = names[k] if names else "view_%02d.png" % k
            with open(os.path.join(folder, "images", name), "wb") as f:
                f.write(b"photo %d" % k)
    return folder


def two_view_model(folder, **kw):
    """Camera 0 at the origin, camera 1 at (BASELINE, 0, 0), both looking down +z, the points
    on camera 0's axis at DEPTHS, seen by both."""
    exts = [np.eye(4), translation_ext([BASELINE, 0, 0])]
    xyz = [[0.0, 0.0, z] for z in DEPTHS]
    return write_model(folder, exts, xyz, [[0, 1]] * len(xyz), **kw)


def hand_score(theta0=5.0, sigma1=1.0, sigma2=10.0):
    total = 0.0
    for z in DEPTHS:
        theta = math.degrees(math.atan2(BASELINE, z))  # right triangle: camera 0 on the axis
        sigma = sigma1 if theta <= theta0 else sigma2
        total += math.exp(-(theta - theta0) ** 2 / (2 * sigma ** 2))
    return total


# ----------------------------------------------------------------------------- by hand

def test_depth_range_interval_and_count_by_hand(tmp_path):
    two_view_model(str(tmp_path))
    conv = convert.convert(str(tmp_path), convert.Options(), log=lambda s: None)
    dmin, interval, num, dmax = conv.depth_ranges[0]
    # 5 depths: index int(0.05) = 0 and int(4.95) = 4
    assert (dmin, dmax) == (2.0, 10.0)
    # inverse depth: one pixel at depth 2 spans 2/100; (1/2 - 1/10) / (1/2 - 1/2.02) = 80.8
    assert num == pytest.approx(80.8, rel=1e-12)
    assert interval == pytest.approx(8.0 / 79.8, rel=1e-12)
    cam = read_cam(os.path.join(str(tmp_path), "cams", "00000000_cam.txt"))
    assert (cam.depth_min, cam.depth_num, cam.depth_max) == (2.0, 80.8, 10.0)
    assert cam.depth_interval == round(8.0 / 79.8, 6)  # the original's %f
    np.testing.assert_array_equal(cam.intrinsic, K)
    ext1 = read_cam(os.path.join(str(tmp_path), "cams", "00000001_cam.txt")).extrinsic
    np.testing.assert_allclose(ext1, translation_ext([BASELINE, 0, 0]), atol=1e-15)


def test_max_d_and_interval_scale_by_hand(tmp_path):
    two_view_model(str(tmp_path))
    conv = convert.compute(model.read_model(os.path.join(str(tmp_path), "sparse")),
                           convert.Options(max_d=9, interval_scale=0.5))
    assert conv.depth_ranges[1] == pytest.approx((2.0, 8.0 / 8 / 0.5, 9.0, 10.0), rel=1e-12)


def test_scores_by_hand_and_the_reference_listed_when_few_views(tmp_path):
    two_view_model(str(tmp_path))
    conv = convert.convert(str(tmp_path), convert.Options(), log=lambda s: None)
    expected = hand_score()
    assert conv.score[0, 1] == pytest.approx(expected, rel=1e-9)
    pairs = read_pair(os.path.join(str(tmp_path), "pair.txt"))
    # fewer than 11 views: the original lists the reference itself, score 0, after the others
    assert [(r, [s for s, _ in src]) for r, src in pairs] == [(0, [1, 0]), (1, [0, 1])]
    assert pairs[0][1][0][1] == pytest.approx(expected, abs=1e-6)
    assert pairs[0][1][1][1] == 0.0
    other = convert.compute(conv.model, convert.Options(theta0=2, sigma1=3, sigma2=4))
    assert other.score[0, 1] == pytest.approx(hand_score(2, 3, 4), rel=1e-9)


def test_exclude_reference(tmp_path):
    two_view_model(str(tmp_path))
    run = run_cli(["--dense_folder", str(tmp_path), "--exclude_reference"])
    assert run.returncode == 0, run.stderr
    assert [[s for s, _ in src] for _, src in read_pair(os.path.join(str(tmp_path), "pair.txt"))] == [[1], [0]]


def test_full_precision_depth_line(tmp_path):
    two_view_model(str(tmp_path))
    assert run_cli(["--dense_folder", str(tmp_path), "--full_precision"]).returncode == 0
    cam = read_cam(os.path.join(str(tmp_path), "cams", "00000000_cam.txt"))
    assert cam.depth_interval == pytest.approx(8.0 / 79.8, rel=1e-12)
    assert abs(cam.depth_interval - round(8.0 / 79.8, 6)) > 1e-8  # more than %f's 6 decimals


# ----------------------------------------------------------------------------- the oracle fixture

def _compare_with_original(out, orig):
    orig_pairs = read_pair(os.path.join(orig, "pair.txt"))
    pairs = read_pair(os.path.join(out, "pair.txt"))
    assert [(r, [s for s, _ in src]) for r, src in pairs] == [(r, [s for s, _ in src]) for r, src in orig_pairs]
    for (_, src), (_, osrc) in zip(pairs, orig_pairs):
        np.testing.assert_allclose([s for _, s in src], [s for _, s in osrc], rtol=0, atol=1e-4)
    names = sorted(os.listdir(os.path.join(orig, "cams")))
    assert sorted(os.listdir(os.path.join(out, "cams"))) == names and len(names) == 12
    for name in names:
        a = read_cam(os.path.join(out, "cams", name)).to_array()
        b = read_cam(os.path.join(orig, "cams", name)).to_array()
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_default_flags_match_the_original(tmp_path):
    ws = str(tmp_path / "ws")
    shutil.copytree(SCENE, ws)
    run = run_cli(["--dense_folder", ws])
    assert run.returncode == 0, run.stderr
    _compare_with_original(ws, os.path.join(ORIG, "default"))
    # (not byte for byte: the cams hold full-precision rotations from quaternion float math,
    # e.g. -1.7e-18 where an exact 0 belongs, which another CPU or NumPy may round otherwise)
    # images: the bytes of the photo of each view (PNG bytes in a .jpg, as the original)
    for k in (0, 11):
        with open(os.path.join(ws, "images", "%08d.jpg" % k), "rb") as f, \
                open(os.path.join(SCENE, "images", "view_%02d.png" % k), "rb") as g:
            assert f.read() == g.read()


def test_other_flags_match_the_original(tmp_path):
    out = str(tmp_path / "mvs")
    run = run_cli(["--dense_folder", SCENE, "--output_folder", out, "--max_d", "192", "--interval_scale",
                   "0.8", "--theta0", "8", "--sigma1", "2", "--sigma2", "6", "--convert_format"])
    assert run.returncode == 0, run.stderr
    orig = os.path.join(ORIG, "maxd192")
    _compare_with_original(out, orig)
    import cv2

    for k in (0, 11):  # re-encoded JPEG: same pixels as the original's (same codec settings)
        a = cv2.imread(os.path.join(out, "images", "%08d.jpg" % k)).astype(int)
        b = cv2.imread(os.path.join(orig, "%08d.jpg" % k)).astype(int)
        assert np.abs(a - b).max() <= 1
    assert sorted(os.listdir(os.path.join(SCENE, "images"))) == ["view_%02d.png" % k for k in range(12)]


@pytest.mark.parametrize("layout", ["binary", "text_without_rigs_frames"])
def test_every_model_layout_reads_the_same(tmp_path, layout):
    text = model.read_model(os.path.join(SCENE, "sparse"))
    sparse = str(tmp_path / "sparse")
    if layout == "binary":
        rec = pycolmap.Reconstruction(os.path.join(SCENE, "sparse"))
        os.makedirs(sparse)
        rec.write_binary(sparse)
        assert model.model_format(sparse) == "binary" and os.path.isfile(os.path.join(sparse, "rigs.bin"))
    else:  # the layout of COLMAP < 3.12
        shutil.copytree(os.path.join(SCENE, "sparse"), sparse)
        os.remove(os.path.join(sparse, "rigs.txt"))
        os.remove(os.path.join(sparse, "frames.txt"))
    other = model.read_model(sparse)
    assert [v.name for v in other.views] == [v.name for v in text.views]
    for a, b in zip(text.views, other.views):
        np.testing.assert_allclose(a.extrinsic, b.extrinsic, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(a.intrinsic, b.intrinsic)
        np.testing.assert_array_equal(a.point_ids, b.point_ids)
    np.testing.assert_array_equal(text.point_xyz, other.point_xyz)


# ----------------------------------------------------------------------------- the original's failures

def test_image_ids_need_not_be_one_to_n(tmp_path):
    exts = [np.eye(4), translation_ext([BASELINE, 0, 0])]
    xyz = [[0.0, 0.0, z] for z in DEPTHS]
    write_model(str(tmp_path), exts, xyz, [[0, 1]] * 5, first_id=7)
    run = run_cli(["--dense_folder", str(tmp_path)])
    assert run.returncode == 0, run.stderr
    assert read_pair(os.path.join(str(tmp_path), "pair.txt"))[0][1][0][0] == 1
    with open(os.path.join(str(tmp_path), "images", "00000001.jpg"), "rb") as f:
        assert f.read() == b"photo 1"


def test_photos_already_named_like_the_output_stay(tmp_path):
    two_view_model(str(tmp_path), names=["00000000.jpg", "00000001.jpg"])
    run = run_cli(["--dense_folder", str(tmp_path)])  # the original: SameFileError
    assert run.returncode == 0, run.stderr
    for k in (0, 1):
        with open(os.path.join(str(tmp_path), "images", "%08d.jpg" % k), "rb") as f:
            assert f.read() == b"photo %d" % k


def test_a_copy_never_overwrites_another_photo(tmp_path):
    ws = str(tmp_path / "ws")
    two_view_model(ws, names=["b.jpg", "00000000.jpg"])
    run = run_cli(["--dense_folder", ws])
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [run.stderr.strip()]
    assert run.stderr.startswith("error: %s: is the photo of view 1" % os.path.join(ws, "images", "00000000.jpg"))
    assert "Traceback" not in run.stderr
    with open(os.path.join(ws, "images", "00000000.jpg"), "rb") as f:
        assert f.read() == b"photo 1"
    assert not os.path.exists(os.path.join(ws, "cams"))  # nothing written
    out = str(tmp_path / "mvs")
    assert run_cli(["--dense_folder", ws, "--output_folder", out]).returncode == 0
    for k in (0, 1):
        with open(os.path.join(out, "images", "%08d.jpg" % k), "rb") as f:
            assert f.read() == b"photo %d" % k


def test_view_without_points_is_a_warning(tmp_path):
    exts = [np.eye(4), translation_ext([BASELINE, 0, 0]), translation_ext([-BASELINE, 0, 0])]
    xyz = [[0.0, 0.0, z] for z in DEPTHS]
    write_model(str(tmp_path), exts, xyz, [[0, 1]] * 5)
    run = run_cli(["--dense_folder", str(tmp_path)])
    assert run.returncode == 0, run.stderr
    assert "warning: view 2 (view_02.png, image id 3) observes no sparse point" in run.stdout
    pairs = read_pair(os.path.join(str(tmp_path), "pair.txt"))
    assert [r for r, _ in pairs] == [0, 1]
    cam = read_cam(os.path.join(str(tmp_path), "cams", "00000002_cam.txt"))
    assert cam.depth_num == 0 and np.isfinite(cam.to_array()).all()


def test_test_flag_writes_nothing(tmp_path):
    two_view_model(str(tmp_path))
    run = run_cli(["--dense_folder", str(tmp_path), "--test"])
    assert run.returncode == 0, run.stderr
    assert sorted(os.listdir(str(tmp_path))) == ["images", "sparse"]


def _one_line_error(run, *fragments):
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_missing_sparse_model(tmp_path):
    os.makedirs(str(tmp_path / "images"))
    _one_line_error(run_cli(["--dense_folder", str(tmp_path)]), os.path.join(str(tmp_path), "sparse"),
                    "does not exist")
    two_view_model(str(tmp_path / "proj" / "sparse" / "0"))
    os.rename(str(tmp_path / "proj" / "sparse" / "0" / "sparse"), str(tmp_path / "model"))
    shutil.rmtree(str(tmp_path / "proj" / "sparse" / "0"))
    os.rename(str(tmp_path / "model"), str(tmp_path / "proj" / "sparse" / "0"))
    _one_line_error(run_cli(["--dense_folder", str(tmp_path / "proj")]), "image_undistorter", "0/")


def test_distorted_camera_model(tmp_path):
    two_view_model(str(tmp_path))
    path = os.path.join(str(tmp_path), "sparse", "cameras.txt")
    with open(path) as f:
        text = f.read()
    text = text.replace("2 PINHOLE 100 80 100 100 50 40", "2 SIMPLE_RADIAL 100 80 100 50 40 0.01")
    assert "SIMPLE_RADIAL" in text
    with open(path, "w") as f:
        f.write(text)
    _one_line_error(run_cli(["--dense_folder", str(tmp_path)]), "camera 2", "SIMPLE_RADIAL",
                    "image_undistorter")
    assert run_cli(["--dense_folder", str(tmp_path), "--allow_distorted"]).returncode == 0


def test_bad_options_and_missing_photo(tmp_path):
    two_view_model(str(tmp_path), photos=False)
    _one_line_error(run_cli(["--dense_folder", str(tmp_path), "--max_d", "1"]), "--max_d")
    _one_line_error(run_cli(["--dense_folder", str(tmp_path), "--interval_scale", "0"]), "--interval_scale")
    _one_line_error(run_cli(["--dense_folder", str(tmp_path)]), "view_00.png", "does not exist")
    _one_line_error(run_cli([]), "--dense_folder")
    with pytest.raises(InputError):
        convert.Options(sigma1=0).check()
