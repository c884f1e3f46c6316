"""mvsnet/reconstruct.py: photos of a synthetic scene, no cameras given, to a point cloud on
the true surfaces (after aligning the SfM frame to the true cameras); resume; failures."""

import os
import re
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest

from cameras.errors import InputError
from mvsnet import reconstruction
from mvsnet.colmap import sfm
from mvsnet.colmap.model import read_model
from mvsnet.pointcloud.ply import read_ply
from tools import synthetic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# crop of the renders that puts the principal point (0.518 w, 0.512 h) at the image centre,
# where COLMAP assumes it
CROP_X, CROP_Y = 12, 6


def run_cli(args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "mvsnet", "reconstruct.py")] + args,
                          cwd=ROOT, capture_output=True, text=True)


def imageio_read(path):
    return iio.imread(path)


def umeyama(src, dst):
    """s, R, t minimising |s R src + t - dst|^2."""
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    u, sv, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.eye(3)
    if np.linalg.det(u @ vt) < 0:
        d[2, 2] = -1
    r = u @ d @ vt
    s = np.trace(np.diag(sv) @ d) / (a ** 2).sum(1).mean()
    return s, r, md - s * r @ ms


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    root = tmp_path_factory.mktemp("reconstruct")
    _, views = synthetic.dense_scene(views=8, width=320, height=256, seed=0, arc_deg=40.0,
                                     elevation_deg=15.0, distance=450.0)
    photos = root / "photos"
    photos.mkdir()
    for k, v in enumerate(views):
        iio.imwrite(str(photos / ("shot_%02d.png" % k)), v.image[CROP_Y:, CROP_X:])
    ws = root / "ws"
    run = run_cli(["--images", str(photos), "--workspace", str(ws)])  # automatic planes
    return views, str(photos), str(ws), run


def test_photos_to_a_cloud_on_the_true_surfaces(scene):
    views, photos, ws, run = scene
    assert run.returncode == 0, run.stderr[-2000:]
    assert "registers 8 of 8 photos" in run.stdout
    # 308x250 photos -> multiples of 32; the range widened by --depth_margin 0.25 needs more
    # planes than the sparse range's 32 (the least) for the same inverse-depth spacing
    planes = re.search(r"network 288x224, (\d+)(?:-(\d+))? planes", run.stdout)
    assert planes, run.stdout
    assert int(planes.group(2) or planes.group(1)) > 32, planes.group(0)
    model = read_model(os.path.join(ws, "dense", "sparse"))
    assert len(model.views) == 8
    true = [views[int(v.name[5:7])].extrinsic for v in model.views]
    centre = lambda e: -e[:3, :3].T @ e[:3, 3]  # noqa: E731
    s, r, t = umeyama(np.array([centre(v.extrinsic) for v in model.views]),
                      np.array([centre(e) for e in true]))
    residual = np.abs(s * np.array([centre(v.extrinsic) for v in model.views]) @ r.T + t
                      - np.array([centre(e) for e in true])).max()
    assert residual < 0.01 * 450  # SfM found the camera path
    # the depth range of the cams (sparse range widened by --depth_margin) covers the true
    # surface: the sparse points miss the texture-poor back plane, most of each photo
    from cameras.camfile import read_cam

    covered = []
    for k, v in enumerate(model.views):
        cam = read_cam(os.path.join(ws, "mvsnet", "cams", "%08d_cam.txt" % k))
        depth = views[int(v.name[5:7])].depth / s   # true depth in SfM units
        covered.append(np.mean((depth >= cam.depth_min) & (depth <= cam.depth_max)))
    assert np.median(covered) > 0.6, covered
    points, colors, _ = read_ply(os.path.join(ws, "points.ply"))
    assert len(points) > 5000 and colors is not None and colors.shape == points.shape
    # the preview: photos, the cloud from their cameras, maps (3 rows of tiles), path printed
    assert run.stdout.splitlines()[-2] == "preview: %s" % os.path.join(ws, "preview.png")
    picture = imageio_read(os.path.join(ws, "preview.png"))
    assert picture.shape[1] == 3 * 320 and picture[:, 640:].any()
    world = s * points @ r.T + t
    # relative depth error of each point in the true view where it is closest to the surface
    best = np.full(len(world), np.inf)
    for v in views:
        pc = world @ v.extrinsic[:3, :3].T + v.extrinsic[:3, 3]
        pix = pc @ v.intrinsic.T
        u = np.round(pix[:, 0] / pix[:, 2]).astype(int)
        w = np.round(pix[:, 1] / pix[:, 2]).astype(int)
        h, wd = v.depth.shape
        inside = np.flatnonzero((u >= 0) & (w >= 0) & (u < wd) & (w < h) & (pc[:, 2] > 0))
        d = v.depth[w[inside], u[inside]]
        hit = d > 0
        idx = inside[hit]
        best[idx] = np.minimum(best[idx], np.abs(pc[idx, 2] - d[hit]) / d[hit])
    # 32 planes over the ~55 % depth range of a view: one plane is ~1.7 % of the depth
    assert np.median(best) < 0.01
    assert np.mean(best < 0.02) > 0.8


