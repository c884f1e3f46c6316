"""Ground-truth sets in the layouts of the benchmarks' evaluations, from a synthetic scene.

  dtu_eval    OUT  Points/stl/stl%03d_total.ply (reference points with normals),
                   ObsMask/ObsMask%d_10.mat (ObsMask, BB, Res), ObsMask/Plane%d.mat (P),
                   synthetic.json: the DTU evaluation files of :mod:`mvsnet.pointcloud.dtu`
  tanks_eval  OUT  SCENE.ply (ground truth with normals), SCENE.json (crop volume),
                   SCENE_trans.txt (4x4 alignment), synthetic.json: the Tanks and Temples
                   files of :mod:`mvsnet.pointcloud.tanks`

The surface is a scene of :func:`tools.synthetic.scene.make_scene` (back plane and objects)
sampled by the rays of one camera on a regular pixel grid, ``spacing`` apart on the plane
through the origin (:func:`surface_points`); the normals are the primitives' exact normals,
turned towards the camera, so a cloud shifted along them by d lies d from the surface (away
from edges). Deterministic given the seed.
"""
from __future__ import annotations

import io
import json
import os

import numpy as np

from cameras.atomic import write_bytes_atomic
from cameras.errors import InputError
from mvsnet.pointcloud import dtu as dtu_protocol
from mvsnet.pointcloud.ply import write_ply
from tools.synthetic.cameras import camera_center, intrinsic_matrix, look_at
from tools.synthetic.layouts import prepare_out, write_text
from tools.synthetic.scene import cast, make_scene


def surface_points(seed=0, size=(48.0, 36.0), spacing=0.2, distance=None, num_objects=4):
    """Points and normals of a synthetic scene, one per pixel of a camera at (0, 0, -distance)
    looking along +z, the pixels ``spacing`` apart at the origin.

    Args:
        seed: fixes the scene.
        size: (width, height) of the sampled field at the origin (world units; mm for DTU).
        spacing: sample spacing at the origin.
        distance: camera distance (default 3.125 x the width: 150 for 48); the scene spans z in
            about [-0.22, 0.2] x distance.
        num_objects: objects before the back plane.

    Returns:
        (points (N, 3) float64, normals (N, 3) float64 unit, towards the camera).
    """
    distance = 3.125 * size[0] if distance is None else float(distance)
    w, h = int(round(size[0] / spacing)), int(round(size[1] / spacing))
    if w < 2 or h < 2:
        raise InputError("size: the sampled field is smaller than 2x2 samples")
    f = distance / spacing
    k = intrinsic_matrix(f, f, (w - 1) / 2.0, (h - 1) / 2.0)
    e = look_at(np.array([0.0, 0.0, -distance]), np.zeros(3))
    scene = make_scene(seed, distance, size[0] / 2.0, size[1] / 2.0, num_objects)
    vs, us = np.mgrid[0:h, 0:w]
    depth, idx, pts = cast(scene, k, e, us.ravel().astype(np.float64), vs.ravel().astype(np.float64))
    hit = idx >= 0
    pts, idx = pts[hit], idx[hit]
    normals = np.empty_like(pts)
    for o in np.unique(idx):
        sel = idx == o
        normals[sel] = scene.objects[o].normal(pts[sel])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    towards = camera_center(e) - pts
    normals[np.einsum("ij,ij->i", normals, towards) < 0] *= -1
    return pts, normals


def _write_mat(path, arrays):
    from scipy.io import savemat

    buf = io.BytesIO()
    savemat(buf, arrays, do_compression=True)
    write_bytes_atomic(path, buf.getvalue())


def dtu_eval_scan(scan, seed=0, size=(48.0, 36.0), spacing=0.2, res=1.0, mask_margin=40.0,
                  unobserved=0.2, below=0.15, num_objects=4):
    """The reference of one synthetic DTU scan.

    The reference points are :func:`surface_points` (scene seed ``seed * 100003 + scan``)
    reduced to 0.2 mm as DTU's are. ``BB`` is their bounding box widened by ``mask_margin``
    and rounded out to ``res``; ``ObsMask`` marks the voxels within ``mask_margin`` of a
    reference point except those with x above the ``1 - unobserved`` quantile of the points'
    x (an unobserved slab, for tests of the mask); the plane ``P = (0, -1, 0, y_cut)`` leaves
    the ``below`` share of the points (largest y) below it.

    Returns:
        dict: stl (N, 3), normals (N, 3), mask (X, Y, Z) bool, bb (2, 3), res, plane (4,),
        x_cut, y_cut.
    """
    from scipy.ndimage import distance_transform_edt

    pts, normals = surface_points(int(seed) * 100003 + int(scan), size, spacing, num_objects=num_objects)
    keep = dtu_protocol.reduce_points(pts, dtu_protocol.REDUCE_DISTANCE, np.random.default_rng(seed))
    pts, normals = pts[keep], normals[keep]
    lo = np.floor((pts.min(axis=0) - mask_margin) / res) * res
    hi = np.ceil((pts.max(axis=0) + mask_margin) / res) * res
    bb = np.stack([lo, hi])
    shape = tuple(int(x) for x in np.round((hi - lo) / res) + 1)
    occupied = np.zeros(shape, bool)
    vox = np.round((pts - lo) / res).astype(np.int64)
    occupied[vox[:, 0], vox[:, 1], vox[:, 2]] = True
    mask = distance_transform_edt(~occupied) * res <= mask_margin
    x_cut = float(np.quantile(pts[:, 0], 1.0 - unobserved))
    centres_x = lo[0] + res * np.arange(shape[0])
    mask[centres_x > x_cut] = False
    y_cut = float(np.quantile(pts[:, 1], 1.0 - below))
    plane = np.array([0.0, -1.0, 0.0, y_cut])
    return dict(stl=pts, normals=normals, mask=mask, bb=bb, res=float(res), plane=plane, x_cut=x_cut, y_cut=y_cut)


