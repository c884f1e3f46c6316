"""colmap2mvsnet: a COLMAP dense workspace to an MVSNet dense folder, as the original
``mvsnet/colmap2mvsnet.py`` computes it.

For view ``i`` (the i-th registered image in image-id order; the original assumes ids
1..N, which is the same order) it writes ``cams/%08d_cam.txt`` (extrinsic, intrinsic and
``DEPTH_MIN DEPTH_INTERVAL DEPTH_NUM DEPTH_MAX``), ``images/%08d.jpg`` and ``pair.txt``:

- depth range: the camera depths z of the sparse points the view observes, sorted;
  DEPTH_MIN = z[int(0.01 n)], DEPTH_MAX = z[int(0.99 n)];
- DEPTH_NUM = ``max_d``, or with ``max_d = 0`` the inverse-depth estimate of the R-MVSNet
  supplementary material: (1/dmin - 1/dmax) / (1/dmin - 1/(dmin + d1)), d1 the distance
  between the back-projections at DEPTH_MIN of the principal point and the pixel to its
  right (kept as a float, like the original);
- DEPTH_INTERVAL = (DEPTH_MAX - DEPTH_MIN) / (DEPTH_NUM - 1) / interval_scale;
- view selection: for views i, j the sum over their common sparse points of
  exp(-(theta - theta0)^2 / (2 sigma^2)), theta the triangulation angle in degrees,
  sigma = sigma1 when theta <= theta0 else sigma2; the 10 best scores of each view
  (the view itself, score 0, is among them when there are fewer than 11 views, as the
  original; ``exclude_reference`` leaves it out).
"""

import dataclasses
import os

import numpy as np

from cameras import layout
from cameras.atomic import read_bytes, write_bytes_atomic
from cameras.camera import Camera
from cameras.camfile import format_cam
from cameras.errors import InputError
from cameras.pair import format_pair
from mvsnet.network.spec import check_max_d
from mvsnet.options import option

NUM_SOURCES = 10  # the original keeps the 10 best-scored views


@dataclasses.dataclass
class Options:
    """colmap2mvsnet.py's conversion options: the original's flags (names and defaults) and
    the fixes, off by default (the flags are generated from these fields)."""

    max_d: int = option(0, "DEPTH_NUM of every view; 0: estimated per view from inverse depth "
                        "(the original's default).")
    interval_scale: float = option(1.0, "DEPTH_INTERVAL is divided by this.")
    theta0: float = option(5.0, "View selection: best triangulation angle (degrees).")
    sigma1: float = option(1.0, "View selection: spread below theta0 (degrees).")
    sigma2: float = option(10.0, "View selection: spread above theta0 (degrees).")
    convert_format: bool = option(False, "Re-encode the images as JPEG (else their bytes are "
                                  "copied, whatever their format, as the original).")
    exclude_reference: bool = option(False, "Never list a view as its own source (the original "
                                     "does, with score 0, when there are fewer than 11 views).")
    full_precision: bool = option(False, "Write the depth line with every digit (the original "
                                  "writes %f: 6 decimals).")

    def check(self):
        check_max_d(self.max_d, 2, automatic=True)
        if not self.interval_scale > 0:
            raise InputError("--interval_scale must be positive, got %r" % self.interval_scale)
        if not (self.sigma1 > 0 and self.sigma2 > 0):
            raise InputError("--sigma1 and --sigma2 must be positive, got %r and %r"
                             % (self.sigma1, self.sigma2))


