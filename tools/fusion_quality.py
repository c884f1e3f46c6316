#!/usr/bin/env python
"""Quality of the built-in fusion modes on a scene with a ground-truth cloud (the table in
docs/pointclouds.md).

    python tools/fusion_quality.py SCENE [--prob 0.3,0.5,0.8] [--disp 0.25,0.5,1] [--consistent 2,3]
        [--tau 2,5] [--max_dist 20]

SCENE is a dense folder on which mvsnet/test.py has run, with SCENE/gt/points.ply
(`python -m tools.synthetic dense` writes it). For every combination, fuses with --fusion_mode
fusibile (prob x disp x num_consistent) and consistency (prob x num_consistent), scores the
cloud with mvsnet.pointcloud.evaluation.point_metrics and prints a markdown table. Only the
fusion's scratch file is written (in SCENE/points_mvsnet/, removed). Not part of the tests.
"""

import argparse
import os
import sys

from mvsnet.pointcloud import consistency, evaluation, fusion
from mvsnet.pointcloud.ply import read_ply


def floats(text):
    return [float(x) for x in text.split(",") if x]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scene")
    ap.add_argument("--prob", type=floats, default=[0.3, 0.5, 0.8])
    ap.add_argument("--disp", type=floats, default=[0.25, 0.5, 1.0])
    ap.add_argument("--consistent", type=floats, default=[2, 3])
    ap.add_argument("--tau", type=floats, default=[2.0, 5.0])
    ap.add_argument("--max_dist", type=float, default=20.0)
    a = ap.parse_args(argv)
    gt = read_ply(os.path.join(a.scene, "gt", "points.ply"))[0]
    runs = []
    for p in a.prob:
        for n in a.consistent:
            for d in a.disp:
                runs.append(("fusibile", p, d, int(n)))
            runs.append(("consistency", p, None, int(n)))
    head = ["mode", "prob", "disp", "n", "points", "acc", "comp", "overall"]
    for t in a.tau:
        head += ["P@%g" % t, "R@%g" % t, "F@%g" % t]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for mode, p, d, n in runs:
        if mode == "fusibile":
            cloud = fusion.fuse_dense_folder(a.scene, p, d, n)
        else:
            cloud = consistency.fuse_dense_folder(a.scene, p, n)
        row = [mode, "%g" % p, "-" if d is None else "%g" % d, str(n), str(len(cloud.points))]
        for k, t in enumerate(a.tau):
            m = evaluation.point_metrics(cloud.points, gt, t, a.max_dist)
            if k == 0:
                row += ["%.2f" % m["accuracy"], "%.2f" % m["completeness"], "%.2f" % m["overall"]]
            row += ["%.3f" % m["precision"], "%.3f" % m["recall"], "%.3f" % m["fscore"]]
        print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
