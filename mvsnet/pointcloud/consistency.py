"""The geometric-consistency filter of the PyTorch MVSNet ports (MVSNet_pytorch eval.py and
its descendants), as ``--fusion_mode consistency``.

For a reference view and each of its source views in pair.txt:
1. project every reference pixel with its depth into the source view,
2. sample the source depth there (cv2.remap, bilinear, 0 outside the image),
3. back-project that source point and project it into the reference view again;
the source agrees when the reprojected pixel is within ``pixel_threshold`` (1) of the
original pixel and the relative depth difference is below ``depth_threshold`` (0.01).
A pixel is kept when at least ``num_consistent`` sources agree (and its depth passed the
probability filter); its depth is the mean of its own depth and the agreeing reprojected
depths; the point is that depth back-projected, with the reference pixel's colour.
"""

import logging
import os
import time

import numpy as np

from cameras import layout
from cameras.errors import InputError
from cameras.pair import read_pair
from mvsnet.pointcloud.fusion import FusedCloud


def reproject(depth_ref, K_ref, E_ref, depth_src, K_src, E_src):
    """(depth_reprojected, x_reprojected, y_reprojected) (H, W) float32, the ports'
    reproject_with_depth."""
    import cv2

    height, width = depth_ref.shape
    x_ref, y_ref = np.meshgrid(np.arange(0, width), np.arange(0, height))
    x_ref, y_ref = x_ref.reshape([-1]), y_ref.reshape([-1])
    ones = np.ones_like(x_ref)
    xyz_ref = np.matmul(np.linalg.inv(K_ref), np.vstack((x_ref, y_ref, ones)) * depth_ref.reshape([-1]))
    xyz_src = np.matmul(np.matmul(E_src, np.linalg.inv(E_ref)), np.vstack((xyz_ref, ones)))[:3]
    k_xyz_src = np.matmul(K_src, xyz_src)
    with np.errstate(divide="ignore", invalid="ignore"):
        xy_src = k_xyz_src[:2] / k_xyz_src[2:3]
    x_src = xy_src[0].reshape([height, width]).astype(np.float32)
    y_src = xy_src[1].reshape([height, width]).astype(np.float32)
    sampled = cv2.remap(depth_src, x_src, y_src, interpolation=cv2.INTER_LINEAR)
    xyz_src = np.matmul(np.linalg.inv(K_src), np.vstack((xy_src, ones)) * sampled.reshape([-1]))
    xyz_back = np.matmul(np.matmul(E_ref, np.linalg.inv(E_src)), np.vstack((xyz_src, ones)))[:3]
    depth_back = xyz_back[2].reshape([height, width]).astype(np.float32)
    k_xyz_back = np.matmul(K_ref, xyz_back)
    with np.errstate(divide="ignore", invalid="ignore"):
        xy_back = k_xyz_back[:2] / k_xyz_back[2:3]
    return (depth_back, xy_back[0].reshape([height, width]).astype(np.float32),
            xy_back[1].reshape([height, width]).astype(np.float32))


def check(depth_ref, K_ref, E_ref, depth_src, K_src, E_src, pixel_threshold=1.0,
          depth_threshold=0.01):
    """(mask, depth_reprojected with 0 where the mask is False): the ports'
    check_geometric_consistency."""
    height, width = depth_ref.shape
    x_ref, y_ref = np.meshgrid(np.arange(0, width), np.arange(0, height))
    depth_back, x_back, y_back = reproject(depth_ref, K_ref, E_ref, depth_src, K_src, E_src)
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = np.sqrt((x_back - x_ref) ** 2 + (y_back - y_ref) ** 2)
        relative = np.abs(depth_back - depth_ref) / depth_ref
        mask = (dist < pixel_threshold) & (relative < depth_threshold)
    depth_back[~mask] = 0
    return mask, depth_back


def fuse_dense_folder(dense_folder, prob_threshold=0.8, num_consistent=3, pixel_threshold=1.0,
                      depth_threshold=0.01, log=None, warn=logging.warning):
    """Consistency-filtered points of every view of ``dense_folder`` (a :class:`FusedCloud`).
    Sources are the views pair.txt lists for each reference (views without depth maps are
    skipped); memory: the reference and one source at a time. ``warn`` gets one line per
    map with non-finite pixels (those pixels have no depth)."""
    from mvsnet.pointcloud.views import DenseOutput

    start = time.time()
    out = DenseOutput(dense_folder, warn)
    pairs = read_pair(layout.pair_path(out.dense_folder))
    ids = {}
    for name in out.names:
        try:
            ids[int(name)] = name
        except ValueError:
            raise InputError("view name is not a number, so pair.txt cannot refer to it "
                             "(--fusion_mode consistency needs %08d names)",
                             os.path.join(out.image_folder, name)) from None
    points, colors, per_view = [], [], []
    for k, name in enumerate(out.names):
        t = time.time()
        ref_id = int(name)
        sources = [ids[s] for s in _sources(pairs, ref_id) if s in ids and s != ref_id]
        depth = out.depth(name, prob_threshold)
        cam = out.camera(name)
        total = np.zeros(depth.shape, np.float32)
        count = np.zeros(depth.shape, np.int32)
        for src in sources:
            src_cam = out.camera(src)
            src_depth = out.depth(src, prob_threshold)
            mask, depth_back = check(depth, cam.intrinsic, cam.extrinsic, src_depth,
                                     src_cam.intrinsic, src_cam.extrinsic, pixel_threshold,
                                     depth_threshold)
            count += mask
            total += depth_back
        keep = (depth > 0) & (count >= num_consistent)
        averaged = (total + depth) / (count + 1)
        ys, xs = np.nonzero(keep)
        d = averaged[ys, xs].astype(np.float64)
        g = out.geometry(name)
        pix = np.stack([xs * d, ys * d, d]) - g.p4[:, None]
        points.append((g.M_inv @ pix).T.astype(np.float32))
        colors.append(out.image(name, depth.shape)[ys, xs])
        per_view.append(len(xs))
        if log is not None:
            log("view %d/%d (%s): %d points, %.2f s" % (k + 1, len(out.names), name, len(xs),
                                                       time.time() - t))
    cloud = FusedCloud(np.concatenate(points), np.concatenate(colors), per_view)
    cloud.seconds = time.time() - start
    return cloud


def _sources(pairs, ref_id):
    for entry_id, sources in pairs:
        if entry_id == ref_id:
            return [src_id for src_id, _ in sources]
    return []
