"""Dense-folder input and output of depth inference (the original test.py's MVSGenerator
and its output writing), numpy only: no TensorFlow here, so that bad input is reported
before TensorFlow starts.

A dense folder holds ``images/%08d.jpg``, ``cams/%08d_cam.txt`` and ``pair.txt``.
:func:`plan_dense_folder` lists and checks every view set up front (files, cameras,
image sizes, network size); :func:`prepare_view_set` reads and preprocesses one view set
exactly as the original; :func:`write_view_outputs` writes the four files of one
reference view into ``depths_mvsnet/``.
"""

import os
from dataclasses import dataclass, field
from typing import List, Tuple

import numpy as np

from cameras.atomic import write_bytes_atomic
from cameras.camera import Camera
from cameras.camfile import write_cam
from cameras.dense_folder import fill_missing_views, list_dense_folder, read_view_cams
from cameras.errors import InputError
from mvsnet import preprocess
from mvsnet.pfm import write_pfm

REGULARIZATIONS = ("GRU", "3DCNNs")
OUTPUT_SUBFOLDER = "depths_mvsnet"


@dataclass(frozen=True)
class Options:
    """The input parameters of the original test.py (flag names and defaults)."""

    view_num: int = 5
    max_d: int = 256
    max_w: int = 1600
    max_h: int = 1200
    sample_scale: float = 0.25
    interval_scale: float = 0.8
    base_image_size: float = 8
    adaptive_scaling: bool = True
    regularization: str = "GRU"
    inverse_depth: bool = True

    def check(self):
        """InputError for values the pipeline cannot run with."""
        if self.regularization not in REGULARIZATIONS:
            raise InputError("--regularization must be GRU or 3DCNNs, got %r" % (self.regularization,))
        if self.view_num < 2:
            raise InputError("--view_num must be at least 2 (a reference and a source view: the cost "
                             "volume is the variance across views), got %d" % self.view_num)
        if self.max_d < 1:
            raise InputError("--max_d must be at least 1, got %d" % self.max_d)
        if self.max_w < 1 or self.max_h < 1:
            raise InputError("--max_w and --max_h must be positive, got %dx%d" % (self.max_w, self.max_h))
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


SAMPLE_SCALE = 0.25


def check_sample_scale(sample_scale):
    """InputError unless ``sample_scale`` is 0.25: the depth maps (and the cameras and
    images that go with them) are always at 1/4 of the network input, because the feature
    towers downsample the images by 4; another value would only mis-scale the cameras.
    Shared by test.py, train.py and validate.py (the original's flag, kept for its name)."""
    if sample_scale != SAMPLE_SCALE:
        raise InputError("--sample_scale must be %g, got %g: the depth maps are always 1/4 of the "
                         "network input because the feature towers downsample the images by 4"
                         % (SAMPLE_SCALE, sample_scale))


def network_multiple(regularization):
    """Image sides must be multiples of this: the feature U-Net halves the image 4 times;
    the 3D U-Net of 3DCNNs halves the 1/4-scale cost volume 3 more times."""
    return 32 if regularization == "3DCNNs" else 16


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


@dataclass
class PreparedViewSet:
    """What the network and the output writer need (the original generator's tuple).

    scaled_ref_image  (h/4, w/4, 3) uint8 BGR: the reference image at the cost-volume scale
    centered_images   (V, H, W, 3) float32, per-image centred BGR images
    scaled_cams       (V, 2, 4, 4) float32 cameras of the 1/4-scale image
    ref_index         int
    """

    scaled_ref_image: np.ndarray
    centered_images: np.ndarray
    scaled_cams: np.ndarray
    ref_index: int


# ----------------------------------------------------------------------------- images

