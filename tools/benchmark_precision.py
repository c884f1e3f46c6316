#!/usr/bin/env python
"""Quality of ``--precision bfloat16`` against float32 on synthetic scenes with exact ground
truth (the table in docs/benchmarks.md).

    python tools/benchmark_precision.py --out WORK --scenes 320x256:11,320x256:12,320x256:13 \\
        --views 6 --max_d 64 [--ckpt weights/rmvsnet_gru_dtu/model.ckpt-100000]

For every scene ``WxH:SEED`` of ``--scenes`` it writes a ray-cast dense folder
(``python -m tools.synthetic dense``, depth line 2, ``--max_d`` planes), runs the fast GRU
sweep over every view twice, in float32 and in bfloat16 (forced, ``check_precision=False``:
on a CPU without bfloat16 units TensorFlow emulates it: the same bfloat16 operands and
results, without the speed), each into its own copy of
the scene, and measures against the ground truth: median relative depth error and the share
of pixels within 1 % (every pixel with a ground-truth and an estimated depth, no probability
threshold), and the F-score of the fused cloud (the built-in fusibile-style fusion, prob >
``--prob``, ``--disp`` pixels, ``--consistent`` views) against ``gt/points.ply`` at a
distance ``--tau_rel`` times the scene's median ground-truth depth. Prints a markdown table,
the seconds per view after the first of each run and the machine's load average;
``WORK/precision.json`` has every number. Not part of the test suite.
"""

import argparse
import dataclasses
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:   # tools/ is a folder of the repository, not an installed package
    sys.path.insert(0, ROOT)

PRECISIONS = ("float32", "bfloat16")


def parse_scenes(text):
    scenes = []
    for item in text.split(","):
        size, _, seed = item.partition(":")
        width, _, height = size.lower().partition("x")
        scenes.append((int(width), int(height), int(seed or 0)))
    return scenes


def copy_scene(scene, dest):
    """dest with links to the scene's inputs and ground truth (outputs land in dest only)."""
    os.makedirs(dest, exist_ok=True)
    for name in ("images", "cams", "gt", "pair.txt"):
        link = os.path.join(dest, name)
        if not os.path.lexists(link):
            os.symlink(os.path.abspath(os.path.join(scene, name)), link)
    return dest


