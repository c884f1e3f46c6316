"""Photometric + geometric filters of the PyTorch MVSNet ports, as ``--fusion_mode normal``
(MVSNet_pytorch / PatchmatchNet ``eval.py``) and ``--fusion_mode dynamic`` (the dynamic
consistency check of AA-RMVSNet / TransMVSNet); ``consistency`` is the earlier name of
``normal`` with the sources' depths probability-filtered too (kept for old command lines).

For a reference view r and each source view s that pair.txt lists for it, every pixel
p = (x, y) of r with a depth d:

1. X = the point of p at depth d; (u, v) = its projection into s;
2. d_s = the depth map of s bilinearly interpolated at (u, v) (0 outside the image; invalid
   neighbours take part, as ``cv2.remap`` in the ports; exact weights here);
3. X_s = the point of s's pixel (u, v) at depth d_s; (x', y', z') its projection into r;
   e_pix = |(x', y') - (x, y)| (pixels), e_depth = |z' - d| / d (relative).

``normal``: s agrees when e_pix < ``geo_pixel_threshold`` (1) and e_depth <
``geo_depth_threshold`` (0.01); p is kept when its probability passes (photometric mask) and at least
``num_consistent`` sources agree (geometric mask). ``dynamic``: additionally kept when, for
some n in ``dynamic_min_views`` ... (number of sources), at least n sources have
e_pix < n * ``dynamic_pixel_step`` and e_depth < n * ``dynamic_depth_step`` (0.25 px and
1/1300 per view: the more views agree, the looser each may be; TransMVSNet's sequence);
a pixel that passes the dynamic test is kept down to probability ``dynamic_prob_threshold``
(default: ``prob_threshold``, as TransMVSNet; lower: many tightly agreeing views stand in
for a confident reference, the project's tuned setting, docs/pointclouds.md).

The kept pixel becomes the mean of its own depth and the agreeing sources' z' (``"depth"``,
the ports), the same mean weighted by the probability of each view at the pixel (``"prob"``:
the reference's, and the source's bilinearly at (u, v)), or the mean of X and the agreeing
X_s in 3-D (``"points"``), with the reference pixel's colour (``geo_average``). Options
beyond the ports (all off by default): the sources' own depths filtered by probability
(``source_prob_threshold``), reference pixels at depth edges dropped (``edge_threshold``).
The options are :class:`mvsnet.pointcloud.cloud.FusionOptions` fields. Vectorised over the pixels of a reference view, one source at
a time; each view's maps are read once.
"""

import logging
import os
import time
from dataclasses import dataclass

import numpy as np

from cameras import layout
from cameras.errors import InputError
from cameras.pair import read_pair
from mvsnet import progress
from mvsnet.pointcloud.fusion import FusedCloud

MASK_KINDS = ("photo", "geo", "final")  # per-view PNGs NAME_photo.png, ... (as the ports)


def sources_filtered_at(options):
    """The probability below which a source's depth counts as missing."""
    return options.prob_threshold if options.fusion_mode == "consistency" else options.source_prob_threshold


def dynamic_prob_floor(options):
    """The least probability of a pixel kept by the dynamic test."""
    if options.dynamic_prob_threshold < 0:
        return options.prob_threshold
    return options.dynamic_prob_threshold


def pixel_points(xs, ys, d, g):
    """World points (3, N) float64 of pixels (xs, ys) (N,) at depths d (N,) of the view with
    geometry ``g`` (:class:`~mvsnet.pointcloud.views.ViewGeometry`): M^-1 (d (x, y, 1) - p4)."""
    d = np.asarray(d, np.float64)
    pix = np.stack([xs * d, ys * d, d]) - g.p4[:, None]
    return g.M_inv @ pix


def bilinear_zero(image, u, v):
    """``image`` (H, W) sampled at real pixel coordinates (u, v) (N,) (integers are pixel
    centres), neighbours outside the image read as 0 (cv2.remap INTER_LINEAR with a
    constant 0 border, with exact weights); 0 where (u, v) is not finite."""
    height, width = image.shape
    finite = np.isfinite(u) & np.isfinite(v)
    u = np.where(finite, u, -2.0)
    v = np.where(finite, v, -2.0)
    x0 = np.floor(u)
    y0 = np.floor(v)
    ax = u - x0
    ay = v - y0
    x0 = x0.astype(np.int64)
    y0 = y0.astype(np.int64)
    out = np.zeros(u.shape, np.float64)
    for dx, dy, w in ((0, 0, (1 - ax) * (1 - ay)), (1, 0, ax * (1 - ay)), (0, 1, (1 - ax) * ay),
                      (1, 1, ax * ay)):
        x = x0 + dx
        y = y0 + dy
        inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
        out[inside] += image[y[inside], x[inside]] * w[inside]
    return out


