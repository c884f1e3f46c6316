#!/usr/bin/env python
"""Mesh against cloud on synthetic scenes with exact ground truth (mvsnet/pointcloud/mesh.py).

    python tools/mesh_quality.py OUT [--seeds 0,1,2] [--width 160] [--height 128] [--views 5]
        [--noise 0.002] [--depth 8] [--trim 0.1]

For each seed: a tools/synthetic dense scene in OUT/sSEED whose depths_mvsnet/ holds the exact
depth times (1 + noise * N(0, 1)) with probability 1; the built-in fusion (probability 0.5,
disparity 0.25 px, 2 consistent views); the mesh of depthfusion.py --mesh (normals towards
each point's view, Poisson --depth, --trim). Prints accuracy, completeness (mean distances,
tools/evaluate.py's), precision and recall at tau = twice the exact cloud's point spacing, of
the cloud, of the mesh's vertices and of its surface (sampled 4 points per cloud point), and
the seconds of the mesh. Not part of the tests (tests/test_mesh.py checks one small scene).
"""

import argparse
import os
import sys
import time

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:   # tools/ is a folder of the repository, not an installed package
    sys.path.insert(0, ROOT)

from cameras.camera import Camera  # noqa: E402
from cameras.camfile import write_cam  # noqa: E402
from cameras.pfm import write_pfm  # noqa: E402
from mvsnet.pointcloud import evaluation, fusion, mesh, render  # noqa: E402
from tools.synthetic import layouts  # noqa: E402


def make_scene(out, seed, width, height, views, noise):
    _, rendered = layouts.dense_scene(views, width, height, seed=seed, supersample=1)
    rng = np.random.default_rng(seed)
    for sub in ("images", "cams", "depths_mvsnet"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    for k, v in enumerate(rendered):
        name = "%08d" % k
        cam = Camera(v.extrinsic, v.intrinsic, 100.0, 1.0, 1000.0, 1100.0)
        for path in (os.path.join(out, "images", name + ".jpg"),
                     os.path.join(out, "depths_mvsnet", name + ".jpg")):
            cv2.imwrite(path, v.image[:, :, ::-1])
        write_cam(os.path.join(out, "cams", name + "_cam.txt"), cam)
        write_cam(os.path.join(out, "depths_mvsnet", name + ".txt"), cam)
        depth = (v.depth * (1 + noise * rng.standard_normal(v.depth.shape))).astype(np.float32)
        write_pfm(os.path.join(out, "depths_mvsnet", name + "_init.pfm"), depth)
        write_pfm(os.path.join(out, "depths_mvsnet", name + "_prob.pfm"), np.ones_like(depth))
    return layouts.gt_points(rendered)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--height", type=int, default=128)
    ap.add_argument("--views", type=int, default=5)
    ap.add_argument("--noise", type=float, default=0.002)
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--trim", type=float, default=mesh.DEFAULT_TRIM)
    a = ap.parse_args()
    print("| seed | what | points | accuracy | completeness | precision | recall | tau | mesh s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for seed in [int(s) for s in a.seeds.split(",")]:
        folder = os.path.join(a.out, "s%d" % seed)
        gt = make_scene(folder, seed, a.width, a.height, a.views, a.noise)
        cloud = fusion.fuse_dense_folder(folder, 0.5, 0.25, 2)
        start = time.time()
        surface = mesh.mesh_of_fused_cloud(folder, cloud, a.depth, a.trim)
        seconds = time.time() - start
        samples = render.sample_surface(surface.vertices, surface.triangles, None,
                                        4 * len(cloud.points))[0]
        tau = 2 * mesh.point_spacing(gt)
        for what, points in (("cloud", cloud.points), ("mesh vertices", surface.vertices),
                             ("mesh surface", samples)):
            r = evaluation.point_metrics(points, gt, tau)
            print("| %d | %s | %d | %.3f | %.3f | %.3f | %.3f | %.2f | %s |"
                  % (seed, what, len(points), r["accuracy"], r["completeness"], r["precision"],
                     r["recall"], tau, "%.1f" % seconds if what != "cloud" else ""))


if __name__ == "__main__":
    main()
