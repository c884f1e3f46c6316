"""Ray-cast scenes with exact depth: procedural textures, planes, spheres, boxes.

A scene (:func:`make_scene`) is a few textured primitives (oriented boxes, spheres, finite
planes) in front of a textured back plane, in the world frame of :mod:`tools.synthetic.cameras`
(x right, y down, the cameras near z = -distance looking along +z). Rays are intersected
analytically in float64, so depth is exact up to rounding; surfaces are Lambertian with
view-independent shading (``|n . light|``, two-sided), so photo-consistency holds exactly.
Everything is deterministic given the seeds.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Optional

import numpy as np

from cameras.errors import InputError
from tools.synthetic.cameras import pixel_rays

EPS = 1e-9  # smallest ray parameter counted as a hit


# ----------------------------------------------------------------------------- textures

NOISE_PERIOD = 32  # lattice period of the value noise (cells)


def noise_table(seed):
    """Lattice values of the value noise.

    Args:
        seed: integer seed.

    Returns:
        (P, P, P) float64 in [0, 1), P = :data:`NOISE_PERIOD`; the same for the same seed.
    """
    return np.random.default_rng([int(seed), 31337]).random((NOISE_PERIOD,) * 3)


def value_noise(p, table):
    """Smooth 3-D value noise: trilinear interpolation of a periodic unit lattice with
    smoothstep weights.

    Args:
        p: points (N, 3) in lattice units.
        table: lattice values (P, P, P) from :func:`noise_table`.

    Returns:
        noise values (N,) in [0, 1).
    """
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
        """Colour at points of the object.

        Args:
            q: points (N, 3) in the object's local frame (world units).

        Returns:
            linear RGB (N, 3) float64 in [0, 1].
        """
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
    """Plane through ``center`` (3,) with orthonormal ``axes`` rows (u, v, normal) (3, 3);
    a rectangle when ``half`` (half extents along u, v, (2,)) is given, infinite when None.
    Two-sided. All in the world frame; the local frame is ``axes @ (p - center)``.

    Every primitive has ``intersect(origin (3,), dirs (N, 3)) -> s (N,)`` (smallest ray
    parameter > EPS of ``origin + s * dirs`` on the surface, inf = miss), ``bound()``
    (bounding sphere (centre, radius) or None), ``local(p (N, 3)) -> (N, 3)`` (the texture
    frame) and ``normal(p (N, 3)) -> (N, 3)`` (unit normals, world frame)."""
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
    """Sphere of ``radius`` around ``center`` (3,); ``axes`` (3, 3) rotates the texture frame.
    Methods as :class:`Plane`; rays starting inside hit the far side."""
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
    """Oriented box: local coordinates ``axes @ (p - center)`` with ``|local| <= half`` (3,).
    Methods as :class:`Plane` (slab test)."""
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
    """Primitives (:class:`Plane`, :class:`Sphere`, :class:`Box`), a unit direction towards
    the light (3,) (world frame) and the ambient share of the shading."""
    objects: list
    light: np.ndarray   # (3,) unit vector towards the light
    ambient: float = 0.4

    def intersect(self, origin, dirs):
        """Nearest surface along rays from one origin.

        Args:
            origin: common ray origin (3,), world frame.
            dirs: ray directions (N, 3) (any length; reshaped to (-1, 3)).

        Returns:
            (s, idx): the ray parameter (N,) of the nearest hit (``origin + s * dirs``; inf
            where none) and the index of the object hit (N,) (-1 where none).
        """
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
        """Lambertian shading ``texture * (ambient + (1 - ambient) |n . light|)``.

        Args:
            points: hit points (N, 3), world frame.
            idx: object index of each point (N,) (-1 = no surface).

        Returns:
            linear RGB (N, 3) float64 (black where idx < 0).
        """
        rgb = np.zeros((len(points), 3))
        for k, obj in enumerate(self.objects):
            m = idx == k
            if not np.any(m):
                continue
            p = points[m]
            lam = np.abs(obj.normal(p) @ self.light)  # two-sided, view independent
            rgb[m] = obj.texture(obj.local(p)) * (self.ambient + (1.0 - self.ambient) * lam)[:, None]
        return rgb


def random_rotation(rng, max_deg):
    """Random rotation by at most ``max_deg`` degrees about a random axis (Rodrigues).

    Args:
        rng: numpy Generator (consumed: 3 normals, 1 uniform).
        max_deg: largest rotation angle (degrees).

    Returns:
        rotation matrix (3, 3).
    """
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    ang = math.radians(max_deg) * rng.uniform(-1.0, 1.0)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(ang) * k + (1.0 - math.cos(ang)) * (k @ k)


def random_texture(rng, size, seed):
    """Random :class:`Texture` for an object of about ``size`` world units.

    Args:
        rng: numpy Generator drawing colours, scales, pattern and offset.
        size: object size (world units); noise cells and pattern period scale with it.
        seed: seed of the texture's noise table.

    Returns:
        a Texture.
    """
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
    looking along +z (x right, y down).

    The back plane crosses the z axis at ``back_z * distance`` (tilted by up to 8 degrees);
    objects lie within ``|x| < 0.6 half_width``, ``|y| < 0.6 half_height`` and
    ``front_z * distance < z < back_z * distance`` (they may pierce the back plane).

    Args:
        seed: fixes the scene completely.
        distance: distance of the cameras from the origin (world units).
        half_width, half_height: half size of the field of view at the origin.
        num_objects: number of objects in front of the back plane.
        back_z, front_z: z range of the scene, relative to ``distance``.
        back_plane: add the infinite textured back plane (else background rays miss).
        kinds: object kinds drawn from: 'box', 'sphere', 'plane'.

    Returns:
        a :class:`Scene`.

    Raises:
        InputError: an unknown kind.
    """
    rng = np.random.default_rng([int(seed), 7919])
    objects = []
    size = min(half_width, half_height)
    if back_plane:
        axes = random_rotation(rng, 8.0)
        objects.append(Plane(center=np.array([0.0, 0.0, back_z * distance]), axes=axes, half=None,
                             texture=random_texture(rng, 2.0 * size, int(rng.integers(1 << 30)))))
    for _ in range(num_objects):
        kind = kinds[int(rng.integers(len(kinds)))]
        r = size * rng.uniform(0.15, 0.32)
        zlo, zhi = front_z * distance + r, back_z * distance - 0.5 * r
        c = np.array([rng.uniform(-0.6, 0.6) * half_width, rng.uniform(-0.6, 0.6) * half_height,
                      rng.uniform(zlo, zhi)])
        tex = random_texture(rng, r, int(rng.integers(1 << 30)))
        if kind == "sphere":
            objects.append(Sphere(center=c, radius=r, axes=random_rotation(rng, 180.0), texture=tex))
        elif kind == "box":
            half = r * rng.uniform(0.6, 1.0, 3)
            objects.append(Box(center=c, axes=random_rotation(rng, 60.0), half=half, texture=tex))
        elif kind == "plane":
            objects.append(Plane(center=c, axes=random_rotation(rng, 45.0), half=r * rng.uniform(0.8, 1.4, 2),
                                 texture=tex))
        else:
            raise InputError("unknown object kind %r" % kind)
    light = np.array([-0.4, -0.6, -0.7]) + 0.2 * rng.normal(size=3)
    return Scene(objects=objects, light=light / np.linalg.norm(light))


