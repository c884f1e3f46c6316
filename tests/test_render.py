"""mvsnet/pointcloud/render.py and `visualize.py CLOUD.ply`: z-buffer and splats worked out by
hand, a synthetic scene's exact cloud seen from its own cameras gives back their depth and
images, the automatic viewpoint frames the cloud, error colours, bad input as one line."""

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from cameras.camera import Camera
from cameras.camfile import write_cam
from cameras.errors import InputError
from mvsnet import visualize as vis
from mvsnet.colormap import rainbow_lut
from mvsnet.pointcloud import render
from mvsnet.pointcloud.ply import write_ply
from tools.synthetic import layouts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "mvsnet", "visualize.py")
W, H = 64, 48


def camera(f=50.0, cx=(W - 1) / 2, cy=(H - 1) / 2):
    return Camera(np.eye(4), [[f, 0, cx], [0, f, cy], [0, 0, 1]])


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A 3-view synthetic dense folder with its exact cloud (every pixel of every view
    back-projected at its true depth) and the views' colours."""
    out = tmp_path_factory.mktemp("render_scene")
    _, views = layouts.dense_scene(3, W, H, seed=1, supersample=1)
    (out / "cams").mkdir()
    (out / "images").mkdir()
    for k, v in enumerate(views):
        write_cam(str(out / "cams" / ("%08d_cam.txt" % k)),
                  Camera(v.extrinsic, v.intrinsic, depth_min=float(v.depth[v.depth > 0].min()), depth_interval=1.0))
        cv2.imwrite(str(out / "images" / ("%08d.jpg" % k)), v.image[:, :, ::-1])
    points = layouts.gt_points(views)
    colors = np.concatenate([v.image[v.depth > 0] for v in views])
    write_ply(str(out / "cloud.ply"), points, colors)
    return out, views, points, colors


def test_zbuffer_by_hand():
    # three points on pixel (10, 20): the nearest (z = 2) wins; one behind the camera and one
    # outside the picture are not drawn
    pts = np.array([[0, 0, 4.0], [0, 0, 2.0], [0, 0, 3.0], [0, 0, -2.0], [10, 0, 1.0]])
    pts[:3, 0] = (10 - 31.5) * pts[:3, 2] / 50.0
    pts[:3, 1] = (20 - 23.5) * pts[:3, 2] / 50.0
    u, v, z = render.project(pts, camera())
    np.testing.assert_allclose(u[:3], 10, atol=1e-4)
    np.testing.assert_allclose(v[:3], 20, atol=1e-4)
    depth, index = render.zbuffer(u, v, z, W, H)
    assert np.isfinite(depth).sum() == 1
    assert depth[20, 10] == np.float32(2.0) and index[20, 10] == 1
    # a splat of radius 1 is the 3x3 square around it (dx^2 + dy^2 <= 2), radius 2 has 21 pixels
    d1, i1 = render.splat(depth, index, 1)
    assert sorted(zip(*np.nonzero(i1 == 1))) == [(y, x) for y in (19, 20, 21) for x in (9, 10, 11)]
    assert len(render.disk_offsets(2)) == 21
    # a nearer point next to it hides it where their splats overlap, not beyond
    depth[20, 12], index[20, 12] = 1.0, 7
    d1, i1 = render.splat(depth, index, 1)
    assert i1[20, 11] == 7 and i1[20, 13] == 7 and i1[20, 10] == 1 and i1[20, 9] == 1


def test_cloud_seen_from_its_camera_gives_its_depth_and_image(scene):
    _, views, points, colors = scene
    for k in (0, 2):
        v = views[k]
        pic = render.render(points, Camera(v.extrinsic, v.intrinsic), W, H, colors, radius=0, edl=0)
        gt = v.depth
        both = np.isfinite(pic.depth) & (gt > 0)
        assert both.sum() >= 0.99 * (gt > 0).sum()
        rel = np.abs(pic.depth[both] - gt[both]) / gt[both]
        # the nearest of the points on the pixel: its own, or another view's up to half a pixel
        # away on the surface
        assert np.median(rel) < 2e-3 and np.mean(rel < 0.01) > 0.97
        diff = np.abs(pic.image[both].astype(int) - v.image[both])
        assert np.median(diff) <= 2


def test_auto_camera_frames_the_cloud(scene):
    _, views, points, colors = scene
    for cams in (None, [Camera(v.extrinsic, v.intrinsic) for v in views]):
        cam = render.auto_camera(points, 200, 150, cams)
        u, v, z = render.project(points, cam)
        inner = (u >= 0) & (u < 200) & (v >= 0) & (v < 150) & (z > 0)
        assert inner.mean() > 0.97
        # framed: the cloud spans most of the picture's width or height
        span = max(np.ptp(u[inner]) / 200, np.ptp(v[inner]) / 150)
        assert span > 0.8
    # seen from the cameras' side: the front of the scene (the views' depths are near) faces it
    cam = render.auto_camera(points, 200, 150, [Camera(v.extrinsic, v.intrinsic) for v in views])
    centre = -cam.extrinsic[:3, :3].T @ cam.extrinsic[:3, 3]
    view_centre = -views[1].extrinsic[:3, :3].T @ views[1].extrinsic[:3, 3]
    assert np.dot(centre - points.mean(axis=0), view_centre - points.mean(axis=0)) > 0


