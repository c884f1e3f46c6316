#!/usr/bin/env python
"""Measure depth maps and point clouds against ground truth.

    python tools/evaluate.py depth --dense_folder SCENE [--prob_threshold P] [--thresholds 1,2,4]
    python tools/evaluate.py depth --est EST.pfm --gt GT.pfm|GT.npy [--prob PROB.pfm --prob_threshold P]
    python tools/evaluate.py points PRED.ply GT.ply [--tau 1] [--max_dist 20] [--voxel 0]

depth: with --dense_folder, every SCENE/depths_mvsnet/NAME_init.pfm against SCENE/gt/NAME_depth
(.pfm or .npy, tools/synthetic's layout), the ground truth resampled (nearest pixel) to the
estimate's camera through the intrinsics of SCENE/cams/NAME_cam.txt and depths_mvsnet/NAME.txt;
prints mean/median absolute and relative error and the share of pixels within each threshold
(pixels where both depths are > 0, and prob > P when given). points: accuracy, completeness
(DTU style, distances capped at --max_dist), precision, recall and F-score at --tau (Tanks and
Temples style), after optional voxel down-sampling. Library: mvsnet/pointcloud/evaluation.py.
Bad input: one line "error: PATH: problem" on stderr, exit 1.
"""

import argparse
import json
import os
import sys

import numpy as np

from cameras.camfile import read_cam
from cameras.errors import InputError
from cameras.pfm import read_pfm
from mvsnet.pointcloud import evaluation
from mvsnet.pointcloud.ply import read_ply


def _floats(text):
    try:
        return [float(x) for x in text.split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError("expected numbers separated by commas, got %r" % text)


def read_map(path):
    if path.endswith(".npy"):
        if not os.path.isfile(path):
            raise InputError("depth map does not exist", path)
        try:
            return np.squeeze(np.load(path, allow_pickle=False)).astype(np.float64)
        except (ValueError, OSError) as e:
            raise InputError("not a readable .npy file: %s" % e, path) from None
    return read_pfm(path).astype(np.float64)


def gt_path(folder, name):
    for ext in (".pfm", ".npy"):
        path = os.path.join(folder, name + "_depth" + ext)
        if os.path.isfile(path):
            return path
    raise InputError("no ground truth %s_depth.pfm or .npy" % name, folder)


def evaluate_depth(args):
    errors, rel, gt_pixels = [], [], 0
    if args.dense_folder:
        depth_folder = os.path.join(args.dense_folder, "depths_mvsnet")
        if not os.path.isdir(depth_folder):
            raise InputError("missing depths_mvsnet/ (run mvsnet/test.py first)", depth_folder)
        names = sorted(n[:-len("_init.pfm")] for n in os.listdir(depth_folder) if n.endswith("_init.pfm"))
        if not names:
            raise InputError("no *_init.pfm depth maps", depth_folder)
        for name in names:
            est = read_pfm(os.path.join(depth_folder, name + "_init.pfm"))
            prob = read_pfm(os.path.join(depth_folder, name + "_prob.pfm")) if args.prob_threshold is not None else None
            gt = read_map(gt_path(os.path.join(args.dense_folder, "gt"), name))
            k_est = read_cam(os.path.join(depth_folder, name + ".txt")).intrinsic
            k_gt = read_cam(os.path.join(args.dense_folder, "cams", name + "_cam.txt")).intrinsic
            gt = evaluation.resample_to(gt, k_gt, k_est, est.shape)
            a, r, n = evaluation.depth_errors(est, gt, prob, args.prob_threshold)
            errors.append(a), rel.append(r)
            gt_pixels += n
    else:
        if not (args.est and args.gt):
            raise InputError("give --dense_folder, or --est and --gt")
        est, gt = read_map(args.est), read_map(args.gt)
        prob = read_map(args.prob) if args.prob else None
        if est.shape != gt.shape:
            raise InputError("ground truth is %s but the estimate is %s" % (gt.shape, est.shape), args.gt)
        a, r, gt_pixels = evaluation.depth_errors(est, gt, prob, args.prob_threshold)
        errors, rel = [a], [r]
    return evaluation.depth_summary(np.concatenate(errors), np.concatenate(rel), gt_pixels,
                                    args.thresholds)


def evaluate_points(args):
    pred = read_ply(args.pred)[0]
    gt = read_ply(args.gt)[0]
    if len(gt) == 0:
        raise InputError("the ground-truth cloud has no points", args.gt)
    return evaluation.point_metrics(pred, gt, args.tau, args.max_dist, args.voxel)


def build_parser():
    ap = argparse.ArgumentParser(prog="evaluate.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    d = sub.add_parser("depth", help="depth maps against ground-truth depth maps")
    d.add_argument("--dense_folder", help="SCENE with depths_mvsnet/, gt/ and cams/")
    d.add_argument("--est", help="one estimated depth map (.pfm/.npy)")
    d.add_argument("--gt", help="its ground truth (.pfm/.npy, same size)")
    d.add_argument("--prob", help="probability map of --est")
    d.add_argument("--prob_threshold", type=float, default=None, help="only pixels with prob > this")
    d.add_argument("--thresholds", type=_floats, default=[1.0, 2.0, 4.0],
                   help="absolute error thresholds (depth units)")
    p = sub.add_parser("points", help="a point cloud against a ground-truth cloud")
    p.add_argument("pred")
    p.add_argument("gt")
    p.add_argument("--tau", type=float, default=1.0, help="distance threshold of precision/recall")
    p.add_argument("--max_dist", type=float, default=20.0, help="outlier cap of accuracy/completeness")
    p.add_argument("--voxel", type=float, default=0.0, help="down-sample both clouds to this voxel size")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    d.add_argument("--json", action="store_true", help="print one JSON line")
    return ap


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        result = evaluate_depth(args) if args.what == "depth" else evaluate_points(args)
    except InputError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for key, value in result.items():
            print("%-14s %s" % (key, ("%.6g" % value) if isinstance(value, float) else value))
    return 0


if __name__ == "__main__":
    sys.exit(main())
