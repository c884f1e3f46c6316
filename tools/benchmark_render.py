#!/usr/bin/env python
"""Speed of the point-cloud renderer (mvsnet/pointcloud/render.py, `visualize.py CLOUD.ply`).

    python tools/benchmark_render.py [--points 10000000] [--width 1600] [--height 1200] [--repeat 3]

Makes --points random points on a wavy surface that fills the picture (random colours), then
times each step of one picture from a fixed camera: projection, z-buffer (np.minimum.at),
splats (radius 2), colours and eye-dome lighting, the whole render, and the automatic
viewpoint. Prints the load average first (other jobs inflate wall times; CPU seconds are the
work) and the best wall and CPU seconds of --repeat runs. Reading a PLY is not included
(plyfile memory-maps it: about a second per 10 million points). Not part of the tests.
"""

import argparse
import os
import time

import numpy as np

from cameras.camera import Camera
from mvsnet.pointcloud import render


def timed(repeat, f):
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = f()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return result, best_wall, best_cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    xy = rng.uniform(-1, 1, (args.points, 2)) * [args.width / 2, args.height / 2]
    points = np.column_stack([xy, 1000 + 50 * np.sin(xy[:, 0] / 60)]).astype(np.float32)
    colors = rng.integers(0, 256, (args.points, 3), dtype=np.uint8)
    cam = Camera(np.eye(4), [[1000, 0, (args.width - 1) / 2], [0, 1000, (args.height - 1) / 2],
                             [0, 0, 1]])
    w, h = args.width, args.height
    print("load average %.1f %.1f %.1f; %d points, %dx%d picture, best of %d"
          % (os.getloadavg() + (args.points, w, h, args.repeat)))
    (u, v, z), *t = timed(args.repeat, lambda: render.project(points, cam))
    print("project         %6.2f s wall %6.2f s CPU" % tuple(t))
    (depth, index), *t = timed(args.repeat, lambda: render.zbuffer(u, v, z, w, h))
    print("z-buffer        %6.2f s wall %6.2f s CPU" % tuple(t))
    _, *t = timed(args.repeat, lambda: render.splat(depth, index, render.DEFAULT_RADIUS))
    print("splats (r=%d)    %6.2f s wall %6.2f s CPU" % ((render.DEFAULT_RADIUS,) + tuple(t)))
    pic, *t = timed(args.repeat, lambda: render.render(points, cam, w, h, colors))
    print("whole render    %6.2f s wall %6.2f s CPU (%.0f %% of the pixels covered)"
          % (tuple(t) + (100 * pic.coverage,)))
    _, *t = timed(args.repeat, lambda: render.auto_camera(points, w, h))
    print("auto viewpoint  %6.2f s wall %6.2f s CPU" % tuple(t))


if __name__ == "__main__":
    main()