def source_errors(xs, ys, d, g_ref, depth_src, g_src):
    """The round trip of reference pixels through one source view.

    Args:
        xs, ys: (N,) reference pixel coordinates; d: (N,) their depths (> 0).
        g_ref, g_src: the two views' :class:`~mvsnet.pointcloud.views.ViewGeometry`.
        depth_src: (H, W) the source depth map (0 = no depth).
    Returns:
        (e_pix (N,), e_depth (N,), z_back (N,), X_src (3, N) world points): the reprojection
        error in reference pixels, the relative depth difference |z' - d| / d, the source
        point's depth z' in the reference view, the source point; e_pix and e_depth are inf
        where the source has no depth there or the point is behind a camera."""
    X = pixel_points(xs, ys, d, g_ref)
    proj = g_src.P[:, :3] @ X + g_src.P[:, 3:]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = proj[0] / proj[2]
        v = proj[1] / proj[2]
        ds = bilinear_zero(depth_src, u, v)
        X_src = pixel_points(u, v, ds, g_src)
        back = g_ref.P[:, :3] @ X_src + g_ref.P[:, 3:]
        z = back[2]
        e_pix = np.hypot(back[0] / z - xs, back[1] / z - ys)
        e_depth = np.abs(z - d) / d
    bad = ~((ds > 0) & (proj[2] > 0) & (z > 0) & np.isfinite(e_pix) & np.isfinite(e_depth))
    e_pix[bad] = np.inf
    e_depth[bad] = np.inf
    return e_pix, e_depth, z, X_src


def agreement(e_pix, e_depth, options, num_sources=None):
    """Which sources agree with which pixels, and which pixels pass the geometric check.

    Args:
        e_pix, e_depth: (S, N) errors of :func:`source_errors` for S sources.
        options: a :class:`~mvsnet.pointcloud.cloud.FusionOptions` (its fusion_mode,
            num_consistent, geo_* and dynamic_* fields).
        num_sources: the n range's end for the dynamic check (default S).
    Returns:
        (static (N,) bool, dynamic (N,) bool, agree (S, N) bool): the pixels that pass the
        static test (``num_consistent`` sources within geo_pixel_threshold and
        geo_depth_threshold), those that pass the dynamic test (dynamic mode; else none),
        and the sources each of them averages (the static test's agreeing sources, plus in
        dynamic mode those of the loosest dynamic level the pixel passes)."""
    agree = (e_pix < options.geo_pixel_threshold) & (e_depth < options.geo_depth_threshold)
    static = agree.sum(0) >= int(options.num_consistent)
    dynamic = np.zeros(static.shape, bool)
    if options.fusion_mode == "dynamic":
        S = e_pix.shape[0] if num_sources is None else num_sources
        best = np.zeros(e_pix.shape, bool)
        for n in range(max(1, int(options.dynamic_min_views)), S + 1):
            level = (e_pix < n * options.dynamic_pixel_step) & (e_depth < n * options.dynamic_depth_step)
            passed = level.sum(0) >= n
            best[:, passed] = level[:, passed]  # levels loosen with n: the last pass wins
            dynamic |= passed
        agree = (agree & static) | best
    return static, dynamic, agree & (static | dynamic)


def depth_edges(depth, threshold):
    """(H, W) bool: pixels whose depth differs from one of its 4 neighbours (that has a depth)
    by more than ``threshold`` relatively; none when threshold <= 0."""
    edge = np.zeros(depth.shape, bool)
    if threshold <= 0:
        return edge
    with np.errstate(divide="ignore", invalid="ignore"):
        for a, b in (((slice(None), slice(1, None)), (slice(None), slice(None, -1))),
                     ((slice(1, None), slice(None)), (slice(None, -1), slice(None)))):
            da, db = depth[a], depth[b]
            jump = (da > 0) & (db > 0) & (np.abs(da - db) > threshold * np.minimum(da, db))
            edge[a] |= jump
            edge[b] |= jump
    return edge


