#!/usr/bin/env python
"""Speed of the built-in fusion (mvsnet/depthfusion.py, fusibile mode) against a plain NumPy
loop over all view pairs, on a synthetic scene of DTU's shape.

    python tools/benchmark_fusion.py OUT [--views 49] [--width 400] [--height 300] [--baseline_refs 49]
        [--repeat 3]

Makes OUT with tools/synthetic (49 views of 400x300: the depth-map size of a DTU scan at
the paper's 1600x1200 input) unless it exists, writes OUT/depths_mvsnet/ from the exact
ground truth (probability 1, every pixel kept), then times
  1. mvsnet.pointcloud.fusion.fuse_dense_folder (reading the maps included) with one thread
     and with the default number of threads (one per CPU), the best of --repeat runs, and
  2. fuse_reference_numpy (the same algorithm, one source view at a time in NumPy) on the
     first --baseline_refs reference views, extrapolated to all views when fewer.
Prints the load average before each part (other jobs inflate wall times; CPU seconds are the
work), wall and CPU seconds, fused points and points per second. Not part of the tests.
"""

import argparse
import os
import shutil
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:   # tools/ is a folder of the repository, not an installed package
    sys.path.insert(0, ROOT)

from cameras import layout
from cameras.pfm import write_pfm
from mvsnet.pointcloud import fusion
from mvsnet.pointcloud.views import DenseOutput


def make_scene(out, views, width, height):
    if not os.path.isdir(os.path.join(out, layout.IMAGES)):
        from tools.synthetic import write_dense

        write_dense(out, views=views, width=width, height=height, supersample=1, arc_deg=60.0)
    depth_folder = layout.depth_folder(out)
    os.makedirs(depth_folder, exist_ok=True)
    for i in range(views):
        files = layout.depth_files(depth_folder, layout.view_name(i))
        depth = np.load(os.path.join(out, "gt", "%08d_depth.npy" % i))
        write_pfm(files["init"], depth)
        write_pfm(files["prob"], np.ones_like(depth))
        shutil.copy(layout.cam_path(out, i), files["cam"])
        shutil.copy(layout.image_path(out, i), files["image"])


def timed(fn):
    wall, cpu = time.time(), time.process_time()
    result = fn()
    return result, time.time() - wall, time.process_time() - cpu


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--views", type=int, default=49)
    ap.add_argument("--width", type=int, default=400)
    ap.add_argument("--height", type=int, default=300)
    ap.add_argument("--baseline_refs", type=int, default=49)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of the built-in fusion (the best is reported)")
    a = ap.parse_args(argv)
    make_scene(a.out, a.views, a.width, a.height)
    lines = []

    def load():
        return "load average %.2f" % os.getloadavg()[0]

    fusion.fuse_dense_folder(a.out, 0.8, 0.25, 3)  # warm the file cache
    for workers in (1, fusion.worker_count()):
        before = load()
        runs = [timed(lambda: fusion.fuse_dense_folder(a.out, 0.8, 0.25, 3, workers=workers))
                for _ in range(a.repeat)]
        cloud, wall, cpu = min(runs, key=lambda run: run[1])
        lines.append("built-in, %d thread(s), best of %d: %d views %dx%d, %d points, %.2f s wall, "
                     "%.2f s CPU, %.2f M points/s (%s)"
                     % (workers, a.repeat, a.views, a.width, a.height, len(cloud.points), wall, cpu,
                        len(cloud.points) / wall / 1e6, before))
    out = DenseOutput(a.out)
    handle, depths, images, geos, _ = fusion.load_scratch(out, 0.8,
                                                          layout.point_folder(a.out))
    with handle:
        refs = min(a.baseline_refs, len(geos))
        before = load()

        def baseline():
            return sum(len(fusion.fuse_reference_numpy(r, depths, images, geos, 0.25, 3)[0]) for r in range(refs))

        points, wall, cpu = timed(baseline)
        scale = len(geos) / refs
        lines.append("plain NumPy loop: %d of %d reference views, %d points, %.1f s wall, "
                     "%.1f s CPU (all views: ~%.0f s wall, ~%.0f s CPU), %.3f M points/s (%s)"
                     % (refs, len(geos), points, wall, cpu, wall * scale, cpu * scale,
                        points / wall / 1e6, before))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
