#!/usr/bin/env python
"""Synthetic multi-view scenes with exact depth, for tests of the R-MVSNet port.

A scene is a few textured primitives (oriented boxes, spheres, finite planes) in front of
a textured back plane. Cameras are pinholes on an arc around the scene, MVSNet convention:
x_cam = R x_world + t, extrinsic = [[R, t], [0, 0, 0, 1]] (world to camera), pixel (u, v)
is the ray through K^-1 (u, v, 1) (integer coordinates are pixel centres, as in the
MVSNet homographies), depth is the camera z coordinate of the first hit (0 = no surface).
Everything is ray-cast analytically in float64 with numpy, so depth is exact up to
rounding; surfaces are Lambertian with view-independent shading, so photo-consistency holds.

Two layouts are written:
  dense  OUT   MVSNet test layout: images/%08d.jpg, cams/%08d_cam.txt, pair.txt,
               gt/%08d_depth.npy (float32), gt/%08d_depth.pfm and gt/points.ply (the
               ground-truth cloud: every view's surface pixels back-projected, float32)
  dtu    OUT   preprocessed DTU training layout (mvs_training/dtu): Cameras/pair.txt,
               Cameras/train/%08d_cam.txt (cameras of the 1/4-scale depth maps),
               Rectified/scan%d_train/rect_%03d_%d_r5000.png (view + 1, lighting 0..6),
               Depths/scan%d_train/depth_map_%04d.pfm

usage: python tools/synthetic.py dense OUT [--views 5] [--width 160] [--height 128] [--seed 0] ...
       python tools/synthetic.py dtu OUT [--scans 2,3] [--views 49] [--width 640] [--height 512] ...
Everything is deterministic given --seed (and the other options).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shutil
import sys
from typing import Optional

import numpy as np

from cameras.errors import InputError  # noqa: E402
from mvsnet.pfm import write_pfm  # noqa: E402  (byte-identical to the original write_pfm)
from mvsnet.pointcloud.ply import write_ply  # noqa: E402

EPS = 1e-9
DTU_DEPTH_MIN, DTU_DEPTH_MAX = 425.0, 937.0
# DTU mvs_training cameras (160x128 depth maps): fx, fy, cx, cy relative to the map size
DTU_INTRINSIC_REL = (361.54125 / 160.0, 360.3975 / 160.0, 82.900625 / 160.0, 66.383875 / 128.0)
# colmap2mvsnet view selection: piecewise Gaussian on the triangulation angle (degrees)
THETA0, SIGMA1, SIGMA2 = 5.0, 1.0, 10.0


# ----------------------------------------------------------------------------- textures

NOISE_PERIOD = 32  # lattice period of the value noise (cells)


def noise_table(seed):
    """Random lattice values (P, P, P) of the value noise, fixed by seed."""
    return np.random.default_rng([int(seed), 31337]).random((NOISE_PERIOD,) * 3)


def value_noise(p, table):
    """Smooth 3-D value noise in [0, 1) at points p (N, 3): unit lattice, periodic, smoothstep."""
    f = np.floor(p)
    i = np.mod(f.astype(np.int64), NOISE_PERIOD)
    j = np.mod(i + 1, NOISE_PERIOD)
    w = p - f
    w = w * w * (3.0 - 2.0 * w)
    wx, wy, wz = w[:, 0], w[:, 1], w[:, 2]
    ix, iy, iz = (i[:, 0], j[:, 0]), (i[:, 1], j[:, 1]), (i[:, 2], j[:, 2])
    out = np.zeros(len(p))
    for dx in (0, 1):
        ax = wx if dx else 1.0 - wx
        for dy in (0, 1):
            axy = ax * (wy if dy else 1.0 - wy)
            for dz in (0, 1):
                out += axy * (wz if dz else 1.0 - wz) * table[ix[dx], iy[dy], iz[dz]]
    return out


@dataclasses.dataclass
class Texture:
    """Procedural solid texture, evaluated in the object's local frame (world units)."""
    color0: np.ndarray          # (3,) RGB in [0, 1]
    color1: np.ndarray          # (3,)
    noise_scale: float          # size of a noise cell
    pattern: str                # 'checker' or 'stripes'
    pattern_scale: float        # checker cell / stripe period
    direction: np.ndarray       # (3,) unit stripe direction (local frame)
    offset: np.ndarray          # (3,) keeps pattern edges off the object's faces
    seed: int

    def __post_init__(self):
        self.table = noise_table(self.seed)

    def __call__(self, q):
        """RGB (N, 3) at local points q (N, 3)."""
        p = q / self.noise_scale + self.offset
        t = 0.65 * value_noise(p, self.table) + 0.35 * value_noise(2.03 * p + 0.5, self.table)
        g = q / self.pattern_scale + self.offset
        if self.pattern == "checker":
            pat = np.mod(np.floor(g).sum(axis=1), 2.0)
        else:
            pat = np.mod(np.floor(g @ self.direction), 2.0)
        base = self.color0 * (1.0 - t)[:, None] + self.color1 * t[:, None]
        return base * (0.6 + 0.4 * pat)[:, None]


