"""One picture of a reconstruction: the photos of three views, the cloud (and the mesh) seen from
their cameras, the depth and probability maps of one view (reconstruct.py's WS/preview.png,
depthfusion.py --preview).

Layout (tiles of ``tile_width`` pixels, the photos' aspect)::

    photo A          photo B          photo C
    cloud from A     cloud from B     cloud from C
    depth map of B   probability of B mesh from B (or nothing)

A, B, C: the first, middle and last view of the dense folder (by name); the cloud is drawn
through each view's cam file (``cams/NAME_cam.txt`` at the size of ``images/NAME.*``), the maps
are test.py's ``depths_mvsnet/NAME_init.pfm`` and ``NAME_prob.pfm`` (rainbow colours: depth
over its range, probability from 0 to 1).
"""

import os

import numpy as np

from cameras import layout
from cameras.errors import InputError
from cameras.pfm import read_pfm
from mvsnet.colormap import colorize, map_values
from mvsnet.pointcloud import render

TILE_WIDTH = 320
LABEL_HEIGHT = 18


def pick_views(names, count=3):
    """Indices of ``count`` views spread over ``names`` (first, middle, last)."""
    if len(names) <= count:
        return list(range(len(names)))
    return sorted(set(int(round(k)) for k in np.linspace(0, len(names) - 1, count)))


def _photo(dense_folder, name):
    import cv2

    for ext in render.IMAGE_EXTENSIONS:
        path = os.path.join(dense_folder, layout.IMAGES, name + ext)
        if os.path.isfile(path):
            image = cv2.imread(path, cv2.IMREAD_COLOR)
            if image is None:
                raise InputError("not a readable image", path)
            return path, np.ascontiguousarray(image[:, :, ::-1])
    raise InputError("no image of view %s" % name, os.path.join(dense_folder, layout.IMAGES))


def _fit(image, width, height):
    import cv2

    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def _label(tile, text):
    """The tile with a black strip above it holding ``text`` (white)."""
    import cv2

    strip = np.zeros((LABEL_HEIGHT, tile.shape[1], 3), np.uint8)
    cv2.putText(strip, text, (4, LABEL_HEIGHT - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.42,
                (255, 255, 255), 1, cv2.LINE_AA)
    return np.vstack([strip, tile])


def _cam_of_view(dense_folder, name):
    return os.path.join(dense_folder, layout.CAMS, name + layout.CAM_SUFFIX)


def preview(dense_folder, points, colors, mesh=None, tile_width=TILE_WIDTH, log=None):
    """The preview picture (see the module docstring) as (H, W, 3) uint8 RGB.

    Args:
        dense_folder: images/, cams/ and depths_mvsnet/ of the reconstruction.
        points: (N, 3) cloud; colors: (N, 3) uint8 or None.
        mesh: a :class:`mvsnet.pointcloud.mesh.Mesh` or None.
        tile_width: width of each of the 3 x 3 tiles.
    """
    from mvsnet.pointcloud.views import DenseOutput

    out = DenseOutput(dense_folder)
    chosen = [out.names[k] for k in pick_views(out.names)]
    rows = [[], []]
    tile_height = None
    for name in chosen:
        photo_path, photo = _photo(out.dense_folder, name)
        if tile_height is None:
            tile_height = max(1, int(round(photo.shape[0] * tile_width / photo.shape[1])))
        cam, w, h, _ = render.camera_for_picture(_cam_of_view(out.dense_folder, name), tile_width,
                                                 tile_height)
        picture = render.render(points, cam, w, h, colors, radius=1)
        rows[0].append(_label(_fit(photo, tile_width, tile_height), "photo %s" % name))
        rows[1].append(_label(picture.image, "cloud from view %s" % name))
    middle = chosen[len(chosen) // 2]
    depth = read_pfm(layout.depth_file(out.depth_folder, middle, "init")).astype(np.float64)
    prob = read_pfm(layout.depth_file(out.depth_folder, middle, "prob")).astype(np.float64)
    depth[depth <= 0] = np.nan
    third = [_label(_fit(colorize(depth), tile_width, tile_height), "depth map of view %s" % middle),
             _label(_fit(_probability(prob), tile_width, tile_height),
                    "probability (0 violet, 1 red)")]
    if mesh is not None and len(mesh.triangles):
        cam, w, h, _ = render.camera_for_picture(_cam_of_view(out.dense_folder, middle), tile_width,
                                                 tile_height)
        picture = render.render_mesh(mesh.vertices, mesh.triangles, mesh.colors, cam, w, h)
        third.append(_label(picture.image, "mesh from view %s" % middle))
    rows.append(third)
    width = tile_width * max(len(r) for r in rows)
    lines = []
    for row in rows:
        line = np.hstack(row)
        if line.shape[1] < width:
            line = np.hstack([line, np.zeros((line.shape[0], width - line.shape[1], 3), np.uint8)])
        lines.append(line)
    image = np.vstack(lines)
    if log is not None:
        log("preview: views %s" % ", ".join(chosen))
    return image


def _probability(prob):
    finite = np.isfinite(prob)
    out = np.zeros(prob.shape + (3,), np.uint8)
    out[finite] = map_values(np.clip(prob[finite], 0, 1), 0.0, 1.0)
    return out


def write_preview(path, dense_folder, points, colors, mesh=None, log=None):
    """Write :func:`preview` to the PNG ``path`` (atomically); returns ``path``."""
    render.write_png(path, preview(dense_folder, points, colors, mesh, log=log))
    return path