@dataclass
class ViewResult:
    points: np.ndarray  # (M, 3) float32 world points
    colors: np.ndarray  # (M, 3) uint8 RGB
    photo: np.ndarray  # (H, W) bool
    geo: np.ndarray  # (H, W) bool
    final: np.ndarray  # (H, W) bool


def filter_view(depth, prob, image, geo_ref, sources, options):
    """The kept points of one reference view.

    Args:
        depth: (H, W) float32 the reference depth map (unfiltered; 0 = no depth).
        prob: (H, W) its probability map.
        image: (H, W, 3) uint8 RGB colours.
        geo_ref: its :class:`~mvsnet.pointcloud.views.ViewGeometry`.
        sources: list of (depth (H', W') float32 (0 = no depth), probability (H', W'),
            ViewGeometry) of the source views (depths less probable than
            :func:`sources_filtered_at` count as missing).
        options: a :class:`~mvsnet.pointcloud.cloud.FusionOptions` (mode normal, dynamic
            or consistency).
    Returns:
        a :class:`ViewResult` (masks as the ports write them: photo = prob >= prob_threshold,
        geo = the geometric check over every pixel with a depth, final = photo & geo; in
        dynamic mode with dynamic_prob_threshold below prob_threshold, final also holds the
        pixels that pass the dynamic test with prob >= dynamic_prob_threshold; minus depth
        edges when options.edge_threshold > 0)."""
    has_depth = depth > 0
    photo = (prob >= options.prob_threshold) & has_depth
    photo_dynamic = (prob >= dynamic_prob_floor(options)) & has_depth
    ys, xs = np.nonzero(has_depth)
    d = depth[ys, xs].astype(np.float64)
    S = len(sources)
    e_pix = np.full((S, len(d)), np.inf)
    e_depth = np.full((S, len(d)), np.inf)
    z_back = np.zeros((S, len(d)))
    X_src = np.zeros((S, 3, len(d)))
    src_prob = np.zeros((S, len(d)))
    floor = sources_filtered_at(options)
    for k, (depth_src, prob_src, geo_src) in enumerate(sources):
        if floor > 0:
            depth_src = np.where(prob_src >= floor, depth_src, 0).astype(np.float32)
        e_pix[k], e_depth[k], z_back[k], X_src[k] = source_errors(xs, ys, d, geo_ref, depth_src,
                                                                  geo_src)
        if options.geo_average == "prob":
            proj = geo_src.P[:, :3] @ X_src[k] + geo_src.P[:, 3:]
            with np.errstate(divide="ignore", invalid="ignore"):
                src_prob[k] = bilinear_zero(prob_src, proj[0] / proj[2], proj[1] / proj[2])
    static, dynamic, agree = agreement(e_pix, e_depth, options)
    geo = np.zeros(depth.shape, bool)
    geo[ys, xs] = static | dynamic
    kept = np.zeros(depth.shape, bool)
    kept[ys, xs] = (static | dynamic) & photo[ys, xs] | dynamic & photo_dynamic[ys, xs]
    final = kept & ~depth_edges(depth, options.edge_threshold)
    keep = final[ys, xs]
    xs, ys, d = xs[keep], ys[keep], d[keep]
    if options.geo_average == "prob":
        w_ref = prob[ys, xs].astype(np.float64)
        w_src = np.where(agree[:, keep], src_prob[:, keep], 0)
    else:
        w_ref = np.ones(len(d))
        w_src = agree[:, keep].astype(np.float64)
    total = w_ref + w_src.sum(0)
    if options.geo_average == "points":
        X = ((X_src[:, :, keep] * w_src[:, None, :]).sum(0)
             + pixel_points(xs, ys, d, geo_ref) * w_ref) / total
    else:
        z = ((z_back[:, keep] * w_src).sum(0) + d * w_ref) / total
        X = pixel_points(xs, ys, z, geo_ref)
    return ViewResult(X.T.astype(np.float32), image[ys, xs], photo, geo, final)


def write_masks(folder, name, result):
    """``folder/NAME_photo.png``, ``_geo.png``, ``_final.png``: 8-bit, 255 where set (as the
    ports' save_mask), written atomically."""
    import cv2

    from cameras.atomic import write_bytes_atomic

    for kind in MASK_KINDS:
        ok, data = cv2.imencode(".png", getattr(result, kind).astype(np.uint8) * 255)
        if not ok:
            raise InputError("cannot encode the mask", os.path.join(folder, name))
        write_bytes_atomic(os.path.join(folder, "%s_%s.png" % (name, kind)), data.tobytes())


