#!/usr/bin/env python
"""Quality of the built-in fusion modes on scenes with a ground-truth cloud, side by side (the
table in docs/pointclouds.md).

    python tools/fusion_quality.py SCENE [SCENE ...] [--runs default|grid|RUN;RUN;...]
        [--tau_pixels 0.5,1] [--max_dist_pixels 4]

Each SCENE is a dense folder on which mvsnet/test.py has run, with SCENE/gt/points.ply
(`python -m tools.synthetic dense` writes it). Every run fuses every scene (nothing is
written but the fusibile mode's scratch file, removed) and is scored with
mvsnet.pointcloud.evaluation.point_metrics: accuracy and completeness (mean distances, capped
at --max_dist_pixels), precision / recall / F-score at each tau, the number of points and
the fusion's seconds. Distances are in depth-map pixels: 1 is the size of one pixel of the
depth map at the scene's median depth (median depth / fx of the depth maps' camera), so that
scenes of other sizes are scored alike. The last lines are the mean over the scenes of each
run and each run's ratios to the runs `normal` and `plain` (F at the largest tau, accuracy).

A RUN is `LABEL=MODE,key=value,...` with MODE one of depthfusion.py's --fusion_mode values
or `tuned` (mvsnet.pointcloud.cloud.TUNED, reconstruct.py's default) and keys the fields of
mvsnet.pointcloud.cloud.FusionOptions, e.g. `plain=normal,prob_threshold=0.3,num_consistent=2`;
the key `maps=SUFFIX` fuses the maps of the folder SCENE + SUFFIX instead (the same views after
another test.py run, e.g. `SCENE_r` with --subplane --prob_window 3), scored against SCENE's
ground truth and pixel size, so its ratios are to the runs on SCENE's own maps.
`--runs default` is the table's set (RUNS below), `--runs grid` a search over the
thresholds of the dynamic mode.
"""

import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:   # tools/ is a folder of the repository, not an installed package
    sys.path.insert(0, ROOT)

from mvsnet.pointcloud import evaluation  # noqa: E402
from mvsnet.pointcloud.cloud import FusionOptions, fuse, tuned  # noqa: E402
from mvsnet.pointcloud.ply import read_ply  # noqa: E402
from mvsnet.pointcloud.views import DenseOutput  # noqa: E402

RUNS = [
    "fusibile=fusibile,prob_threshold=0.3,num_consistent=2",
    "normal=normal,prob_threshold=0.3,num_consistent=3",
    "plain=normal,prob_threshold=0.3,num_consistent=2",
    "transmvsnet=dynamic,prob_threshold=0.3,num_consistent=3",
    "tuned=tuned",
]


def grid():
    runs = []
    for p in (0.1, 0.15, 0.2):
        for step in (0.0006, 0.0008, 0.001):
            for n in (2, 3):
                runs.append("d-%g-%g-%d=tuned,dynamic_prob_threshold=%g,dynamic_depth_step=%r,"
                            "dynamic_min_views=%d" % (p, step, n, p, step, n))
    return runs


def parse_run(text):
    """(label, FusionOptions, maps suffix) of a RUN."""
    label, _, spec = text.partition("=")
    parts = spec.split(",")
    mode, settings = parts[0], {}
    for item in parts[1:]:
        key, _, value = item.partition("=")
        try:
            settings[key] = float(value)
        except ValueError:
            settings[key] = value
    maps = str(settings.pop("maps", ""))
    if "dynamic_min_views" in settings:
        settings["dynamic_min_views"] = int(settings["dynamic_min_views"])
    if mode == "tuned":
        return label, tuned(**settings), maps
    return label, FusionOptions(fusion_mode=mode, **settings), maps


def pixel_size(scene):
    """The size of one depth-map pixel at the median depth of the scene's first view."""
    out = DenseOutput(scene)
    name = out.names[0]
    depth = out.depth(name, 0.0)
    return float(np.median(depth[depth > 0]) / out.camera(name).intrinsic[0, 0])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenes", nargs="+")
    ap.add_argument("--runs", default="default")
    ap.add_argument("--tau_pixels", default="0.5,1")
    ap.add_argument("--max_dist_pixels", type=float, default=4.0)
    a = ap.parse_args(argv)
    runs = {"default": RUNS, "grid": grid()}.get(a.runs) or a.runs.split(";")
    runs = [parse_run(r) for r in runs]
    taus = [float(t) for t in a.tau_pixels.split(",")]
    head = ["scene", "run", "points", "seconds", "acc", "comp"]
    for t in taus:
        head += ["P@%gpx" % t, "R@%gpx" % t, "F@%gpx" % t]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    rows = {label: [] for label, _, _ in runs}
    for scene in a.scenes:
        gt = read_ply(os.path.join(scene, "gt", "points.ply"))[0]
        size = pixel_size(scene)
        name = os.path.basename(os.path.normpath(scene))
        for label, options, maps in runs:
            start = time.time()
            cloud = fuse(os.path.normpath(scene) + maps, options)
            seconds = time.time() - start
            row = [len(cloud.points), seconds]
            for k, t in enumerate(taus):
                m = evaluation.point_metrics(cloud.points / size, gt / size, t, a.max_dist_pixels)
                if k == 0:
                    row += [m["accuracy"], m["completeness"]]
                row += [m["precision"], m["recall"], m["fscore"]]
            rows[label].append(row)
            print(_row(name, label, row), flush=True)
    if len(a.scenes) > 1:
        for label, r in rows.items():
            print(_row("mean", label, np.mean(r, axis=0)))
    for ref in ("normal", "plain"):
        if ref not in rows:
            continue
        base = np.array(rows[ref])
        for label, r in rows.items():
            r = np.array(r)
            print("%s / %s: F@%gpx %s (mean %.3f), accuracy %s" % (
                label, ref, taus[-1], " ".join("%.2f" % x for x in r[:, -1] / base[:, -1]),
                r[:, -1].mean() / base[:, -1].mean(),
                " ".join("%.2f" % x for x in r[:, 2] / base[:, 2])))
    return 0


def _row(name, label, row):
    return ("| %s | %s | %d | %.2f | " % (name, label, row[0], row[1])
            + " | ".join("%.2f" % x for x in row[2:4]) + " | "
            + " | ".join("%.3f" % x for x in row[4:]) + " |")


if __name__ == "__main__":
    sys.exit(main())