# ----------------------------------------------------------------------------- primitives

@dataclasses.dataclass
class Plane:
    """Plane through `center` with orthonormal `axes` rows (u, v, normal); finite when `half`
    (half extents along u, v) is given. Two-sided."""
    center: np.ndarray
    axes: np.ndarray
    half: Optional[np.ndarray]
    texture: Texture

    def intersect(self, origin, dirs):
        n = self.axes[2]
        denom = dirs @ n
        num = float((self.center - origin) @ n)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = num / denom
        ok = np.isfinite(s) & (s > EPS)
        if self.half is not None:
            local = (origin + s[:, None] * dirs - self.center) @ self.axes[:2].T
            ok &= np.all(np.abs(local) <= self.half, axis=1)
        return np.where(ok, s, np.inf)

    def bound(self):
        return None if self.half is None else (self.center, float(np.linalg.norm(self.half)))

    def local(self, p):
        return (p - self.center) @ self.axes.T

    def normal(self, p):
        return np.broadcast_to(self.axes[2], p.shape)


@dataclasses.dataclass
class Sphere:
    center: np.ndarray
    radius: float
    axes: np.ndarray  # texture frame
    texture: Texture

    def intersect(self, origin, dirs):
        oc = origin - self.center
        a = np.einsum("ij,ij->i", dirs, dirs)
        b = dirs @ oc
        c = float(oc @ oc) - self.radius ** 2
        disc = b * b - a * c
        sq = np.sqrt(np.maximum(disc, 0.0))
        s1 = (-b - sq) / a
        s2 = (-b + sq) / a
        s = np.where(s1 > EPS, s1, np.where(s2 > EPS, s2, np.inf))
        return np.where(disc >= 0, s, np.inf)

    def bound(self):
        return self.center, float(self.radius)

    def local(self, p):
        return (p - self.center) @ self.axes.T

    def normal(self, p):
        return (p - self.center) / self.radius


@dataclasses.dataclass
class Box:
    """Oriented box: local coordinates are axes @ (p - center), |local| <= half."""
    center: np.ndarray
    axes: np.ndarray
    half: np.ndarray
    texture: Texture

    def intersect(self, origin, dirs):
        ol = self.axes @ (origin - self.center)
        dl = dirs @ self.axes.T
        dl = np.where(dl == 0.0, 1e-300, dl)
        t1 = (-self.half - ol) / dl
        t2 = (self.half - ol) / dl
        tnear = np.minimum(t1, t2).max(axis=1)
        tfar = np.maximum(t1, t2).min(axis=1)
        hit = tfar >= np.maximum(tnear, EPS)
        s = np.where(tnear > EPS, tnear, tfar)
        return np.where(hit, s, np.inf)

    def bound(self):
        return self.center, float(np.linalg.norm(self.half))

    def local(self, p):
        return (p - self.center) @ self.axes.T

    def normal(self, p):
        q = self.local(p) / self.half
        k = np.argmax(np.abs(q), axis=1)
        n = np.zeros_like(q)
        n[np.arange(len(q)), k] = np.sign(q[np.arange(len(q)), k])
        return n @ self.axes


@dataclasses.dataclass
class Scene:
    objects: list
    light: np.ndarray   # (3,) unit vector towards the light
    ambient: float = 0.4

    def intersect(self, origin, dirs):
        """Nearest hit parameter s (origin + s * dirs; inf = none) and object index (-1 = none)."""
        dirs = np.asarray(dirs, np.float64).reshape(-1, 3)
        origin = np.asarray(origin, np.float64)
        n = len(dirs)
        best = np.full(n, np.inf)
        idx = np.full(n, -1)
        dnorm = None
        for k, obj in enumerate(self.objects):
            b = obj.bound()
            if b is None:
                s = obj.intersect(origin, dirs)
                sel = None
            else:  # cull with the bounding sphere: all rays share the origin
                oc = b[0] - origin
                dist = float(np.linalg.norm(oc))
                if dist <= b[1] * 1.001:
                    sel = None
                    s = obj.intersect(origin, dirs)
                else:
                    if dnorm is None:
                        dnorm = np.sqrt(np.einsum("ij,ij->i", dirs, dirs))
                    cos_min = math.sqrt(max(0.0, 1.0 - (b[1] / dist) ** 2)) * (1.0 - 1e-9) - 1e-12
                    sel = np.flatnonzero(dirs @ oc >= cos_min * dist * dnorm)
                    s = obj.intersect(origin, dirs[sel])
            if sel is None:
                closer = s < best
                best = np.where(closer, s, best)
                idx = np.where(closer, k, idx)
            else:
                closer = s < best[sel]
                best[sel[closer]] = s[closer]
                idx[sel[closer]] = k
        return best, idx

    def shade(self, points, idx):
        """Linear RGB (N, 3) of hit points (black where idx < 0)."""
        rgb = np.zeros((len(points), 3))
        for k, obj in enumerate(self.objects):
            m = idx == k
            if not np.any(m):
                continue
            p = points[m]
            lam = np.abs(obj.normal(p) @ self.light)  # two-sided, view independent
            rgb[m] = obj.texture(obj.local(p)) * (self.ambient + (1.0 - self.ambient) * lam)[:, None]
        return rgb