def test_second_run_skips_every_stage(scene):
    _, photos, ws, first = scene
    assert first.returncode == 0
    before = os.path.getmtime(os.path.join(ws, "points.ply"))
    run = run_cli(["--images", photos, "--workspace", ws, "--mesh", "--mesh_depth", "6"])
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.count("done before") == 4
    assert os.path.getmtime(os.path.join(ws, "points.ply")) == before
    # --mesh on the existing cloud: normals towards the nearest camera, WS/mesh.ply, in the preview
    assert "normals towards the nearest camera" in run.stdout
    assert "mesh: %s" % os.path.join(ws, "mesh.ply") in run.stdout.splitlines()
    from mvsnet.pointcloud.ply import read_mesh

    assert len(read_mesh(os.path.join(ws, "mesh.ply"))[2]) > 100
    picture = imageio_read(os.path.join(ws, "preview.png"))
    rows = picture.shape[0] // 3
    assert picture[2 * rows + 20:, 640:].any()  # the mesh tile
    assert sorted(os.listdir(photos)) == ["shot_%02d.png" % k for k in range(8)]  # untouched


def test_too_few_photos_and_unmatchable_photos(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    iio.imwrite(str(photos / "a.png"), rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    run = run_cli(["--images", str(photos), "--workspace", str(tmp_path / "ws")])
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.strip() == "error: %s: found 1 photo(s) (%s); structure from motion needs at least " \
        "2, better 10 or more" % (photos, "/".join(sfm.IMAGE_EXTENSIONS))
    for name in ("b.png", "c.png"):
        iio.imwrite(str(photos / name), rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    run = run_cli(["--images", str(photos), "--workspace", str(tmp_path / "ws")])
    assert run.returncode == 1 and "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: stage 1 (structure from motion): "), run.stderr


def test_auto_planes():
    # one photo pixel per plane -> one 1/4-scale pixel per plane at network scale 0.5: 1/8
    assert reconstruction.auto_planes(800, 0.5) == 100
    assert reconstruction.auto_planes(50, 1.0) == 32 and reconstruction.auto_planes(5000, 1.0) == 256


def test_depth_range_widened_by_the_margin():
    # sparse range 2..4, estimate 100 planes: widened 1.5..5; the same inverse-depth spacing
    # needs 100 * (1 - 1.5 / 5) / (1 - 2 / 4) = 140 planes (network scale 4: 1/4 cancels)
    options = reconstruction.PipelineOptions()
    assert options.depth_margin == 0.25
    assert reconstruction._range((2.0, 0.1, 100.0, 4.0), options, 4.0) == \
        pytest.approx((1.5, 3.5 / 139, 140.0, 5.0))
    fixed = reconstruction.PipelineOptions(max_d=50, interval_scale=0.5)
    assert reconstruction._range((2.0, 0.1, 100.0, 4.0), fixed, 4.0) == \
        pytest.approx((1.5, 3.5 / 49 / 0.5, 50.0, 5.0))
    plain = reconstruction.PipelineOptions(depth_margin=0.0)
    assert reconstruction._range((2.0, 0.1, 100.0, 4.0), plain, 4.0) == \
        pytest.approx((2.0, 2.0 / 99, 100.0, 4.0))
    assert reconstruction._range(None, options, 4.0) is None
    with pytest.raises(InputError, match="depth_margin"):
        reconstruction.PipelineOptions(depth_margin=1.0).check()


def test_sift_peak_threshold():
    assert sfm.SfmOptions().sift_peak_threshold == 0.002   # COLMAP's default is 0.02 / 3
    with pytest.raises(InputError, match="sift_peak_threshold"):
        sfm.SfmOptions(sift_peak_threshold=0.0).check()


def test_network_size():
    assert reconstruction.network_size(317, 254, 1600, 1200) == (288, 224)
    assert reconstruction.network_size(640, 480, 1600, 1200) == (640, 480)
    assert reconstruction.network_size(4000, 3000, 1600, 1200) == (1600, 1184)
    with pytest.raises(InputError):
        reconstruction.network_size(20, 400, 1600, 1200)


def test_bad_options(tmp_path):
    run = run_cli(["--images", str(tmp_path)])
    assert run.returncode == 1 and run.stderr.strip() == "error: --images and --workspace are required"
    run = run_cli(["--images", str(tmp_path / "nope"), "--workspace", str(tmp_path / "ws")])
    assert run.returncode == 1 and "the photo folder does not exist" in run.stderr
    run = run_cli(["--images", str(tmp_path), "--workspace", str(tmp_path / "ws"), "--matcher", "vocabtree"])
    assert run.returncode == 1 and "--vocab_tree_path" in run.stderr
