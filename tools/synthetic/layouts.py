"""The files of the synthetic scenes: the dense MVSNet test layout with ground truth, and the
preprocessed DTU training layout.

  dense  OUT   images/%08d.jpg, cams/%08d_cam.txt, pair.txt, gt/%08d_depth.npy (float32),
               gt/%08d_depth.pfm and gt/points.ply (the ground-truth cloud: every view's
               surface pixels back-projected, float32), synthetic.json (the options)
  dtu    OUT   (mvs_training/dtu) Cameras/pair.txt, Cameras/train/%08d_cam.txt (cameras of
               the 1/4-scale depth maps), Rectified/scan%d_train/rect_%03d_%d_r5000.png
               (view + 1, lighting 0..6), Depths/scan%d_train/depth_map_%04d.pfm,
               synthetic.json

Both are deterministic given the seed and the other options.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
from typing import Optional

import numpy as np

from cameras.atomic import write_bytes_atomic
from cameras.errors import InputError
from cameras.pair import format_pair
from cameras.pfm import write_pfm  # noqa: E402  (byte-identical to the original write_pfm)
from mvsnet.pointcloud.ply import write_ply  # noqa: E402
from tools.synthetic.cameras import (DTU_INTRINSIC_REL, backproject, dtu_cameras, intrinsic_matrix,
                                     orbit_cameras)
from tools.synthetic.scene import make_scene, render, to_uint8
from tools.synthetic.views import select_views, view_selection_scores

DTU_DEPTH_MIN, DTU_DEPTH_MAX = 425.0, 937.0


# ----------------------------------------------------------------------------- file writers

def _fmt(x):
    return str(float(x))


def format_cam(extrinsic, intrinsic, depth_values):
    """The text of a cam file in the original layout, as the synthetic scenes write it.

    ``extrinsic`` then the 4 rows of the world-to-camera matrix, a blank line, ``intrinsic``
    then the 3 rows of K, a blank line, then the depth line of 2 to 4 numbers
    ``DEPTH_MIN DEPTH_INTERVAL [DEPTH_NUM [DEPTH_MAX]]`` (every form test.py reads).
    Numbers are ``str(float(x))`` (shortest round trip, so the cameras are written exactly),
    DEPTH_NUM an integer; rows have no trailing space.

    This is not :func:`cameras.camfile.format_cam` on purpose: that one writes what the
    original ``write_cam`` writes (trailing spaces, always the 4 depth numbers of the
    (2, 4, 4) camera array, DEPTH_NUM as a float), while a user-made dense folder (and
    colmap2mvsnet's or DTU's cams) may have 2 or 3 depth numbers, which is what
    ``--depth_line`` exercises. The committed fixture tests/fixtures/scene_tiny (and the
    oracle outputs computed from it) are these bytes.

    Args:
        extrinsic: world-to-camera (4, 4).
        intrinsic: K (3, 3).
        depth_values: 2, 3 or 4 numbers (see :func:`depth_values`).

    Returns:
        the text (str), ending with a newline.
    """
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


def write_text(path, text):
    write_bytes_atomic(path, text.encode("ascii"))


def _write_image(path, rgb_uint8, jpeg_quality=95):
    """Write an (H, W, 3) uint8 RGB image (.jpg with ``jpeg_quality`` or .png), atomically;
    the bytes cv2.imwrite would write."""
    import cv2
    bgr = np.ascontiguousarray(rgb_uint8[:, :, ::-1])
    ext = os.path.splitext(path)[1]
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if ext == ".jpg" else []
    ok, data = cv2.imencode(ext, bgr, params)
    if not ok:
        raise InputError("cannot encode image", path)
    write_bytes_atomic(path, data.tobytes())


def _write_npy(path, array):
    buf = io.BytesIO()
    np.save(buf, array)
    write_bytes_atomic(path, buf.getvalue())


def prepare_out(out, owned, overwrite):
    """Refuse a non-empty OUT unless overwrite; with overwrite remove only the generator's
    own ``owned`` entries (other files stay). Creates OUT."""
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
    """One rendered view of a dense scene (cameras as in :mod:`tools.synthetic.cameras`)."""
    intrinsic: np.ndarray  # (3, 3)
    extrinsic: np.ndarray  # (4, 4)
    image: Optional[np.ndarray]  # (H, W, 3) uint8 RGB (None when supersample is 0)
    depth: np.ndarray      # (H, W) float64, 0 = no surface


def dense_scene(views=5, width=160, height=128, seed=0, arc_deg=30.0, elevation_deg=4.0,
                distance=650.0, focal=None, num_objects=4, back_plane=True, supersample=2):
    """Render the views of a dense scene.

    ``views`` cameras evenly on a horizontal arc of ``arc_deg`` degrees (elevation varying
    sinusoidally by +-``elevation_deg``) at ``distance`` from the world origin, looking at it
    (:func:`tools.synthetic.cameras.orbit_cameras`); the scene (:func:`make_scene`, same
    seed) fills their field of view. K is ``[[f, 0, 0.518 W], [0, 0.997 f, 0.512 H], [0, 0, 1]]``
    rounded to 6 decimals (fy slightly different, principal point slightly off-centre, like
    real calibrations), f = 0.9 W by default.

    Args:
        views: number of views V (>= 2).
        width, height: image size W, H in pixels (>= 8).
        seed: fixes the scene and the camera jitter.
        arc_deg: azimuth span of the cameras (degrees).
        elevation_deg: elevation amplitude (degrees).
        distance: camera distance from the origin (world units).
        focal: focal length f in pixels (default 0.9 * width).
        num_objects: objects in front of the back plane.
        back_plane: add the back plane (else background pixels have depth 0).
        supersample: rays per pixel per axis for the images (0: no images).

    Returns:
        (scene, views): the :class:`tools.synthetic.scene.Scene` and a list of V
        :class:`View` (images (H, W, 3) uint8 RGB, depth (H, W) float64 camera z).

    Raises:
        InputError: fewer than 2 views or an image smaller than 8x8.
    """
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
    """The cam depth line of a view: DEPTH_MIN DEPTH_INTERVAL [DEPTH_NUM [DEPTH_MAX]].

    [min, max] is the ground-truth range widened by ``margin`` (or ``depth_range``), and
    ``interval = (max - min) / (max_d - 1) / interval_scale`` as colmap2mvsnet.py computes
    it, so test.py with the same --max_d and --interval_scale samples exactly [min, max].
    min, max and interval are rounded to 6 decimals.

    Args:
        depth: the view's depth map (H, W) (0 = no surface).
        depth_line: how many numbers to return: 2, 3 or 4.
        max_d: DEPTH_NUM.
        interval_scale: divides the interval.
        margin: relative widening of the ground-truth range.
        depth_range: (min, max) to use instead of the ground truth.

    Returns:
        list of ``depth_line`` numbers ``[min, interval, max_d, max][:depth_line]``.

    Raises:
        InputError: the view sees no surface and no depth_range is given.
    """
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
    """Write a dense folder: the MVSNet test layout plus the ground truth.

    ``out/images/%08d.jpg``, ``out/cams/%08d_cam.txt`` (:func:`format_cam`, depth line
    :func:`depth_values`), ``out/pair.txt`` (:func:`cameras.pair.format_pair`, sources by
    :func:`tools.synthetic.views.view_selection_scores`), ``out/gt/%08d_depth.npy`` and
    ``.pfm`` (float32 (H, W), 0 = no surface), ``out/gt/points.ply`` (:func:`gt_points`) and
    ``out/synthetic.json`` (the options). Every file is written atomically.

    Args:
        out: output folder; must be absent or empty unless ``overwrite``.
        views, width, height, seed: see :func:`dense_scene`.
        depth_line, max_d, interval_scale, margin, depth_range: see :func:`depth_values`.
        num_src: at most this many sources per view in pair.txt.
        jpeg_quality: quality of the JPEG images.
        overwrite: write into a non-empty ``out``, replacing only the generator's entries.
        **scene_kw: further arguments of :func:`dense_scene`.

    Returns:
        the summary dict written to synthetic.json.

    Raises:
        InputError: bad options or a non-empty ``out`` without ``overwrite``.
    """
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
    prepare_out(out, ("images", "cams", "gt", "pair.txt", "synthetic.json"), overwrite)
    for sub in ("images", "cams", "gt"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    for i, v in enumerate(vs):
        _write_image(os.path.join(out, "images", "%08d.jpg" % i), v.image, jpeg_quality)
        dv = depth_values(v.depth, depth_line, max_d, interval_scale, margin, depth_range)
        write_text(os.path.join(out, "cams", "%08d_cam.txt" % i), format_cam(v.extrinsic, v.intrinsic, dv))
        d32 = v.depth.astype(np.float32)
        _write_npy(os.path.join(out, "gt", "%08d_depth.npy" % i), d32)
        write_pfm(os.path.join(out, "gt", "%08d_depth.pfm" % i), d32)
    write_ply(os.path.join(out, "gt", "points.ply"), gt_points(vs))
    write_text(os.path.join(out, "pair.txt"), format_pair(pairs))
    info = dict(layout="dense", views=views, width=width, height=height, seed=seed, depth_line=depth_line,
                max_d=max_d, interval_scale=interval_scale, margin=margin,
                depth_range=None if depth_range is None else list(map(float, depth_range)),
                num_src=num_src, jpeg_quality=jpeg_quality, scene=dict(scene_kw))
    write_text(os.path.join(out, "synthetic.json"), json.dumps(info, indent=1, sort_keys=True) + "\n")
    return info


def gt_points(views):
    """The ground-truth cloud of a dense scene: every pixel with a surface of every view,
    back-projected at its exact depth.

    Args:
        views: list of :class:`View`.

    Returns:
        world points (N, 3) float32 (points seen by several views repeat).
    """
    out = []
    for v in views:
        ys, xs = np.nonzero(v.depth > 0)
        out.append(backproject(v.intrinsic, v.extrinsic, xs.astype(np.float64), ys.astype(np.float64),
                               v.depth[ys, xs]))
    return np.concatenate(out).astype(np.float32)


# ----------------------------------------------------------------------------- DTU training layout

DTU_BRIGHTNESS = (0.55, 0.68, 0.8, 0.9, 1.0, 1.1, 1.2)  # lighting 0..6


def dtu_scan_scene(scan, seed=0, width=640, height=512, distance=620.0, num_objects=5):
    """The scene of one scan of the synthetic DTU layout, sized to the central view.

    Args:
        scan: scan id (the scene differs per id).
        seed: fixes the scene together with ``scan``.
        width, height: full image size (the field of view of :func:`dtu_cameras`).
        distance: camera distance from the origin.
        num_objects: objects in front of the back plane.

    Returns:
        a :class:`tools.synthetic.scene.Scene` (depth from the DTU cameras in (425, 937)
        for the default sizes).
    """
    wq = width // 4
    fx, fy = DTU_INTRINSIC_REL[0] * wq, DTU_INTRINSIC_REL[1] * wq
    half_w = distance * (width / 4.0) / (2.0 * fx)
    half_h = distance * (height / 4.0) / (2.0 * fy)
    return make_scene(int(seed) * 100003 + int(scan), distance, half_w, half_h, num_objects,
                      back_z=0.16, front_z=-0.2)


def write_dtu(out, scans=(2, 3), views=49, width=640, height=512, seed=0, supersample=1,
              overwrite=False, num_objects=5):
    """Write the preprocessed DTU training layout (mvs_training/dtu).

    ``out/Cameras/pair.txt`` (10 sources per view, repeated when fewer exist, ``%g`` scores
    like DTU's), ``out/Cameras/train/%08d_cam.txt`` (cameras of the (H/4, W/4) depth maps,
    depth line ``425.0 2.5``), ``out/Rectified/scan%d_train/rect_%03d_%d_r5000.png`` (view
    + 1, lighting 0..6 = :data:`DTU_BRIGHTNESS`), ``out/Depths/scan%d_train/depth_map_%04d.pfm``
    (float32 (H/4, W/4)) and ``out/synthetic.json``. The image camera is the cam file's K
    with its first two rows times 4. Every file is written atomically.

    Args:
        out: output folder; must be absent or empty unless ``overwrite``.
        scans: scan ids; cameras are shared, each scan is a different scene.
        views: number of views V per scan (>= 2).
        width, height: image size (>= 32, multiples of 4).
        seed: fixes the cameras and the scenes.
        supersample: rays per pixel per axis for the images.
        overwrite: write into a non-empty ``out``, replacing only the generator's entries.
        num_objects: objects per scene.

    Returns:
        the summary dict written to synthetic.json.

    Raises:
        InputError: bad options, a non-empty ``out`` without ``overwrite``, or a depth
        outside DTU's (425, 937) (checked).
    """
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
    prepare_out(out, ("Cameras", "Rectified", "Depths", "synthetic.json"), overwrite)
    os.makedirs(os.path.join(out, "Cameras", "train"), exist_ok=True)
    write_text(os.path.join(out, "Cameras", "pair.txt"), format_pair(pairs, "%g"))
    for i, e in enumerate(exts):
        write_text(os.path.join(out, "Cameras", "train", "%08d_cam.txt" % i),
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
    write_text(os.path.join(out, "synthetic.json"), json.dumps(info, indent=1, sort_keys=True) + "\n")
    return info