def _rotation(rng, max_deg):
    """Random rotation by at most max_deg degrees about a random axis (Rodrigues)."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    ang = math.radians(max_deg) * rng.uniform(-1.0, 1.0)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(ang) * k + (1.0 - math.cos(ang)) * (k @ k)


def _texture(rng, size, seed):
    c0 = rng.uniform(0.1, 0.55, 3)
    c1 = rng.uniform(0.5, 1.0, 3)
    d = rng.normal(size=3)
    return Texture(color0=c0, color1=c1, noise_scale=size * rng.uniform(0.15, 0.3),
                   pattern=("checker", "stripes")[int(rng.integers(2))],
                   pattern_scale=size * rng.uniform(0.25, 0.5), direction=d / np.linalg.norm(d),
                   offset=rng.uniform(0.13, 0.87, 3), seed=seed)


def make_scene(seed=0, distance=650.0, half_width=300.0, half_height=240.0, num_objects=4,
               back_z=0.2, front_z=-0.22, back_plane=True, kinds=("box", "sphere", "plane")):
    """A random scene around the world origin, seen from cameras near (0, 0, -distance)
    looking along +z (x right, y down). The back plane crosses the z axis at back_z *
    distance (tilted by up to 8 degrees); objects lie within |x| < 0.6 half_width,
    |y| < 0.6 half_height and front_z * distance < z < back_z * distance (they may pierce
    the back plane)."""
    rng = np.random.default_rng([int(seed), 7919])
    objects = []
    size = min(half_width, half_height)
    if back_plane:
        axes = _rotation(rng, 8.0)
        objects.append(Plane(center=np.array([0.0, 0.0, back_z * distance]), axes=axes, half=None,
                             texture=_texture(rng, 2.0 * size, int(rng.integers(1 << 30)))))
    for _ in range(num_objects):
        kind = kinds[int(rng.integers(len(kinds)))]
        r = size * rng.uniform(0.15, 0.32)
        zlo, zhi = front_z * distance + r, back_z * distance - 0.5 * r
        c = np.array([rng.uniform(-0.6, 0.6) * half_width, rng.uniform(-0.6, 0.6) * half_height,
                      rng.uniform(zlo, zhi)])
        tex = _texture(rng, r, int(rng.integers(1 << 30)))
        if kind == "sphere":
            objects.append(Sphere(center=c, radius=r, axes=_rotation(rng, 180.0), texture=tex))
        elif kind == "box":
            half = r * rng.uniform(0.6, 1.0, 3)
            objects.append(Box(center=c, axes=_rotation(rng, 60.0), half=half, texture=tex))
        elif kind == "plane":
            objects.append(Plane(center=c, axes=_rotation(rng, 45.0), half=r * rng.uniform(0.8, 1.4, 2),
                                 texture=tex))
        else:
            raise InputError("unknown object kind %r" % kind)
    light = np.array([-0.4, -0.6, -0.7]) + 0.2 * rng.normal(size=3)
    return Scene(objects=objects, light=light / np.linalg.norm(light))


# ----------------------------------------------------------------------------- cameras

def look_at(center, target, down=(0.0, 1.0, 0.0)):
    """World-to-camera extrinsic (4, 4) of a camera at `center` whose z axis points at
    `target` and whose y axis (image down) is as close to `down` as possible."""
    center = np.asarray(center, np.float64)
    z = np.asarray(target, np.float64) - center
    z /= np.linalg.norm(z)
    x = np.cross(np.asarray(down, np.float64), z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    rot = np.stack([x, y, z])
    ext = np.eye(4)
    ext[:3, :3] = rot
    ext[:3, 3] = -rot @ center
    return ext


def intrinsic_matrix(fx, fy, cx, cy):
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def camera_center(ext):
    return -ext[:3, :3].T @ ext[:3, 3]


def orbit_cameras(azimuths_deg, elevations_deg, distance, seed=0, jitter=0.0):
    """Extrinsics of cameras at `distance` from the origin looking at it (up to a random
    target jitter of `jitter` world units); azimuth 0, elevation 0 is (0, 0, -distance),
    positive azimuth moves right (+x), positive elevation moves up (-y)."""
    rng = np.random.default_rng([int(seed), 104729])
    exts = []
    for az, el in zip(azimuths_deg, elevations_deg):
        a, e = math.radians(az), math.radians(el)
        c = distance * np.array([math.sin(a) * math.cos(e), -math.sin(e), -math.cos(a) * math.cos(e)])
        exts.append(look_at(c, rng.uniform(-jitter, jitter, 3)))
    return exts


# ----------------------------------------------------------------------------- rendering

def pixel_rays(intrinsic, extrinsic, u, v):
    """Origin (3,) and world directions (N, 3) of the rays through pixels (u, v), scaled so
    that the ray parameter equals the camera z (depth)."""
    u = np.asarray(u, np.float64).ravel()
    v = np.asarray(v, np.float64).ravel()
    d_cam = np.linalg.solve(intrinsic, np.stack([u, v, np.ones_like(u)]))  # (3, N), z = 1
    d_cam /= d_cam[2]
    rot = extrinsic[:3, :3]
    return camera_center(extrinsic), (rot.T @ d_cam).T


def cast(scene, intrinsic, extrinsic, u, v):
    """Exact depth (camera z; 0 where no surface), object index (-1 = none) and world
    points of the rays through pixel coordinates (u, v) (any real values)."""
    origin, dirs = pixel_rays(intrinsic, extrinsic, u, v)
    s, idx = scene.intersect(origin, dirs)
    hit = idx >= 0
    pts = origin + np.where(hit, s, 0.0)[:, None] * dirs
    return np.where(hit, s, 0.0), idx, pts


def render(scene, intrinsic, extrinsic, width, height, supersample=2):
    """Linear RGB image (H, W, 3) float64 (supersample^2 rays per pixel, box filter; None if
    supersample is 0) and the exact depth map (H, W) float64 at pixel centres (0 = no surface)."""
    vv, uu = np.mgrid[0:height, 0:width].astype(np.float64)
    depth, idx, pts = cast(scene, intrinsic, extrinsic, uu, vv)
    n = int(supersample)
    if n <= 0:  # depth only
        return None, depth.reshape(height, width)
    if n == 1:
        return scene.shade(pts, idx).reshape(height, width, 3), depth.reshape(height, width)
    rgb = np.zeros((height * width, 3))
    offs = (np.arange(n) + 0.5) / n - 0.5
    for dv in offs:
        for du in offs:
            _, idx, pts = cast(scene, intrinsic, extrinsic, uu + du, vv + dv)
            rgb += scene.shade(pts, idx)
    return (rgb / (n * n)).reshape(height, width, 3), depth.reshape(height, width)


def to_uint8(rgb, brightness=1.0):
    return np.clip(np.round(rgb * (255.0 * brightness)), 0, 255).astype(np.uint8)


def project(intrinsic, extrinsic, points):
    """Pixel coordinates (N, 2) and depth (N,) of world points (N, 3)."""
    pc = points @ extrinsic[:3, :3].T + extrinsic[:3, 3]
    pix = pc @ intrinsic.T
    return pix[:, :2] / pix[:, 2:3], pc[:, 2]


def backproject(intrinsic, extrinsic, u, v, depth):
    """World points (N, 3) of pixels (u, v) with camera depth."""
    origin, dirs = pixel_rays(intrinsic, extrinsic, u, v)
    return origin + np.asarray(depth, np.float64).ravel()[:, None] * dirs


def gt_points(views):
    """The ground-truth cloud of a dense scene: every pixel with a surface of every view,
    back-projected at its exact depth (float32 (N, 3); points seen by several views repeat)."""
    out = []
    for v in views:
        ys, xs = np.nonzero(v.depth > 0)
        out.append(backproject(v.intrinsic, v.extrinsic, xs.astype(np.float64), ys.astype(np.float64),
                               v.depth[ys, xs]))
    return np.concatenate(out).astype(np.float32)


# ----------------------------------------------------------------------------- view selection

def view_selection_scores(scene, intrinsics, extrinsics, depths, stride=4):
    """colmap2mvsnet-style scores (V, V): for the points of view i's depth map (every
    `stride`-th pixel) that view j sees unoccluded and inside its image, sum the piecewise
    Gaussian of the triangulation angle (theta0 5 deg, sigma 1 / 10 deg). Visibility is
    exact (a ray is cast from view j). Depth maps may be at any resolution as long as the
    intrinsics match them."""
    nv = len(extrinsics)
    score = np.zeros((nv, nv))
    centers = [camera_center(e) for e in extrinsics]
    for i in range(nv):
        d = depths[i][::stride, ::stride]
        vv, uu = np.mgrid[0:depths[i].shape[0]:stride, 0:depths[i].shape[1]:stride]
        m = d > 0
        pts = backproject(intrinsics[i], extrinsics[i], uu[m], vv[m], d[m])
        for j in range(nv):
            if j == i:
                continue
            h, w = depths[j].shape
            pix, z = project(intrinsics[j], extrinsics[j], pts)
            ok = (z > EPS) & (pix[:, 0] >= 0) & (pix[:, 0] <= w - 1) & (pix[:, 1] >= 0) & (pix[:, 1] <= h - 1)
            if not np.any(ok):
                continue
            p = pts[ok]
            s, _ = scene.intersect(centers[j], (p - centers[j]) / z[ok][:, None])
            vis = s >= z[ok] * (1.0 - 1e-6)
            p = p[vis]
            a = centers[i] - p
            b = centers[j] - p
            cosang = np.einsum("ij,ij->i", a, b) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
            theta = np.degrees(np.arccos(np.clip(cosang, -1.0, 1.0)))
            sig = np.where(theta <= THETA0, SIGMA1, SIGMA2)
            score[i, j] = float(np.sum(np.exp(-(theta - THETA0) ** 2 / (2.0 * sig ** 2))))
    return score


def select_views(score, num_src=10, fill=False):
    """[(ref, [(src, score), ...]), ...]: sources by decreasing score (ties: lower id first),
    at most num_src; with fill, the list is repeated cyclically up to exactly num_src."""
    pairs = []
    nv = len(score)
    for i in range(nv):
        others = [j for j in range(nv) if j != i]
        others.sort(key=lambda j: (-score[i, j], j))
        src = [(j, float(score[i, j])) for j in others[:num_src]]
        if fill and src:
            while len(src) < num_src:
                src.append(src[len(src) % len(others)])
        pairs.append((i, src))
    return pairs


# ----------------------------------------------------------------------------- file writers

def _fmt(x):
    return str(float(x))


def format_cam(extrinsic, intrinsic, depth_values):
    """Original cam.txt text: extrinsic 4x4, intrinsic 3x3, then the depth line
    (2 to 4 numbers: DEPTH_MIN DEPTH_INTERVAL [DEPTH_NUM [DEPTH_MAX]])."""
    lines = ["extrinsic"]
    lines += [" ".join(_fmt(x) for x in row) for row in np.asarray(extrinsic)]
    lines += ["", "intrinsic"]
    lines += [" ".join(_fmt(x) for x in row) for row in np.asarray(intrinsic)]
    vals = [_fmt(depth_values[0]), _fmt(depth_values[1])]
    if len(depth_values) > 2:
        vals.append(str(int(depth_values[2])))
    if len(depth_values) > 3:
        vals.append(_fmt(depth_values[3]))
    lines += ["", " ".join(vals)]
    return "\n".join(lines) + "\n"


def format_pair(pairs, score_format="%f"):
    """pair.txt text: count, then per view 'ref' and 'N src score src score ... ' lines."""
    out = ["%d" % len(pairs)]
    for ref, src in pairs:
        out.append("%d" % ref)
        out.append("%d " % len(src) + "".join(("%d " + score_format + " ") % (j, s) for j, s in src))
    return "\n".join(out) + "\n"


def _write_text(path, text):
    with open(path, "w") as f:
        f.write(text)


def _write_image(path, rgb_uint8, jpeg_quality=95):
    import cv2
    bgr = np.ascontiguousarray(rgb_uint8[:, :, ::-1])
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if path.endswith(".jpg") else []
    if not cv2.imwrite(path, bgr, params):
        raise InputError("cannot write image", path)


def _prepare_out(out, owned, overwrite):
    """Refuse a non-empty OUT unless overwrite; with overwrite remove only `owned` entries."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError("exists and is not a folder", out)
    if os.path.isdir(out) and os.listdir(out):
        if not overwrite:
            raise InputError("folder exists and is not empty (use --overwrite)", out)
        for name in owned:
            p = os.path.join(out, name)
            if os.path.isdir(p):
                shutil.rmtree(p)
            elif os.path.exists(p):
                os.remove(p)
    os.makedirs(out, exist_ok=True)


