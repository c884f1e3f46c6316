#!/usr/bin/env python
"""Measure depth maps and point clouds against ground truth.

    python tools/evaluate.py depth --dense_folder SCENE [--prob_threshold P] [--thresholds 1,2,4]
    python tools/evaluate.py depth --est EST.pfm --gt GT.pfm|GT.npy [--prob PROB.pfm --prob_threshold P]
    python tools/evaluate.py points PRED.ply GT.ply [--tau 1] [--max_dist 20] [--voxel 0]
    python tools/evaluate.py dtu CLOUD.ply --dtu_eval_root ROOT --scan N [--seed 0] [--vis_out DIR]
    python tools/evaluate.py tanks CLOUD.ply --gt GT.ply --crop SCENE.json [--alignment SCENE_trans.txt]
                                 [--tau T] [--vis_out DIR]

depth: with --dense_folder, every SCENE/depths_mvsnet/NAME_init.pfm against SCENE/gt/NAME_depth
(.pfm or .npy, tools/synthetic's layout), the ground truth resampled (nearest pixel) to the
estimate's camera through the intrinsics of SCENE/cams/NAME_cam.txt and depths_mvsnet/NAME.txt;
prints mean/median absolute and relative error and the share of pixels within each threshold
(pixels where both depths are > 0, and prob > P when given). points: accuracy, completeness
(DTU style, distances capped at --max_dist), precision, recall and F-score at --tau (Tanks and
Temples style), after optional voxel down-sampling. dtu: the DTU benchmark's protocol on its
files (mvsnet/pointcloud/dtu.py); last line "accuracy A completeness C overall O" (mm). tanks:
the Tanks and Temples evaluation (mvsnet/pointcloud/tanks.py); last line "precision P recall R
fscore F". Library: mvsnet/pointcloud/evaluation.py, dtu.py, tanks.py. Progress goes to stderr.
Bad input: one line "error: PATH: problem" on stderr, exit 1.
"""

import argparse
import json
import os
import sys

import numpy as np

from cameras import layout
from cameras.camfile import read_cam
from cameras.errors import InputError
from cameras.pfm import read_pfm
from mvsnet import checks
from mvsnet.pointcloud import dtu, evaluation, tanks
from mvsnet.pointcloud.ply import read_ply, write_ply


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
        depth_folder = layout.depth_folder(args.dense_folder)
        if not os.path.isdir(depth_folder):
            raise InputError("missing depths_mvsnet/ (run mvsnet/test.py first)", depth_folder)
        suffix = layout.DEPTH_FILES["init"]
        names = sorted(n[:-len(suffix)] for n in os.listdir(depth_folder) if n.endswith(suffix))
        if not names:
            raise InputError("no *_init.pfm depth maps", depth_folder)
        for name in names:
            est = read_pfm(layout.depth_file(depth_folder, name, "init"))
            prob = read_pfm(layout.depth_file(depth_folder, name, "prob")) if args.prob_threshold is not None else None
            gt = read_map(gt_path(os.path.join(args.dense_folder, "gt"), name))
            k_est = read_cam(layout.depth_file(depth_folder, name, "cam")).intrinsic
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


def _log(text):
    print(text, file=sys.stderr, flush=True)


def _write_clouds(folder, clouds, legend):
    """--vis_out: write each (file name, points, colours) of ``clouds`` into ``folder`` (made
    if needed) and log their paths with the colours' ``legend``."""
    checks.make_folder(folder, "--vis_out")
    paths = []
    for name, points, colors in clouds:
        paths.append(os.path.join(folder, name))
        write_ply(paths[-1], points, colors)
    _log("wrote %s (%s)" % (" and ".join(paths), legend))


def _read_cloud(path):
    points = read_ply(path)[0]
    dtu.check_cloud(points, path)
    return points


def evaluate_dtu(args):
    """The DTU protocol; returns (summary dict, note line, last line)."""
    if args.vis_out:
        checks.check_output_folder(args.vis_out, "--vis_out")
    gt_files = dtu.scan_files(args.dtu_eval_root, args.scan)  # a wrong scan fails before the cloud is read
    points = _read_cloud(args.cloud)
    gt = dtu.load_ground_truth(args.dtu_eval_root, args.scan)
    _log("%s: %d points; scan %d: %d reference points (%s)" % (args.cloud, len(points), args.scan, len(gt.stl),
                                                               gt_files[0]))
    r = dtu.evaluate(points, gt, seed=args.seed, log=_log, path=args.cloud)
    if args.vis_out:
        _write_clouds(args.vis_out, [
            ("vis_%03d_accuracy.ply" % args.scan, points[r.data_kept], dtu.error_colors(r.data_dist, r.data_used)),
            ("vis_%03d_completeness.ply" % args.scan, gt.stl, dtu.error_colors(r.stl_dist, r.stl_used))],
            "blue: not evaluated, white to red: 0 to %g mm, green: outlier >= %g mm" % (dtu.VIS_MAX, dtu.OUTLIER))
    note = ("note: the 0.2 mm reduction visits the points in a random order (--seed %d), as the MATLAB "
            "script's randperm does: scores can differ from the MATLAB script's by about 0.01-0.1 %%" % args.seed)
    last = "accuracy %.4f completeness %.4f overall %.4f" % (r.accuracy, r.completeness, r.overall)
    return r.summary(), note, last


