"""Pictures of point clouds without a display or a GPU: NumPy z-buffered splats.

A cloud is seen through a pinhole :class:`~cameras.camera.Camera` (world-to-camera extrinsic,
intrinsic K; pixel (x, y) is the point K X / z, pixel centres at integer coordinates, as in
the dense folder's cam files and the fusion) on a ``width`` x ``height`` picture:

1. :func:`project`: every point to (u, v, z) in the picture (float32);
2. :func:`zbuffer`: the nearest point of every pixel (``np.minimum.at`` over the depth,
   then the point index of the winner; no sort, so 10 million points take well under a
   second);
3. :func:`splat`: every point covers a disk of ``radius`` pixels, the nearest point of the
   disk wins (an image-space minimum filter over the depth buffer, (2 r + 1)^2 shifted
   comparisons of the picture, independent of the number of points);
4. colours: the points' RGB, their depth, or any per-point value (e.g. the distance to a
   ground-truth cloud) through a colour map; optionally darkened by eye-dome lighting
   (:func:`eye_dome`: edges and creases from the depth buffer alone), which shows the shape
   of a cloud whose colours are flat.

:func:`auto_camera` places a camera that frames the whole cloud. The command-line use is
``python mvsnet/visualize.py CLOUD.ply --output cloud.png`` (docs/rendering.md).
"""

import os
from dataclasses import dataclass

import numpy as np

from cameras import layout
from cameras.camera import Camera
from cameras.errors import InputError
from mvsnet.colormap import map_values, rainbow_lut

COLOR_MODES = ("rgb", "depth", "error")
DEFAULT_RADIUS = 2  # splat radius in pixels
DEFAULT_EDL = 1.0  # eye-dome lighting strength (0: off)
AUTO_FOV_DEGREES = 40.0  # horizontal field of view of auto_camera
BACKGROUND = (0, 0, 0)


@dataclass
class Rendering:
    """A rendered picture.

    image   (H, W, 3) uint8 RGB
    depth   (H, W) float32 camera depth of the visible point, inf where no point
    index   (H, W) int64 index of the visible point, -1 where no point
    """

    image: np.ndarray
    depth: np.ndarray
    index: np.ndarray

    @property
    def coverage(self):
        """Share of the pixels that show a point."""
        return float((self.index >= 0).mean())


def check_points(points, what="cloud"):
    """``points`` as an (N, 3) float array; InputError when it is empty or not finite."""
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 3:
        raise InputError("the %s must be (N, 3) points, got shape %s" % (what, points.shape))
    if len(points) == 0:
        raise InputError("the %s has no points" % what)
    if not np.isfinite(points).all():
        raise InputError("the %s has %d non-finite coordinates"
                         % (what, int((~np.isfinite(points)).sum())))
    return points


def check_camera(camera, width, height, path=None):
    """InputError (naming ``path``, e.g. the cam file) unless ``camera`` can be the camera of
    a ``width`` x ``height`` picture: finite, an invertible K with positive focal lengths
    and its principal point inside the picture (a camera of another image size has it
    elsewhere, e.g. a full-size cam file with a 1/4-scale picture)."""
    if width < 1 or height < 1:
        raise InputError("the picture size must be positive, got %dx%d" % (width, height), path)
    K = camera.intrinsic
    if not (np.isfinite(K).all() and np.isfinite(camera.extrinsic).all()):
        raise InputError("the camera has non-finite numbers", path)
    if not (K[0, 0] > 0 and K[1, 1] > 0):
        raise InputError("the camera's focal lengths must be positive, got %g %g"
                         % (K[0, 0], K[1, 1]), path)
    cx, cy = K[0, 2], K[1, 2]
    if not (-0.5 <= cx <= width - 0.5 and -0.5 <= cy <= height - 0.5):
        raise InputError("the camera's principal point (%g, %g) is outside the %dx%d picture: "
                         "a camera of another image size" % (cx, cy, width, height), path)


