"""The DTU MVS benchmark's point-cloud evaluation (Aanaes et al., IJCV 2016) in Python.

The benchmark ships MATLAB scripts (``BaseEvalMain_web.m`` calling ``PointCompareMain.m``,
``reducePts_haa.m`` and ``MaxDistCP.m``, then ``ComputeStat_web.m``); this module follows
them step by step on the benchmark's own files, under an evaluation root ``ROOT``:

  ``ROOT/Points/stl/stl%03d_total.ply``  the structured-light reference points (mm)
  ``ROOT/ObsMask/ObsMask%d_10.mat``       ``ObsMask`` (X, Y, Z) observability voxels, ``BB``
                                         (2, 3) bounding box [min; max], ``Res`` voxel size
  ``ROOT/ObsMask/Plane%d.mat``            ``P`` (4,) the ground plane

1. The cloud is reduced so that no two points are closer than 0.2 mm: the points are visited
   in a random order and each point still present removes every other point within 0.2 mm
   (``reducePts_haa``; :func:`reduce_points`).
2. Distances (``MaxDistCP``, called with ``MaxDist = 60``): space is cut into 60 mm cells
   from ``BB[0]`` (``floor((BB[1] - BB[0]) / 60) + 1`` cells per axis); a point gets the
   distance to its nearest neighbour in the other set among the points of its cell widened
   by 60 mm, and 60 when it lies outside all cells. Every distance below 60 is therefore the
   true nearest-neighbour distance, which is what is computed here (KD-tree queries bounded
   at the outlier threshold), with the points outside the cells excluded
   (:func:`in_cells`).
3. Accuracy uses the reduced points inside the observability mask: voxel
   ``round((x - BB[0]) / Res + 1)`` (1-based, MATLAB's round: halves away from zero) inside
   the grid and true in ``ObsMask`` (:func:`in_mask`). Completeness uses the reference
   points above the plane, ``P . (x, 1) > 0`` (:func:`above_plane`), against all reduced
   points.
4. Statistics (``ComputeStat_web``): distances of 20 mm or more are discarded as outliers
   (not clamped), accuracy and completeness are the means of the rest, overall their mean.

Where a run can differ from the MATLAB script: only the random visiting order of step 1 (both
scripts draw it at random; the spread between orders is about 0.01 % of the scores, as
DTUeval-python measured against the MATLAB code), and float rounding of the distances.
"""
from __future__ import annotations

import dataclasses
import os
import time
from typing import Callable, Optional

import numpy as np

from cameras.errors import InputError
from mvsnet.pointcloud.evaluation import nearest_distances, scores_summary

STL_FILE = os.path.join("Points", "stl", "stl%03d_total.ply")
MASK_FILE = os.path.join("ObsMask", "ObsMask%d_10.mat")
PLANE_FILE = os.path.join("ObsMask", "Plane%d.mat")
REDUCE_DISTANCE = 0.2   # mm, ``dst`` of BaseEvalMain_web.m
CELL = 60.0             # mm, ``MaxDist`` of PointCompareMain.m: cell size and search margin
OUTLIER = 20.0          # mm, ``MaxDist`` of ComputeStat_web.m: distances >= this are discarded
VIS_MAX = 10.0          # mm, error of the reddest colour in the error-coloured PLYs
# the 22 scans of the evaluation set (BaseEvalMain_web.m's UsedSets)
EVALUATION_SCANS = (1, 4, 9, 10, 11, 12, 13, 15, 23, 24, 29, 32, 33, 34, 48, 49, 62, 75, 77, 110, 114, 118)


@dataclasses.dataclass
class GroundTruth:
    """The reference of one scan.

    stl: (N, 3) float64 reference points (mm); mask: (X, Y, Z) bool ``ObsMask``; bb: (2, 3)
    float64 ``BB`` (min row, max row); res: ``Res`` (mm per voxel); plane: (4,) ``P``.
    """
    stl: np.ndarray
    mask: np.ndarray
    bb: np.ndarray
    res: float
    plane: np.ndarray


def scan_files(root, scan):
    """The three files of ``scan`` under the evaluation root, checked to exist.

    Returns:
        (stl, obsmask, plane) paths.

    Raises:
        InputError: naming the first missing file (or the root when it is not a folder).
    """
    if not os.path.isdir(root):
        raise InputError("DTU evaluation root is not a folder", root)
    paths = tuple(os.path.join(root, f % scan) for f in (STL_FILE, MASK_FILE, PLANE_FILE))
    for p in paths:
        if not os.path.isfile(p):
            raise InputError("no such file: scan %d has no ground truth here" % scan, p)
    return paths


