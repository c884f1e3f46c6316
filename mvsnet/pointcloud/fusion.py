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

Vectorised with NumPy (:func:`fuse_reference`): one reference view at a time, only its pixels
with a depth (in chunks), one source view at a time; each view's depth and colour are
interleaved in one texel table with repeated edges (:func:`texel_table`), so that a bilinear
read of both is 4 gathers. Reference views run in parallel threads (:func:`fuse_views`).
Memory: the texel tables are written once into a memory-mapped scratch file (see
:func:`fuse_dense_folder`), so the resident set does not grow with the number of views
(under 200 bytes per pixel of a depth map per thread). :func:`fuse_reference_numpy` is the
plain formulation the tests compare against.

Deviations from fusibile (docs/pointclouds.md): each view's own K (fusibile uses the first
view's K for every view) and the reference's own fx; pixels with depth 0 are skipped
(fusibile back-projects them to the camera centre, which is essentially never consistent);
exact bilinear weights (CUDA textures use 8-bit fractions); no normals (fusibile's fake
normals with normal_thresh 360 accept every view and are not written).
"""

import logging
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import List

import numpy as np

from cameras import layout
from cameras.errors import InputError
from mvsnet import progress
from mvsnet.pointcloud.views import DenseOutput

SOURCE_CHUNK = 8  # source views projected per matrix product (fuse_reference_numpy)
PIXEL_CHUNK = 1 << 17  # reference pixels per step of fuse_reference (bounds its workspace)
BLAS_BLOCK = 21840  # columns per small matrix product (3 * 4 * BLAS_BLOCK < 2**18: OpenBLAS
# computes it on the calling thread instead of waking its own threads)
# a view's depth and colour, one 8-byte texel (one gather reads both)
TEXEL = np.dtype([("depth", "<f4"), ("rgb", "u1", (3,)), ("pad", "u1")])


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


def texel_table(depth, image, out=None):
    """A view's depth map (H, W) and colour image (H, W, 3) uint8 as one (H + 1, W + 1)
    :data:`TEXEL` array with the last row and column repeated: the 4 texels of a bilinear
    read at the pixel (x0, y0) are then the flat entries i, i + 1, i + W + 1 and i + W + 2 of
    i = y0 (W + 1) + x0 (fusibile's clamped edges), one gather each for depth and colour."""
    height, width = depth.shape
    if out is None:
        out = np.empty((height + 1, width + 1), TEXEL)
    out["depth"][:height, :width] = depth
    out["rgb"][:height, :width] = image
    out["pad"] = 0
    out[height, :width] = out[height - 1, :width]
    out[:, width] = out[:, width - 1]
    return out


class _Workspace:
    """The arrays of :func:`_accumulate`'s steps for up to ``size`` pixels, allocated once per
    reference view: no allocation (and no page faults from the allocator returning memory to
    the system) per step."""

    def __init__(self, size):
        self.proj = np.empty((3, size), np.float32)
        (self.u, self.v, self.x0, self.y0, self.ax, self.ay, self.bx, self.by, self.ds,
         self.okf, self.acc, self.tmp) = np.empty((12, size), np.float32)
        self.w = np.empty((4, size), np.float32)
        self.inside, self.ok, self.mask = np.empty((3, size), bool)
        self.flat = np.empty(size, np.intp)
        self.texels = np.empty((4, size), TEXEL)


def _accumulate(Xh, P, M_inv, center, fb, corners, width, height, threshold, sum_x, sum_c, n,
                ws):
    """Test the reference points ``Xh`` (4, m) against one source view and add the consistent
    ones to ``sum_x`` (3, m), ``sum_c`` (3, m) and ``n`` (m,) in place. ``corners``: the
    source's flat texel table (:func:`texel_table`) and its views shifted by the 3 other
    corners; ``ws`` a :class:`_Workspace`. float32 throughout; the projection is the BLAS
    product of :func:`fuse_reference_numpy`."""
    m = Xh.shape[1]
    proj = ws.proj[:, :m]
    for a in range(0, m, BLAS_BLOCK):
        np.matmul(P, Xh[:, a:a + BLAS_BLOCK], out=proj[:, a:a + BLAS_BLOCK])
    z = proj[2]
    u, v, x0, y0 = ws.u[:m], ws.v[:m], ws.x0[:m], ws.y0[:m]
    ax, ay, bx, by = ws.ax[:m], ws.ay[:m], ws.bx[:m], ws.by[:m]
    ds, okf, acc, tmp = ws.ds[:m], ws.okf[:m], ws.acc[:m], ws.tmp[:m]
    w = ws.w[:, :m]
    inside, ok, mask, flat = ws.inside[:m], ws.ok[:m], ws.mask[:m], ws.flat[:m]
    np.divide(proj[0], z, out=u)
    np.divide(proj[1], z, out=v)
    np.greater_equal(u, 0, out=inside)
    inside &= np.less(u, width, out=mask)
    inside &= np.greater_equal(v, 0, out=mask)
    inside &= np.less(v, height, out=mask)
    count = np.count_nonzero(inside)
    if count == 0:
        return
    partial = count < m
    if partial:
        np.logical_not(inside, out=mask)
        np.copyto(u, 0, where=mask)
        np.copyto(v, 0, where=mask)
    np.trunc(u, out=x0)
    np.trunc(v, out=y0)
    np.subtract(u, x0, out=ax)
    np.subtract(v, y0, out=ay)
    np.subtract(1, ax, out=bx)
    np.subtract(1, ay, out=by)
    np.multiply(bx, by, out=w[0])
    np.multiply(ax, by, out=w[1])
    np.multiply(bx, ay, out=w[2])
    np.multiply(ax, ay, out=w[3])
    row = width + 1
    if (height + 1) * row <= 1 << 24:  # float32 integers are exact
        np.multiply(y0, np.float32(row), out=tmp)
        tmp += x0
        np.copyto(flat, tmp, casting="unsafe")
    else:
        flat[:] = (y0.astype(np.float64) * row + x0).astype(np.intp)
    texels = ws.texels[:, :m]
    for k in range(4):
        np.take(corners[k], flat, out=texels[k], mode="clip")  # every index is in range
    np.multiply(texels[0]["depth"], w[0], out=ds)
    for k in range(1, 4):
        ds += np.multiply(texels[k]["depth"], w[k], out=tmp)
    np.divide(fb, z, out=acc)
    acc -= np.divide(fb, ds, out=tmp)
    np.less(np.abs(acc, out=acc), threshold, out=ok)
    if partial:
        ok &= inside
    if not ok.any():
        return
    np.copyto(okf, ok)
    np.copyto(ds, 0, where=np.logical_not(ok, out=mask))  # no NaN or inf of a failed view
    # M_inv (ds (x0, y0, 1) - p4) = ds M_inv (x0, y0, 1) + C, and 0 where s is not consistent
    for i in range(3):
        np.multiply(x0, M_inv[i, 0], out=acc)
        acc += np.multiply(y0, M_inv[i, 1], out=tmp)
        acc += M_inv[i, 2]
        acc *= ds
        acc += np.multiply(okf, center[i], out=tmp)
        sum_x[i] += acc
    w *= okf
    for c in range(3):
        np.multiply(texels[0]["rgb"][:, c], w[0], out=acc)
        for k in range(1, 4):
            acc += np.multiply(texels[k]["rgb"][:, c], w[k], out=tmp)
        sum_c[c] += acc
    n += ok


def fuse_reference(r, depths, images, geos, disp_threshold=0.25, num_consistent=3, tables=None,
                   chunk=PIXEL_CHUNK):
    """Fused points (M, 3) float32 and colours (M, 3) uint8 of reference view ``r``.

    ``depths[i]`` (H, W) float32 (0 = no depth), ``images[i]`` (H, W, 3) uint8 RGB and
    ``geos[i]`` (:class:`~mvsnet.pointcloud.views.ViewGeometry`) for every view i; they may
    be memory-mapped. ``tables[i]``: view i's :func:`texel_table` (built from depths and
    images, one source at a time, when not given). The same arithmetic as
    :func:`fuse_reference_numpy`, reorganised for speed: only the reference's valid pixels,
    ``chunk`` of them at a time (in a workspace allocated once), one source at a time, each
    bilinear read of depth and colour one gather per corner from the texel table."""
    depth = np.asarray(depths[r], dtype=np.float32)
    height, width = depth.shape
    ys, xs = np.nonzero(depth > 0)
    count_px = len(xs)
    if count_px == 0 or len(geos) < 2:
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint8)
    d = depth[ys, xs]
    g = geos[r]
    Xh = np.ones((4, count_px), np.float32)
    for a in range(0, count_px, BLAS_BLOCK):
        b = a + BLAS_BLOCK
        pix = np.stack([xs[a:b] * d[a:b], ys[a:b] * d[a:b], d[a:b]]).astype(np.float64)
        Xh[:3, a:b] = g.M_inv @ (pix - g.p4[:, None])
    sum_x = Xh[:3].copy()
    sum_c = np.ascontiguousarray(np.asarray(images[r])[ys, xs].T, dtype=np.float32)
    n = np.zeros(count_px, np.int32)
    threshold = np.float32(disp_threshold)
    row = width + 1
    ws = _Workspace(min(chunk, count_px))
    with np.errstate(divide="ignore", invalid="ignore"):
        for s in range(len(geos)):
            if s == r:
                continue
            gs = geos[s]
            table = tables[s] if tables is not None else texel_table(depths[s], images[s])
            table = np.asarray(table).reshape(-1)
            corners = (table, table[1:], table[row:], table[row + 1:])
            P = gs.P.astype(np.float32)
            M_inv = gs.M_inv.astype(np.float32)
            center = gs.center.astype(np.float32)
            fb = np.float32(g.f * np.linalg.norm(g.center - gs.center))
            for a in range(0, count_px, chunk):
                b = min(count_px, a + chunk)
                _accumulate(Xh[:, a:b], P, M_inv, center, fb, corners, width, height, threshold,
                            sum_x[:, a:b], sum_c[:, a:b], n[a:b], ws)
    return _average(sum_x.T, sum_c.T, n, n >= num_consistent)


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