def image_size(path):
    """(h, w) of an image file from its header; InputError when it is not a readable image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            w, h = im.size
    except FileNotFoundError:
        raise InputError("image does not exist", path) from None
    except UnidentifiedImageError:
        raise InputError("not an image file (format not recognised)", path) from None
    except OSError as e:
        raise InputError("cannot read image: %s" % (e.strerror or e), path) from None
    if w < 1 or h < 1:
        raise InputError("image has no pixels (%dx%d)" % (w, h), path)
    return h, w


def read_image(path):
    """The image as (H, W, 3) uint8 BGR, decoded as the original did (PIL, converted to RGB,
    then RGB -> BGR). InputError naming the file when it cannot be decoded."""
    import imageio.v2 as iio

    try:
        rgb = iio.imread(path, mode="RGB")  # = pilmode="RGB" of the v2 API, without its warning
    except FileNotFoundError:
        raise InputError("image does not exist", path) from None
    except Exception as e:  # PIL / imageio raise many types for bad or truncated data
        raise InputError("cannot decode image: %s" % (" ".join(str(e).split()) or type(e).__name__),
                         path) from None
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InputError("cannot decode image as 8-bit RGB (got %s %s)" % (rgb.dtype, rgb.shape), path)
    return np.ascontiguousarray(rgb[:, :, ::-1])


def bytescale(image):
    """scipy.misc.bytescale of a float image as scipy.misc.imsave applied it: min..max of the
    whole array stretched to 0..255 (a constant image becomes 0), rounded by +0.5 after
    clipping, in the array's own float precision."""
    image = np.asarray(image)
    cmin = image.min()
    cmax = image.max()
    cscale = cmax - cmin
    if cscale == 0:
        cscale = 1
    scale = 255.0 / cscale
    data = (image - cmin) * scale
    return (data.clip(0, 255) + 0.5).astype(np.uint8)


def jpeg_bytes(rgb_uint8):
    """The JPEG imageio / Pillow write with their default settings (quality 75)."""
    import imageio.v2 as iio

    return iio.imwrite("<bytes>", rgb_uint8, format="jpg")


def reference_image_jpeg(scaled_ref_image):
    """The ``%08d.jpg`` of the original: the 1/4-scale reference image (BGR) as float32,
    converted to RGB and saved with scipy.misc.imsave (bytescaled min..max)."""
    rgb = np.asarray(scaled_ref_image, dtype=np.float32)[:, :, ::-1]
    return jpeg_bytes(bytescale(rgb))


# ----------------------------------------------------------------------------- checkpoint

def resolve_checkpoint(path, step):
    """The checkpoint the original reads, ``PATH-STEP`` (a TF1 prefix: the original's or one
    written by this port), or a Keras ``.weights.h5`` file: ``PATH`` itself when it ends in
    ``.weights.h5`` (then ``step`` is ignored), else ``PATH-STEP.weights.h5``. Checked for
    existence without TensorFlow; InputError when nothing is there."""
    if not path:
        raise InputError("no checkpoint given: set --pretrained_model_ckpt_path (and --ckpt_step)")
    path = os.fspath(path)
    if path.endswith(".weights.h5"):
        if not os.path.isfile(path):
            raise InputError("no such weights file", path)
        return path
    prefix = "%s-%s" % (path, step)
    if os.path.isfile(prefix + ".index"):
        return prefix
    if os.path.isfile(prefix + ".weights.h5"):
        return prefix + ".weights.h5"
    found = checkpoints_in(os.path.dirname(prefix) or ".")
    hint = " (found: %s; --ckpt_step picks the number)" % ", ".join(found[:5]) if found else ""
    raise InputError("no checkpoint there: missing %s.index (the checkpoint read is "
                     "--pretrained_model_ckpt_path + '-' + --ckpt_step)%s"
                     % (os.path.basename(prefix), hint), prefix)


