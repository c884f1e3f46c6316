"""The Tanks and Temples benchmark's evaluation (Knapitsch et al., SIGGRAPH 2017) in Python.

The benchmark's toolbox (``python_toolbox/evaluation`` of github.com/isl-org/TanksAndTemples,
``run.py`` and ``evaluation.py``, on Open3D) scores a reconstruction of a training scene
against its ground truth ``SCENE.ply`` with the scene's files ``SCENE.json`` (the crop volume)
and ``SCENE_trans.txt`` (a 4x4 alignment), at the scene's threshold tau (:data:`SCENE_TAU`).
This module does its final step, ``EvaluateHisto``, on those files:

1. The reconstruction is transformed by the 4x4 alignment (``x' = T [x; 1]``), when given.
2. Both clouds are cropped to the volume (:class:`CropVolume`, Open3D's
   ``SelectionPolygonVolume``): the coordinate along ``orthogonal_axis`` within
   ``[axis_min, axis_max]`` and the other two inside ``bounding_polygon`` (even-odd rule).
3. Both are voxel down-sampled at tau / 2 as Open3D's ``voxel_down_sample``: voxels of that
   size from the cloud's minimum corner minus half a voxel, one point per occupied voxel at
   the mean of its points (:func:`voxel_downsample`).
4. Precision: the share of reconstructed points whose nearest ground-truth point is closer
   than tau; recall: the share of ground-truth points with a reconstructed point closer than
   tau; F-score 2 P R / (P + R) (0 when either cloud is empty after cropping).

Not done here: the toolbox's registration before that step (camera trajectory alignment from
``SCENE_COLMAP_SfM.log`` and ``SCENE_mapping_reference.txt``, then three rounds of ICP), which
needs the reconstruction's camera poses; give the transform that maps the reconstruction onto
the ground truth (``SCENE_trans.txt`` when the reconstruction is in the frame of the scene's
reference COLMAP reconstruction, or the result of your own registration).
"""
from __future__ import annotations

import dataclasses
import json
import math

import numpy as np

from cameras.atomic import read_bytes
from cameras.errors import InputError
from mvsnet.pointcloud.evaluation import nearest_distances, scores_summary

# tau of the training scenes (python_toolbox/evaluation/config.py), in the scenes' units
SCENE_TAU = {"Barn": 0.01, "Caterpillar": 0.005, "Church": 0.025, "Courthouse": 0.025,
             "Ignatius": 0.003, "Meetingroom": 0.01, "Truck": 0.005}
AXES = {"x": (1, 2, 0), "y": (0, 2, 1), "z": (0, 1, 2)}  # (u, v, w): polygon axes, orthogonal axis


@dataclasses.dataclass
class CropVolume:
    """Open3D's ``SelectionPolygonVolume``: ``polygon`` (K, 3) vertices (only the two
    coordinates across ``axis`` are used), ``axis`` 'x', 'y' or 'z', range [axis_min, axis_max]."""
    polygon: np.ndarray
    axis: str
    axis_min: float
    axis_max: float

    def contains(self, points):
        """(N,) bool: inside the axis range (inclusive) and inside the polygon.

        The polygon test is Open3D's: the edges (i, i+1) whose v-range (v_i, v_j] contains
        the point's v give crossings ``u_i + (v - v_i) / (v_j - v_i) (u_j - u_i)``; the point
        is inside when an odd number of crossings are below its u.
        """
        points = np.asarray(points, np.float64)
        u, v, w = AXES[self.axis]
        pw, pu, pv = points[:, w], points[:, u], points[:, v]
        inside = (pw >= self.axis_min) & (pw <= self.axis_max)
        idx = np.flatnonzero(inside)
        pu, pv = pu[idx], pv[idx]
        below = np.zeros(len(idx), np.int64)
        poly = self.polygon
        for i in range(len(poly)):
            a, b = poly[i], poly[(i + 1) % len(poly)]
            cross = ((a[v] < pv) & (b[v] >= pv)) | ((b[v] < pv) & (a[v] >= pv))
            if not cross.any():
                continue
            node = a[u] + (pv[cross] - a[v]) / (b[v] - a[v]) * (b[u] - a[u])
            below[cross] += node < pu[cross]
        out = np.zeros(len(points), bool)
        out[idx[below % 2 == 1]] = True
        return out