# ----------------------------------------------------------------------------- dense folder

@dataclasses.dataclass
class View:
    intrinsic: np.ndarray  # (3, 3)
    extrinsic: np.ndarray  # (4, 4)
    image: Optional[np.ndarray]  # (H, W, 3) uint8 RGB (None when supersample is 0)
    depth: np.ndarray      # (H, W) float64, 0 = no surface


def dense_scene(views=5, width=160, height=128, seed=0, arc_deg=30.0, elevation_deg=4.0,
                distance=650.0, focal=None, num_objects=4, back_plane=True, supersample=2):
    """Scene, and a list of View for `views` cameras evenly on a horizontal arc of
    `arc_deg` degrees (elevation varying by +-elevation_deg) at `distance` from the scene
    centre. Focal length defaults to 0.9 * width (fy slightly different, principal point
    slightly off-centre, like real calibrations)."""
    if views < 2:
        raise InputError("views: need at least 2 views, got %d" % views)
    if width < 8 or height < 8:
        raise InputError("size: image must be at least 8x8, got %dx%d" % (width, height))
    f = 0.9 * width if focal is None else float(focal)
    k = np.round(intrinsic_matrix(f, f * 0.997, 0.518 * width, 0.512 * height), 6)
    az = np.linspace(-arc_deg / 2.0, arc_deg / 2.0, views)
    el = elevation_deg * np.sin(np.linspace(0.0, 2.0 * np.pi, views, endpoint=False) + 0.5)
    exts = orbit_cameras(az, el, distance, seed, jitter=0.01 * distance)
    half_w = distance * width / (2.0 * f)
    half_h = distance * height / (2.0 * f * 0.997)
    scene = make_scene(seed, distance, half_w, half_h, num_objects, back_plane=back_plane)
    out = []
    for e in exts:
        rgb, depth = render(scene, k, e, width, height, supersample)
        out.append(View(k, e, None if rgb is None else to_uint8(rgb), depth))
    return scene, out