def checkpoints_in(folder):
    """Sorted TF1 checkpoint prefixes (``NAME`` of every ``NAME.index``) in ``folder``, for
    the "found: ..." hint of a missing checkpoint; [] when the folder does not exist or
    cannot be listed (the hint is a courtesy: it never turns into an error of its own)."""
    try:
        names = os.listdir(folder)
    except OSError:      # missing, not a folder, unreadable, ...
        return []
    return sorted(f[:-len(".index")] for f in names if f.endswith(".index"))


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
    layout, pair.txt, every used image (readable header, large enough) and camera file
    (well formed, with a depth range), and the network input size. Raises InputError
    naming the file at fault."""
    options.check()
    view_sets = list_dense_folder(dense_folder, options.view_num)
    if not view_sets:
        raise InputError("lists no views: nothing to do", os.path.join(dense_folder, "pair.txt"))
    return [plan_view_set(v, options) for v in view_sets]


def output_folder(dense_folder):
    return os.path.join(dense_folder, OUTPUT_SUBFOLDER)


def make_output_folder(dense_folder):
    """Create ``DENSE/depths_mvsnet`` (as the original); InputError when it cannot be."""
    folder = output_folder(dense_folder)
    if os.path.isdir(folder):
        return folder
    if os.path.exists(folder):
        raise InputError("exists but is not a folder; cannot write the depth maps there", folder)
    try:
        os.mkdir(folder)
    except OSError as e:
        raise InputError("cannot create the output folder: %s" % (e.strerror or e), folder) from None
    return folder


# ----------------------------------------------------------------------------- one view set

def prepare_view_set(plan, options):
    """Read and preprocess one view set exactly as the original generator: adaptive scale
    over all views, centred crop to the network size, per-image centring, cameras and the
    reference image scaled by ``sample_scale``."""
    images = [read_image(p) for p in plan.image_paths]
    for image, path, (h, w) in zip(images, plan.image_paths, plan.image_sizes):
        if image.shape[:2] != (h, w):
            raise InputError("decoded image is %dx%d, its header says %dx%d"
                             % (image.shape[1], image.shape[0], w, h), path)
    cams = plan.cams
    scale = 1
    if options.adaptive_scaling:
        scale = preprocess.adaptive_scale([im.shape for im in images], options.max_w, options.max_h)
    images, cams = preprocess.scale_mvs_input(images, cams, scale=scale)
    try:
        images, cams = preprocess.crop_mvs_input(images, cams, max_w=options.max_w, max_h=options.max_h,
                                                 base_image_size=options.base_image_size)
    except InputError as e:
        raise InputError(e.problem, plan.image_paths[0]) from None
    for image, path in zip(images, plan.image_paths):
        if image.shape[:2] != (options.max_h, options.max_w):
            raise InputError("network input would be %dx%d (WxH) after scaling and cropping, but it "
                             "must be exactly --max_w x --max_h = %dx%d"
                             % (image.shape[1], image.shape[0], options.max_w, options.max_h), path)
    centered = np.stack([preprocess.center_image(im) for im in images]).astype(np.float32)
    scaled_cams = preprocess.scale_mvs_camera(cams, options.sample_scale)
    scaled_ref = preprocess.scale_image(images[0], scale=options.sample_scale)
    cam_array = np.stack([c.to_array() for c in scaled_cams]).astype(np.float32)
    return PreparedViewSet(np.ascontiguousarray(scaled_ref), centered, cam_array, plan.ref_index)


def output_paths(folder, ref_index):
    """{kind: path} of the files written for one reference view."""
    return {"init": os.path.join(folder, "%08d_init.pfm" % ref_index),
            "prob": os.path.join(folder, "%08d_prob.pfm" % ref_index),
            "image": os.path.join(folder, "%08d.jpg" % ref_index),
            "cam": os.path.join(folder, "%08d.txt" % ref_index),
            "refined": os.path.join(folder, "%08d_refined.pfm" % ref_index)}


def write_view_outputs(folder, ref_index, depth, prob, scaled_ref_image, scaled_ref_cam, refined=None):
    """Write the files of one reference view, each atomically, as the original:
    ``%08d_init.pfm`` (depth), ``%08d_prob.pfm``, ``%08d.jpg`` (1/4-scale reference image,
    bytescaled), ``%08d.txt`` (1/4-scale reference camera, float32 values) and, with
    refinement, ``%08d_refined.pfm``. Returns the paths written."""
    paths = output_paths(folder, ref_index)
    write_pfm(paths["init"], np.ascontiguousarray(np.squeeze(depth), dtype=np.float32))
    write_pfm(paths["prob"], np.ascontiguousarray(np.squeeze(prob), dtype=np.float32))
    write_bytes_atomic(paths["image"], reference_image_jpeg(scaled_ref_image))
    write_cam(paths["cam"], np.asarray(scaled_ref_cam, dtype=np.float32))
    written = [paths["init"], paths["prob"], paths["image"], paths["cam"]]
    if refined is not None:
        write_pfm(paths["refined"], np.ascontiguousarray(np.squeeze(refined), dtype=np.float32))
        written.append(paths["refined"])
    return written