def read_mat(path, keys):
    """The arrays ``keys`` of a MATLAB .mat file (v4-v7; scipy.io.loadmat), as float64 or bool.

    Raises:
        InputError: naming the file when it is unreadable, v7.3 (HDF5) or lacks a key.
    """
    from scipy.io import loadmat

    try:
        data = loadmat(path, variable_names=list(keys))
    except NotImplementedError:
        raise InputError("MATLAB v7.3 (HDF5) .mat files are not supported: save it with -v7", path) from None
    except FileNotFoundError:
        raise InputError("file does not exist", path) from None
    except Exception as e:  # scipy raises several types on malformed files
        raise InputError("not a readable .mat file: %s" % " ".join(str(e).split())[:200], path) from None
    missing = [k for k in keys if k not in data]
    if missing:
        raise InputError("no variable %s in the .mat file" % ", ".join(repr(k) for k in missing), path)
    return {k: data[k] for k in keys}


def load_ground_truth(root, scan):
    """Read and check the reference of ``scan`` (see the module docstring for the files).

    Raises:
        InputError: a missing file or key, a wrong shape, non-finite values, an empty cloud.
    """
    from mvsnet.pointcloud.ply import read_ply

    stl_path, mask_path, plane_path = scan_files(root, scan)
    m = read_mat(mask_path, ("ObsMask", "BB", "Res"))
    mask, bb, res = m["ObsMask"], np.asarray(m["BB"], np.float64), np.asarray(m["Res"], np.float64)
    if mask.ndim != 3 or mask.size == 0:
        raise InputError("ObsMask must be a non-empty 3-D array, got shape %s" % (mask.shape,), mask_path)
    if bb.shape != (2, 3) or not np.isfinite(bb).all() or not (bb[1] >= bb[0]).all():
        raise InputError("BB must be a finite 2x3 [min; max] box, got %s" % (bb.tolist(),), mask_path)
    if res.size != 1 or not np.isfinite(res).all() or float(res.ravel()[0]) <= 0:
        raise InputError("Res must be one positive number, got %s" % (res.ravel().tolist(),), mask_path)
    p = np.asarray(read_mat(plane_path, ("P",))["P"], np.float64).ravel()
    if p.size != 4 or not np.isfinite(p).all():
        raise InputError("P must be 4 finite numbers, got %s" % (p.tolist(),), plane_path)
    stl = read_ply(stl_path)[0]
    check_cloud(stl, stl_path)
    return GroundTruth(stl=stl, mask=mask.astype(bool), bb=bb, res=float(res.ravel()[0]), plane=p)


def check_cloud(points, path):
    """InputError naming ``path`` when ``points`` (N, 3) is empty or not finite."""
    if len(points) == 0:
        raise InputError("the point cloud has no vertices", path)
    bad = ~np.isfinite(points).all(axis=1)
    if bad.any():
        raise InputError("%d vertices have non-finite coordinates (first: vertex %d)"
                         % (bad.sum(), int(np.flatnonzero(bad)[0])), path)


# ----------------------------------------------------------------------------- the steps

def reduce_points(points, distance=REDUCE_DISTANCE, rng=None, block=None, pairs_per_block=1 << 22,
                  progress=None):
    """``reducePts_haa``: visit the points in a random order; each point still present
    removes every other point within ``distance`` (inclusive), so that no two kept points
    are closer than that.

    Computed block by block of the visiting order: the neighbour pairs of a block's points
    (one KD-tree over all points, bounded memory per block) decide which of them an earlier
    kept point removes; inside the block the same sequential rule is resolved in rounds (a
    point is kept once all its earlier neighbours are decided and none is kept). The result
    is exactly the sequential loop's for the same order.

    Args:
        points: (N, 3) float.
        distance: the reduction radius (mm).
        rng: a numpy Generator for the order (default: ``default_rng(0)``).
        block: points per block; default: adapted after each block so that a block has
            about ``pairs_per_block`` neighbour pairs (memory: about 50 bytes per pair; large
            blocks are much faster, each block's query walks the whole tree).
        pairs_per_block: see ``block``.
        progress: optional callable(done_fraction) called after each block.

    Returns:
        (N,) bool, True for the points kept (``indexSet``), in the input order.
    """
    from scipy.spatial import cKDTree

    points = np.asarray(points, np.float64)
    n = len(points)
    rng = np.random.default_rng(0) if rng is None else rng
    order = rng.permutation(n)
    pts = points[order]  # visiting order: index = rank
    tree = cKDTree(pts, balanced_tree=False, compact_nodes=False)
    kept = np.zeros(n, bool)
    s, size = 0, block or min(n, 1 << 18, pairs_per_block)
    while s < n:
        e = min(n, s + size)
        pairs = cKDTree(pts[s:e], balanced_tree=False, compact_nodes=False).sparse_distance_matrix(
            tree, distance, output_type="ndarray")
        if block is None:
            size = int(np.clip(pairs_per_block * (e - s) / max(len(pairs), 1), 1 << 10, 1 << 22))
        i, j = pairs["i"], pairs["j"]
        del pairs
        earlier = j < i + s
        i, j = i[earlier], j[earlier]
        state = np.zeros(e - s, np.int8)  # 0 undecided, 1 kept, 2 removed
        prev = j < s
        state[i[prev][kept[j[prev]]]] = 2
        i, j = i[~prev], j[~prev] - s
        while True:
            live = (state[i] == 0) & (state[j] != 2)
            i, j = i[live], j[live]
            state[i[state[j] == 1]] = 2
            blocked = np.zeros(e - s, bool)
            blocked[i[(state[i] == 0) & (state[j] == 0)]] = True
            newly = (state == 0) & ~blocked
            state[newly] = 1
            if not (state == 0).any():
                break
        kept[s:e] = state == 1
        if progress is not None:
            progress(e / n)
        s = e
    out = np.zeros(n, bool)
    out[order[kept]] = True
    return out


