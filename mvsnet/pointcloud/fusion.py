"""fusibile's depth-map fusion (YoYo000/fusibile, kernel ``fusibile`` in fusibile.cu) on the CPU.

For every reference view r (all views, in name order) and every pixel p = (x, y) of r with
a depth d > 0:

1. X = M_r^-1 (d (x, y, 1) - p4_r), the 3-D point (P = [M | p4] = K [R | t]).
2. For every other view s (fusibile's view-selection subset is every view): project X,
   (u, v, z) = P_s X; skip s unless 0 <= u < W and 0 <= v < H (no test on z, as fusibile).
3. d_s = the depth map of s bilinearly interpolated at (u, v) (fusibile samples a linear-filtered
   texture at (u + 0.5, v + 0.5): interpolation between pixel centres, edge texels clamped,
   invalid (0) neighbours included).
4. s is consistent when |f b / z - f b / d_s| < disp_threshold, with f the reference's focal
   length and b = |C_r - C_s| the baseline (a disparity in pixels; d_s = 0 never passes).
5. A consistent s adds M_s^-1 (d_s (int(u), int(v), 1) - p4_s) (the source pixel truncated to
   integers, as fusibile) to the point sum and the source colour (bilinear at (u, v)) to the
   colour sum; the reference point and colour start both sums (the "+1" of the average).
6. p gives the point sum / (n + 1), colour int(sum / (n + 1)), when n >= num_consistent.
   Points with a coordinate exactly 0 are dropped (fusibile's copy_point_cloud_to_host).

Vectorised with NumPy: one reference view at a time, its valid pixels as arrays, the source
views in chunks (their projections in one matrix product). Memory: the depth maps and images
are read once into a memory-mapped scratch file (see :func:`fuse_dense_folder`), so the
resident set stays a few depth maps whatever the number of views.

Deviations from fusibile (docs/pointclouds.md): each view's own K (fusibile uses the first
view's K for every view) and the reference's own fx; pixels with depth 0 are skipped
(fusibile back-projects them to the camera centre, which is essentially never consistent);
exact bilinear weights (CUDA textures use 8-bit fractions); no normals (fusibile's fake
normals with normal_thresh 360 accept every view and are not written).
"""

import os
import tempfile
import time
from dataclasses import dataclass, field
from typing import List

import numpy as np

from cameras.errors import InputError
from mvsnet.pointcloud.views import DenseOutput

SOURCE_CHUNK = 8  # source views projected per matrix product


@dataclass
class FusedCloud:
    points: np.ndarray  # (N, 3) float32
    colors: np.ndarray  # (N, 3) uint8 RGB
    view_points: List[int] = field(default_factory=list)  # points contributed by each view
    seconds: float = 0.0


def _corners(u, v, width, height):
    """Flat indices of the 4 texels around (u, v) (u, v >= 0) and the bilinear weights,
    as a CUDA linear-filtered texture read at (u + 0.5, v + 0.5) with clamped edges."""
    x0 = u.astype(np.int32)
    y0 = v.astype(np.int32)
    ax = u - x0
    ay = v - y0
    x1 = np.minimum(x0 + 1, width - 1)
    y1 = np.minimum(y0 + 1, height - 1)
    r0 = y0 * width
    r1 = y1 * width
    idx = (r0 + x0, r0 + x1, r1 + x0, r1 + x1)
    bx = 1 - ax
    by = 1 - ay
    w = (bx * by, ax * by, bx * ay, ax * ay)
    return x0, y0, idx, w


def _interpolate(flat, idx, w, take=None):
    """Bilinear value of ``flat`` (H*W,) or (H*W, C) at the corners ``idx`` with weights ``w``
    (restricted to the entries ``take`` when given)."""
    if take is not None:
        idx = [i[take] for i in idx]
        w = [x[take] for x in w]
    if flat.ndim == 2:
        w = [x[:, None] for x in w]
    out = flat[idx[0]] * w[0]
    out += flat[idx[1]] * w[1]
    out += flat[idx[2]] * w[2]
    out += flat[idx[3]] * w[3]
    return out