def project(points, camera):
    """Pixel coordinates and depth of world points.

    Args:
        points: (N, 3) world coordinates.
        camera: Camera (extrinsic world-to-camera (4, 4), intrinsic K (3, 3)).
    Returns:
        u, v, z: (N,) float32 each; u, v in pixels (centres at integers), z the camera
        depth (points behind the camera have z <= 0; their u, v are meaningless).
    """
    points = np.asarray(points)
    P = (camera.intrinsic @ camera.extrinsic[:3]).astype(np.float32)  # (3, 4) = K [R | t]
    z_row = camera.extrinsic[2].astype(np.float32)
    columns = [np.ascontiguousarray(points[:, k], dtype=np.float32) for k in range(3)]
    rows = []
    for M in (P[0], P[1], z_row):  # one output row at a time, in place: 10^7 points in
        out = columns[0] * M[0]      # a few tenths of a second
        for k in (1, 2):
            out += columns[k] * M[k]
        out += M[3]
        rows.append(out)
    u, v, z = rows
    # the depth row of P is z times K's last row (0, 0, 1): z itself
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.reciprocal(z)
        u *= inv
        v *= inv
    return u, v, z


def zbuffer(u, v, z, width, height):
    """The nearest point of every pixel.

    Args:
        u, v, z: (N,) pixel coordinates and depths (:func:`project`).
        width, height: picture size.
    Returns:
        depth (H, W) float32 (inf: no point), index (H, W) int64 (-1: no point). A point
        lands on the pixel ``(rint(u), rint(v))``; points with z <= 0 or outside are not drawn.
    """
    with np.errstate(invalid="ignore"):
        inside = z > 0
        inside &= u >= -0.5
        inside &= u < width - 0.5
        inside &= v >= -0.5
        inside &= v < height - 0.5
    keep = np.flatnonzero(inside)
    # u + 0.5 >= 0 here, so truncation is the rounding to the nearest pixel
    x = (u[keep] + np.float32(0.5)).astype(np.int32)
    y = (v[keep] + np.float32(0.5)).astype(np.int32)
    np.minimum(x, width - 1, out=x)
    np.minimum(y, height - 1, out=y)
    flat = y
    flat *= width
    flat += x
    zk = np.asarray(z[keep], np.float32)
    depth = np.full(width * height, np.inf, np.float32)
    np.minimum.at(depth, flat, zk)
    winner = np.flatnonzero(zk == depth[flat])
    index = np.full(width * height, -1, np.int64)
    index[flat[winner]] = keep[winner]
    return depth.reshape(height, width), index.reshape(height, width)


def disk_offsets(radius):
    """(dy, dx) integer offsets of a disk of ``radius`` pixels (dx^2 + dy^2 <= r^2 + r)."""
    r = int(radius)
    return [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1)
            if dx * dx + dy * dy <= r * r + r]


def splat(depth, index, radius):
    """Every point drawn as a disk of ``radius`` pixels, the nearest point of each pixel's
    disk wins. Args: depth (H, W) float32 (inf: empty), index (H, W) int64 (-1: empty),
    radius >= 0. Returns new (depth, index)."""
    r = int(radius)
    if r <= 0:
        return depth, index
    height, width = depth.shape
    pad_d = np.pad(depth, r, constant_values=np.inf)
    pad_i = np.pad(index, r, constant_values=-1)
    out_d = depth.copy()
    out_i = index.copy()
    closer = np.empty(depth.shape, bool)
    for dy, dx in disk_offsets(r):
        if dy == 0 and dx == 0:
            continue
        d = pad_d[r + dy:r + dy + height, r + dx:r + dx + width]
        np.less(d, out_d, out=closer)
        np.copyto(out_d, d, where=closer)
        np.copyto(out_i, pad_i[r + dy:r + dy + height, r + dx:r + dx + width], where=closer)
    return out_d, out_i


