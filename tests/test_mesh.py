"""Meshes (mvsnet/pointcloud/mesh.py, tools/mesh.py, depthfusion.py --mesh and --preview): on a
synthetic scene with exact ground truth the mesh lies on the true surfaces (accuracy within 2x
the fused cloud's) and covers at least as much of them; normals face the views; the PLY round
trip; without PyMeshLab one line says how to install it."""

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from cameras.camera import Camera
from cameras.camfile import write_cam
from cameras.errors import InputError
from cameras.pfm import write_pfm
from mvsnet.pointcloud import evaluation, fusion, mesh, render
from mvsnet.pointcloud.ply import read_mesh, read_ply
from tools.synthetic import layouts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
W, H = 96, 80
DEPTH_NOISE = 0.002  # relative noise of the synthetic depth maps


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A dense folder of 5 synthetic views whose depths_mvsnet/ holds the exact depth with 0.2 %
    noise (probability 1), the cloud fused from it, and the exact cloud."""
    out = tmp_path_factory.mktemp("mesh_scene")
    _, views = layouts.dense_scene(5, W, H, seed=1, supersample=1)
    rng = np.random.default_rng(1)
    for sub in ("images", "cams", "depths_mvsnet"):
        (out / sub).mkdir()
    for k, v in enumerate(views):
        name = "%08d" % k
        cam = Camera(v.extrinsic, v.intrinsic, 100.0, 1.0, 1000.0, 1100.0)
        for path in (out / "images" / (name + ".jpg"), out / "depths_mvsnet" / (name + ".jpg")):
            cv2.imwrite(str(path), v.image[:, :, ::-1])
        write_cam(str(out / "cams" / (name + "_cam.txt")), cam)
        write_cam(str(out / "depths_mvsnet" / (name + ".txt")), cam)
        depth = (v.depth * (1 + DEPTH_NOISE * rng.standard_normal(v.depth.shape))).astype(np.float32)
        write_pfm(str(out / "depths_mvsnet" / (name + "_init.pfm")), depth)
        write_pfm(str(out / "depths_mvsnet" / (name + "_prob.pfm")), np.ones_like(depth))
    cloud = fusion.fuse_dense_folder(str(out), 0.5, 0.25, 2)
    return out, views, cloud, layouts.gt_points(views)


@pytest.fixture(scope="module")
def surface(scene):
    out, views, cloud, _ = scene
    return mesh.mesh_of_fused_cloud(str(out), cloud, 7, mesh.DEFAULT_TRIM)


def test_mesh_lies_on_the_true_surfaces_and_covers_them(scene, surface):
    _, _, cloud, gt = scene
    tau = 2 * mesh.point_spacing(gt)
    # the surface, as densely sampled as the cloud 4 times over, against the exact cloud
    samples = render.sample_surface(surface.vertices, surface.triangles, None, 4 * len(cloud.points))[0]
    of_cloud = evaluation.point_metrics(cloud.points, gt, tau)
    of_mesh = evaluation.point_metrics(samples, gt, tau)
    of_vertices = evaluation.point_metrics(surface.vertices, gt, tau)
    assert of_mesh["accuracy"] < 2 * of_cloud["accuracy"]
    assert of_vertices["accuracy"] < 2 * of_cloud["accuracy"]
    assert of_mesh["completeness"] <= of_cloud["completeness"]
    assert of_mesh["recall"] >= of_cloud["recall"]
    # trimmed: no skin far from the cloud (a bubble would put many samples beyond tau)
    assert of_mesh["precision"] > 0.9
    assert surface.colors is not None and surface.colors.shape == (len(surface.vertices), 3)


def test_normals_face_the_view_of_each_point():
    # a plane z = 10 seen from a camera at the origin and one at z = 20
    ys, xs = np.mgrid[0:20, 0:20]
    points = np.stack([xs.ravel(), ys.ravel(), np.full(xs.size, 10.0)], axis=1).astype(np.float64)
    centres = np.array([[10.0, 10.0, 0.0], [10.0, 10.0, 20.0]])
    views = (xs.ravel() >= 10).astype(int)  # left half seen from below, right half from above
    normals = mesh.oriented_normals(points, views, centres)
    np.testing.assert_allclose(normals[views == 0], [[0, 0, -1]] * (views == 0).sum(), atol=1e-6)
    np.testing.assert_allclose(normals[views == 1], [[0, 0, 1]] * (views == 1).sum(), atol=1e-6)
    nearest = mesh.oriented_normals(points, None, centres[:1])
    assert (nearest[:, 2] < -0.999).all()


def test_keep_vertices_and_ply_round_trip(tmp_path):
    square = mesh.Mesh(np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [5, 5, 5.0]]),
                       np.array([[0, 1, 2], [0, 2, 3], [2, 3, 4]], np.int32),
                       np.arange(15, dtype=np.uint8).reshape(5, 3))
    kept = mesh.keep_vertices(square, np.array([True, True, True, True, False]))
    np.testing.assert_array_equal(kept.triangles, [[0, 1, 2], [0, 2, 3]])
    assert len(kept.vertices) == 4 and kept.colors.tolist() == square.colors[:4].tolist()
    mesh.write_mesh(str(tmp_path / "m.ply"), square)
    points, colors, triangles = read_mesh(str(tmp_path / "m.ply"))
    np.testing.assert_array_equal(points, square.vertices)
    np.testing.assert_array_equal(colors, square.colors)
    np.testing.assert_array_equal(triangles, square.triangles)
    # the renderer draws a mesh PLY as a lit surface
    pic = render.render_mesh(points, triangles, colors, render.auto_camera(points[:4], 40, 30), 40, 30)
    assert pic.coverage > 0.5


def run(*args, env=None):
    return subprocess.run([sys.executable] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_tools_mesh_and_depthfusion_mesh_preview(scene, tmp_path):
    out, _, cloud, _ = scene
    cloud_path = tmp_path / "cloud.ply"
    from mvsnet.pointcloud.ply import write_ply

    write_ply(str(cloud_path), cloud.points, cloud.colors)
    from tools import mesh as mesh_tool

    lines = []
    mesh_tool.run(mesh_tool.build_parser().parse_args(
        [str(cloud_path), "--dense_folder", str(out), "--depth", "6", "--picture", str(tmp_path / "m.png")]),
        log=lines.append)
    assert lines[0].startswith("mesh: ") and "towards the nearest camera" in lines[0]
    assert lines[1:] == ["wrote %s" % (tmp_path / "cloud_mesh.ply"), "wrote %s" % (tmp_path / "m.png")]
    points, colors, triangles = read_mesh(str(tmp_path / "cloud_mesh.ply"))
    assert len(triangles) > 1000 and colors is not None
    assert cv2.imread(str(tmp_path / "m.png")).shape == (600, 800, 3)
    # depthfusion.py --mesh --preview: fused.ply, fused_mesh.ply, preview.png
    proc = run(os.path.join(ROOT, "mvsnet", "depthfusion.py"), "--dense_folder", out,
               "--prob_threshold", 0.5, "--num_consistent", 2, "--output", tmp_path / "fused.ply",
               "--mesh", "--mesh_depth", 6, "--preview")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-2] == "mesh: %s" % (tmp_path / "fused_mesh.ply")
    assert lines[-1] == "preview: %s" % (tmp_path / "preview.png")
    assert len(read_ply(str(tmp_path / "fused.ply"))[0]) == len(cloud.points)
    assert "towards each point's view" in proc.stdout
    picture = cv2.imread(str(tmp_path / "preview.png"))
    tile_h = round(H * 320 / W) + 18
    assert picture.shape == (3 * tile_h, 3 * 320, 3)
    assert picture[2 * tile_h + 18:, 640:].any()  # the mesh tile is drawn


def test_without_pymeshlab_one_line_says_how_to_install(scene, tmp_path):
    out, _, cloud, _ = scene
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "pymeshlab.py").write_text("raise ImportError('No module named pymeshlab (hidden by the test)')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hide), os.environ.get("PYTHONPATH", ROOT)]))
    proc = run(os.path.join(ROOT, "mvsnet", "depthfusion.py"), "--dense_folder", out, "--mesh",
               "--output", tmp_path / "f.ply", env=env)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: --mesh needs PyMeshLab: pip install -e .[mesh] (")
    assert len(proc.stderr.splitlines()) == 1 and proc.stdout == ""  # before the fusion starts
    assert not os.path.exists(tmp_path / "f.ply")
    proc = run(os.path.join(ROOT, "tools", "mesh.py"), tmp_path / "f.ply", env=env)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: tools/mesh.py needs PyMeshLab: pip install -e .[mesh] (")
    # bad input to the library: too few points
    with pytest.raises(InputError, match="a mesh needs at least 4 points, the cloud has 3"):
        mesh.mesh_cloud(np.zeros((3, 3)))


def test_tools_mesh_bad_input(tmp_path):
    from mvsnet.pointcloud.ply import write_ply
    from tools import mesh as mesh_tool

    def run_tool(*args):
        return mesh_tool.run(mesh_tool.build_parser().parse_args([str(a) for a in args]),
                             log=lambda line: None)

    empty = tmp_path / "empty.ply"
    write_ply(str(empty), np.zeros((0, 3), np.float32))
    with pytest.raises(InputError, match="empty.ply: the cloud has no points"):
        run_tool(empty)
    with pytest.raises(InputError, match="cannot write --output: its folder .* does not exist"):
        run_tool(empty, "--output", tmp_path / "none" / "m.ply")
    with pytest.raises(InputError, match="overwrite the input"):
        run_tool(empty, "--output", empty)
    with pytest.raises(InputError, match="--trim must be in"):
        run_tool(empty, "--trim", 1)
    assert sorted(os.listdir(tmp_path)) == ["empty.ply"]
    # depthfusion.py's and reconstruct.py's options: one check, before any work
    from mvsnet.pointcloud.cloud import FusionOptions
    from mvsnet.reconstruction import PipelineOptions

    with pytest.raises(InputError, match=r"^--mesh_depth must be 1 to 12, got 13$"):
        FusionOptions(mesh=True, mesh_depth=13).check()
    with pytest.raises(InputError, match=r"^--mesh_trim must be in \[0, 1\), got -0.5$"):
        PipelineOptions(mesh=True, mesh_trim=-0.5).check()
    FusionOptions(mesh=False, mesh_depth=13).check()  # without --mesh the mesh options are unused