def worker_count():
    """Threads for :func:`fuse_views`: the CPUs this process may use (NumPy releases the GIL
    in the array operations), at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


def fuse_views(depths, images, geos, disp_threshold=0.25, num_consistent=3, names=None,
               log=None, tables=None, workers=None):
    """Run :func:`fuse_reference` for every view, ``workers`` reference views at a time in
    threads (default :func:`worker_count`); the points stay in view order. Progress through
    ``log`` (one line per view, in view order; with a bar and the time left on a terminal:
    :mod:`mvsnet.progress`). ``tables``: the views' texel tables
    (:func:`texel_table`), built here when not given."""
    start = time.time()
    if tables is None:
        tables = [texel_table(np.asarray(d, np.float32), i) for d, i in zip(depths, images)]
    workers = workers or worker_count()

    def one(r):
        t = time.time()
        p, c = fuse_reference(r, depths, images, geos, disp_threshold, num_consistent, tables)
        return p, c, time.time() - t

    points, colors, per_view = [], [], []
    with progress.Progress(len(geos), "fusion", unit="view", log=log) as bar, \
            ThreadPoolExecutor(max_workers=workers) as pool:
        for r, (p, c, seconds) in enumerate(pool.map(one, range(len(geos)))):
            points.append(p)
            colors.append(c)
            per_view.append(len(p))
            bar.update(line="view %d/%d (%s): %d points, %.2f s"
                       % (r + 1, len(geos), names[r] if names else r, len(p), seconds))
    cloud = FusedCloud(np.concatenate(points) if points else np.zeros((0, 3), np.float32),
                       np.concatenate(colors) if colors else np.zeros((0, 3), np.uint8),
                       per_view)
    cloud.seconds = time.time() - start
    return cloud


def load_scratch(out, prob_threshold, scratch_dir):
    """Read every view once into a memory-mapped scratch array (an unlinked temporary file in
    ``scratch_dir``): the views' texel tables (V, H + 1, W + 1) :data:`TEXEL`, depth filtered
    by probability (:func:`texel_table`). Returns (file, depths (V, H, W) float32, images
    (V, H, W, 3) uint8 (both views of the tables), geometries, tables). All depth maps must
    have the same size."""
    first = out.depth(out.names[0], prob_threshold)
    height, width = first.shape
    views = len(out.names)
    handle = tempfile.TemporaryFile(dir=scratch_dir, prefix=".fusion-scratch-")
    handle.truncate(views * (height + 1) * (width + 1) * TEXEL.itemsize)
    tables = np.memmap(handle, TEXEL, "r+", 0, (views, height + 1, width + 1))
    geos = []
    for i, name in enumerate(out.names):
        depth = first if i == 0 else out.depth(name, prob_threshold)
        if depth.shape != (height, width):
            raise InputError("depth map is %dx%d but %s's is %dx%d (fusion needs one size)"
                             % (depth.shape[1], depth.shape[0], out.names[0], width, height),
                             out.path(name, "init"))
        texel_table(depth, out.image(name, (height, width)), tables[i])
        geos.append(out.geometry(name))
    depths = tables["depth"][:, :height, :width]
    images = tables["rgb"][:, :height, :width]
    return handle, depths, images, geos, tables


def fuse_dense_folder(dense_folder, prob_threshold=0.8, disp_threshold=0.25, num_consistent=3,
                      log=None, workers=None, warn=logging.warning):
    """fusibile-style fusion of ``dense_folder/depths_mvsnet``; returns a :class:`FusedCloud`.
    The scratch file lives in ``dense_folder/points_mvsnet/`` (created if needed). ``warn``
    gets one line per map with non-finite pixels (those pixels have no depth)."""
    out = DenseOutput(dense_folder, warn)
    point_folder = layout.point_folder(out.dense_folder)
    os.makedirs(point_folder, exist_ok=True)
    start = time.time()
    handle, depths, images, geos, tables = load_scratch(out, prob_threshold, point_folder)
    with handle:
        cloud = fuse_views(depths, images, geos, disp_threshold, num_consistent, out.names, log,
                           tables, workers)
        del depths, images, tables
    cloud.seconds = time.time() - start
    return cloud