def read_crop(path):
    """A crop volume from a Tanks and Temples ``SCENE.json`` (Open3D's format:
    ``class_name`` "SelectionPolygonVolume", ``version_major`` 1, ``version_minor`` 0,
    ``orthogonal_axis``, ``axis_min``, ``axis_max``, ``bounding_polygon`` [[x, y, z], ...]).

    Raises:
        InputError: naming the file when it is not such a JSON file.
    """
    data = read_bytes(path, "crop file")
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError("not a JSON file: %s" % e, path) from None
    if not isinstance(value, dict):
        raise InputError("not a crop volume: the JSON is not an object", path)
    if value.get("class_name") != "SelectionPolygonVolume":
        raise InputError("not a crop volume: class_name is %r, not 'SelectionPolygonVolume'"
                         % value.get("class_name"), path)
    if value.get("version_major", 1) != 1 or value.get("version_minor", 0) != 0:
        raise InputError("unsupported crop volume version %r.%r (1.0 is read)"
                         % (value.get("version_major"), value.get("version_minor")), path)
    axis = value.get("orthogonal_axis")
    if not isinstance(axis, str) or axis.lower() not in AXES:
        raise InputError("orthogonal_axis must be 'X', 'Y' or 'Z', got %r" % (axis,), path)
    try:
        lo, hi = float(value["axis_min"]), float(value["axis_max"])
        poly = np.asarray(value["bounding_polygon"], np.float64)
    except KeyError as e:
        raise InputError("no %s in the crop volume" % e, path) from None
    except (TypeError, ValueError):
        raise InputError("axis_min, axis_max and bounding_polygon must be numbers", path) from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise InputError("axis_min, axis_max must be finite with axis_min <= axis_max, got %r, %r" % (lo, hi), path)
    if poly.ndim != 2 or poly.shape[1] != 3 or len(poly) < 3 or not np.isfinite(poly).all():
        raise InputError("bounding_polygon must be at least 3 finite [x, y, z] points", path)
    return CropVolume(polygon=poly, axis=axis.lower(), axis_min=lo, axis_max=hi)


def read_alignment(path):
    """The 4x4 matrix of a ``SCENE_trans.txt`` (4 rows of 4 numbers, numpy.loadtxt).

    Raises:
        InputError: naming the file when it is not 16 finite numbers in 4 rows.
    """
    text = read_bytes(path, "alignment file").decode("utf-8", "replace")
    try:
        rows = [[float(x) for x in line.replace(",", " ").split()] for line in text.splitlines() if line.strip()]
    except ValueError:
        raise InputError("not a 4x4 matrix of numbers", path) from None
    m = np.asarray(rows, np.float64) if rows and all(len(r) == 4 for r in rows) else None
    if m is None or m.shape != (4, 4):
        raise InputError("not a 4x4 matrix (4 rows of 4 numbers)", path)
    if not np.isfinite(m).all():
        raise InputError("the matrix has non-finite entries", path)
    return m


def transform(points, matrix):
    """``matrix`` (4, 4) applied to (N, 3) points (homogeneous, then divided by w)."""
    points = np.asarray(points, np.float64)
    h = points @ matrix[:3, :3].T + matrix[:3, 3]
    w = points @ matrix[3, :3] + matrix[3, 3]
    if np.allclose(matrix[3], (0, 0, 0, 1)):
        return h
    return h / w[:, None]


