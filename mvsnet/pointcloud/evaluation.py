"""Measuring a reconstruction: depth maps against ground-truth depth, point clouds against a
ground-truth cloud (nearest neighbours with scipy.spatial.cKDTree)."""

import dataclasses

import numpy as np

from cameras.errors import InputError


def resample_to(gt, K_gt, K_est, shape):
    """``gt`` (depth map of camera K_gt) sampled (nearest pixel) at every pixel of a map of
    ``shape`` taken by the same camera pose with intrinsics K_est (e.g. test.py's scaled and
    cropped camera); 0 outside the ground-truth map."""
    height, width = shape
    ys, xs = np.mgrid[0:height, 0:width]
    pix = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)]).astype(np.float64)
    g = K_gt @ np.linalg.inv(K_est) @ pix
    u = np.rint(g[0] / g[2]).astype(np.int64)
    v = np.rint(g[1] / g[2]).astype(np.int64)
    inside = (u >= 0) & (u < gt.shape[1]) & (v >= 0) & (v < gt.shape[0])
    out = np.zeros(xs.size, np.float64)
    out[inside] = gt[v[inside], u[inside]]
    return out.reshape(shape)


def depth_errors(est, gt, prob=None, prob_threshold=None):
    """Per-pixel (absolute error, relative error) where gt > 0 and est > 0 (and prob >
    prob_threshold when given), and the number of ground-truth pixels."""
    est = np.asarray(est, np.float64)
    gt = np.asarray(gt, np.float64)
    if est.shape != gt.shape:
        raise InputError("estimate is %s but the ground truth is %s" % (est.shape, gt.shape))
    have_gt = np.isfinite(gt) & (gt > 0)
    mask = have_gt & np.isfinite(est) & (est > 0)
    if prob is not None and prob_threshold is not None:
        mask &= np.asarray(prob) > prob_threshold
    err = np.abs(est[mask] - gt[mask])
    return err, err / gt[mask], int(have_gt.sum())


def depth_summary(abs_err, rel_err, gt_pixels, thresholds=(1.0, 2.0, 4.0)):
    """dict: pixels, coverage, mean/median absolute and relative error, share within each
    absolute threshold (of the evaluated pixels)."""
    n = len(abs_err)
    out = {"pixels": n, "coverage": n / gt_pixels if gt_pixels else 0.0}
    if n:
        out.update(mae=float(abs_err.mean()), median_ae=float(np.median(abs_err)),
                   mre=float(rel_err.mean()), median_re=float(np.median(rel_err)))
        for t in thresholds:
            out["within_%g" % t] = float((abs_err < t).mean())
    return out


def voxel_downsample(points, voxel):
    """One point (the first) per voxel of size ``voxel`` (no down-sampling when voxel <= 0)."""
    points = np.asarray(points, np.float64)
    if voxel <= 0 or len(points) == 0:
        return points
    keys = np.floor(points / voxel).astype(np.int64)
    _, first = np.unique(keys, axis=0, return_index=True)
    return points[np.sort(first)]


def nearest_distances(points, reference, upper=np.inf, chunk=1 << 20, workers=-1):
    """(N,) float64 distance of each of ``points`` (N, 3) to its nearest point of
    ``reference`` (M, 3), M > 0 (scipy.spatial.cKDTree): accuracy's distances when
    ``reference`` is the ground truth, completeness's the other way round.

    Args:
        points: (N, 3) query points.
        reference: (M, 3) points, M >= 1.
        upper: distances above this are not searched and come back as inf (much faster
            when only near neighbours count, as the benchmarks' thresholds).
        chunk: query points per call (bounded memory for large clouds).
        workers: threads of the queries (-1: all CPUs).
    """
    from scipy.spatial import cKDTree

    points = np.asarray(points, np.float64)
    out = np.empty(len(points), np.float64)
    if len(points) == 0:
        return out
    tree = cKDTree(np.asarray(reference, np.float64), balanced_tree=False, compact_nodes=False)
    for s in range(0, len(points), chunk):
        out[s:s + chunk] = tree.query(points[s:s + chunk], k=1, distance_upper_bound=upper, workers=workers)[0]
    return out


def point_metrics(pred, gt, tau, max_dist=None, voxel=0.0):
    """DTU-style accuracy / completeness and Tanks-and-Temples-style precision / recall /
    F-score of cloud ``pred`` against ``gt`` (both (N, 3)).

    accuracy     mean distance of each predicted point to its nearest ground-truth point
    completeness mean distance of each ground-truth point to its nearest predicted point
                 (both distances capped at ``max_dist`` when given: DTU's outlier cap)
    precision    share of predicted points within ``tau`` of the ground truth
    recall       share of ground-truth points within ``tau`` of the prediction
    fscore       2 P R / (P + R)
    Both clouds are first down-sampled to one point per ``voxel`` when voxel > 0."""
    pred = voxel_downsample(pred, voxel)
    gt = voxel_downsample(gt, voxel)
    if len(gt) == 0:
        raise InputError("the ground-truth cloud has no points")
    out = {"pred_points": len(pred), "gt_points": len(gt), "tau": tau}
    if len(pred) == 0:
        out.update(accuracy=float("inf"), completeness=float("inf"), overall=float("inf"),
                   precision=0.0, recall=0.0, fscore=0.0)
        return out
    d_pred = nearest_distances(pred, gt)
    d_gt = nearest_distances(gt, pred)
    cap = np.inf if max_dist is None else max_dist
    precision = float((d_pred < tau).mean())
    recall = float((d_gt < tau).mean())
    out.update(accuracy=float(np.minimum(d_pred, cap).mean()),
               completeness=float(np.minimum(d_gt, cap).mean()),
               precision=precision, recall=recall,
               fscore=2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    out["overall"] = (out["accuracy"] + out["completeness"]) / 2
    return out


def scores_summary(result):
    """The scores and counts of an evaluation's result dataclass (:class:`mvsnet.pointcloud.dtu.Result`,
    :class:`mvsnet.pointcloud.tanks.Result`) as a dict: the fields shown in its repr, without
    the per-point arrays."""
    return {f.name: getattr(result, f.name) for f in dataclasses.fields(result) if f.repr}