def cell_box(bb, cell=CELL):
    """The box covered by MaxDistCP's cells: [BB[0], BB[0] + (floor((BB[1] - BB[0]) / cell) + 1) * cell)
    per axis, as (2, 3)."""
    bb = np.asarray(bb, np.float64)
    return np.stack([bb[0], bb[0] + (np.floor((bb[1] - bb[0]) / cell) + 1) * cell])


def in_box(points, box):
    """(N,) bool: ``box[0] <= x < box[1]`` on every axis (half-open, as MaxDistCP's cells)."""
    return ((points >= box[0]) & (points < box[1])).all(axis=1)


def in_cells(points, bb, cell=CELL):
    """(N,) bool: the points MaxDistCP measures (the others get ``cell`` and are discarded)."""
    return in_box(points, cell_box(bb, cell))


def _matlab_round(x):
    """MATLAB's round: halves away from zero."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def in_mask(points, gt):
    """(N,) bool: the voxel ``round((x - BB[0]) / Res + 1)`` (1-based) is inside the grid and
    set in ``ObsMask`` (PointCompareMain's DataInMask)."""
    v = _matlab_round((np.asarray(points, np.float64) - gt.bb[0]) / gt.res + 1.0)
    shape = np.array(gt.mask.shape)
    inside = ((v >= 1) & (v <= shape)).all(axis=1)
    idx = v[inside].astype(np.int64) - 1
    out = np.zeros(len(v), bool)
    out[np.flatnonzero(inside)[gt.mask[idx[:, 0], idx[:, 1], idx[:, 2]]]] = True
    return out


def above_plane(points, plane):
    """(N,) bool: ``P . (x, y, z, 1) > 0`` (PointCompareMain's StlAbovePlane)."""
    plane = np.asarray(plane, np.float64).ravel()
    return np.asarray(points, np.float64) @ plane[:3] + plane[3] > 0


@dataclasses.dataclass
class Result:
    """Scores (mm) and counts of one evaluation; per-point distances for the coloured PLYs.

    data_kept: (N,) bool, the reduced cloud among the input points; data_used: (M,) bool over
    the reduced points, those of the accuracy (inside cells and mask); data_dist: (M,)
    distance of each reduced point to the reference (inf where not measured or >= the outlier
    threshold); stl_used / stl_dist: the same for the reference points (above the plane,
    inside the cells).
    """
    accuracy: float
    completeness: float
    overall: float
    points: int
    reduced: int
    accuracy_points: int
    accuracy_inliers: int
    stl_points: int
    completeness_points: int
    completeness_inliers: int
    seed: Optional[int]
    data_kept: np.ndarray = dataclasses.field(repr=False)
    data_used: np.ndarray = dataclasses.field(repr=False)
    data_dist: np.ndarray = dataclasses.field(repr=False)
    stl_used: np.ndarray = dataclasses.field(repr=False)
    stl_dist: np.ndarray = dataclasses.field(repr=False)

    def summary(self):
        """The scores and counts as a dict (no arrays)."""
        return scores_summary(self)


def evaluate(points, gt, seed=0, reduce_distance=REDUCE_DISTANCE, outlier=OUTLIER,
             log: Optional[Callable[[str], None]] = None, path=None):
    """Score a cloud against one scan's reference with the DTU protocol (module docstring).

    Args:
        points: (N, 3) reconstruction in the DTU frame (mm).
        gt: :class:`GroundTruth`.
        seed: seed of the random visiting order of the 0.2 mm reduction (None: fresh entropy).
        reduce_distance: the reduction radius (0.2 mm).
        outlier: distances >= this are discarded (20 mm); at most the 60 mm cell size.
        log: optional callable(str) for progress lines.
        path: the cloud's file name for error messages.

    Returns:
        :class:`Result`.

    Raises:
        InputError: an empty or non-finite cloud, or no point left to average (a cloud in
        another frame or unit, or of another scan).
    """
    if not 0 < outlier <= CELL:
        raise InputError("the outlier threshold must be in (0, %g] mm, got %g" % (CELL, outlier))
    log = log or (lambda text: None)
    check_cloud(points, path)
    t0 = time.time()

    shown = [0.0]

    def progress(frac):  # a line per tenth of the work
        if frac < 1 and frac - shown[0] >= 0.1:
            shown[0] = frac
            el = time.time() - t0
            log("reducing to %g mm: %3.0f %% (%.0f s left)" % (reduce_distance, 100 * frac, el / frac * (1 - frac)))

    kept = reduce_points(points, reduce_distance, np.random.default_rng(seed), progress=progress)
    data = np.asarray(points, np.float64)[kept]
    log("reduced %d points to %d (no two closer than %g mm) in %.1f s" % (len(points), len(data), reduce_distance,
                                                                       time.time() - t0))
    box = cell_box(gt.bb)
    data_used = in_box(data, box) & in_mask(data, gt)
    stl_used = in_box(gt.stl, box) & above_plane(gt.stl, gt.plane)
    # only neighbours closer than `outlier` (< 60 mm) count, and those of a point inside the
    # cells lie inside the cells widened by `outlier`: the trees need no more than that
    wide = box + np.array([[-outlier], [outlier]])
    t1 = time.time()
    data_dist = np.full(len(data), np.inf)
    stl_near = gt.stl[in_box(gt.stl, wide)]
    if len(stl_near):
        data_dist[data_used] = nearest_distances(data[data_used], stl_near, outlier)
    stl_dist = np.full(len(gt.stl), np.inf)
    data_near = data[in_box(data, wide)]
    if len(data_near):
        stl_dist[stl_used] = nearest_distances(gt.stl[stl_used], data_near, outlier)
    log("distances of %d reduced points and %d reference points in %.1f s"
        % (data_used.sum(), stl_used.sum(), time.time() - t1))
    acc_in = data_dist[data_used & (data_dist < outlier)]
    comp_in = stl_dist[stl_used & (stl_dist < outlier)]
    if len(acc_in) == 0:
        raise InputError("no point of the cloud lies inside the observability mask within %g mm of the "
                         "reference (another scan, frame or unit?)" % outlier, path)
    if len(comp_in) == 0:
        raise InputError("no reference point above the plane has a cloud point within %g mm "
                         "(another scan, frame or unit?)" % outlier, path)
    acc, comp = float(acc_in.mean()), float(comp_in.mean())
    return Result(accuracy=acc, completeness=comp, overall=(acc + comp) / 2, points=len(points),
                  reduced=len(data), accuracy_points=int(data_used.sum()), accuracy_inliers=len(acc_in),
                  stl_points=len(gt.stl), completeness_points=int(stl_used.sum()),
                  completeness_inliers=len(comp_in), seed=seed, data_kept=kept, data_used=data_used,
                  data_dist=data_dist, stl_used=stl_used, stl_dist=stl_dist)


def error_colors(dist, used, vis_max=VIS_MAX, outlier=OUTLIER):
    """Colours of an error-coloured cloud: blue where not evaluated (outside the cells or the
    mask, or below the plane), white to red for errors 0 to ``vis_max`` (red beyond), green for
    outliers (>= ``outlier``, discarded by the statistics).

    Args:
        dist: (N,) distances (inf where not measured or an outlier).
        used: (N,) bool, evaluated points.

    Returns:
        (N, 3) uint8 RGB.
    """
    out = np.empty((len(dist), 3), np.uint8)
    out[:] = (0, 0, 255)
    inlier = used & (dist < outlier)
    a = np.clip(dist[inlier] / vis_max, 0.0, 1.0)
    w = np.rint(255 * (1 - a)).astype(np.uint8)
    out[inlier] = np.stack([np.full_like(w, 255), w, w], axis=1)
    out[used & ~(dist < outlier)] = (0, 255, 0)
    return out