def fuse_dense_folder(dense_folder, options, mask_folder=None, log=None, warn=logging.warning):
    """Filtered points of every view of ``dense_folder`` (a :class:`FusedCloud`), as the
    :class:`~mvsnet.pointcloud.cloud.FusionOptions` ``options`` say (fusion_mode normal,
    dynamic or consistency).

    Sources are the views pair.txt lists for each reference (views without depth maps are
    skipped); every view's maps are read once. ``mask_folder``: write each view's masks
    there (:func:`write_masks`; created if needed). ``warn`` gets one line per map with
    non-finite pixels (those pixels have no depth)."""
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
                             "(--fusion_mode %s needs %%08d names)" % options.fusion_mode,
                             os.path.join(out.image_folder, name)) from None
    maps = {name: out.maps(name) for name in out.names}
    geos = {name: out.geometry(name) for name in out.names}
    if mask_folder is not None:
        os.makedirs(mask_folder, exist_ok=True)
    points, colors, per_view = [], [], []
    with progress.Progress(len(out.names), "fusion", unit="view", log=log) as bar:
        for k, name in enumerate(out.names):
            t = time.time()
            depth, prob = maps[name]
            sources = [maps[ids[s]] + (geos[ids[s]],)
                       for s in _sources(pairs, int(name))
                       if s in ids and ids[s] != name]
            result = filter_view(depth, prob, out.image(name, depth.shape), geos[name], sources,
                                 options)
            if mask_folder is not None:
                write_masks(mask_folder, name, result)
            points.append(result.points)
            colors.append(result.colors)
            per_view.append(len(result.points))
            bar.update(line="view %d/%d (%s): %d points (photo %.3f, geo %.3f, final %.3f), %.2f s"
                       % (k + 1, len(out.names), name, len(result.points), result.photo.mean(),
                          result.geo.mean(), result.final.mean(), time.time() - t))
    cloud = FusedCloud(np.concatenate(points), np.concatenate(colors), per_view)
    cloud.seconds = time.time() - start
    return cloud


def reproject(depth_ref, K_ref, E_ref, depth_src, K_src, E_src):
    """(depth_reprojected, x_reprojected, y_reprojected) (H, W) float32 of every reference
    pixel through the source view (the ports' reproject_with_depth), for cameras given as
    K (3, 3) and world-to-camera E (4, 4); inf/NaN-free: 0 depth where the round trip fails."""
    from cameras.camera import Camera
    from mvsnet.pointcloud.views import geometry

    height, width = depth_ref.shape
    ys, xs = np.mgrid[0:height, 0:width]
    xs, ys = xs.ravel().astype(np.float64), ys.ravel().astype(np.float64)
    g_ref = geometry(Camera(np.asarray(E_ref, np.float64), np.asarray(K_ref, np.float64)))
    g_src = geometry(Camera(np.asarray(E_src, np.float64), np.asarray(K_src, np.float64)))
    e_pix, e_depth, z, X_src = source_errors(xs, ys, depth_ref.ravel(), g_ref,
                                             np.asarray(depth_src, np.float32), g_src)
    with np.errstate(divide="ignore", invalid="ignore"):
        back = g_ref.P[:, :3] @ X_src + g_ref.P[:, 3:]
        x_back, y_back = back[0] / back[2], back[1] / back[2]
    ok = np.isfinite(e_pix)
    z, x_back, y_back = (np.where(ok, a, 0).reshape(height, width).astype(np.float32)
                         for a in (z, x_back, y_back))
    return z, x_back, y_back


def check(depth_ref, K_ref, E_ref, depth_src, K_src, E_src, pixel_threshold=1.0,
          depth_threshold=0.01):
    """(mask, depth_reprojected with 0 where the mask is False) (H, W): the ports'
    check_geometric_consistency for one source."""
    depth_back, x_back, y_back = reproject(depth_ref, K_ref, E_ref, depth_src, K_src, E_src)
    height, width = depth_ref.shape
    ys, xs = np.mgrid[0:height, 0:width]
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = np.hypot(x_back - xs, y_back - ys)
        relative = np.abs(depth_back - depth_ref) / depth_ref
        mask = (depth_back > 0) & (dist < pixel_threshold) & (relative < depth_threshold)
    depth_back[~mask] = 0
    return mask, depth_back


def _sources(pairs, ref_id):
    for entry_id, sources in pairs:
        if entry_id == ref_id:
            return [src_id for src_id, _ in sources]
    return []