def depth_values(depth, depth_line=2, max_d=192, interval_scale=1.0, margin=0.05, depth_range=None):
    """The cam depth line of a view: DEPTH_MIN DEPTH_INTERVAL [DEPTH_NUM [DEPTH_MAX]] with
    [min, max] = the ground-truth range widened by `margin` (or `depth_range`) and
    interval = (max - min) / (max_d - 1) / interval_scale (as colmap2mvsnet)."""
    if depth_range is None:
        v = depth[depth > 0]
        if v.size == 0:
            raise InputError("depth: a view sees no surface; cannot choose a depth range")
        dmin, dmax = float(v.min()) * (1.0 - margin), float(v.max()) * (1.0 + margin)
    else:
        dmin, dmax = map(float, depth_range)
    dmin, dmax = round(dmin, 6), round(dmax, 6)
    interval = round((dmax - dmin) / (max_d - 1) / interval_scale, 6)
    return [dmin, interval, max_d, dmax][:depth_line]


def write_dense(out, views=5, width=160, height=128, seed=0, depth_line=2, max_d=192,
                interval_scale=1.0, margin=0.05, depth_range=None, num_src=10, jpeg_quality=95,
                overwrite=False, **scene_kw):
    """Write a dense folder (MVSNet test layout + gt/) to `out`; return a summary dict."""
    if depth_line not in (2, 3, 4):
        raise InputError("depth_line: must be 2, 3 or 4, got %r" % depth_line)
    if max_d < 2:
        raise InputError("max_d: must be at least 2, got %d" % max_d)
    if num_src < 1:
        raise InputError("num_src: must be at least 1, got %d" % num_src)
    scene, vs = dense_scene(views, width, height, seed, **scene_kw)
    score = view_selection_scores(scene, [v.intrinsic for v in vs], [v.extrinsic for v in vs],
                                  [v.depth for v in vs], stride=max(1, min(width, height) // 32))
    pairs = select_views(score, num_src)
    _prepare_out(out, ("images", "cams", "gt", "pair.txt", "synthetic.json"), overwrite)
    for sub in ("images", "cams", "gt"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    for i, v in enumerate(vs):
        _write_image(os.path.join(out, "images", "%08d.jpg" % i), v.image, jpeg_quality)
        dv = depth_values(v.depth, depth_line, max_d, interval_scale, margin, depth_range)
        _write_text(os.path.join(out, "cams", "%08d_cam.txt" % i), format_cam(v.extrinsic, v.intrinsic, dv))
        d32 = v.depth.astype(np.float32)
        np.save(os.path.join(out, "gt", "%08d_depth.npy" % i), d32)
        write_pfm(os.path.join(out, "gt", "%08d_depth.pfm" % i), d32)
    write_ply(os.path.join(out, "gt", "points.ply"), gt_points(vs))
    _write_text(os.path.join(out, "pair.txt"), format_pair(pairs))
    info = dict(layout="dense", views=views, width=width, height=height, seed=seed, depth_line=depth_line,
                max_d=max_d, interval_scale=interval_scale, margin=margin,
                depth_range=None if depth_range is None else list(map(float, depth_range)),
                num_src=num_src, jpeg_quality=jpeg_quality, scene=dict(scene_kw))
    _write_text(os.path.join(out, "synthetic.json"), json.dumps(info, indent=1, sort_keys=True) + "\n")
    return info


# ----------------------------------------------------------------------------- DTU training layout

DTU_BRIGHTNESS = (0.55, 0.68, 0.8, 0.9, 1.0, 1.1, 1.2)  # lighting 0..6


def dtu_cameras(views=49, width=640, height=512, distance=620.0, azimuth_deg=28.0,
                elevation_deg=(2.0, 22.0), seed=0):
    """Shared cameras of the DTU layout: intrinsics of the 1/4-scale depth maps
    (width/4 x height/4, DTU-like focal length and principal point), extrinsics on rows of an
    orbit (azimuth +-azimuth_deg / 2, elevation in elevation_deg), serpentine order."""
    if width % 4 or height % 4:
        raise InputError("size: width and height must be multiples of 4, got %dx%d" % (width, height))
    wq, hq = width // 4, height // 4
    fx, fy, cx, cy = DTU_INTRINSIC_REL
    k = np.round(intrinsic_matrix(fx * wq, fy * wq, cx * wq, cy * hq), 6)
    cols = int(math.ceil(math.sqrt(views)))
    rows = int(math.ceil(views / cols))
    az_all = np.linspace(-azimuth_deg / 2.0, azimuth_deg / 2.0, cols) if cols > 1 else np.zeros(1)
    el_all = np.linspace(elevation_deg[0], elevation_deg[1], rows) if rows > 1 else np.zeros(1) + elevation_deg[0]
    az, el = [], []
    for r in range(rows):
        for c in range(cols):
            az.append(az_all[c if r % 2 == 0 else cols - 1 - c])
            el.append(el_all[r])
    exts = orbit_cameras(az[:views], el[:views], distance, seed, jitter=0.01 * distance)
    return k, exts


def dtu_scan_scene(scan, seed=0, width=640, height=512, distance=620.0, num_objects=5):
    """Scene of one scan (differs per scan id, fixed by seed), sized to the central view."""
    wq = width // 4
    fx, fy = DTU_INTRINSIC_REL[0] * wq, DTU_INTRINSIC_REL[1] * wq
    half_w = distance * (width / 4.0) / (2.0 * fx)
    half_h = distance * (height / 4.0) / (2.0 * fy)
    return make_scene(int(seed) * 100003 + int(scan), distance, half_w, half_h, num_objects,
                      back_z=0.16, front_z=-0.2)


def write_dtu(out, scans=(2, 3), views=49, width=640, height=512, seed=0, supersample=1,
              overwrite=False, num_objects=5):
    """Write the preprocessed DTU training layout to `out`; return a summary dict.
    Depth is guaranteed within (425, 937) (checked)."""
    if views < 2:
        raise InputError("views: need at least 2 views, got %d" % views)
    if not scans:
        raise InputError("scans: need at least one scan id")
    if width < 32 or height < 32:
        raise InputError("size: image must be at least 32x32, got %dx%d" % (width, height))
    k_q, exts = dtu_cameras(views, width, height, seed=seed)
    k_full = k_q.copy()
    k_full[:2] *= 4.0  # MVSNet convention: the 1/4 map camera is the image camera with K[:2] / 4
    wq, hq = width // 4, height // 4
    rendered = {}
    for scan in scans:
        scene = dtu_scan_scene(scan, seed, width, height, num_objects=num_objects)
        imgs, depths = [], []
        for e in exts:
            rgb, _ = render(scene, k_full, e, width, height, supersample)
            _, depth = render(scene, k_q, e, wq, hq, supersample=0)
            v = depth[depth > 0]
            if v.size and (v.min() <= DTU_DEPTH_MIN or v.max() >= DTU_DEPTH_MAX):
                raise InputError("scan%d: depth %.1f..%.1f leaves the DTU range (425, 937); try another seed"
                                 % (scan, v.min(), v.max()))
            imgs.append(rgb)
            depths.append(depth)
        rendered[scan] = (scene, imgs, depths)
    first = rendered[scans[0]]
    score = view_selection_scores(first[0], [k_q] * views, exts, first[2], stride=max(1, min(wq, hq) // 32))
    pairs = select_views(score, 10, fill=True)
    _prepare_out(out, ("Cameras", "Rectified", "Depths", "synthetic.json"), overwrite)
    os.makedirs(os.path.join(out, "Cameras", "train"), exist_ok=True)
    _write_text(os.path.join(out, "Cameras", "pair.txt"), format_pair(pairs, "%g"))
    for i, e in enumerate(exts):
        _write_text(os.path.join(out, "Cameras", "train", "%08d_cam.txt" % i),
                    format_cam(e, k_q, [DTU_DEPTH_MIN, 2.5]))
    for scan in scans:
        _, imgs, depths = rendered[scan]
        img_dir = os.path.join(out, "Rectified", "scan%d_train" % scan)
        dep_dir = os.path.join(out, "Depths", "scan%d_train" % scan)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(dep_dir, exist_ok=True)
        for i in range(views):
            for light, b in enumerate(DTU_BRIGHTNESS):
                _write_image(os.path.join(img_dir, "rect_%03d_%d_r5000.png" % (i + 1, light)), to_uint8(imgs[i], b))
            write_pfm(os.path.join(dep_dir, "depth_map_%04d.pfm" % i), depths[i].astype(np.float32))
    info = dict(layout="dtu", scans=list(map(int, scans)), views=views, width=width, height=height,
                seed=seed, supersample=supersample, num_objects=num_objects)
    _write_text(os.path.join(out, "synthetic.json"), json.dumps(info, indent=1, sort_keys=True) + "\n")
    return info


# ----------------------------------------------------------------------------- CLI

def _int_list(text):
    try:
        vals = [int(x) for x in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError("expected comma-separated integers, got %r" % text)
    if not vals:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return vals


def _float_pair(text):
    try:
        vals = [float(x) for x in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError("expected MIN,MAX, got %r" % text)
    if len(vals) != 2 or not 0 < vals[0] < vals[1]:
        raise argparse.ArgumentTypeError("expected 0 < MIN < MAX, got %r" % text)
    return vals


def build_parser():
    ap = argparse.ArgumentParser(prog="synthetic.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="layout", required=True)
    d = sub.add_parser("dense", help="MVSNet test layout (images/, cams/, pair.txt) plus gt/ depth")
    d.add_argument("out")
    d.add_argument("--views", type=int, default=5)
    d.add_argument("--width", type=int, default=160)
    d.add_argument("--height", type=int, default=128)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--depth_line", type=int, default=2, choices=(2, 3, 4),
                   help="numbers on the cam depth line: 2 = DEPTH_MIN DEPTH_INTERVAL, "
                        "3 = + DEPTH_NUM, 4 = + DEPTH_MAX")
    d.add_argument("--max_d", type=int, default=192, help="DEPTH_NUM used to derive DEPTH_INTERVAL")
    d.add_argument("--interval_scale", type=float, default=1.0,
                   help="DEPTH_INTERVAL = (max - min) / (max_d - 1) / interval_scale")
    d.add_argument("--margin", type=float, default=0.05, help="relative widening of the gt depth range")
    d.add_argument("--depth_range", type=_float_pair, default=None, help="MIN,MAX for every view")
    d.add_argument("--num_src", type=int, default=10, help="at most this many sources per view")
    d.add_argument("--arc", type=float, default=30.0, help="arc of camera azimuths (degrees)")
    d.add_argument("--elevation", type=float, default=4.0, help="elevation amplitude (degrees)")
    d.add_argument("--distance", type=float, default=650.0, help="camera distance to the scene centre")
    d.add_argument("--focal", type=float, default=None, help="focal length in pixels (default 0.9*width)")
    d.add_argument("--objects", type=int, default=4, help="number of objects before the back plane")
    d.add_argument("--no_back_plane", action="store_true", help="no back plane: background depth 0")
    d.add_argument("--supersample", type=int, default=2, help="rays per pixel per axis for the images")
    d.add_argument("--jpeg_quality", type=int, default=95)
    d.add_argument("--overwrite", action="store_true",
                   help="write into a non-empty OUT (replaces images/, cams/, gt/, pair.txt)")
    t = sub.add_parser("dtu", help="preprocessed DTU training layout (Cameras/, Rectified/, Depths/)")
    t.add_argument("out")
    t.add_argument("--scans", type=_int_list, default=[2, 3], help="scan ids, e.g. 2,3")
    t.add_argument("--views", type=int, default=49)
    t.add_argument("--width", type=int, default=640)
    t.add_argument("--height", type=int, default=512)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--objects", type=int, default=5)
    t.add_argument("--supersample", type=int, default=1, help="rays per pixel per axis for the images")
    t.add_argument("--overwrite", action="store_true",
                   help="write into a non-empty OUT (replaces Cameras/, Rectified/, Depths/)")
    return ap


def main(argv=None):
    a = build_parser().parse_args(argv)
    try:
        if a.layout == "dense":
            info = write_dense(a.out, views=a.views, width=a.width, height=a.height, seed=a.seed,
                               depth_line=a.depth_line, max_d=a.max_d, interval_scale=a.interval_scale,
                               margin=a.margin, depth_range=a.depth_range, num_src=a.num_src,
                               jpeg_quality=a.jpeg_quality, overwrite=a.overwrite, arc_deg=a.arc,
                               elevation_deg=a.elevation, distance=a.distance, focal=a.focal,
                               num_objects=a.objects, back_plane=not a.no_back_plane,
                               supersample=a.supersample)
        else:
            info = write_dtu(a.out, scans=a.scans, views=a.views, width=a.width, height=a.height,
                             seed=a.seed, supersample=a.supersample, overwrite=a.overwrite,
                             num_objects=a.objects)
    except InputError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    print("wrote %s (%s, %d views)" % (a.out, info["layout"], info["views"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
