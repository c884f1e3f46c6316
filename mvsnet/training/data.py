"""Training and validation samples of the original train.py / validate.py.

Sample lists (the original ``gen_dtu_resized_path``, ``gen_blendedmvs_path``,
``gen_eth3d_path``; one file per dataset layout: dtu.py, blendedmvs.py, eth3d.py, with
the shared machinery in samples.py), built with :func:`sample_list`:

* DTU (the preprocessed ``mvs_training/dtu``): ``Cameras/pair.txt``,
  ``Cameras/train/%08d_cam.txt``, ``Rectified/scan%d_train/rect_%03d_%d_r5000.png``
  (view + 1, lighting), ``Depths/scan%d_train/depth_map_%04d.pfm``; the original's
  training scans (79, lightings 0..6) and validation scans (18, lighting 3);
* BlendedMVS / BlendedMVG: the projects of ``BlendedMVS_training.txt``,
  ``BlendedMVG_training.txt`` or ``validation_list.txt``; per project ``cams/pair.txt``,
  ``cams/%08d_cam.txt``, ``blended_images/%08d_masked.jpg``,
  ``rendered_depth_maps/%08d.pfm``;
* ETH3D: scenes delivery_area, electro, forest (training) or playground, terrains
  (validation); ``cams/index2prefix.txt``, ``cams/pair.txt``, ``images/...``,
  ``depths/images_rig_camN/...pfm``.

A sample is ``[image0, cam0, image1, cam1, ..., depth]`` (view 0 the reference, its
sources in pair.txt order), as the original.  Unlike the original, scans / projects /
scenes missing under the data root are skipped (and listed by
:meth:`~mvsnet.training.samples.SampleList.warning`), as are samples one of whose files is missing; no sample at
all is an InputError.

Per sample (:func:`load_training_sample`, the original MVSGenerator): images as
``cv2.imread`` reads them (BGR), cameras with the reference depth range set to
[depth_min, depth_max] sampled by max_d planes of (max - min) / max_d, the ground truth
masked to (min + interval, min + (max_d - 2) * interval] -- DTU: range forced to
[425, 937], nothing rescaled (the cameras are those of the 1/4 depth maps); BlendedMVS:
depth map and cameras scaled by sample_scale; ETH3D: centre-cropped to max_w x max_h,
then depth map and cameras scaled by sample_scale.  :func:`training_items` yields every
sample forever, and for GRU a second time with the depth order reversed.
:func:`training_dataset` adds the optional online photometric augmentation and the
per-image standardisation in a ``tf.data`` pipeline.
"""

import dataclasses

import cv2
import numpy as np

from cameras.camfile import read_cam
from cameras.errors import InputError
from mvsnet import preprocess
from cameras.pfm import read_pfm
from mvsnet.training import blendedmvs, dtu, eth3d
from mvsnet.training.samples import no_samples_error

LAYOUTS = {"dtu": dtu, "blendedmvs": blendedmvs, "blendedmvg": blendedmvs, "eth3d": eth3d}
"""The module of each dataset layout: ``samples(dataset, root, view_num, mode)``,
``rescale(images, cams, depth, paths, opts)``, ``TRAINING_DEPTH_RANGE`` and ``MEMORY_ADVICE``
(what else lowers a training step's memory: the out-of-memory error's advice)."""
DATASETS = tuple(LAYOUTS)


def sample_list(dataset, root, view_num, mode="training", require=True):
    """The samples of ``dataset`` ('dtu', 'blendedmvs', 'blendedmvg', 'eth3d') in ``mode``
    ('training' or 'validation').  InputError when there is none and ``require``."""
    if dataset not in LAYOUTS:
        raise ValueError("dataset must be one of %s, got %r" % (DATASETS, dataset))
    samples = LAYOUTS[dataset].samples(dataset, root, view_num, mode)
    if require and not samples.samples:
        raise no_samples_error(samples)
    return samples


# ---------------------------------------------------------------------------- one sample