def evaluate_tanks(args):
    """The Tanks and Temples evaluation; returns (summary dict, note line or None, last line)."""
    if args.vis_out:
        checks.check_output_folder(args.vis_out, "--vis_out")
    crop = tanks.read_crop(args.crop)
    scene = os.path.splitext(os.path.basename(args.crop))[0]
    tau = args.tau
    if tau is None:
        if scene not in tanks.SCENE_TAU:
            raise InputError("give --tau: %r is not a Tanks and Temples training scene (%s)"
                             % (scene, ", ".join(sorted(tanks.SCENE_TAU))), args.crop)
        tau = tanks.SCENE_TAU[scene]
    alignment = tanks.read_alignment(args.alignment) if args.alignment else None
    gt = _read_cloud(args.gt)
    points = _read_cloud(args.cloud)
    r = tanks.evaluate(points, gt, crop, tau, alignment)
    _log("%s: %d points, %d in the crop volume, %d after the %g voxel grid; %s: %d, %d, %d"
         % (args.cloud, r.points, r.cropped, r.downsampled, tau / 2, args.gt, r.gt_points, r.gt_cropped,
            r.gt_downsampled))
    if r.gt_downsampled == 0:
        raise InputError("no ground-truth point lies inside the crop volume %s" % args.crop, args.gt)
    if args.vis_out:
        _write_clouds(args.vis_out, [(scene + ".precision.ply", r.cloud, tanks.error_colors(r.cloud_dist, tau)),
                                     (scene + ".recall.ply", r.gt, tanks.error_colors(r.gt_dist, tau))],
                      "white: 0, to black: 3 tau = %g" % (3 * tau))
    note = None
    if r.downsampled == 0:
        note = ("note: no point of %s lies inside the crop volume%s: the scores are 0 as the toolbox gives"
                % (args.cloud, "" if args.alignment else " (no --alignment given)"))
    last = "precision %.4f recall %.4f fscore %.4f" % (r.precision, r.recall, r.fscore)
    return r.summary(), note, last


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
    t = sub.add_parser("dtu", help="the DTU benchmark's protocol on its files")
    t.add_argument("cloud", help="the reconstruction (PLY, DTU frame, mm)")
    t.add_argument("--dtu_eval_root", required=True,
                   help="folder with Points/stl/stl%%03d_total.ply and ObsMask/ObsMask%%d_10.mat, Plane%%d.mat")
    t.add_argument("--scan", type=int, required=True, help="scan number N")
    t.add_argument("--seed", type=int, default=0, help="seed of the random order of the 0.2 mm reduction")
    t.add_argument("--vis_out", help="write vis_%%03d_accuracy.ply and vis_%%03d_completeness.ply (error colours) here")
    t.add_argument("--json", action="store_true", help="also print the counts as one JSON line")
    k = sub.add_parser("tanks", help="the Tanks and Temples evaluation")
    k.add_argument("cloud", help="the reconstruction (PLY)")
    k.add_argument("--gt", required=True, help="the ground truth SCENE.ply")
    k.add_argument("--crop", required=True, help="the crop volume SCENE.json")
    k.add_argument("--alignment", help="4x4 transform applied to the reconstruction (SCENE_trans.txt)")
    k.add_argument("--tau", type=float, default=None,
                   help="distance threshold (default: the training scene's, from the crop file's name)")
    k.add_argument("--vis_out", help="write SCENE.precision.ply and SCENE.recall.ply (error colours) here")
    k.add_argument("--json", action="store_true", help="also print the counts as one JSON line")
    return ap


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        if args.what in ("dtu", "tanks"):
            summary, note, last = (evaluate_dtu if args.what == "dtu" else evaluate_tanks)(args)
        else:
            result = evaluate_depth(args) if args.what == "depth" else evaluate_points(args)
    except InputError as e:
        sys.stdout.flush()
        print("error: %s" % e, file=sys.stderr)
        return 1
    if args.what in ("dtu", "tanks"):
        for key, value in summary.items():
            print("%-22s %s" % (key, ("%.6g" % value) if isinstance(value, float) else value))
        if args.json:
            print(json.dumps(summary, sort_keys=True))
        if note:
            print(note)
        print(last)
        return 0
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for key, value in result.items():
            print("%-14s %s" % (key, ("%.6g" % value) if isinstance(value, float) else value))
    return 0


if __name__ == "__main__":
    sys.exit(main())