def eye_dome(depth, strength=DEFAULT_EDL, distance=1):
    """Eye-dome lighting: (H, W) float32 factors in (0, 1], darker where the 8 neighbours
    ``distance`` pixels away are nearer (edges, creases). Uses log depth, so it does not
    depend on the cloud's units; empty neighbours (inf) do not darken."""
    if strength <= 0:
        return np.ones(depth.shape, np.float32)
    height, width = depth.shape
    filled = np.isfinite(depth)
    with np.errstate(divide="ignore", invalid="ignore"):
        logd = np.where(filled, np.log(np.maximum(depth, 1e-30)), np.inf).astype(np.float32)
    k = int(distance)
    pad = np.pad(logd, k, constant_values=np.inf)
    response = np.zeros(depth.shape, np.float32)
    for dy in (-k, 0, k):
        for dx in (-k, 0, k):
            if dy == 0 and dx == 0:
                continue
            n = pad[k + dy:k + dy + height, k + dx:k + dx + width]
            with np.errstate(invalid="ignore"):
                diff = logd - n
            response += np.where(filled & np.isfinite(n), np.maximum(diff, 0), 0)
    # a pixel 1 % deeper than all 8 neighbours is darkened by exp(-strength)
    return np.exp(-strength * 100.0 * response / 8.0).astype(np.float32)


def render(points, camera, width, height, colors=None, values=None, value_range=None,
           color_mode="rgb", radius=DEFAULT_RADIUS, edl=DEFAULT_EDL, background=BACKGROUND,
           lut=None):
    """A picture of a cloud.

    Args:
        points: (N, 3) world coordinates.
        camera: Camera of the picture (checked with :func:`check_camera`).
        width, height: picture size in pixels.
        colors: (N, 3) uint8 RGB, used by color_mode "rgb" (grey when None).
        values: (N,) per-point values, used by color_mode "error" (e.g. distances).
        value_range: (lo, hi) of the colour map of "depth" / "error" (default: the visible
            depths' range; 0 .. the 95th percentile of the values).
        color_mode: "rgb", "depth" or "error".
        radius: splat radius in pixels; edl: eye-dome lighting strength (0: none).
        lut: (K, 3) uint8 colour map (default: matplotlib's rainbow, as visualize.py's maps).
    Returns:
        :class:`Rendering`.
    """
    if color_mode not in COLOR_MODES:
        raise InputError("unknown colour mode %r (one of %s)" % (color_mode, ", ".join(COLOR_MODES)))
    points = check_points(points)
    check_camera(camera, width, height)
    if lut is None:
        lut = rainbow_lut()
    u, v, z = project(points, camera)
    depth, index = zbuffer(u, v, z, width, height)
    depth, index = splat(depth, index, radius)
    shown = index >= 0
    image = np.empty((height, width, 3), np.uint8)
    image[:] = np.asarray(background, np.uint8)
    ids = index[shown]
    if color_mode == "rgb":
        if colors is None:
            image[shown] = 200
        else:
            image[shown] = np.asarray(colors, np.uint8)[ids]
    elif color_mode == "depth":
        d = depth[shown]
        lo, hi = value_range if value_range else ((d.min(), d.max()) if d.size else (0, 1))
        image[shown] = map_values(d, lo, hi, lut)
    else:
        if values is None or len(values) != len(points):
            raise InputError("colour mode 'error' needs one value per point")
        lo, hi = value_range if value_range else (0.0, float(np.percentile(values, 95)))
        image[shown] = map_values(np.asarray(values)[ids], lo, hi, lut)
    if edl > 0:
        shade = eye_dome(depth, edl)
        image[shown] = (image[shown] * shade[shown][:, None]).astype(np.uint8)
    return Rendering(image, depth, index)


