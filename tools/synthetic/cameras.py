"""Pinhole cameras of the synthetic scenes: look-at poses, orbits, DTU-like rigs, projection.

Conventions (those of MVSNet's cam files):

- world frame: the scene lies around the origin; the default cameras sit near
  (0, 0, -distance) looking along +z, x to the right, y down;
- extrinsic: the (4, 4) world-to-camera matrix ``[[R, t], [0, 0, 0, 1]]``, so a world point
  X has camera coordinates ``X_cam = R X + t`` and the camera centre is ``-R^T t``;
- intrinsic: the (3, 3) matrix K; the pixel of X_cam is ``x = K X_cam`` divided by its third
  coordinate, i.e. ``x ~ K (R X + t)``;
- pixel centres are at integer coordinates (u, v) (u = column, v = row), as in the MVSNet
  homographies: the ray of pixel (u, v) is ``K^-1 (u, v, 1)``;
- depth is the camera z coordinate ``(R X + t)_z``, not the distance along the ray.

Everything is float64 numpy.
"""
import math

import numpy as np

from cameras.errors import InputError

# DTU mvs_training cameras (160x128 depth maps): fx, fy, cx, cy relative to the map size
DTU_INTRINSIC_REL = (361.54125 / 160.0, 360.3975 / 160.0, 82.900625 / 160.0, 66.383875 / 128.0)


def look_at(center, target, down=(0.0, 1.0, 0.0)):
    """World-to-camera extrinsic of a camera at ``center`` looking at ``target``.

    The camera z axis points from ``center`` to ``target``; its y axis (image down) is the
    direction closest to ``down`` that is orthogonal to z; x = y cross z (image right).

    Args:
        center: camera centre in the world frame, (3,).
        target: point the optical axis goes through, world frame, (3,).
        down: world direction that should appear downwards in the image, (3,); must not
            be parallel to ``target - center``.

    Returns:
        extrinsic (4, 4) float64, world to camera: ``X_cam = E[:3, :3] X + E[:3, 3]``.
    """
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
    """Pinhole intrinsics without skew.

    Args:
        fx, fy: focal lengths in pixels.
        cx, cy: principal point in pixels (pixel centres at integer coordinates).

    Returns:
        K (3, 3) float64 ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]``.
    """
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def camera_center(ext):
    """Camera centre of a world-to-camera extrinsic.

    Args:
        ext: extrinsic (4, 4) (or (3, 4)), ``X_cam = R X + t``.

    Returns:
        centre ``-R^T t`` (3,) in the world frame.
    """
    return -ext[:3, :3].T @ ext[:3, 3]


def orbit_cameras(azimuths_deg, elevations_deg, distance, seed=0, jitter=0.0):
    """Cameras on a sphere around the world origin, looking (nearly) at it.

    Azimuth 0, elevation 0 is the camera at (0, 0, -distance); a positive azimuth moves the
    camera right (+x), a positive elevation moves it up (-y). Each camera looks at a target
    drawn uniformly in ``[-jitter, jitter]^3`` (fixed by ``seed``) and keeps world +y down.

    Args:
        azimuths_deg: azimuth of each camera in degrees, (V,).
        elevations_deg: elevation of each camera in degrees, (V,).
        distance: distance of the camera centres from the origin (world units).
        seed: seed of the target jitter.
        jitter: half width of the target jitter box (world units).

    Returns:
        list of V world-to-camera extrinsics (4, 4) float64.
    """
    rng = np.random.default_rng([int(seed), 104729])
    exts = []
    for az, el in zip(azimuths_deg, elevations_deg):
        a, e = math.radians(az), math.radians(el)
        c = distance * np.array([math.sin(a) * math.cos(e), -math.sin(e), -math.cos(a) * math.cos(e)])
        exts.append(look_at(c, rng.uniform(-jitter, jitter, 3)))
    return exts


def dtu_cameras(views=49, width=640, height=512, distance=620.0, azimuth_deg=28.0,
                elevation_deg=(2.0, 22.0), seed=0):
    """The shared cameras of the synthetic DTU training layout.

    The intrinsics are those of the 1/4-scale depth maps (width/4 x height/4) with DTU's
    focal length and principal point relative to the map size (:data:`DTU_INTRINSIC_REL`);
    the camera of the full-size image is the same K with its first two rows times 4. The
    cameras lie on rows of an orbit (:func:`orbit_cameras`): ``ceil(sqrt(views))`` azimuths
    in ``+-azimuth_deg / 2`` per row, rows at elevations spread over ``elevation_deg``,
    visited in serpentine order.

    Args:
        views: number of cameras V.
        width, height: full image size in pixels; multiples of 4.
        distance: distance of the cameras from the world origin.
        azimuth_deg: total azimuth span (degrees).
        elevation_deg: (first, last) row elevation (degrees).
        seed: seed of the target jitter (1 % of ``distance``).

    Returns:
        (K, extrinsics): K (3, 3) of the (height/4, width/4) depth maps, rounded to 6
        decimals; a list of V world-to-camera extrinsics (4, 4).

    Raises:
        InputError: width or height is not a multiple of 4.
    """
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


def pixel_rays(intrinsic, extrinsic, u, v):
    """World rays through pixels, scaled so that the ray parameter is the depth.

    The point ``origin + s * dirs[n]`` has camera z coordinate exactly ``s`` (the third
    camera-frame component of every direction is 1).

    Args:
        intrinsic: K (3, 3).
        extrinsic: world-to-camera (4, 4).
        u, v: pixel coordinates (any real values, pixel centres at integers), any shape
            with N elements in total (flattened).

    Returns:
        (origin, dirs): the camera centre (3,) and the world-frame directions (N, 3).
    """
    u = np.asarray(u, np.float64).ravel()
    v = np.asarray(v, np.float64).ravel()
    d_cam = np.linalg.solve(intrinsic, np.stack([u, v, np.ones_like(u)]))  # (3, N), z = 1
    d_cam /= d_cam[2]
    rot = extrinsic[:3, :3]
    return camera_center(extrinsic), (rot.T @ d_cam).T


def project(intrinsic, extrinsic, points):
    """Project world points: ``x = K (R X + t)``.

    Args:
        intrinsic: K (3, 3).
        extrinsic: world-to-camera (4, 4).
        points: world points X (N, 3).

    Returns:
        (pixels, depth): pixel coordinates (u, v) (N, 2) (pixel centres at integers) and
        the camera z coordinates (N,) (not checked for being positive).
    """
    pc = points @ extrinsic[:3, :3].T + extrinsic[:3, 3]
    pix = pc @ intrinsic.T
    return pix[:, :2] / pix[:, 2:3], pc[:, 2]


def backproject(intrinsic, extrinsic, u, v, depth):
    """Back-project pixels at known depth to world points; the inverse of :func:`project`.

    Args:
        intrinsic: K (3, 3).
        extrinsic: world-to-camera (4, 4).
        u, v: pixel coordinates, N elements each (any shape, flattened).
        depth: camera z coordinate of each pixel, N elements.

    Returns:
        world points (N, 3) float64.
    """
    origin, dirs = pixel_rays(intrinsic, extrinsic, u, v)
    return origin + np.asarray(depth, np.float64).ravel()[:, None] * dirs
