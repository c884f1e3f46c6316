"""Synthetic multi-view scenes with exact depth, for tests of the R-MVSNet port: the command line.

usage: python -m tools.synthetic dense OUT [--views 5] [--width 160] [--height 128] [--seed 0] ...
       python -m tools.synthetic dtu OUT [--scans 2,3] [--views 49] [--width 640] [--height 512] ...
       python -m tools.synthetic colmap OUT [--views 12] [--width 64] [--height 48] [--points 9] ...
       python -m tools.synthetic dtu_eval OUT [--scans 1] [--seed 0] [--size 48,36] [--res 1] ...
       python -m tools.synthetic tanks_eval OUT [--scene Synthetic] [--seed 0] [--spacing 0.1] ...

  dense   MVSNet test layout (images/, cams/, pair.txt) plus gt/ depth and cloud
  dtu     preprocessed DTU training layout (Cameras/, Rectified/, Depths/)
  colmap  COLMAP sparse workspace (images/, sparse/; needs pycolmap)
  dtu_eval    DTU evaluation files (Points/stl/, ObsMask/) of synthetic scans
  tanks_eval  Tanks and Temples evaluation files (SCENE.ply, SCENE.json, SCENE_trans.txt)

Everything is deterministic given --seed (and the other options). Bad options or a
non-empty OUT: one line ``error: ...`` on stderr, exit status 1.
"""
import argparse
import sys

from cameras.errors import InputError
from tools.synthetic import layouts


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


def _size(text):
    try:
        vals = [float(x) for x in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError("expected W,H, got %r" % text)
    if len(vals) != 2 or not (vals[0] > 0 and vals[1] > 0):
        raise argparse.ArgumentTypeError("expected two positive numbers W,H, got %r" % text)
    return vals


def build_parser():
    """The argparse parser of the three subcommands (dest ``layout``)."""
    ap = argparse.ArgumentParser(prog="python -m tools.synthetic", description=__doc__.split("\n\n")[0])
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
    c = sub.add_parser("colmap", help="COLMAP sparse workspace (images/, sparse/) of a dense scene")
    c.add_argument("out")
    c.add_argument("--views", type=int, default=12)
    c.add_argument("--width", type=int, default=64)
    c.add_argument("--height", type=int, default=48)
    c.add_argument("--points", type=int, default=9, help="grid points sampled per view")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--binary", action="store_true", help="binary model files instead of text")
    c.add_argument("--first_id", type=int, default=1, help="image id of the first view")
    e = sub.add_parser("dtu_eval", help="DTU evaluation files (Points/stl/, ObsMask/) of synthetic scans")
    e.add_argument("out")
    e.add_argument("--scans", type=_int_list, default=[1], help="scan ids, e.g. 1,4")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--size", type=_size, default=[48.0, 36.0], help="W,H of the sampled field (mm)")
    e.add_argument("--spacing", type=float, default=0.2, help="sample spacing (mm) before the 0.2 mm reduction")
    e.add_argument("--res", type=float, default=1.0, help="ObsMask voxel size Res (mm)")
    e.add_argument("--mask_margin", type=float, default=40.0, help="ObsMask: voxels within this of the surface")
    e.add_argument("--unobserved", type=float, default=0.2, help="share of the points (largest x) left out of ObsMask")
    e.add_argument("--below", type=float, default=0.15, help="share of the points (largest y) below the plane")
    e.add_argument("--objects", type=int, default=4)
    e.add_argument("--overwrite", action="store_true", help="write into a non-empty OUT")
    k = sub.add_parser("tanks_eval", help="Tanks and Temples evaluation files of a synthetic scene")
    k.add_argument("out")
    k.add_argument("--scene", default="Synthetic", help="SCENE of SCENE.ply, SCENE.json, SCENE_trans.txt")
    k.add_argument("--seed", type=int, default=0)
    k.add_argument("--size", type=_size, default=[48.0, 36.0], help="W,H of the sampled field")
    k.add_argument("--spacing", type=float, default=0.1, help="sample spacing of the ground truth")
    k.add_argument("--scale", type=float, default=1.0, help="scale of the alignment (a similarity)")
    k.add_argument("--objects", type=int, default=4)
    k.add_argument("--overwrite", action="store_true", help="write into a non-empty OUT")
    return ap


def main(argv=None):
    """Run one subcommand.

    Args:
        argv: the arguments after the program name (default: sys.argv[1:]).

    Returns:
        exit status: 0, or 1 after printing ``error: ...`` for an InputError.
    """
    a = build_parser().parse_args(argv)
    try:
        if a.layout == "dense":
            info = layouts.write_dense(a.out, views=a.views, width=a.width, height=a.height, seed=a.seed,
                                       depth_line=a.depth_line, max_d=a.max_d,
                                       interval_scale=a.interval_scale, margin=a.margin,
                                       depth_range=a.depth_range, num_src=a.num_src,
                                       jpeg_quality=a.jpeg_quality, overwrite=a.overwrite, arc_deg=a.arc,
                                       elevation_deg=a.elevation, distance=a.distance, focal=a.focal,
                                       num_objects=a.objects, back_plane=not a.no_back_plane,
                                       supersample=a.supersample)
        elif a.layout == "dtu":
            info = layouts.write_dtu(a.out, scans=a.scans, views=a.views, width=a.width, height=a.height,
                                     seed=a.seed, supersample=a.supersample, overwrite=a.overwrite,
                                     num_objects=a.objects)
        elif a.layout in ("dtu_eval", "tanks_eval"):
            from tools.synthetic import eval_sets  # scipy only when asked for
            if a.spacing <= 0:
                raise InputError("spacing: must be positive, got %g" % a.spacing)
            if a.layout == "dtu_eval":
                info = eval_sets.write_dtu_eval(a.out, scans=a.scans, seed=a.seed, size=a.size, spacing=a.spacing,
                                                res=a.res, mask_margin=a.mask_margin, unobserved=a.unobserved,
                                                below=a.below, num_objects=a.objects, overwrite=a.overwrite)
                print("wrote %s (dtu_eval, scans %s)" % (a.out, ",".join(info["scans"])))
            else:
                info = eval_sets.write_tanks_eval(a.out, scene=a.scene, seed=a.seed, size=a.size, spacing=a.spacing,
                                                  num_objects=a.objects, scale=a.scale, overwrite=a.overwrite)
                print("wrote %s (tanks_eval, %d points)" % (a.out, info["points"]))
            return 0
        else:
            from tools.synthetic import colmap  # pycolmap only when asked for
            views = colmap.write_workspace(a.out, a.views, a.width, a.height, a.points, a.seed,
                                           a.binary, a.first_id)
            info = dict(layout="colmap", views=len(views))
    except InputError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    print("wrote %s (%s, %d views)" % (a.out, info["layout"], info["views"]))
    return 0