def write_dtu_eval(out, scans=(1,), seed=0, size=(48.0, 36.0), spacing=0.2, res=1.0, mask_margin=40.0,
                   unobserved=0.2, below=0.15, num_objects=4, overwrite=False):
    """Write the DTU evaluation files of synthetic scans (:func:`dtu_eval_scan`):
    ``out/Points/stl/stl%03d_total.ply`` (float32 points and normals),
    ``out/ObsMask/ObsMask%d_10.mat`` (``ObsMask`` uint8, ``BB`` (2, 3), ``Res`` (1, 1)),
    ``out/ObsMask/Plane%d.mat`` (``P`` (4, 1)) and ``out/synthetic.json`` (the options and,
    per scan, x_cut, y_cut and the point count). Every file is written atomically.

    Returns:
        the summary dict written to synthetic.json.
    """
    if not scans:
        raise InputError("scans: need at least one scan id")
    prepare_out(out, ("Points", "ObsMask", "synthetic.json"), overwrite)
    os.makedirs(os.path.join(out, "Points", "stl"), exist_ok=True)
    os.makedirs(os.path.join(out, "ObsMask"), exist_ok=True)
    info = dict(layout="dtu_eval", scans={}, seed=seed, size=list(size), spacing=spacing, res=res,
                mask_margin=mask_margin, unobserved=unobserved, below=below, num_objects=num_objects)
    for scan in scans:
        s = dtu_eval_scan(scan, seed, size, spacing, res, mask_margin, unobserved, below, num_objects)
        write_ply(os.path.join(out, dtu_protocol.STL_FILE % scan), s["stl"], normals=s["normals"])
        _write_mat(os.path.join(out, dtu_protocol.MASK_FILE % scan),
                   {"ObsMask": s["mask"].astype(np.uint8), "BB": s["bb"], "Res": np.array([[s["res"]]])})
        _write_mat(os.path.join(out, dtu_protocol.PLANE_FILE % scan), {"P": s["plane"].reshape(4, 1)})
        info["scans"][str(scan)] = dict(points=len(s["stl"]), x_cut=s["x_cut"], y_cut=s["y_cut"])
    write_text(os.path.join(out, "synthetic.json"), json.dumps(info, indent=1, sort_keys=True) + "\n")
    return info


def similarity(seed, scale=1.0):
    """A random 4x4 similarity transform (rotation, translation up to 100, ``scale``)."""
    rng = np.random.default_rng([int(seed), 4242])
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    m = np.eye(4)
    m[:3, :3] = scale * q
    m[:3, 3] = rng.uniform(-100, 100, 3)
    return m


def crop_json(polygon, axis, axis_min, axis_max):
    """The text of an Open3D ``SelectionPolygonVolume`` JSON (the Tanks and Temples crop files)."""
    return json.dumps({"axis_max": axis_max, "axis_min": axis_min,
                       "bounding_polygon": [[float(x) for x in p] for p in polygon],
                       "class_name": "SelectionPolygonVolume", "orthogonal_axis": axis,
                       "version_major": 1, "version_minor": 0}, indent=1) + "\n"


def write_tanks_eval(out, scene="Synthetic", seed=0, size=(48.0, 36.0), spacing=0.1, num_objects=4,
                     scale=1.0, overwrite=False):
    """Write a Tanks-and-Temples-style scene: ``out/SCENE.ply`` (ground truth:
    :func:`surface_points`, float32 with normals), ``out/SCENE.json`` (crop volume,
    orthogonal axis Z: a hexagon inside the central 70 % of the x-y extent, z up to the 0.9
    quantile of the points' z, so that some points of every side fall outside) and
    ``out/SCENE_trans.txt`` (a random similarity, :func:`similarity`: the transform from
    the frame of a reconstruction to the ground truth's) and ``out/synthetic.json``.

    Returns:
        the summary dict written to synthetic.json.
    """
    pts, normals = surface_points(seed, size, spacing, num_objects=num_objects)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    c, half = (lo + hi) / 2, 0.35 * (hi - lo)
    ang = np.linspace(0, 2 * np.pi, 6, endpoint=False) + 0.3
    poly = np.stack([c[0] + half[0] * np.cos(ang), c[1] + half[1] * np.sin(ang), np.zeros(6)], axis=1)
    z_max = float(np.quantile(pts[:, 2], 0.9))
    trans = similarity(seed, scale)
    prepare_out(out, (scene + ".ply", scene + ".json", scene + "_trans.txt", "synthetic.json"), overwrite)
    write_ply(os.path.join(out, scene + ".ply"), pts, normals=normals)
    write_text(os.path.join(out, scene + ".json"), crop_json(poly, "Z", float(lo[2] - 1.0), z_max))
    write_text(os.path.join(out, scene + "_trans.txt"),
                "\n".join(" ".join(repr(float(x)) for x in row) for row in trans) + "\n")
    info = dict(layout="tanks_eval", scene=scene, seed=seed, size=list(size), spacing=spacing,
                num_objects=num_objects, scale=scale, points=len(pts))
    write_text(os.path.join(out, "synthetic.json"), json.dumps(info, indent=1, sort_keys=True) + "\n")
    return info