def depth_metrics(folder):
    """(median relative error, share within 1 %) over every view of folder/depths_mvsnet."""
    from cameras import layout
    from cameras.camfile import read_cam
    from cameras.pfm import read_pfm
    from mvsnet.pointcloud import evaluation

    out = layout.depth_folder(folder)
    rel = []
    for name in sorted(n[:-len("_init.pfm")] for n in os.listdir(out) if n.endswith("_init.pfm")):
        est = read_pfm(os.path.join(out, name + "_init.pfm"))
        gt = np.load(os.path.join(folder, "gt", name + "_depth.npy"))
        gt = evaluation.resample_to(gt, read_cam(os.path.join(folder, "cams", name + "_cam.txt")).intrinsic,
                                    read_cam(os.path.join(out, name + ".txt")).intrinsic, est.shape)
        rel.append(evaluation.depth_errors(est, gt)[1])
    rel = np.concatenate(rel)
    return float(np.median(rel)), float((rel < 0.01).mean())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="work folder (scenes and outputs)")
    p.add_argument("--scenes", default="320x256:11,320x256:12,320x256:13")
    p.add_argument("--views", type=int, default=6)
    p.add_argument("--view_num", type=int, default=5)
    p.add_argument("--max_d", type=int, default=64)
    p.add_argument("--ckpt", default=os.path.join(ROOT, "weights", "rmvsnet_gru_dtu", "model.ckpt-100000"))
    p.add_argument("--prob", type=float, default=0.1)
    p.add_argument("--disp", type=float, default=0.25)
    p.add_argument("--consistent", type=int, default=2)
    p.add_argument("--tau_rel", type=float, default=0.005)
    args = p.parse_args(argv)

    from mvsnet import quiet_tf

    quiet_tf.import_tensorflow()
    from mvsnet.inference import network as net, pipeline, plan
    from mvsnet.pointcloud import evaluation, fusion
    from mvsnet.pointcloud.ply import read_ply
    from tools import synthetic

    model = net.load_model("GRU", args.ckpt)[0]
    rows = []
    loads = [os.getloadavg()[0]]
    for width, height, seed in parse_scenes(args.scenes):
        scene = os.path.join(args.out, "scene_%dx%d_seed%d" % (width, height, seed))
        if not os.path.isfile(os.path.join(scene, "pair.txt")):
            synthetic.write_dense(scene, views=args.views, width=width, height=height, seed=seed,
                                  depth_line=2, max_d=args.max_d, interval_scale=0.8)
        gt_cloud = read_ply(os.path.join(scene, "gt", "points.ply"))[0]
        gt_depths = np.concatenate([np.load(os.path.join(scene, "gt", n)).ravel()
                                    for n in sorted(os.listdir(os.path.join(scene, "gt"))) if n.endswith(".npy")])
        tau = args.tau_rel * float(np.median(gt_depths[gt_depths > 0]))
        options = plan.Options(view_num=args.view_num, max_w=width, max_h=height, max_d=args.max_d,
                               interval_scale=0.8)
        for precision in PRECISIONS:
            folder = copy_scene(scene, scene + "_" + precision)
            start = time.perf_counter()
            summary = pipeline.run(folder, None, None, dataclasses.replace(options, precision=precision),
                                   log=lambda line: None, model=model, check_precision=False)
            seconds = time.perf_counter() - start
            loads.append(os.getloadavg()[0])
            steady = summary["per_view"][1:] or summary["per_view"]
            median_rel, within = depth_metrics(folder)
            cloud = fusion.fuse_dense_folder(folder, args.prob, args.disp, args.consistent)
            points = evaluation.point_metrics(cloud.points, gt_cloud, tau)
            rows.append({"scene": "%dx%d seed %d" % (width, height, seed), "precision": precision,
                         "views": summary["views"], "median_rel": median_rel, "within_1pc": within,
                         "points": len(cloud.points), "tau": tau, "fscore": points["fscore"],
                         "precision_at_tau": points["precision"], "recall_at_tau": points["recall"],
                         "seconds": seconds, "s_per_view_after_first": float(np.mean(steady))})
            print(json.dumps(rows[-1]), flush=True)
    with open(os.path.join(args.out, "precision.json"), "w") as f:
        json.dump({"args": vars(args), "rows": rows, "load_average": loads}, f, indent=1)
    print("\n| scene | precision | median rel. depth error | within 1 % | fused points | F-score (tau) | s/view |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %.3f %% | %.1f %% | %d | %.3f (%.2f) | %.2f |"
              % (r["scene"], r["precision"], 100 * r["median_rel"], 100 * r["within_1pc"], r["points"],
                 r["fscore"], r["tau"], r["s_per_view_after_first"]))
    by = {(r["scene"], r["precision"]): r for r in rows}
    print("\n| scene | median error, bf16 - fp32 (points) | within 1 %, bf16 - fp32 (points) | F-score bf16 / fp32 |")
    print("|---|---|---|---|")
    for scene in dict.fromkeys(r["scene"] for r in rows):
        a, b = by[(scene, "float32")], by[(scene, "bfloat16")]
        print("| %s | %+.3f | %+.2f | %.4f |" % (scene, 100 * (b["median_rel"] - a["median_rel"]),
                                                 100 * (b["within_1pc"] - a["within_1pc"]),
                                                 b["fscore"] / a["fscore"] if a["fscore"] else float("nan")))
    print("\nload average (1 min) from %.2f to %.2f during the runs (%d CPUs)"
          % (min(loads), max(loads), os.cpu_count()))
    return 0


if __name__ == "__main__":
    from cameras.errors import InputError

    try:
        sys.exit(main())
    except InputError as err:   # one line, no traceback
        print("error: %s" % err, file=sys.stderr)
        sys.exit(1)