def sample_surface(vertices, triangles, colors, count, seed=0):
    """Points spread over a triangle mesh, as many per area everywhere.

    Args:
        vertices: (V, 3); triangles: (T, 3) vertex indices; colors: (V, 3) uint8 or None;
        count: number of points; seed: of the random positions (a fixed picture).
    Returns:
        points (count, 3) float32, colours (count, 3) uint8 (barycentric mix; grey without),
        normals (count, 3) float32 (of each point's triangle, unit length).
    """
    vertices = np.asarray(vertices, np.float64)
    triangles = np.asarray(triangles, np.int64)
    a, b, c = (vertices[triangles[:, k]] for k in range(3))
    cross = np.cross(b - a, c - a)
    area = np.linalg.norm(cross, axis=1)
    if len(triangles) == 0 or not area.sum() > 0:
        raise InputError("the mesh has no triangle with an area")
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(triangles), size=int(count), p=area / area.sum())
    r1 = np.sqrt(rng.random(len(pick)))
    r2 = rng.random(len(pick))
    w = np.stack([1 - r1, r1 * (1 - r2), r1 * r2], axis=1)  # uniform on each triangle
    corners = triangles[pick]
    points = sum(w[:, k:k + 1] * vertices[corners[:, k]] for k in range(3))
    if colors is None:
        mixed = np.full((len(pick), 3), 200, np.uint8)
    else:
        colors = np.asarray(colors, np.float64)
        mixed = np.clip(sum(w[:, k:k + 1] * colors[corners[:, k]] for k in range(3)), 0, 255)
        mixed = mixed.astype(np.uint8)
    normals = cross[pick] / np.maximum(area[pick], 1e-300)[:, None]
    return points.astype(np.float32), mixed, normals.astype(np.float32)


def headlight(colors, points, normals, camera, ambient=0.35):
    """Colours lit by a light at the camera: (ambient + (1 - ambient) |cos|) of the angle
    between each normal and the direction to the camera centre (both sides of a surface
    lit alike). Args: colors (N, 3) uint8, points, normals (N, 3). Returns (N, 3) uint8."""
    centre = -camera.extrinsic[:3, :3].T @ camera.extrinsic[:3, 3]
    to_eye = centre.astype(np.float32) - np.asarray(points, np.float32)
    to_eye /= np.maximum(np.linalg.norm(to_eye, axis=1, keepdims=True), 1e-30)
    cos = np.abs(np.einsum("ij,ij->i", np.asarray(normals, np.float32), to_eye))
    light = ambient + (1 - ambient) * cos
    return (np.asarray(colors, np.float32) * light[:, None]).astype(np.uint8)


SURFACE_SAMPLES_PER_PIXEL = 3


def render_mesh(vertices, triangles, colors, camera, width, height, radius=1, edl=DEFAULT_EDL,
                samples=None, background=BACKGROUND):
    """A picture of a triangle mesh: ``samples`` points (default 3 per pixel of the picture)
    spread over its surface (:func:`sample_surface`), lit by a light at the camera
    (:func:`headlight`), drawn as :func:`render` draws a cloud. Returns a Rendering."""
    samples = samples or SURFACE_SAMPLES_PER_PIXEL * width * height
    points, mixed, normals = sample_surface(vertices, triangles, colors, samples)
    lit = headlight(mixed, points, normals, camera)
    return render(points, camera, width, height, lit, radius=radius, edl=edl, background=background)


def look_at(eye, target, up):
    """World-to-camera (4, 4) extrinsic of a camera at ``eye`` (3,) looking at ``target``
    (3,), with ``up`` (3,) pointing up in the picture (the camera's -y; x right, z forward)."""
    eye = np.asarray(eye, np.float64)
    forward = np.asarray(target, np.float64) - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, -np.asarray(up, np.float64))  # x = y cross z, y = -up
    if np.linalg.norm(right) < 1e-9:  # up parallel to the view: any other up
        right = np.cross(forward, np.array([1.0, 0.0, 0.0]) if abs(forward[0]) < 0.9
                         else np.array([0.0, 1.0, 0.0]))
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    R = np.stack([right, down, forward])
    E = np.eye(4)
    E[:3, :3] = R
    E[:3, 3] = -R @ eye
    return E