def fuse_reference_numpy(r, depths, images, geos, disp_threshold=0.25, num_consistent=3,
                         chunk=SOURCE_CHUNK):
    """Fused points (M, 3) float32 and colours (M, 3) uint8 of reference view ``r``: the
    plain NumPy formulation (one source view at a time), the reference the fast
    :func:`fuse_reference` is tested against and the baseline of tools/benchmark_fusion.py.

    ``depths[i]`` (H, W) float32 (0 = no depth), ``images[i]`` (H, W, 3) uint8 RGB and
    ``geos[i]`` (:class:`~mvsnet.pointcloud.views.ViewGeometry`) for every view i; they may
    be memory-mapped: only the reference and one source map are read at a time."""
    depth = np.asarray(depths[r], dtype=np.float32)
    height, width = depth.shape
    ys, xs = np.nonzero(depth > 0)
    count_px = len(xs)
    if count_px == 0:
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint8)
    d = depth[ys, xs]
    g = geos[r]
    pix = np.stack([xs * d, ys * d, d]).astype(np.float64) - g.p4[:, None]
    X = (g.M_inv @ pix).astype(np.float32)  # (3, N)
    Xh = np.vstack([X, np.ones((1, count_px), np.float32)])
    sum_x = np.ascontiguousarray(X.T)
    sum_c = np.asarray(images[r])[ys, xs].astype(np.float32)
    n = np.zeros(count_px, np.int32)
    others = [s for s in range(len(geos)) if s != r]
    with np.errstate(divide="ignore", invalid="ignore"):
        for first in range(0, len(others), chunk):
            group = others[first:first + chunk]
            P = np.concatenate([geos[s].P for s in group]).astype(np.float32)
            proj = P @ Xh  # (3 * len(group), N)
            for k, s in enumerate(group):
                z = proj[3 * k + 2]
                u = proj[3 * k] / z
                v = proj[3 * k + 1] / z
                inside = np.flatnonzero((u >= 0) & (u < width) & (v >= 0) & (v < height))
                if len(inside) == 0:
                    continue
                u, v, z = u[inside], v[inside], z[inside]
                x0, y0, idx, w = _corners(u, v, width, height)
                src_depth = np.asarray(depths[s], dtype=np.float32).reshape(-1)
                ds = _interpolate(src_depth, idx, w)
                fb = np.float32(g.f * np.linalg.norm(g.center - geos[s].center))
                ok = np.flatnonzero(np.abs(fb / z - fb / ds) < disp_threshold)
                if len(ok) == 0:
                    continue
                gs = geos[s]
                dk = ds[ok]
                spix = np.stack([x0[ok] * dk, y0[ok] * dk, dk]) - gs.p4.astype(np.float32)[:, None]
                target = inside[ok]
                sum_x[target] += (gs.M_inv.astype(np.float32) @ spix).T
                src_image = np.asarray(images[s]).reshape(-1, 3)
                sum_c[target] += _interpolate(src_image, idx, w, ok)
                n[target] += 1
    return _average(sum_x, sum_c, n, n >= num_consistent)


_KERNELS = {}


