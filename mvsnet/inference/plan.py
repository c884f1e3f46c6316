"""Planning depth inference on a dense folder: test.py's options and every check that can be
made before the network starts (NumPy only: bad input is reported before TensorFlow loads).

A dense folder holds ``images/%08d.jpg``, ``cams/%08d_cam.txt`` and ``pair.txt``.
:class:`Options` are test.py's flags (names and defaults of the original; the flags are
generated from it); :func:`plan_dense_folder` lists and checks every view set up front
(files, cameras, image sizes, network size) and returns one :class:`ViewSetPlan` per
reference view, which :mod:`mvsnet.inference.prepare` reads and preprocesses.
"""

from dataclasses import dataclass, field
from typing import List, Tuple

import numpy as np

from cameras import layout
from cameras.camera import Camera
from cameras.dense_folder import fill_missing_views, list_dense_folder, read_view_cams
from cameras.errors import InputError
from mvsnet import images, preprocess
from mvsnet.inference import precision as precisions
from mvsnet.inference.prepare import image_size
from mvsnet.network.spec import (SAMPLE_SCALE, Readout, check_max_d, check_max_size,
                                 check_regularization, check_sample_scale, check_view_num,
                                 network_multiple)
from mvsnet.options import option


@dataclass(frozen=True)
class Options:
    """test.py's options: the flags of the original test.py (names and defaults), generated
    from these fields (:mod:`mvsnet.options`); the library takes them as they are."""

    view_num: int = option(5, "Views per depth map: the reference plus view_num - 1 sources.")
    max_d: int = option(256, "Depth planes: GRU uses it when a cam has no DEPTH_NUM, 3DCNNs always.")
    max_w: int = option(1600, "Network input width (images are scaled and cropped to it).")
    max_h: int = option(1200, "Network input height (images are scaled and cropped to it).")
    sample_scale: float = option(SAMPLE_SCALE, "Scale of the cost volume and of the output maps relative to "
                                 "the network input (must be 0.25: the feature towers downsample by 4).")
    interval_scale: float = option(0.8, "Factor applied to DEPTH_INTERVAL of the cam files.")
    base_image_size: float = option(8, "Cropped sides are rounded up to a multiple of this.")
    adaptive_scaling: bool = option(True, "Scale the images so that they just cover max_w x max_h, "
                                    "then crop the centre.")
    regularization: str = option("GRU", "GRU (R-MVSNet) or 3DCNNs (MVSNet).")
    inverse_depth: bool = option(True, "GRU: sample the depth planes uniformly in inverse depth.")
    # not in the original: the GRU sweep formulation (see RMVSNet.winner_take_all)
    exact: bool = option(False, "GRU: run the original graph's formulation one plane at a time "
                         "(slower) instead of the fast one (chunks of planes, XLA-compiled warps, "
                         "batched first-layer convolutions, towers without the full-resolution "
                         "concatenation; equal up to float rounding).")
    # not in the original: bfloat16 convolutions in the fast sweep (mvsnet.inference.precision)
    precision: str = precisions.option()
    # not in the original: what the GRU sweep reads off the winning plane (spec.Readout)
    subplane: bool = option(False, "GRU: move each depth between the planes, to the peak of a "
                            "parabola through the costs of the winning plane and its two "
                            "neighbours (the original's depths are the planes'; docs/inference.md).")
    prob_window: int = option(1, "GRU: planes summed into the probability map: 1, the winner's (the "
                              "original), or 3, the winner and its two neighbours (docs/inference.md).")

    def readout(self):
        """The :class:`mvsnet.network.spec.Readout` of these options."""
        return Readout(bool(self.subplane), int(self.prob_window))

    def check(self):
        """InputError for values the pipeline cannot run with."""
        check_regularization(self.regularization)
        precisions.check(self.precision, self.regularization, self.exact)
        if self.prob_window not in (1, 3):
            raise InputError("--prob_window must be 1 or 3, got %r" % self.prob_window)
        if (self.subplane or self.prob_window != 1) and self.regularization != "GRU":
            raise InputError("--subplane and --prob_window are for GRU (3DCNNs regresses its depth "
                             "between the planes and sums 4 planes' probabilities already)")
        check_view_num(self.view_num)
        check_max_d(self.max_d)
        check_max_size(self.max_w, self.max_h)
        check_sample_scale(self.sample_scale)
        if not self.interval_scale > 0 or not self.base_image_size > 0:
            raise InputError("--interval_scale and --base_image_size must be positive, got %g and %g"
                             % (self.interval_scale, self.base_image_size))
        multiple = network_multiple(self.regularization)
        if self.max_w % multiple or self.max_h % multiple:
            raise InputError("--max_w x --max_h = %dx%d: the %s network needs both to be multiples of %d "
                             "(e.g. %dx%d)" % (self.max_w, self.max_h, self.regularization, multiple,
                                               self.max_w // multiple * multiple,
                                               self.max_h // multiple * multiple))
        if self.regularization == "3DCNNs" and self.max_d % 8:
            raise InputError("--max_d %d: the 3DCNNs network needs a multiple of 8" % self.max_d)


@dataclass
class ViewSetPlan:
    """One reference view, checked and ready to read.

    ref_index    id of the reference view (``%08d`` of the outputs)
    image_paths  ``view_num`` images, reference first (missing sources repeat the reference)
    cam_paths    the matching camera files
    view_ids     the matching view ids
    cams         the cameras as read (interval_scale applied, depth_num 0 -> max_d)
    image_sizes  (h, w) of every image, from the file headers
    depth_num    depth planes the network uses (GRU: the reference camera's, 3DCNNs: max_d)
    """

    ref_index: int
    image_paths: List[str]
    cam_paths: List[str]
    view_ids: List[int]
    cams: List[Camera]
    image_sizes: List[Tuple[int, int]]
    depth_num: int
    pair_sources: int = 0  # source views pair.txt gave (before filling / truncation)
    notes: List[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- planning

def _predicted_input_size(sizes, options):
    """(h, w) after adaptive scaling and cropping, predicted from the image sizes (the
    exact size is checked again when the images are read)."""
    scale = 1.0
    if options.adaptive_scaling:
        scale = preprocess.adaptive_scale(sizes, options.max_w, options.max_h)
    out = set()
    for h, w in sizes:
        if scale != 1:
            # cv2.resize(fx=fy=scale): round to nearest (cvRound, ties to even)
            h, w = int(round(h * scale)), int(round(w * scale))
        new_h, new_w = preprocess.crop_size(h, w, options.max_w, options.max_h, options.base_image_size)
        out.add((min(new_h, h), min(new_w, w)))
    return out


def _check_sizes(plan, options):
    sizes = plan.image_sizes
    if options.adaptive_scaling:
        for (h, w), path in zip(sizes, plan.image_paths):
            if options.max_h > h or options.max_w > w:
                raise InputError("image is %dx%d (WxH), smaller than --max_w x --max_h = %dx%d; "
                                 "lower --max_w/--max_h (the original exits here)"
                                 % (w, h, options.max_w, options.max_h), path)
    predicted = _predicted_input_size(sizes, options)
    if predicted != {(options.max_h, options.max_w)}:
        got = ", ".join("%dx%d" % (w, h) for h, w in sorted(predicted))
        hint = ("" if options.adaptive_scaling else
                " (without adaptive scaling every image must be at least --max_w x --max_h)")
        raise InputError("view set of reference view %d would give network inputs of %s (WxH), "
                         "but the network input must be exactly --max_w x --max_h = %dx%d%s"
                         % (plan.ref_index, got, options.max_w, options.max_h, hint),
                         plan.image_paths[0])


def _check_depth_range(plan, options):
    cam = plan.cams[0]
    path = plan.cam_paths[0]
    if not cam.depth_interval > 0:
        raise InputError("the reference camera has no usable depth range: DEPTH_INTERVAL is %g "
                         "(the file needs a 'DEPTH_MIN DEPTH_INTERVAL [DEPTH_NUM [DEPTH_MAX]]' line)"
                         % cam.depth_interval, path)
    if options.regularization == "GRU":
        if plan.depth_num < 2:
            raise InputError("DEPTH_NUM is %g: R-MVSNet needs at least 2 depth planes" % cam.depth_num,
                             path)
        if options.inverse_depth and not cam.depth_min > 0:
            raise InputError("DEPTH_MIN is %g: inverse-depth sampling needs a positive DEPTH_MIN "
                             "(or use --noinverse_depth)" % cam.depth_min, path)


def plan_view_set(view_set, options):
    """Check one :class:`cameras.dense_folder.ViewSet` and read its cameras and image sizes."""
    pair_sources = len(view_set.image_paths) - 1
    filled = fill_missing_views(view_set, options.view_num)
    cams = read_view_cams(view_set, options.view_num, options.interval_scale, options.max_d)
    sizes = [image_size(p) for p in filled.image_paths]
    if options.regularization == "GRU":
        depth_num = int(np.float32(cams[0].depth_num))  # tf.cast(float32 -> int32) truncates
    else:
        depth_num = int(options.max_d)
    plan = ViewSetPlan(view_set.ref_index, filled.image_paths, filled.cam_paths, filled.view_ids,
                       cams, sizes, depth_num, pair_sources)
    if pair_sources < options.view_num - 1:
        plan.notes.append("pair.txt gives %d source view(s) for view %d; the reference view fills "
                          "the other %d, as the original" % (pair_sources, view_set.ref_index,
                                                             options.view_num - 1 - pair_sources))
    _check_depth_range(plan, options)
    _check_sizes(plan, options)
    return plan


def plan_dense_folder(dense_folder, options):
    """Every view set of ``dense_folder`` (pair.txt order), checked up front: the folder
    layout, pair.txt, every used image (readable header, large enough, decodes completely:
    :func:`mvsnet.images.check_all_decode`) and camera file (well formed, numbers that pass
    :mod:`cameras.checks`, with a depth range), and the network input size. Raises
    InputError naming the file at fault."""
    options.check()
    view_sets = list_dense_folder(dense_folder, options.view_num)
    if not view_sets:
        raise InputError("lists no views: nothing to do", layout.pair_path(dense_folder))
    plans = [plan_view_set(v, options) for v in view_sets]
    images.check_all_decode([p for plan in plans for p in plan.image_paths])
    return plans


