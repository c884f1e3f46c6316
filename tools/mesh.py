#!/usr/bin/env python
"""A coloured triangle mesh of any point cloud (screened Poisson, trimmed; needs the ``mesh``
extra: pip install -e .[mesh]).

    python tools/mesh.py CLOUD.ply [--output MESH.ply] [--dense_folder SCENE] [--depth 9]
        [--trim 0.1] [--picture MESH.png]

Normals are estimated from each point's neighbours and turned towards the nearest camera
centre of SCENE/cams/ (--dense_folder; without it, away from the cloud's centre: right for a
closed object). mvsnet/depthfusion.py --mesh and mvsnet/reconstruct.py --mesh know the view
each point came from and orient towards it instead. --picture also renders the mesh
(mvsnet/visualize.py MESH.ply does the same later). Default output: CLOUD_mesh.ply.
Bad input: one line "error: PATH: problem" on stderr, exit 1. See docs/mesh.md.
"""

import argparse
import os
import sys

from cameras.errors import InputError
from mvsnet import checks
from mvsnet.pointcloud import mesh


def build_parser():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cloud", help="PLY point cloud (e.g. points_mvsnet/fused.ply, WS/points.ply)")
    ap.add_argument("--output", help="mesh PLY to write (default: CLOUD_mesh.ply)")
    ap.add_argument("--dense_folder", help="dense folder whose cams/ orient the normals")
    ap.add_argument("--depth", type=int, default=mesh.DEFAULT_DEPTH,
                    help="Poisson octree depth (default %(default)s: at most 512^3 cells)")
    ap.add_argument("--trim", type=float, default=mesh.DEFAULT_TRIM,
                    help="share of the lowest-density vertices removed (default %(default)s)")
    ap.add_argument("--picture", help="also render the mesh to this PNG (automatic viewpoint, "
                    "from the side of --dense_folder's cameras)")
    return ap


def run(args, log=print):
    from mvsnet.pointcloud import render
    from mvsnet.pointcloud.ply import read_ply

    output = args.output or os.path.splitext(args.cloud)[0] + "_mesh.ply"
    if os.path.abspath(output) == os.path.abspath(args.cloud):
        raise InputError("the output would overwrite the input; choose another --output", output)
    checks.check_output_file(output, "--output")
    if args.picture:
        if not args.picture.lower().endswith(".png"):
            raise InputError("--picture must be a .png file", args.picture)
        checks.check_output_file(args.picture, "--picture")
    mesh.check_options(args.depth, args.trim, "--depth", "--trim")
    mesh.require_meshlab("tools/mesh.py")
    cameras = render.dense_folder_cameras(args.dense_folder)[1] if args.dense_folder else None
    points, colors, _ = read_ply(args.cloud)
    try:
        render.check_points(points)
        result = mesh.mesh_cloud(points, colors, None,
                                 mesh.camera_centres(cameras) if cameras else None,
                                 args.depth, args.trim, log=log)
    except InputError as e:
        raise InputError(e.problem, args.cloud) from None
    if len(result.triangles) == 0:
        raise InputError("no surface left after trimming (lower --trim)", args.cloud)
    mesh.write_mesh(output, result)
    log("wrote %s" % output)
    if args.picture:
        cam = render.auto_camera(result.vertices, 800, 600, cameras)
        picture = render.render_mesh(result.vertices, result.triangles, result.colors, cam, 800, 600)
        render.write_png(args.picture, picture.image)
        log("wrote %s" % args.picture)
    return output


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except InputError as e:
        sys.stdout.flush()
        print("error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