def _kernel(height, width):
    """The XLA-compiled consistency test of one reference against a chunk of sources,
    for maps of height x width (compiled once per size and chunk length)."""
    key = (height, width)
    if key in _KERNELS:
        return _KERNELS[key]
    from mvsnet.quiet_tf import import_tensorflow

    tf = import_tensorflow()

    @tf.function(jit_compile=True, reduce_retracing=True)
    def chunk(X, ref_valid, src_depth, src_color, P, M_inv, p4, fb, active, threshold):
        # X (3, HW) reference points; src_depth (S, HW); src_color (S, 3, HW) uint8 planes;
        # P (S, 3, 4), M_inv (S, 3, 3), p4 (S, 3), fb (S,) f * baseline, active (S,) bool
        hw = tf.shape(X)[1]
        Xh = tf.concat([X, tf.ones([1, hw], tf.float32)], 0)
        proj = tf.einsum("sij,jn->sin", P, Xh)
        z = proj[:, 2]
        u = proj[:, 0] / z
        v = proj[:, 1] / z
        inside = ((u >= 0) & (u < width) & (v >= 0) & (v < height)
                  & active[:, None] & ref_valid[None, :])
        u = tf.where(inside, u, 0.0)
        v = tf.where(inside, v, 0.0)
        x0 = tf.cast(u, tf.int32)
        y0 = tf.cast(v, tf.int32)
        ax = u - tf.cast(x0, tf.float32)
        ay = v - tf.cast(y0, tf.float32)
        x1 = tf.minimum(x0 + 1, width - 1)
        y1 = tf.minimum(y0 + 1, height - 1)
        idx = [y0 * width + x0, y0 * width + x1, y1 * width + x0, y1 * width + x1]
        w = [(1 - ax) * (1 - ay), ax * (1 - ay), (1 - ax) * ay, ax * ay]
        offset = tf.range(tf.shape(src_depth)[0])[:, None] * hw  # flat gathers: faster in XLA
        idx = [i + offset for i in idx]
        ds = sum(tf.gather(tf.reshape(src_depth, [-1]), i) * wi for i, wi in zip(idx, w))
        f = fb[:, None]
        ok = inside & (tf.abs(f / z - f / ds) < threshold)
        spix = tf.stack([tf.cast(x0, tf.float32) * ds, tf.cast(y0, tf.float32) * ds, ds], 1)
        sX = tf.einsum("sij,sjn->sin", M_inv, spix - p4[:, :, None])
        sum_x = tf.reduce_sum(tf.where(ok[:, None, :], sX, 0.0), 0)
        planes = tf.reshape(tf.transpose(tf.cast(src_color, tf.float32), [1, 0, 2]), [3, -1])
        sum_c = tf.stack([
            tf.reduce_sum(tf.where(ok, sum(tf.gather(planes[c], i) * wi for i, wi in zip(idx, w)), 0.0), 0)
            for c in range(3)], 1)
        n = tf.reduce_sum(tf.cast(ok, tf.int32), 0)
        return sum_x, sum_c, n

    _KERNELS[key] = chunk
    return chunk


def chunk_length(height, width, views):
    """Source views per kernel call: about 2**20 pixels per call (bounded memory)."""
    return max(1, min(views - 1, (1 << 20) // (height * width)))


def fuse_reference(r, depths, images, geos, disp_threshold=0.25, num_consistent=3, chunk=None):
    """Fused points (M, 3) float32 and colours (M, 3) uint8 of reference view ``r``.

    ``depths[i]`` (H, W) float32 (0 = no depth), ``images[i]`` (H, W, 3) uint8 RGB and
    ``geos[i]`` (:class:`~mvsnet.pointcloud.views.ViewGeometry`) for every view i; they may
    be memory-mapped: only the reference and one chunk of source maps are read at a time.
    The same arithmetic as :func:`fuse_reference_numpy`, evaluated by an XLA-compiled
    TensorFlow kernel over (chunk of sources) x (pixels)."""
    depth = np.asarray(depths[r], dtype=np.float32)
    height, width = depth.shape
    views = len(geos)
    if views < 2 or not (depth > 0).any():
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint8)
    kernel = _kernel(height, width)
    s_len = chunk or chunk_length(height, width, views)
    g = geos[r]
    ys, xs = np.mgrid[0:height, 0:width].reshape(2, -1)
    d = depth.reshape(-1)
    valid = d > 0
    pix = np.stack([xs * d, ys * d, d]).astype(np.float64) - g.p4[:, None]
    X = (g.M_inv @ pix).astype(np.float32)  # (3, HW)
    sum_x = X.copy()
    sum_c = np.asarray(images[r]).reshape(-1, 3).astype(np.float32)
    n = np.zeros(height * width, np.int32)
    others = [s for s in range(views) if s != r]
    for first in range(0, len(others), s_len):
        group = others[first:first + s_len]
        pad = s_len - len(group)
        src = group + [group[0]] * pad
        P = np.stack([geos[s].P for s in src]).astype(np.float32)
        M_inv = np.stack([geos[s].M_inv for s in src]).astype(np.float32)
        p4 = np.stack([geos[s].p4 for s in src]).astype(np.float32)
        fb = np.array([g.f * np.linalg.norm(g.center - geos[s].center) for s in src], np.float32)
        active = np.arange(s_len) < len(group)
        src_depth = np.stack([np.asarray(depths[s], np.float32).reshape(-1) for s in src])
        src_color = np.stack([np.asarray(images[s]).reshape(-1, 3).T for s in src])
        cx, cc, cn = kernel(X, valid, src_depth, src_color, P, M_inv, p4, fb, active,
                            np.float32(disp_threshold))
        sum_x += cx.numpy()
        sum_c += cc.numpy()
        n += cn.numpy()
    return _average(sum_x.T, sum_c, n, valid & (n >= num_consistent))


def _average(sum_x, sum_c, n, keep):
    """Points sum / (n + 1) and colours int(sum / (n + 1)) of the kept entries, without
    points that have a coordinate exactly 0 (as fusibile)."""
    if not keep.any():
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint8)
    scale = (n[keep].astype(np.float32) + 1.0)[:, None]
    points = (sum_x[keep] / scale).astype(np.float32)
    colors = (sum_c[keep] / scale).astype(np.int32)
    nonzero = np.all(points != 0, axis=1)
    return points[nonzero], np.clip(colors[nonzero], 0, 255).astype(np.uint8)


