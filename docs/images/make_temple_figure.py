#!/usr/bin/env python
"""docs/images/temple_*.png: the README's templeRing pictures, from a reconstruct.py workspace.

    python mvsnet/reconstruct.py --images templeRing --workspace WS --mesh
    python docs/images/make_temple_figure.py WS docs/images [--view 9] [--width 320]
        [--preview_width 176]

Writes OUT/temple_photos_cloud_mesh.png: the photo of --view | the cloud (WS/points.ply) seen
from that view's camera | the mesh (WS/mesh.ply) from the same camera | the mesh from the
automatic viewpoint (from the side of the cameras) -- each tile made by the code of
``python mvsnet/visualize.py PLY --view N --dense_folder WS/mvsnet --width W`` (and without
--view), labelled; and OUT/temple_preview.png, WS/preview.png's picture at tiles of --preview_width.
"""

import argparse
import os
import tempfile

import cv2
import numpy as np

from mvsnet import visualize
from mvsnet.pointcloud import preview, render
from mvsnet.pointcloud.mesh import Mesh
from mvsnet.pointcloud.ply import read_mesh, read_ply


def tile(path):
    return cv2.imread(path)[:, :, ::-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workspace")
    ap.add_argument("out")
    ap.add_argument("--view", type=int, default=9)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--preview_width", type=int, default=176)
    a = ap.parse_args()
    dense = os.path.join(a.workspace, "mvsnet")
    cloud, surface = os.path.join(a.workspace, "points.ply"), os.path.join(a.workspace, "mesh.ply")
    name = "%08d" % a.view
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, "%d.png" % k) for k in range(3)]
        quiet = lambda line: None  # noqa: E731
        visualize.visualize_cloud(cloud, paths[0], view=a.view, dense_folder=dense, width=a.width,
                                  radius=1, log=quiet)
        visualize.visualize_cloud(surface, paths[1], view=a.view, dense_folder=dense,
                                  width=a.width, log=quiet)
        cloud_tile, mesh_tile = tile(paths[0]), tile(paths[1])
        h = cloud_tile.shape[0]
        visualize.visualize_cloud(surface, paths[2], dense_folder=dense, width=a.width, height=h,
                                  log=quiet)
        photo = cv2.imread(render.image_of_camera(os.path.join(dense, "cams", name + "_cam.txt")))
        photo = cv2.resize(photo, (a.width, h), interpolation=cv2.INTER_AREA)[:, :, ::-1]
        tiles = [preview._label(photo, "photo %d of 19" % (a.view + 1)),
                 preview._label(cloud_tile, "R-MVSNet cloud, same camera"),
                 preview._label(mesh_tile, "mesh (--mesh), same camera"),
                 preview._label(tile(paths[2]), "mesh, another viewpoint")]
    render.write_png(os.path.join(a.out, "temple_photos_cloud_mesh.png"), np.hstack(tiles))
    points, colors, _ = read_ply(cloud)
    vertices, vertex_colors, triangles = read_mesh(surface)
    picture = preview.preview(dense, points, colors, Mesh(vertices, triangles, vertex_colors),
                              tile_width=a.preview_width)
    render.write_png(os.path.join(a.out, "temple_preview.png"), picture)
    for n in ("temple_photos_cloud_mesh.png", "temple_preview.png"):
        path = os.path.join(a.out, n)
        print("wrote %s (%d KB)" % (path, os.path.getsize(path) // 1024))


if __name__ == "__main__":
    main()