def intrinsic_for(width, height, fov_degrees=AUTO_FOV_DEGREES):
    """K (3, 3) with the horizontal field of view ``fov_degrees`` and the principal point at
    the centre of a ``width`` x ``height`` picture."""
    f = (width / 2.0) / np.tan(np.radians(fov_degrees) / 2.0)
    return np.array([[f, 0, (width - 1) / 2.0], [0, f, (height - 1) / 2.0], [0, 0, 1.0]])


def auto_camera(points, width, height, cameras=None, fov_degrees=AUTO_FOV_DEGREES, margin=1.08):
    """A camera that frames the cloud (its 1st to 99th percentile box, so a few stray points
    do not shrink the picture).

    The view direction: from the cloud's centre towards the mean centre of ``cameras``
    (the views the cloud was made from; their mean "up" is the picture's up; when the cameras
    surround the cloud, towards the middle camera of the list), lifted by 20 degrees
    so that the surface is not seen edge-on; without cameras, along the cloud's axis of least
    spread (principal components), from the side of its longer tail along that axis (what
    stands in front of a background faces the cameras), the largest spread left-right.

    Args:
        points: (N, 3); width, height: picture size; cameras: list of Camera or None.
    Returns:
        Camera (depth range left 0).
    """
    points = check_points(points)
    sample = points[:: max(1, len(points) // 200000)].astype(np.float64)
    lo = np.percentile(sample, 1, axis=0)
    hi = np.percentile(sample, 99, axis=0)
    inner = sample[np.all((sample >= lo) & (sample <= hi), axis=1)]
    if len(inner) < 3:
        inner = sample
    center = (lo + hi) / 2.0
    if cameras:
        centres = np.array([-c.extrinsic[:3, :3].T @ c.extrinsic[:3, 3] for c in cameras])
        ups = np.array([-c.extrinsic[1, :3] for c in cameras])  # camera -y in the world
        direction = centres.mean(axis=0) - center
        spread = np.linalg.norm(centres - center, axis=1).mean()
        if np.linalg.norm(direction) < 0.3 * spread:  # cameras all around: the middle one's side
            direction = centres[len(centres) // 2] - center
        up = ups.mean(axis=0)
        if np.linalg.norm(up) < 1e-9:
            up = ups[0]
        direction /= np.linalg.norm(direction)
        up = up - up.dot(direction) * direction
        up /= max(np.linalg.norm(up), 1e-12)
        direction = direction * np.cos(np.radians(20)) + up * np.sin(np.radians(20))
    else:
        cov = np.cov((inner - inner.mean(axis=0)).T)
        _, axes = np.linalg.eigh(cov)  # ascending spread
        direction = axes[:, 0]
        up = axes[:, 1] if axes[1, 1] <= 0 else -axes[:, 1]  # world -y up, as camera frames
        # the side the surface was seen from: things in front of a background stick out
        # towards the cameras, so the longer tail of the spread along the axis is that side
        along = (inner - inner.mean(axis=0)) @ direction
        if (along ** 3).mean() < 0:
            direction = -direction
    direction /= np.linalg.norm(direction)
    K = intrinsic_for(width, height, fov_degrees)
    # the nearest eye on the view line that sees every inner point inside the picture
    # (less a margin): for a point at camera (x, y, z) relative to the centre, seen from
    # distance D, |x| f / (z + D) <= W / 2 / margin, so D >= |x| f margin / (W / 2) - z
    R = look_at(center + direction, center, up)[:3, :3]
    rel = (inner - center) @ R.T
    need_x = np.abs(rel[:, 0]) * K[0, 0] * margin / (width / 2.0) - rel[:, 2]
    need_y = np.abs(rel[:, 1]) * K[1, 1] * margin / (height / 2.0) - rel[:, 2]
    near = -rel[:, 2].min() + 1e-3 * (np.abs(rel).max() + 1e-12)  # every point in front
    distance = max(need_x.max(), need_y.max(), near)
    extrinsic = look_at(center + direction * distance, center, up)
    return Camera(extrinsic, K)


def write_png(path, rgb):
    """Write an (H, W, 3) uint8 RGB (or (H, W) grey) picture as a PNG, atomically."""
    import cv2

    from cameras.atomic import write_bytes_atomic

    rgb = np.asarray(rgb)
    ok, png = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1] if rgb.ndim == 3 else rgb))
    if not ok:
        raise InputError("cannot encode the PNG", path)
    write_bytes_atomic(path, png.tobytes())