def fuse_views(depths, images, geos, disp_threshold=0.25, num_consistent=3, names=None,
               log=None):
    """Run :func:`fuse_reference` for every view; progress through ``log`` (one line per view)."""
    start = time.time()
    points, colors, per_view = [], [], []
    for r in range(len(geos)):
        t = time.time()
        p, c = fuse_reference(r, depths, images, geos, disp_threshold, num_consistent)
        points.append(p)
        colors.append(c)
        per_view.append(len(p))
        if log is not None:
            log("view %d/%d (%s): %d points, %.2f s"
                % (r + 1, len(geos), names[r] if names else r, len(p), time.time() - t))
    cloud = FusedCloud(np.concatenate(points) if points else np.zeros((0, 3), np.float32),
                       np.concatenate(colors) if colors else np.zeros((0, 3), np.uint8),
                       per_view)
    cloud.seconds = time.time() - start
    return cloud


def load_scratch(out, prob_threshold, scratch_dir):
    """Read every view once into memory-mapped scratch arrays (an unlinked temporary file in
    ``scratch_dir``): (depths (V, H, W) float32 filtered by probability, images
    (V, H, W, 3) uint8, geometries). All depth maps must have the same size."""
    first = out.depth(out.names[0], prob_threshold)
    height, width = first.shape
    views = len(out.names)
    size = views * height * width
    handle = tempfile.TemporaryFile(dir=scratch_dir, prefix=".fusion-scratch-")
    handle.truncate(size * 7)
    depths = np.memmap(handle, np.float32, "r+", 0, (views, height, width))
    images = np.memmap(handle, np.uint8, "r+", size * 4, (views, height, width, 3))
    geos = []
    for i, name in enumerate(out.names):
        depth = first if i == 0 else out.depth(name, prob_threshold)
        if depth.shape != (height, width):
            raise InputError("depth map is %dx%d but %s's is %dx%d (fusion needs one size)"
                             % (depth.shape[1], depth.shape[0], out.names[0], width, height),
                             out.path(name, "_init.pfm"))
        depths[i] = depth
        images[i] = out.image(name, (height, width))
        geos.append(out.geometry(name))
    return handle, depths, images, geos


def fuse_dense_folder(dense_folder, prob_threshold=0.8, disp_threshold=0.25, num_consistent=3,
                      log=None):
    """fusibile-style fusion of ``dense_folder/depths_mvsnet``; returns a :class:`FusedCloud`.
    The scratch file lives in ``dense_folder/points_mvsnet/`` (created if needed)."""
    out = DenseOutput(dense_folder)
    point_folder = os.path.join(out.dense_folder, "points_mvsnet")
    os.makedirs(point_folder, exist_ok=True)
    start = time.time()
    handle, depths, images, geos = load_scratch(out, prob_threshold, point_folder)
    with handle:
        cloud = fuse_views(depths, images, geos, disp_threshold, num_consistent, out.names, log)
        del depths, images
    cloud.seconds = time.time() - start
    return cloud
