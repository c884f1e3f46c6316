#!/usr/bin/env python
"""Speed and peak memory of `tools/evaluate.py dtu` on a large synthetic scan.

    python tools/benchmark_evaluation.py OUT [--points 10000000] [--size 400,300] [--seed 0]

Writes a synthetic DTU evaluation root (``python -m tools.synthetic dtu_eval``: a field of
SIZE mm sampled every 0.25 mm, about as many reference points as a DTU scan, ObsMask at 2 mm)
in OUT/gt and a cloud of POINTS points in OUT/cloud.ply: copies of the surface sampled every
0.25 mm (one copy per 2.5 M points, like the views of a fusion), each with Gaussian noise of
0.15 mm along the normals, plus 1 % outliers spread over the bounding box. Then runs the
evaluation as a separate process and prints its wall time, CPU time and peak resident memory
(the child's ru_maxrss), with the scores.
"""
import argparse
import os
import resource
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--points", type=int, default=10_000_000)
    ap.add_argument("--size", default="400,300", help="W,H of the field (mm)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    sys.path.insert(0, os.path.dirname(HERE))
    from mvsnet.pointcloud import dtu
    from mvsnet.pointcloud.ply import write_ply
    from tools.synthetic import eval_sets

    size = tuple(float(x) for x in a.size.split(","))
    root = os.path.join(a.out, "gt")
    t = time.time()
    if not os.path.isdir(root):
        eval_sets.write_dtu_eval(root, scans=(1,), seed=a.seed, size=size, spacing=0.25, res=2.0)
    cloud = os.path.join(a.out, "cloud.ply")
    if not os.path.isfile(cloud):
        rng = np.random.default_rng(a.seed)
        surface, normals = eval_sets.surface_points(a.seed * 100003 + 1, size, 0.25)
        n_out = a.points // 100
        copies, left = [], a.points - n_out
        while left > 0:
            k = min(left, len(surface))
            sel = rng.choice(len(surface), k, replace=False) if k < len(surface) else np.arange(k)
            copies.append(surface[sel] + rng.normal(0, 0.15, (k, 1)) * normals[sel])
            left -= k
        lo, hi = surface.min(axis=0), surface.max(axis=0)
        copies.append(rng.uniform(lo, hi, (n_out, 3)))
        pts = np.concatenate(copies)
        rng.shuffle(pts)
        write_ply(cloud, pts)
        del pts, copies
    print("data ready in %.0f s: %s (%d points), %s" % (time.time() - t, cloud, a.points, root), flush=True)
    t0, c0 = time.time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, os.path.join(HERE, "evaluate.py"), "dtu", cloud, "--dtu_eval_root", root,
                           "--scan", "1"], capture_output=True, text=True)
    wall = time.time() - t0
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    sys.stdout.write(proc.stderr + proc.stdout)
    if proc.returncode:
        return proc.returncode
    cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    print("evaluate.py dtu: %.1f s wall, %.1f s CPU, peak resident memory %.2f GB (%d points, %s)"
          % (wall, cpu, c1.ru_maxrss / 2 ** 20, a.points, dtu.__name__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