# ----------------------------------------------------------------------------- cameras of files

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG")


def image_size(path):
    """(width, height) of an image file from its header (Pillow); InputError naming it."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, ValueError) as e:
        raise InputError("not a readable image: %s" % " ".join(str(e).split()), path) from None


def image_of_camera(cam_path):
    """The image a cam file belongs to, or None: ``DIR/cams/NAME_cam.txt`` ->
    ``DIR/images/NAME.jpg`` (or another image extension), as in a dense folder;
    ``DIR/NAME.txt`` -> ``DIR/NAME.jpg`` (test.py's depths_mvsnet/ outputs)."""
    folder, name = os.path.split(os.path.abspath(cam_path))
    suffix = layout.CAM_SUFFIX
    stem = name[:-len(suffix)] if name.endswith(suffix) else os.path.splitext(name)[0]
    candidates = [os.path.join(os.path.dirname(folder), layout.IMAGES, stem + e)
                  for e in IMAGE_EXTENSIONS]
    candidates += [os.path.join(folder, stem + e) for e in IMAGE_EXTENSIONS]
    for path in candidates:
        if os.path.isfile(path):
            return path
    return None


def camera_for_picture(cam_path, width=None, height=None):
    """(Camera, width, height, image path or None) of a picture seen by the cam file
    ``cam_path``.

    With the cam file's image found (:func:`image_of_camera`) the camera is that image's:
    the picture has its size, or ``width`` (and ``height``, default: the image's aspect),
    the camera scaled by width / image width. Without it, ``width`` and ``height`` must be
    given and are the camera's own image size. Either way the camera is checked against the
    picture (:func:`check_camera`; a camera of another size fails naming the cam file)."""
    from cameras.camfile import read_cam
    from cameras.geometry import scale_camera

    cam = read_cam(cam_path)
    image = image_of_camera(cam_path)
    if image is None:
        if not width or not height:
            raise InputError("no image found for this camera (DIR/images/NAME.jpg of "
                             "DIR/cams/NAME_cam.txt): give --width and --height, the size of "
                             "its image", cam_path)
        check_camera(cam, width, height, cam_path)
        return cam, int(width), int(height), None
    iw, ih = image_size(image)
    check_camera(cam, iw, ih, cam_path)
    if not width:
        return cam, iw, ih, image
    scale = width / float(iw)
    height = height or max(1, int(round(ih * scale)))
    cam = scale_camera(cam, scale)
    check_camera(cam, width, height, cam_path)
    return cam, int(width), int(height), image


def dense_folder_cameras(dense_folder):
    """(cam paths, Cameras) of every ``cams/*_cam.txt`` of a dense folder, in name order."""
    from cameras.camfile import read_cam

    folder = os.path.join(os.fspath(dense_folder), layout.CAMS)
    if not os.path.isdir(folder):
        raise InputError("missing cams/ folder (a dense folder holds images/, cams/ and pair.txt)",
                         folder)
    paths = sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(layout.CAM_SUFFIX))
    if not paths:
        raise InputError("no *_cam.txt in cams/", folder)
    return paths, [read_cam(p) for p in paths]