def voxel_downsample(points, voxel):
    """Open3D's ``voxel_down_sample``: voxel index ``floor((x - (min - voxel / 2)) / voxel)``
    per axis (min: the cloud's minimum corner), one point per occupied voxel at the mean of
    its points, voxels in sorted index order (Open3D's order is its hash map's).

    Args:
        points: (N, 3).
        voxel: the voxel size (> 0).

    Returns:
        (M, 3) float64.
    """
    points = np.asarray(points, np.float64)
    if len(points) == 0:
        return points.reshape(0, 3)
    origin = points.min(axis=0) - voxel * 0.5
    idx = np.floor((points - origin) / voxel).astype(np.int64)
    span = idx.max(axis=0) + 1
    if np.prod(span.astype(np.float64)) < 2.0 ** 62:
        key = (idx[:, 0] * span[1] + idx[:, 1]) * span[2] + idx[:, 2]
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    else:
        _, inverse, counts = np.unique(idx, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    out = np.empty((len(counts), 3))
    for k in range(3):
        out[:, k] = np.bincount(inverse, weights=points[:, k], minlength=len(counts)) / counts
    return out


@dataclasses.dataclass
class Result:
    """precision, recall, fscore at ``tau``; point counts after cropping and down-sampling;
    per-point distances (inf beyond 3 tau) of the two down-sampled clouds."""
    precision: float
    recall: float
    fscore: float
    tau: float
    points: int
    cropped: int
    downsampled: int
    gt_points: int
    gt_cropped: int
    gt_downsampled: int
    cloud: np.ndarray = dataclasses.field(repr=False)
    cloud_dist: np.ndarray = dataclasses.field(repr=False)
    gt: np.ndarray = dataclasses.field(repr=False)
    gt_dist: np.ndarray = dataclasses.field(repr=False)

    def summary(self):
        """The scores and counts as a dict (no arrays)."""
        return scores_summary(self)


def evaluate(points, gt, crop, tau, alignment=None):
    """Precision, recall and F-score of ``points`` against ``gt`` as the toolbox's
    ``EvaluateHisto`` computes them (module docstring).

    Args:
        points: (N, 3) reconstruction.
        gt: (M, 3) ground truth.
        crop: :class:`CropVolume`.
        tau: the distance threshold (> 0); the voxel size is tau / 2.
        alignment: optional (4, 4) applied to ``points`` first.

    Returns:
        :class:`Result`.
    """
    if not (tau > 0 and math.isfinite(tau)):
        raise InputError("tau must be a positive number, got %r" % tau)
    pts = np.asarray(points, np.float64)
    if alignment is not None:
        pts = transform(pts, alignment)
    inside = crop.contains(pts)
    s = voxel_downsample(pts[inside], tau / 2.0)
    n_crop = int(inside.sum())
    gt = np.asarray(gt, np.float64)
    gt_in = crop.contains(gt)
    t = voxel_downsample(gt[gt_in], tau / 2.0)
    d1 = nearest_distances(s, t, 3 * tau) if len(t) and len(s) else np.full(len(s), np.inf)
    d2 = nearest_distances(t, s, 3 * tau) if len(t) and len(s) else np.full(len(t), np.inf)
    if len(s) and len(t):
        precision = float((d1 < tau).mean())
        recall = float((d2 < tau).mean())
        fscore = 2 * recall * precision / (recall + precision) if recall + precision > 0 else 0.0
    else:
        precision = recall = fscore = 0.0
    return Result(precision=precision, recall=recall, fscore=fscore, tau=float(tau), points=len(pts),
                  cropped=n_crop, downsampled=len(s), gt_points=len(gt), gt_cropped=int(gt_in.sum()),
                  gt_downsampled=len(t), cloud=s, cloud_dist=d1, gt=t, gt_dist=d2)


def error_colors(dist, tau):
    """Colours of the toolbox's precision / recall PLYs: matplotlib's ``hot_r`` colour map of
    min(distance, 3 tau) / (3 tau) (white = 0, through yellow and red, to nearly black at 3 tau),
    its three linear segments (no matplotlib needed).

    Returns:
        (N, 3) uint8 RGB.
    """
    x = np.clip(np.nan_to_num(np.asarray(dist, np.float64) / (3 * tau), posinf=1.0), 0.0, 1.0)
    t = 1.0 - x  # position on matplotlib's 'hot' (black -> red -> yellow -> white)
    r = np.clip(0.0416 + (1 - 0.0416) * t / 0.365079, 0, 1)
    g = np.clip((t - 0.365079) / (0.746032 - 0.365079), 0, 1)
    b = np.clip((t - 0.746032) / (1 - 0.746032), 0, 1)
    return np.rint(np.stack([r, g, b], axis=1) * 255).astype(np.uint8)