@dataclasses.dataclass
class DataOptions:
    """The flags the original generators read."""

    dataset: str = "dtu"
    view_num: int = 3
    max_d: int = 192
    max_w: int = 640
    max_h: int = 512
    sample_scale: float = 0.25
    interval_scale: float = 1.0        # validation only (the original train.py used 1)


def _read_image(path):
    image = cv2.imread(path)
    if image is None:
        raise InputError("cannot read image (missing, or not an image OpenCV reads)", path)
    return image


def _read_views(paths, opts, interval_scale):
    images, cams = [], []
    for view in range(opts.view_num):
        images.append(_read_image(paths[2 * view]))
        cams.append(read_cam(paths[2 * view + 1], interval_scale=interval_scale, max_d=opts.max_d))
    depth = read_pfm(paths[2 * opts.view_num])
    if depth.ndim != 2:
        raise InputError("expected a one-channel depth map (Pf), found three channels",
                         paths[2 * opts.view_num])
    return images, cams, depth


def _rescale(images, cams, depth, paths, opts):
    """The dataset's own scaling / cropping of images, cameras and depth map (its layout
    module's ``rescale``); cameras as arrays."""
    images, cams, depth = LAYOUTS[opts.dataset].rescale(images, cams, depth, paths, opts)
    return images, [c.to_array() for c in cams], depth


