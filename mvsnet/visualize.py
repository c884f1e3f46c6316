#!/usr/bin/env python
"""Look at a depth / probability map, as the original mvsnet/visualize.py, or at a point
cloud, and save the picture.

    python mvsnet/visualize.py DEPTH.pfm [--output OUT.png] [--show]
    python mvsnet/visualize.py CLOUD.ply [--output OUT.png] [--camera CAM.txt | --view N
        --dense_folder SCENE | --dense_folder SCENE] [--color rgb|depth|error --gt GT.ply]

A ``.ply`` is rendered headless (z-buffered splats, mvsnet.pointcloud.render): from the cam
file ``--camera`` (at the size of its image, ``SCENE/images/NAME.jpg`` for
``SCENE/cams/NAME_cam.txt``, or ``--width``), from view ``--view`` of ``--dense_folder``, or
from a viewpoint that frames the whole cloud (seen from the side of the dense folder's
cameras when ``--dense_folder`` is given); coloured by the points' RGB, their depth, or their
distance to the ground-truth cloud ``--gt`` (docs/rendering.md).

Maps:
Reads ``.pfm`` (MVSNet depth and probability maps), ``.npy``, ``.dmb`` (Gipuma) or an
ordinary image; prints ``value range:  MIN MAX`` (MIN over the non-zero values, as the
original); writes a colour-mapped PNG (default: the input path with ``.png`` for maps,
``_vis.png`` for images), which works without a display. Maps are coloured with
matplotlib's 'rainbow' colour map stretched from the map's minimum to its maximum, as the
original's ``plt.imshow(depth, 'rainbow')``; non-finite values are black. ``--show`` also
opens the original's matplotlib window (needs matplotlib and a display).
"""

import os

import numpy as np
from absl import flags

from cameras.dmb import read_dmb
from cameras.errors import InputError
from mvsnet import checks, cli
from mvsnet.colormap import colorize, rainbow_lut  # noqa: F401 (rainbow_lut: public name)
from mvsnet.pointcloud import render
from cameras.pfm import read_pfm

FLAGS = flags.FLAGS


def define_flags():
    """The command-line flags (defined only when run as a script: importing this module
    must not add flags to the global absl registry)."""
    flags.DEFINE_string("output", None, "PNG to write (default: next to the input, see above).")
    flags.DEFINE_bool("show", False, "Also show the map in a matplotlib window, as the original.")
    # point clouds (.ply)
    flags.DEFINE_string("camera", None, "Cloud: render from this cam file (*_cam.txt).")
    flags.DEFINE_integer("view", None, "Cloud: render from view N of --dense_folder "
                         "(cams/%08d_cam.txt).")
    flags.DEFINE_string("dense_folder", None, "Cloud: the dense folder of --view; alone, the "
                        "automatic viewpoint looks from the side of its cameras.")
    flags.DEFINE_enum("color", "rgb", render.COLOR_MODES, "Cloud: colour by the points' RGB, "
                      "their depth, or their distance to --gt.")
    flags.DEFINE_string("gt", None, "Cloud: ground-truth PLY for --color error (nearest-"
                        "neighbour distance of each point, as tools/evaluate.py).")
    flags.DEFINE_float("max_error", None, "Cloud: distance shown red by --color error "
                       "(default: the 95th percentile).")
    flags.DEFINE_integer("width", None, "Cloud: picture width (default: the camera's image, "
                         "800 for the automatic viewpoint).")
    flags.DEFINE_integer("height", None, "Cloud: picture height (default: the camera image's "
                         "aspect, 600 for the automatic viewpoint).")
    flags.DEFINE_integer("point_radius", render.DEFAULT_RADIUS, "Cloud: splat radius in pixels.")
    flags.DEFINE_float("edl", render.DEFAULT_EDL, "Cloud: eye-dome lighting strength "
                       "(edges darkened from the depth; 0: off).")

CLOUD_FLAGS = ("camera", "view", "dense_folder", "color", "gt", "max_error", "width", "height",
               "point_radius", "edl")

