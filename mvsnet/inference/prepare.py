"""Reading and preprocessing one view set exactly as the original test.py's generator:
decode (PIL, RGB -> BGR), adaptive scale over all views, centred crop to the network size,
per-image centring statistics (the network applies them), cameras and reference image at
the cost-volume scale. NumPy only.
"""

from dataclasses import dataclass

import numpy as np

from cameras.errors import InputError
from mvsnet import preprocess


@dataclass
class PreparedViewSet:
    """What the network and the output writer need (the original generator's tuple).

    scaled_ref_image  (h/4, w/4, 3) uint8 BGR: the reference image at the cost-volume scale
    images            (V, H, W, 3) uint8 BGR network input, scaled and cropped, not centred
    image_stats       (V, 2, 3) float32: per view, the mean and the denominator (std + 1e-8)
                      of the original's per-image centring (preprocess.centring_statistics)
    scaled_cams       (V, 2, 4, 4) float32 cameras of the 1/4-scale image
    ref_index         int

    The network centres each view itself when its feature tower starts (bit for bit the
    original's float32 values): a view set travels as 1 byte per value instead of 4, and
    no (V, H, W, 3) float array exists (115 MB at 1600x1200, 5 views; it set the peak
    memory while the next set was read).
    """

    scaled_ref_image: np.ndarray
    images: np.ndarray
    image_stats: np.ndarray
    scaled_cams: np.ndarray
    ref_index: int

    @property
    def centered_images(self):
        """(V, H, W, 3) float32 centred views, the original generator's array (a new copy)."""
        return preprocess.apply_centring(self.images, self.image_stats[:, 0, None, None],
                                         self.image_stats[:, 1, None, None])

    def network_inputs(self):
        """(images, image_stats, cams) as a batch of one view set, the arguments of
        :func:`mvsnet.inference.network.network_function`'s network."""
        return network_inputs([self])


def network_inputs(view_sets):
    """(images (B, V, H, W, 3), image_stats (B, V, 2, 3), cams (B, V, 2, 4, 4)): the network's
    arrays of a batch of :class:`PreparedViewSet` (of one view set: views, no copies)."""
    if len(view_sets) == 1:
        item = view_sets[0]
        return item.images[None], item.image_stats[None], item.scaled_cams[None]
    return (np.stack([i.images for i in view_sets]), np.stack([i.image_stats for i in view_sets]),
            np.stack([i.scaled_cams for i in view_sets]))


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


def prepare_view_set(plan, options):
    """Read and preprocess one view set exactly as the original generator: adaptive scale
    over all views, centred crop to the network size, per-image centring, cameras and the
    reference image scaled by ``sample_scale``."""
    # one view at a time into one preallocated array: a decoded image, its resized copy
    # and the array are all that is held (the next view set is read while the network runs)
    scale = 1
    if options.adaptive_scaling:   # the header sizes; each decoded image is checked against its own
        scale = preprocess.adaptive_scale(plan.image_sizes, options.max_w, options.max_h)
    views = len(plan.image_paths)
    images = np.empty((views, options.max_h, options.max_w, 3), np.uint8)
    stats = np.empty((views, 2, 3), np.float32)
    cams = []
    for i, (path, (h, w), cam) in enumerate(zip(plan.image_paths, plan.image_sizes, plan.cams)):
        image = read_image(path)
        if image.shape[:2] != (h, w):
            raise InputError("decoded image is %dx%d, its header says %dx%d"
                             % (image.shape[1], image.shape[0], w, h), path)
        [image], [cam] = preprocess.scale_mvs_input([image], [cam], scale=scale)
        try:
            [image], [cam] = preprocess.crop_mvs_input([image], [cam], max_w=options.max_w,
                                                       max_h=options.max_h,
                                                       base_image_size=options.base_image_size,
                                                       view_numbers=[i])
        except InputError as e:
            raise InputError(e.problem, path) from None
        if image.shape[:2] != (options.max_h, options.max_w):
            raise InputError("network input would be %dx%d (WxH) after scaling and cropping, but it "
                             "must be exactly --max_w x --max_h = %dx%d"
                             % (image.shape[1], image.shape[0], options.max_w, options.max_h), path)
        images[i] = image
        stats[i] = np.stack(preprocess.centring_statistics(image))
        cams.append(cam)
        if i == 0:
            scaled_ref = preprocess.scale_image(image, scale=options.sample_scale)
    scaled_cams = preprocess.scale_mvs_camera(cams, options.sample_scale)
    cam_array = np.stack([c.to_array() for c in scaled_cams]).astype(np.float32)
    return PreparedViewSet(np.ascontiguousarray(scaled_ref), images, stats, cam_array, plan.ref_index)
