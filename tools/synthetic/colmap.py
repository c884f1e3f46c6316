"""COLMAP workspaces of the synthetic scenes: exact cameras, sparse points on the true
surfaces, written by pycolmap (text or binary, COLMAP's current layout with rigs/frames).

    python -m tools.synthetic colmap OUT [--views 12] [--width 64] [--height 48] [--points 9]
        [--seed 0] [--binary] [--first_id 1]

OUT/images/view_%02d.png (the renders) and OUT/sparse/ (PINHOLE cameras, one per view;
points: a grid of pixels of every view back-projected at their true depth, observed by
every view that sees them unoccluded). Deterministic given the options.
"""

import os

import numpy as np

from tools.synthetic.cameras import backproject, project
from tools.synthetic.layouts import dense_scene


def scene_points(views, per_view, tolerance=1e-3):
    """Sparse points on the true surfaces with their exact observations.

    For each view, a grid of about ``per_view`` pixels (rounded to integers, inside the
    central 80 %) is back-projected at its true depth; a point is observed by every view
    whose image it projects into and whose depth at the nearest pixel agrees (unoccluded);
    points observed by fewer than 2 views are dropped.

    Args:
        views: list of :class:`tools.synthetic.layouts.View`.
        per_view: grid points sampled per view.
        tolerance: relative depth agreement (plus 2 world units) counted as visible.

    Returns:
        (xyz, tracks): world points (P, 3) float64 and per point a list of
        ``(view index, (u, v))`` pixel observations (pixel centres at integers).
    """
    xyz, tracks = [], []
    side = max(1, int(round(np.sqrt(per_view))))
    for i, v in enumerate(views):
        h, w = v.depth.shape
        us = np.linspace(0.1 * w, 0.9 * w, side)
        vs = np.linspace(0.1 * h, 0.9 * h, side)
        uu, vv = np.meshgrid(np.round(us), np.round(vs))
        uu, vv = uu.ravel(), vv.ravel()
        d = v.depth[vv.astype(int), uu.astype(int)]
        keep = d > 0
        pts = backproject(v.intrinsic, v.extrinsic, uu[keep], vv[keep], d[keep])
        for p in pts:
            track = []
            for j, o in enumerate(views):
                pix, z = project(o.intrinsic, o.extrinsic, p[None])
                u, vq = pix[0]
                if not (0 <= u < w - 0.5 and 0 <= vq < h - 0.5) or z[0] <= 0:
                    continue
                seen = o.depth[int(round(vq)), int(round(u))]
                if seen > 0 and abs(seen - z[0]) <= tolerance * z[0] + 2.0:
                    track.append((j, (float(u), float(vq))))
            if len(track) >= 2:
                xyz.append(p)
                tracks.append(track)
    return np.array(xyz), tracks


def build_reconstruction(views, xyz, tracks, width, height, first_id=1, names=None):
    """A pycolmap Reconstruction of the views with exact poses.

    Args:
        views: V views (:class:`tools.synthetic.layouts.View`): PINHOLE camera k + 1 from
            K, image ``first_id + k`` with the world-to-camera pose of its extrinsic.
        xyz: world points (P, 3).
        tracks: per point its ``(view index, (u, v))`` observations (rounded to 1/8 pixel).
        width, height: image size in pixels.
        first_id: image id of view 0.
        names: image names (default ``view_%02d.png``).

    Returns:
        pycolmap.Reconstruction.
    """
    import pycolmap

    rec = pycolmap.Reconstruction()
    obs = [[] for _ in views]          # per view its 2-D points
    refs = []                          # per point [(view, index of its 2-D point)]
    for track in tracks:
        ref = []
        for j, uv in track:
            ref.append((j, len(obs[j])))
            obs[j].append(uv)
        refs.append(ref)
    for k, v in enumerate(views):
        fx, fy, cx, cy = v.intrinsic[0, 0], v.intrinsic[1, 1], v.intrinsic[0, 2], v.intrinsic[1, 2]
        cam = pycolmap.Camera(model="PINHOLE", width=width, height=height,
                              params=[fx, fy, cx, cy], camera_id=k + 1)
        rec.add_camera_with_trivial_rig(cam)
        # observations rounded to 1/8 pixel (short, exact text); K is the scene's own
        points2d = [pycolmap.Point2D(np.round(np.array(uv) * 8) / 8) for uv in obs[k]]
        name = names[k] if names else "view_%02d.png" % k
        image = pycolmap.Image(name=name, camera_id=k + 1, image_id=first_id + k, points2D=points2d)
        pose = pycolmap.Rigid3d(pycolmap.Rotation3d(v.extrinsic[:3, :3]), v.extrinsic[:3, 3])
        rec.add_image_with_trivial_frame(image, pose)
    for p, ref in zip(xyz, refs):
        track = pycolmap.Track()
        for j, idx in ref:
            track.add_element(first_id + j, idx)
        rec.add_point3D(p, track, np.array([128, 128, 128], np.uint8))
    return rec


def write_workspace(out, views=12, width=64, height=48, points=9, seed=0, binary=False, first_id=1):
    """Render a dense scene (:func:`tools.synthetic.layouts.dense_scene`) and write
    ``out/images/view_%02d.png`` and the model in ``out/sparse/`` (text or binary).

    Args:
        out: output folder (created; existing files of the same names are replaced).
        views, width, height, seed: see :func:`tools.synthetic.layouts.dense_scene`.
        points: grid points sampled per view (:func:`scene_points`).
        binary: write the binary model instead of text.
        first_id: image id of view 0.

    Returns:
        the list of rendered views.
    """
    import imageio.v3 as iio

    _, vs = dense_scene(views, width, height, seed)
    xyz, tracks = scene_points(vs, points)
    rec = build_reconstruction(vs, xyz, tracks, width, height, first_id)
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    os.makedirs(os.path.join(out, "sparse"), exist_ok=True)
    for k, v in enumerate(vs):
        iio.imwrite(os.path.join(out, "images", "view_%02d.png" % k), v.image)
    (rec.write_binary if binary else rec.write_text)(os.path.join(out, "sparse"))
    return vs