MAP_EXTENSIONS = (".pfm", ".npy", ".dmb")


def read_map(path):
    """(array, is_map): a float map for .pfm/.npy/.dmb, else the image as RGB uint8."""
    ext = os.path.splitext(path)[1].lower()
    if not os.path.isfile(path):
        raise InputError("does not exist" if not os.path.exists(path) else "is not a file", path)
    if ext == ".pfm":
        return read_pfm(path), True
    if ext == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except Exception as e:
            raise InputError("not a readable .npy file: %s" % " ".join(str(e).split()), path) from None
        array = np.squeeze(array)
        if array.ndim != 2 or not np.issubdtype(array.dtype, np.number):
            raise InputError("expected a 2-D numeric map, got %s %s" % (array.dtype, array.shape), path)
        return array.astype(np.float64), True
    if ext == ".dmb":
        return read_dmb(path), True
    import cv2

    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputError("not a readable map or image (expected .pfm, .npy, .dmb or an image)", path)
    if image.ndim == 3:
        image = image[:, :, 2::-1] if image.shape[2] >= 3 else image[:, :, 0]
    return image, image.ndim == 2


def value_range(array):
    """(min, max) of the non-zero values (the original masks 0), or (None, None)."""
    values = np.asarray(array, dtype=np.float64)
    values = values[(values != 0) & np.isfinite(values)]
    if values.size == 0:
        return None, None
    return values.min(), values.max()


def default_output(path, is_map):
    stem, ext = os.path.splitext(path)
    if ext.lower() in MAP_EXTENSIONS:
        return stem + ".png"
    return stem + "_vis.png"


def visualize(path, output=None, show=False, log=print):
    """Print the value range of ``path``, write its colour-mapped PNG; returns the PNG path."""
    import cv2

    array, is_map = read_map(path)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 3 and array.shape[2] == 3 and np.issubdtype(array.dtype, np.floating):
        array = array.mean(axis=2)  # a colour PFM: show its mean like a map
    lo, hi = value_range(array)
    log("value range:  %s %s" % (lo, hi) if lo is not None else "value range:  (all values are 0)")
    output = output or default_output(path, is_map)
    if os.path.abspath(output) == os.path.abspath(path):
        raise InputError("the output would overwrite the input; choose another --output", output)
    if not output.lower().endswith(".png"):
        raise InputError("the output must be a .png file", output)
    if array.ndim == 2:
        rgb = colorize(array)
    else:
        rgb = np.asarray(array)
        if rgb.dtype != np.uint8:  # e.g. 16-bit images: stretch to 8 bits for the PNG
            rgb = colorize(rgb.mean(axis=2))
    render.write_png(output, rgb)
    log("wrote %s (%dx%d)" % (output, rgb.shape[1], rgb.shape[0]))
    if show:
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise InputError("--show needs matplotlib (pip install matplotlib); the PNG was written") from None
        plt.imshow(array, "rainbow") if array.ndim == 2 else plt.imshow(rgb)
        plt.show()
    return output


def check_png_output(output, inputs=()):
    if not output.lower().endswith(".png"):
        raise InputError("the output must be a .png file", output)
    for path in inputs:
        if path and os.path.abspath(output) == os.path.abspath(path):
            raise InputError("the output would overwrite the input; choose another --output", output)
    checks.check_output_file(output, "--output")


def read_cloud(path, what="cloud", faces=False):
    """(points, colors or None) of a PLY, and with ``faces`` its triangles (or None); InputError
    naming it when it has no usable point."""
    from mvsnet.pointcloud.ply import read_mesh, read_ply

    if faces:
        points, colors, triangles = read_mesh(path)
    else:
        (points, colors, _), triangles = read_ply(path), None
    try:
        render.check_points(points, what)
    except InputError as e:
        raise InputError(e.problem, path) from None
    return (points, colors, triangles) if faces else (points, colors)