# ----------------------------------------------------------------------------- rendering

def cast(scene, intrinsic, extrinsic, u, v):
    """Cast the rays of pixels into a scene.

    Args:
        scene: a :class:`Scene`.
        intrinsic: K (3, 3).
        extrinsic: world-to-camera (4, 4), ``X_cam = R X + t``.
        u, v: pixel coordinates, N elements each (any real values, pixel centres at
            integers; flattened).

    Returns:
        (depth, idx, points): exact depth (N,) (camera z of the first surface, 0 where
        none), object index (N,) (-1 where none) and the hit points (N, 3) in the world
        frame (the camera centre where none).
    """
    origin, dirs = pixel_rays(intrinsic, extrinsic, u, v)
    s, idx = scene.intersect(origin, dirs)
    hit = idx >= 0
    pts = origin + np.where(hit, s, 0.0)[:, None] * dirs
    return np.where(hit, s, 0.0), idx, pts


def render(scene, intrinsic, extrinsic, width, height, supersample=2):
    """Render an image and its exact depth map.

    Args:
        scene: a :class:`Scene`.
        intrinsic: K (3, 3) of the (height, width) image.
        extrinsic: world-to-camera (4, 4).
        width, height: image size W, H in pixels.
        supersample: n rays per pixel per axis for the colours (n^2, box filter, at offsets
            ``(k + 0.5) / n - 0.5``); 0 = depth only.

    Returns:
        (rgb, depth): linear RGB (H, W, 3) float64 in [0, 1] (None when supersample is 0)
        and depth (H, W) float64 at the pixel centres (camera z, 0 = no surface).
    """
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
    """Quantise linear RGB to 8 bits (no gamma): ``clip(round(rgb * 255 * brightness))``.

    Args:
        rgb: (..., 3) float in [0, 1].
        brightness: scale applied before rounding.

    Returns:
        uint8 array of the same shape.
    """
    return np.clip(np.round(rgb * (255.0 * brightness)), 0, 255).astype(np.uint8)
