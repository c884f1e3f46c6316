"""Image and camera preprocessing of the original MVSNet (mvsnet/preprocess.py), without
global flags: every parameter is explicit.

Images are numpy arrays (H, W[, C]); cameras are :class:`cameras.camera.Camera` records.
The functions never change their inputs; they return new lists / arrays / Cameras.
"""

import math

import cv2
import numpy as np

from cameras.errors import InputError
from cameras.geometry import crop_camera, scale_camera

_INTERPOLATIONS = {"linear": cv2.INTER_LINEAR, "nearest": cv2.INTER_NEAREST}


def centring_statistics(img):
    """(mean, denominator), each (C,) float32, of :func:`center_image`: the per-channel mean
    over H and W and std + 1e-8, computed as the original (float32, NumPy's sums)."""
    img = img.astype(np.float32)
    var = np.var(img, axis=(0, 1))
    mean = np.mean(img, axis=(0, 1))
    return mean, np.sqrt(var) + np.float32(0.00000001)


def apply_centring(img, mean, denominator):
    """``(img - mean) / denominator`` in float32, with statistics from
    :func:`centring_statistics` (broadcast against ``img``)."""
    return (img.astype(np.float32) - mean) / denominator


def center_image(img):
    """Per-channel normalisation: (img - mean) / (std + 1e-8) over H and W, in float32.

    Two float32 operations per value once the statistics are known, so the same values
    come out wherever they run (the network centres the views itself from the uint8 images
    and :func:`centring_statistics`, bit for bit equal; see
    :func:`mvsnet.network.model.centre_view`)."""
    return apply_centring(img, *centring_statistics(img))


def scale_image(image, scale=1, interpolation="linear"):
    """``cv2.resize(image, None, fx=scale, fy=scale)`` with bilinear ('linear') or
    nearest-neighbour ('nearest') interpolation, as the original."""
    if interpolation not in _INTERPOLATIONS:
        raise ValueError("interpolation must be 'linear' or 'nearest', got %r" % (interpolation,))
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=_INTERPOLATIONS[interpolation])


def scale_mvs_camera(cams, scale=1):
    """:func:`cameras.geometry.scale_camera` of every camera (the original scale_mvs_camera)."""
    return [scale_camera(cam, scale) for cam in cams]


def scale_mvs_input(images, cams, depth_image=None, scale=1):
    """Resize every image (linear) and camera by ``scale``; the depth image, if given, with
    nearest-neighbour. Returns ``(images, cams)`` or ``(images, cams, depth_image)``, as
    the original."""
    if len(images) != len(cams):
        raise ValueError("got %d images but %d cameras" % (len(images), len(cams)))
    images = [scale_image(image, scale=scale) for image in images]
    cams = scale_mvs_camera(cams, scale)
    if depth_image is None:
        return images, cams
    return images, cams, scale_image(depth_image, scale=scale, interpolation="nearest")


def crop_size(h, w, max_w, max_h, base_image_size, force_w=0, force_h=0):
    """The (new_h, new_w) the original crop_mvs_input crops an h x w image to:
    a side longer than max_h / max_w is cut to it, otherwise rounded UP to a multiple of
    base_image_size (a real ceil: the original flag is a float); force_w / force_h > 0
    (the original's max_w / max_h arguments) override the result."""
    new_h = max_h if h > max_h else int(math.ceil(h / float(base_image_size)) * base_image_size)
    new_w = max_w if w > max_w else int(math.ceil(w / float(base_image_size)) * base_image_size)
    if force_w > 0:
        new_w = force_w
    if force_h > 0:
        new_h = force_h
    return new_h, new_w


def crop_mvs_input(images, cams, depth_image=None, *, max_w, max_h, base_image_size,
                   force_w=0, force_h=0, view_numbers=None):
    """Centre-crop every image to a size the network accepts and shift its camera's
    principal point, as the original crop_mvs_input.

    ``max_w``, ``max_h``, ``base_image_size`` are the original's flags of those names,
    ``force_w``, ``force_h`` its ``max_w``/``max_h`` arguments (train.py passed the flag
    values, test.py nothing). Per view, (new_h, new_w) = :func:`crop_size`; the crop
    starts at ((h - new_h) // 2, (w - new_w) // 2): Python 2 integer division as in the
    original, so an odd excess leaves the extra row / column at the end (bottom / right).
    The depth image, if given, gets the reference view's (view 0) crop.

    Returns ``(images, cams)`` or ``(images, cams, depth_image)``. Raises InputError when
    the crop would be larger than an image (the original then produced a broken crop,
    e.g. a side that is not a multiple of base_image_size and not above max); the views
    are numbered 0, 1, ... in its message, or by ``view_numbers``.
    """
    if len(images) != len(cams):
        raise ValueError("got %d images but %d cameras" % (len(images), len(cams)))
    out_images, out_cams = [], []
    numbers = range(len(images)) if view_numbers is None else view_numbers
    for view, image, cam in zip(numbers, images, cams):
        h, w = image.shape[0:2]
        new_h, new_w = crop_size(h, w, max_w, max_h, base_image_size, force_w, force_h)
        if new_h > h or new_w > w:
            raise InputError("cannot crop view %d (%dx%d, WxH) to %dx%d: the image is smaller; its "
                             "sides must exceed max_w/max_h or be multiples of base_image_size=%g"
                             % (view, w, h, new_w, new_h, base_image_size))
        start_h = (h - new_h) // 2
        start_w = (w - new_w) // 2
        out_images.append(image[start_h:start_h + new_h, start_w:start_w + new_w])
        out_cams.append(crop_camera(cam, start_w, start_h))
        if depth_image is not None and not out_cams[:-1]:
            depth_image = depth_image[start_h:start_h + new_h, start_w:start_w + new_w]
    if depth_image is None:
        return out_images, out_cams
    return out_images, out_cams, depth_image


def mask_depth_image(depth_image, min_depth, max_depth):
    """Zero the depths outside (min_depth, max_depth]: cv2.threshold TOZERO at min_depth
    (keeps d > min_depth) then TOZERO_INV at max_depth (keeps d <= max_depth), as the
    original. Returns (H, W, 1)."""
    _, depth_image = cv2.threshold(depth_image, min_depth, 100000, cv2.THRESH_TOZERO)
    _, depth_image = cv2.threshold(depth_image, max_depth, 100000, cv2.THRESH_TOZERO_INV)
    return np.expand_dims(depth_image, 2)


def adaptive_scale(image_shapes, max_w, max_h):
    """The resize scale of the original test.py's adaptive scaling: the largest of
    max_h / h and max_w / w over all views, so that every view still covers
    max_w x max_h after resizing. ``image_shapes`` are (h, w, ...) shapes.
    Raises InputError when max_w or max_h exceeds a view (the original exits with -1)."""
    image_shapes = list(image_shapes)
    if not image_shapes:
        raise ValueError("adaptive_scale needs at least one image shape")
    h_scale = 0.0
    w_scale = 0.0
    for shape in image_shapes:
        h_scale = max(h_scale, float(max_h) / shape[0])
        w_scale = max(w_scale, float(max_w) / shape[1])
    if h_scale > 1 or w_scale > 1:
        small = min(image_shapes, key=lambda s: min(s[0] / float(max_h), s[1] / float(max_w)))
        raise InputError("max_w x max_h = %dx%d is larger than an input image (%dx%d, WxH); "
                         "lower --max_w/--max_h (they must not exceed any image)"
                         % (max_w, max_h, small[1], small[0]))
    return w_scale if w_scale > h_scale else h_scale