def visualize_cloud(path, output=None, camera=None, view=None, dense_folder=None, color="rgb",
                    gt=None, max_error=None, width=None, height=None,
                    radius=render.DEFAULT_RADIUS, edl=render.DEFAULT_EDL, log=print):
    """Render the PLY ``path`` to a PNG (see the module docstring); returns the PNG path."""
    import time

    output = output or os.path.splitext(path)[0] + ".png"
    check_png_output(output, (path, gt))
    if camera and (view is not None):
        raise InputError("give --camera or --view, not both")
    if view is not None and not dense_folder:
        raise InputError("--view needs --dense_folder")
    if color == "error" and not gt:
        raise InputError("--color error needs --gt GT.ply")
    if gt and color != "error":
        raise InputError("--gt is used by --color error only")
    if radius < 0 or radius > 32:
        raise InputError("--point_radius must be 0 to 32, got %d" % radius)
    if (width is not None and width < 1) or (height is not None and height < 1):
        raise InputError("--width and --height must be positive")
    if not (edl >= 0):
        raise InputError("--edl must be >= 0, got %g" % edl)
    if view is not None:
        from cameras import layout

        camera = layout.cam_path(dense_folder, view)
    if camera:
        cam, width, height, _ = render.camera_for_picture(camera, width, height)
        where = camera
    start = time.time()
    points, colors, triangles = read_cloud(path, faces=True)
    if triangles is not None and len(triangles) == 0:
        triangles = None  # a PLY with an empty face element: its vertices are the cloud
    if triangles is not None and color != "rgb":
        raise InputError("--color %s is for point clouds; a mesh is drawn in its colours" % color,
                         path)
    if not camera:
        cameras = render.dense_folder_cameras(dense_folder)[1] if dense_folder else None
        width = width or 800
        height = height or (600 if width == 800 else int(round(width * 0.75)))
        cam = render.auto_camera(points, width, height, cameras)
        where = "an automatic viewpoint"
    values = value_range = None
    if color == "error":
        from mvsnet.pointcloud.evaluation import nearest_distances

        gt_points, _ = read_cloud(gt, "ground-truth cloud")
        values = nearest_distances(points, gt_points)
        top = max_error if max_error is not None else float(np.percentile(values, 95))
        if not top > 0:
            raise InputError("--max_error must be positive, got %g" % top)
        value_range = (0.0, top)
        log("distance to %s: median %.4g, mean %.4g; colours 0 (violet) to %.4g (red)"
            % (gt, np.median(values), values.mean(), top))
    if triangles is not None:
        try:
            picture = render.render_mesh(points, triangles, colors, cam, width, height,
                                         min(radius, 1), edl)
        except InputError as e:
            raise InputError(e.problem, path) from None
        what = "a mesh of %d triangles" % len(triangles)
    else:
        picture = render.render(points, cam, width, height, colors, values, value_range, color,
                                radius, edl)
        what = "%d points" % len(points)
    render.write_png(output, picture.image)
    log("wrote %s (%dx%d): %s seen from %s, %.0f %% of the pixels covered, %.1f s"
        % (output, width, height, what, where, 100 * picture.coverage, time.time() - start))
    return output


def main(argv):
    if len(argv) != 2:
        raise InputError("usage: python mvsnet/visualize.py FILE.pfm|.npy|.dmb|image|.ply "
                         "[--output OUT.png] [--show]")
    path = argv[1]
    if path.lower().endswith(".ply"):
        if FLAGS.show:
            raise InputError("--show is for maps; a cloud is written to --output")
        visualize_cloud(path, FLAGS.output, FLAGS.camera, FLAGS.view, FLAGS.dense_folder,
                        FLAGS.color, FLAGS.gt, FLAGS.max_error, FLAGS.width, FLAGS.height,
                        FLAGS.point_radius, FLAGS.edl)
        return
    given = [name for name in CLOUD_FLAGS if FLAGS[name].present]
    if given:
        raise InputError("--%s: for point clouds (.ply) only" % ", --".join(given))
    visualize(path, FLAGS.output, FLAGS.show)


def run():
    """Console entry point ``mvsnet-visualize``."""
    define_flags()
    cli.run(main)


if __name__ == "__main__":
    run()
