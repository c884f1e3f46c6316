#!/usr/bin/env python
"""reconstruct.py from photos alone, scored on synthetic scenes with exact ground truth.

    python tools/reconstruct_quality.py WORK [--seeds 7] [--views 8] [--width 640] [--height 512]
        [--tau 0.01,0.02] [--gt_stride 4] [--redo none|fusion|depths|cams] [--label NAME]
        [-- EXTRA reconstruct.py FLAGS]

For each seed: renders the views of a tools/synthetic dense scene (the layout of
tests/test_reconstruct.py: 40 degree arc, 15 degree elevation, distance 450), cropped so the
principal point is at the image centre (COLMAP's assumption), into WORK/sSEED/photos; runs
mvsnet/reconstruct.py on the photos alone (no cameras) with the EXTRA flags into the workspace
WORK/sSEED/ws (kept: SfM is done once per seed; --redo fusion deletes WS/points.ply so only
the fusion is rerun, --redo depths also WS/mvsnet/depths_mvsnet, --redo cams all of WS/mvsnet
so that a new --depth_margin or --max_d takes effect); aligns the cloud to the true cameras by the similarity (Umeyama) that maps the SfM camera centres onto the true ones; scores
it against the ground truth.

Protocol (docs/pointclouds.md, "From photos"): the ground truth is the true surface of every
view sampled at the depth-map resolution the cloud can have (every --gt_stride-th pixel of the
true depth, 4 = the network's 1/4-scale maps; the back plane included: it is most of every
photo); tau is relative to the scene: a fraction of the mean true depth of the views (0.01 = 1 %
of the depth, about 5 scene units at 640x512, about 1.4 pixels of the 1/4-scale maps). Issue 17
measured "precision 0.97 at tau 0.1" in an unrecorded protocol; here the old default
(--depth_margin 0 --sift_peak_threshold 0.0066667 --fusion_mode fusibile) reaches precision 0.96
at tau 0.01 on seed 7 but only at 0.02 on seed 8, so the goal's tau lies between 0.01 and 0.02;
both are reported (docs/pointclouds.md: the goal is met at 0.02 on all 5 scenes, at 0.01 on 2).
Prints per seed and tau: precision, recall, F, points, seconds of the reconstruct.py run
(--redo: of the stages rerun). Needs pycolmap (the SfM) as reconstruct.py does.
Not part of the tests (tests/test_reconstruct.py checks one small scene).
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

import imageio.v3 as iio
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:   # tools/ is a folder of the repository, not an installed package
    sys.path.insert(0, ROOT)

from mvsnet.colmap.model import read_model  # noqa: E402
from mvsnet.pointcloud import evaluation  # noqa: E402
from mvsnet.pointcloud.ply import read_ply  # noqa: E402
from tools.synthetic import layouts  # noqa: E402


def umeyama(src, dst):
    """s, R, t minimising |s R src + t - dst|^2 (src, dst (N, 3))."""
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    u, sv, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.eye(3)
    if np.linalg.det(u @ vt) < 0:
        d[2, 2] = -1
    r = u @ d @ vt
    s = np.trace(np.diag(sv) @ d) / (a ** 2).sum(1).mean()
    return s, r, md - s * r @ ms


def centre(extrinsic):
    """Camera centre (3,) of a (4, 4) world-to-camera matrix."""
    return -extrinsic[:3, :3].T @ extrinsic[:3, 3]


def ground_truth(views, stride):
    """World points (N, 3) of every view's true depth at every stride-th pixel."""
    out = []
    for v in views:
        h, w = v.depth.shape
        ys, xs = np.mgrid[stride // 2:h:stride, stride // 2:w:stride]
        d = v.depth[ys, xs]
        ok = d > 0
        pix = np.stack([xs[ok] + 0.0, ys[ok] + 0.0, np.ones(ok.sum())], 1) * d[ok][:, None]
        cam = pix @ np.linalg.inv(v.intrinsic).T
        r, t = v.extrinsic[:3, :3], v.extrinsic[:3, 3]
        out.append((cam - t) @ r)
    return np.concatenate(out)


def render(photos, seed, views, width, height):
    """The views (list of layouts.View); writes the cropped photos once."""
    _, rendered = layouts.dense_scene(views=views, width=width, height=height, seed=seed,
                                      arc_deg=40.0, elevation_deg=15.0, distance=450.0)
    # principal point (0.518 W, 0.512 H) -> the centre of the crop
    cx, cy = int(round(2 * (0.518 - 0.5) * width)), int(round(2 * (0.512 - 0.5) * height))
    if not os.path.isdir(photos):
        tmp = photos + ".tmp"
        os.makedirs(tmp, exist_ok=True)
        for k, v in enumerate(rendered):
            iio.imwrite(os.path.join(tmp, "shot_%02d.png" % k), v.image[cy:, cx:])
        os.rename(tmp, photos)
    return rendered


def score(ws, views, taus, stride):
    model = read_model(os.path.join(ws, "dense", "sparse"))
    true = [views[int(v.name[5:7])].extrinsic for v in model.views]
    s, r, t = umeyama(np.array([centre(v.extrinsic) for v in model.views]),
                      np.array([centre(e) for e in true]))
    points = read_ply(os.path.join(ws, "points.ply"))[0]
    world = s * points.astype(np.float64) @ r.T + t
    gt = ground_truth(views, stride)
    mean_depth = float(np.mean([v.depth[v.depth > 0].mean() for v in views]))
    rows = []
    for tau in taus:
        m = evaluation.point_metrics(world, gt, tau * mean_depth)
        rows.append((tau, m["precision"], m["recall"], m["fscore"], len(world), len(gt)))
    return rows, mean_depth


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    extra = []
    if "--" in argv:
        k = argv.index("--")
        argv, extra = argv[:k], argv[k + 1:]
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("work")
    p.add_argument("--seeds", default="7")
    p.add_argument("--views", type=int, default=8)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=512)
    p.add_argument("--tau", default="0.01,0.02", help="fractions of the mean true depth")
    p.add_argument("--gt_stride", type=int, default=4)
    p.add_argument("--redo", choices=("none", "fusion", "depths", "cams"), default="none")
    p.add_argument("--label", default="")
    args = p.parse_args(argv)
    taus = [float(x) for x in args.tau.split(",")]
    for seed in [int(x) for x in args.seeds.split(",")]:
        base = os.path.join(args.work, "s%d" % seed)
        photos, ws = os.path.join(base, "photos"), os.path.join(base, "ws")
        views = render(photos, seed, args.views, args.width, args.height)
        if args.redo in ("fusion", "depths", "cams") and os.path.exists(os.path.join(ws, "points.ply")):
            os.remove(os.path.join(ws, "points.ply"))
        if args.redo == "depths":
            shutil.rmtree(os.path.join(ws, "mvsnet", "depths_mvsnet"), ignore_errors=True)
        if args.redo == "cams":
            shutil.rmtree(os.path.join(ws, "mvsnet"), ignore_errors=True)
        start = time.time()
        run = subprocess.run([sys.executable, os.path.join(ROOT, "mvsnet", "reconstruct.py"),
                              "--images", photos, "--workspace", ws] + extra,
                             capture_output=True, text=True)
        seconds = time.time() - start
        if run.returncode != 0:
            sys.stderr.write(run.stderr[-3000:])
            print("seed %d %s: reconstruct.py failed (exit %d)" % (seed, args.label, run.returncode))
            continue
        rows, mean_depth = score(ws, views, taus, args.gt_stride)
        for tau, pr, rc, f, n, ngt in rows:
            print("seed %d %s tau %g (%.2f units) precision %.3f recall %.3f F %.3f points %d "
                  "gt %d seconds %.0f" % (seed, args.label, tau, tau * mean_depth, pr, rc, f, n,
                                          ngt, seconds), flush=True)


if __name__ == "__main__":
    main()