def test_depth_and_error_colours():
    # a plane of points at z = 5 (left half) and z = 10 (right half)
    ys, xs = np.mgrid[0:H, 0:W]
    z = np.where(xs < W // 2, 5.0, 10.0)
    pts = np.stack([(xs - 31.5) * z / 50, (ys - 23.5) * z / 50, z], axis=-1).reshape(-1, 3)
    lut = rainbow_lut()
    pic = render.render(pts, camera(), W, H, color_mode="depth", radius=0, edl=0)
    assert tuple(pic.image[5, 5]) == tuple(lut[0]) and tuple(pic.image[5, -5]) == tuple(lut[-1])
    errors = np.where(xs < W // 2, 0.0, 3.0).ravel()
    pic = render.render(pts, camera(), W, H, values=errors, value_range=(0, 2),
                        color_mode="error", radius=0, edl=0)
    assert tuple(pic.image[5, 5]) == tuple(lut[0]) and tuple(pic.image[5, -5]) == tuple(lut[-1])
    # eye-dome lighting darkens the far side of the step only
    shade = render.eye_dome(pic.depth)
    assert shade[5, 5] == 1 and shade[5, W // 2] < 0.5 and shade[5, -5] == 1


def test_cli_renders_a_view_and_errors_vs_gt(scene, tmp_path):
    folder, views, points, colors = scene
    out = tmp_path / "v1.png"
    proc = subprocess.run([sys.executable, SCRIPT, str(folder / "cloud.ply"), "--output", str(out),
                           "--view", "1", "--dense_folder", str(folder), "--width", "128"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("wrote %s (128x96)" % out)
    assert cv2.imread(str(out)).shape == (96, 128, 3)
    # error colours: a copy moved by 3 units against the exact cloud is red where shown
    write_ply(str(tmp_path / "moved.ply"), points + np.array([0, 0, 3.0], np.float32), colors)
    lines = []
    vis.visualize_cloud(str(tmp_path / "moved.ply"), str(tmp_path / "err.png"), color="error",
                        gt=str(folder / "cloud.ply"), max_error=2.0, edl=0, log=lines.append)
    assert lines[0].startswith("distance to %s: median 3" % (folder / "cloud.ply"))
    image = cv2.imread(str(tmp_path / "err.png"))[:, :, ::-1]
    shown = image.reshape(-1, 3).any(axis=1)
    assert (image.reshape(-1, 3)[shown] == rainbow_lut()[-1]).all(axis=1).mean() > 0.95


def test_bad_input(scene, tmp_path):
    folder, _, points, _ = scene
    cloud = str(folder / "cloud.ply")
    empty = tmp_path / "empty.ply"
    write_ply(str(empty), np.zeros((0, 3), np.float32))
    proc = subprocess.run([sys.executable, SCRIPT, str(empty), "--output", str(tmp_path / "e.png")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr == "error: %s: the cloud has no points\n" % empty
    # a camera of another size: a 4x larger image's cam file next to this image
    (tmp_path / "cams").mkdir()
    (tmp_path / "images").mkdir()
    big = Camera(np.eye(4), [[200.0, 0, 127], [0, 200.0, 95], [0, 0, 1]], depth_min=1.0, depth_interval=1.0)
    write_cam(str(tmp_path / "cams" / "00000000_cam.txt"), big)
    cv2.imwrite(str(tmp_path / "images" / "00000000.jpg"), np.zeros((H, W, 3), np.uint8))
    with pytest.raises(InputError, match=r"cams/00000000_cam.txt: the camera's principal point "
                                         r"\(127, 95\) is outside the 64x48 picture: a camera of "
                                         r"another image size"):
        vis.visualize_cloud(cloud, str(tmp_path / "a.png"), camera=str(tmp_path / "cams" / "00000000_cam.txt"))
    lone = tmp_path / "lone_cam.txt"
    write_cam(str(lone), big)
    with pytest.raises(InputError, match="no image found for this camera"):
        vis.visualize_cloud(cloud, str(tmp_path / "a.png"), camera=str(lone))
    with pytest.raises(InputError, match="cannot write --output: its folder .* does not exist"):
        vis.visualize_cloud(cloud, str(tmp_path / "none" / "a.png"))
    with pytest.raises(InputError, match="overwrite the input"):
        vis.visualize_cloud(cloud, cloud[:-4] + ".png", gt=cloud[:-4] + ".png", color="error")
    with pytest.raises(InputError, match="--view needs --dense_folder"):
        vis.visualize_cloud(cloud, str(tmp_path / "a.png"), view=1)
    with pytest.raises(InputError, match="--color error needs --gt"):
        vis.visualize_cloud(cloud, str(tmp_path / "a.png"), color="error")
    write_ply(str(tmp_path / "nan.ply"), np.array([[0, 0, np.nan], [0, 0, 1]], np.float32))
    # the PLY reader names it (cameras.checks; render.py's own check covers arrays given in code)
    with pytest.raises(InputError, match=r"nan.ply: the vertex positions \(x, y, z\) holds 1 non-finite values"):
        vis.visualize_cloud(str(tmp_path / "nan.ply"), str(tmp_path / "a.png"))
    assert not os.path.exists(tmp_path / "a.png")
    # cloud flags on a depth map
    proc = subprocess.run([sys.executable, SCRIPT, str(tmp_path / "images" / "00000000.jpg"),
                           "--view", "1"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr == "error: --view: for point clouds (.ply) only\n"