def depth_range(view, model, options):
    """(DEPTH_MIN, DEPTH_INTERVAL, DEPTH_NUM, DEPTH_MAX) of ``view``, None when it observes
    no sparse point."""
    if len(view.point_ids) == 0:
        return None
    xyz = model.xyz(view.point_ids)
    homogeneous = np.concatenate([xyz, np.ones((len(xyz), 1))], axis=1)
    zs = np.sort(homogeneous @ view.extrinsic[2])
    n = len(zs)
    depth_min = float(zs[int(n * .01)])
    depth_max = float(zs[int(n * .99)])
    if options.max_d == 0:
        k, r, t = view.intrinsic, view.extrinsic[:3, :3], view.extrinsic[:3, 3]
        k_inv, r_inv = np.linalg.inv(k), np.linalg.inv(r)
        p1 = [k[0, 2], k[1, 2], 1]
        p2 = [k[0, 2] + 1, k[1, 2], 1]
        x1 = r_inv @ (k_inv @ p1 * depth_min - t)
        x2 = r_inv @ (k_inv @ p2 * depth_min - t)
        depth_num = ((1 / depth_min - 1 / depth_max)
                     / (1 / depth_min - 1 / (depth_min + np.linalg.norm(x2 - x1))))
    else:
        depth_num = options.max_d
    interval = (depth_max - depth_min) / (depth_num - 1) / options.interval_scale
    return depth_min, float(interval), float(depth_num), depth_max


def view_scores(model, options):
    """(V, V) symmetric view-selection scores, 0 on the diagonal."""
    views = model.views
    count = len(views)
    centers = [-(v.extrinsic[:3, :3].T @ v.extrinsic[:3, 3]) for v in views]
    score = np.zeros((count, count))
    for i in range(count):
        ids_i = views[i].point_ids
        for j in range(i + 1, count):
            common = ids_i[np.isin(ids_i, views[j].point_ids)]
            if len(common) == 0:
                continue
            p = model.xyz(common)
            a, b = centers[i] - p, centers[j] - p
            cos = np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
            # clipped: rounding can push cos past 1 (the original then adds NaN)
            theta = (180 / np.pi) * np.arccos(np.clip(cos, -1.0, 1.0))
            sigma = np.where(theta <= options.theta0, options.sigma1, options.sigma2)
            terms = np.exp(-(theta - options.theta0) * (theta - options.theta0) / (2 * sigma ** 2))
            s = 0.0
            for term in terms.tolist():  # summed in order, as the original
                s += term
            score[i, j] = score[j, i] = s
    return score


def select_views(score, exclude_reference=False, count=NUM_SOURCES):
    """Per view the ``count`` best (index, score), best first, ordered by the original's
    ``np.argsort(score)[::-1]`` (ties in its order)."""
    pairs = []
    for i in range(len(score)):
        order = [int(k) for k in np.argsort(score[i])[::-1]]
        if exclude_reference:
            order = [k for k in order if k != i]
        pairs.append([(k, float(score[i, k])) for k in order[:count]])
    return pairs


@dataclasses.dataclass
class Conversion:
    model: object
    depth_ranges: list   # per view a 4-tuple or None
    score: np.ndarray
    pairs: list          # (ref, [(src, score), ...]) of the views that have a depth range


def compute(model, options):
    """Depth ranges, scores and pair list of a :class:`mvsnet.colmap.model.SparseModel`."""
    options.check()
    if not model.views:
        raise InputError("the sparse model has no registered image")
    ranges = [depth_range(v, model, options) for v in model.views]
    score = view_scores(model, options)
    selection = select_views(score, options.exclude_reference)
    pairs = [(i, sel) for i, (sel, r) in enumerate(zip(selection, ranges)) if r is not None]
    return Conversion(model, ranges, score, pairs)


def cam_text(view, depth, full_precision=False):
    """The cam file text: the original's layout (``str()`` of every matrix value, the depth
    line with ``%f``); no depth line when ``depth`` is None."""
    text = format_cam(Camera(view.extrinsic, view.intrinsic, *(depth or (0, 0, 0, 0))))
    head, depth_line = text.rstrip("\n").rsplit("\n", 1)
    if depth is None:
        return head + "\n"
    if not full_precision:
        depth_line = "%f %f %f %f" % depth
    return head + "\n" + depth_line + "\n"