def _check_shapes(images, depth, paths, view_num):
    h, w = images[0].shape[:2]
    for view in range(1, view_num):
        if images[view].shape[:2] != (h, w):
            raise InputError("image is %dx%d but the reference image %s is %dx%d (WxH): every "
                             "view of a sample must have the same size"
                             % (images[view].shape[1], images[view].shape[0], paths[0], w, h),
                             paths[2 * view])
    if h % 32 or w % 32:
        raise InputError("image is %dx%d (WxH): the network needs sides that are multiples of 32"
                         % (w, h), paths[0])
    if depth.shape[:2] != (h // 4, w // 4):
        raise InputError("depth map is %dx%d (WxH) but the %dx%d images need %dx%d (1/4)"
                         % (depth.shape[1], depth.shape[0], w, h, w // 4, h // 4),
                         paths[2 * view_num])


def _finish(images, cams, depth, max_d):
    depth_min, interval = cams[0][1, 3, 0], cams[0][1, 3, 1]
    depth_start = depth_min + interval
    depth_end = depth_min + (max_d - 2) * interval
    depth = preprocess.mask_depth_image(depth, depth_start, depth_end)
    return np.stack(images, axis=0), np.stack(cams, axis=0), depth


def load_training_sample(paths, opts):
    """(images (V,H,W,3) uint8 BGR, cams (V,2,4,4) float64, depth (H/4,W/4,1) float32) of one
    training sample as the original MVSGenerator makes it, or None when the reference
    camera has no valid depth range (the original skips those)."""
    images, cams, depth = _read_views(paths, opts, 1.0)
    images, cams, depth = _rescale(images, cams, depth, paths, opts)
    fixed = LAYOUTS[opts.dataset].TRAINING_DEPTH_RANGE
    if fixed:
        cams[0][1, 3, 0], cams[0][1, 3, 3] = fixed
    if cams[0][1, 3, 0] <= 0 or cams[0][1, 3, 3] <= 0:
        return None
    cams[0][1, 3, 2] = opts.max_d
    cams[0][1, 3, 1] = (cams[0][1, 3, 3] - cams[0][1, 3, 0]) / opts.max_d
    _check_shapes(images, depth, paths, opts.view_num)
    return _finish(images, cams, depth, opts.max_d)


def load_validation_sample(paths, opts):
    """One sample as the original validate.py's generator makes it: every camera gets
    max_d planes over [depth_min, depth_max] (interval (max - min) / max_d), the cam
    files read with ``interval_scale``; no forced DTU range."""
    images, cams, depth = _read_views(paths, opts, opts.interval_scale)
    arrays = []
    for cam in cams:
        cam = cam.copy()
        cam.depth_interval = (cam.depth_max - cam.depth_min) / opts.max_d
        cam.depth_num = float(opts.max_d)
        arrays.append(cam)
    images, cams, depth = _rescale(images, arrays, depth, paths, opts)
    _check_shapes(images, depth, paths, opts.view_num)
    return _finish(images, cams, depth, opts.max_d)


def reverse_depth(cams, max_d):
    """The GRU backward pass: start at the far end with a negative interval (float64)."""
    cams = np.array(cams, dtype=np.float64)
    cams[0, 1, 3, 0] = cams[0, 1, 3, 0] + (max_d - 1) * cams[0, 1, 3, 1]
    cams[0, 1, 3, 1] = -cams[0, 1, 3, 1]
    return cams


class ItemErrors(list):
    """Errors met by a generator running inside tf.data, re-raised by the consumer."""

    def check(self):
        if self:
            raise self[0]


def training_items(samples, opts, regularization, errors, repeat=True):
    """Yield (images float32 (V,H,W,3) in 0..255, cams float32, depth float32) for every
    sample, forever (``repeat``); for GRU each sample a second time, depth reversed.
    An unreadable file stops the generator and is appended to ``errors``."""
    while True:
        produced = False
        for paths in samples:
            try:
                item = load_training_sample(paths, opts)
            except InputError as err:
                errors.append(err)
                return
            if item is None:
                continue
            produced = True
            images, cams, depth = item
            images = images.astype(np.float32)
            yield images, cams.astype(np.float32), depth
            if regularization == "GRU":
                yield images, reverse_depth(cams, opts.max_d).astype(np.float32), depth
        if not produced:
            errors.append(InputError("no usable sample: every reference camera lacks a depth "
                                     "range (depth_min or depth_max <= 0)", samples[0][1] if samples else None))
            return
        if not repeat:
            return


def validation_items(samples, opts, errors):
    """Yield (images float32, cams float32, depth float32) of every sample once."""
    for paths in samples:
        try:
            images, cams, depth = load_validation_sample(paths, opts)
        except InputError as err:
            errors.append(err)
            return
        yield images.astype(np.float32), cams.astype(np.float32), depth


# ---------------------------------------------------------------------------- tf.data

def prepare_images(images, augment=False):
    """Optional online augmentation, then per-image standardisation, of (V, H, W, 3)."""
    import tensorflow as tf
    from mvsnet.training import augmentation as photaug

    if augment:
        images = tf.stack([photaug.online_augmentation(images[v]) for v in range(images.shape[0])])
    return tf.image.per_image_standardization(images)


def _dataset(generator, view_num, batch_size, augment):
    import tensorflow as tf

    signature = (tf.TensorSpec((view_num, None, None, 3), tf.float32),
                 tf.TensorSpec((view_num, 2, 4, 4), tf.float32),
                 tf.TensorSpec((None, None, 1), tf.float32))
    data = tf.data.Dataset.from_generator(generator, output_signature=signature)
    data = data.map(lambda images, cams, depth: (prepare_images(images, augment), cams, depth))
    return data.batch(batch_size).prefetch(1)


def training_dataset(samples, opts, regularization, batch_size, errors, augment=False,
                     shard=(0, 1)):
    """Endless batched dataset of (images standardised, cams, depth); ``shard`` =
    (index, count) keeps samples[index::count] (one input pipeline of several)."""
    index, count = shard
    mine = list(samples)[index::count]
    if not mine:
        raise InputError("input pipeline %d of %d has no sample (%d samples)"
                         % (index, count, len(samples)))
    return _dataset(lambda: training_items(mine, opts, regularization, errors),
                    opts.view_num, batch_size, augment)


def validation_dataset(samples, opts, batch_size, errors):
    """One pass over ``samples``, batched."""
    return _dataset(lambda: validation_items(list(samples), opts, errors),
                    opts.view_num, batch_size, False)