def plan_image_copies(model, image_dir, output_dir):
    """[(source, target)] of the image copies, checked so that no input photo is lost.

    The original copies ``images/NAME`` to ``images/%08d.jpg`` in the same folder: a copy
    could overwrite another view's photo before it is read, and a photo already named
    ``%08d.jpg`` for its own index crashed it (SameFileError). Here a photo already in place
    is left as it is, and a copy that would overwrite another view's photo is an error
    before anything is written.
    """
    sources = [os.path.join(image_dir, v.name) for v in model.views]
    for src in sources:
        if not os.path.isfile(src):
            raise InputError("image listed in the sparse model does not exist", src)
    real = {os.path.realpath(s): k for k, s in enumerate(sources)}
    plan = []
    for k, src in enumerate(sources):
        dst = layout.image_path(output_dir, k)
        owner = real.get(os.path.realpath(dst))
        if owner == k:
            continue  # already in place under its MVSNet name
        if owner is not None:
            raise InputError("is the photo of view %d (%s); the copy of view %d (%s) would overwrite "
                             "it. Write the MVSNet folder elsewhere (--output_folder) or rename "
                             "the photos" % (owner, model.views[owner].name, k, model.views[k].name),
                             dst)
        plan.append((src, dst))
    return plan


def _image_bytes(src, convert_format):
    if not convert_format:
        return read_bytes(src, "image")
    import cv2

    image = cv2.imread(src)
    if image is None:
        raise InputError("cannot read the image (OpenCV)", src)
    ok, data = cv2.imencode(".jpg", image)
    if not ok:
        raise InputError("cannot encode the image as JPEG", src)
    return data.tobytes()


def write(conversion, image_dir, output_dir, options, log=print):
    """Write ``cams/``, ``pair.txt`` and ``images/`` of ``conversion`` into ``output_dir``."""
    model = conversion.model
    copies = plan_image_copies(model, image_dir, output_dir)
    for sub in (layout.CAMS, layout.IMAGES):
        try:
            os.makedirs(os.path.join(output_dir, sub), exist_ok=True)
        except OSError as err:
            raise InputError("cannot create the folder: %s" % (err.strerror or err),
                             os.path.join(output_dir, sub)) from None
    for k, (view, depth) in enumerate(zip(model.views, conversion.depth_ranges)):
        path = layout.cam_path(output_dir, k)
        write_bytes_atomic(path, cam_text(view, depth, options.full_precision).encode("ascii"))
    write_bytes_atomic(layout.pair_path(output_dir), format_pair(conversion.pairs).encode("ascii"))
    for src, dst in copies:
        write_bytes_atomic(dst, _image_bytes(src, options.convert_format))
    return len(copies)


def describe(conversion, log=print):
    """One line per view: its photo, depth range and best source views; warnings."""
    model = conversion.model
    for k, (view, depth) in enumerate(zip(model.views, conversion.depth_ranges)):
        if depth is None:
            log("warning: view %d (%s, image id %d) observes no sparse point: no depth range, "
                "its cam file has no depth line and it is not a reference view in pair.txt"
                % (k, view.name, view.image_id))
            continue
        best = ", ".join("%d:%.1f" % (s, sc) for s, sc in dict(conversion.pairs)[k][:4])
        log("view %d (%s): %d points, depth %.6g..%.6g, %.1f planes of %.6g, best sources %s"
            % (k, view.name, len(view.point_ids), depth[0], depth[3], depth[2], depth[1], best))
    for name in model.skipped:
        log("note: image %s is in the model without a pose; left out" % name)


def convert(dense_folder, options, output_folder=None, test=False, allow_distorted=False, log=print):
    """The whole conversion of a COLMAP dense workspace (``images/``, ``sparse/``)."""
    from mvsnet.colmap.model import read_model

    options.check()
    dense_folder = os.fspath(dense_folder)
    if not os.path.isdir(dense_folder):
        raise InputError("the dense folder does not exist", dense_folder)
    model = read_model(os.path.join(dense_folder, "sparse"), allow_distorted)
    conversion = compute(model, options)
    describe(conversion, log)
    if test:
        log("--test: nothing written")
        return conversion
    out = dense_folder if output_folder is None else os.fspath(output_folder)
    copied = write(conversion, os.path.join(dense_folder, "images"), out, options, log)
    log("wrote %d cam files, pair.txt (%d reference views) and %d images to %s"
        % (len(model.views), len(conversion.pairs), copied, out))
    return conversion
