"""Training and validation samples of the original train.py / validate.py.

Sample lists (the original ``gen_dtu_resized_path``, ``gen_blendedmvs_path``,
``gen_eth3d_path``), built with :func:`sample_list`:

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
:meth:`SampleList.warning`), as are samples one of whose files is missing; no sample at
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
import os

import cv2
import numpy as np

from cameras.camfile import read_cam
from cameras.errors import InputError
from cameras.pair import read_pair
from mvsnet import preprocess
from cameras.pfm import read_pfm

DATASETS = ("dtu", "blendedmvs", "blendedmvg", "eth3d")

DTU_TRAINING_SCANS = (
    2, 6, 7, 8, 14, 16, 18, 19, 20, 22, 30, 31, 36, 39, 41, 42, 44, 45, 46, 47, 50, 51, 52,
    53, 55, 57, 58, 60, 61, 63, 64, 65, 68, 69, 70, 71, 72, 74, 76, 83, 84, 85, 87, 88, 89,
    90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 107, 108, 109,
    111, 112, 113, 115, 116, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128)
DTU_VALIDATION_SCANS = (3, 5, 17, 21, 28, 35, 37, 38, 40, 43, 56, 59, 66, 67, 82, 86, 106, 117)
DTU_TRAINING_LIGHTINGS = tuple(range(7))
DTU_VALIDATION_LIGHTING = 3
DTU_DEPTH_MIN, DTU_DEPTH_MAX = 425.0, 937.0

BLENDEDMVS_LISTS = {"training_mvs": "BlendedMVS_training.txt",
                    "training_mvg": "BlendedMVG_training.txt",
                    "validation": "validation_list.txt"}
ETH3D_SCENES = {"training": ("delivery_area", "electro", "forest"),
                "validation": ("playground", "terrains")}
ETH3D_DEPTH_FOLDERS = {"images_rig_cam%d_undistorted" % i: "images_rig_cam%d" % i for i in (4, 5, 6, 7)}


@dataclasses.dataclass
class SampleList:
    """The samples of a dataset and what was skipped building them."""

    dataset: str
    root: str
    samples: list
    groups: int = 0                     # scans / projects / scenes looked for
    missing_groups: list = dataclasses.field(default_factory=list)
    missing_files: list = dataclasses.field(default_factory=list)   # unique paths
    skipped_samples: int = 0            # samples dropped for a missing file
    few_sources: int = 0                # reference views with < view_num - 1 sources

    def __len__(self):
        return len(self.samples)

    def warning(self):
        """One line listing what was skipped, or None."""
        parts = []
        if self.missing_groups:
            parts.append("%d of %d %s missing under %s, skipped: %s"
                         % (len(self.missing_groups), self.groups, _group_word(self.dataset),
                            self.root, ", ".join(self.missing_groups)))
        if self.missing_files:
            parts.append("%d samples skipped for %d missing files (e.g. %s)"
                         % (self.skipped_samples, len(self.missing_files), self.missing_files[0]))
        if self.few_sources:
            parts.append("%d reference views skipped: fewer than view_num - 1 source views"
                         % self.few_sources)
        return "; ".join(parts) or None


def _group_word(dataset):
    return {"dtu": "scans", "eth3d": "scenes"}.get(dataset, "projects")


def _no_samples(samples):
    what = _group_word(samples.dataset)
    detail = ""
    if samples.groups and len(samples.missing_groups) == samples.groups:
        detail = ": none of the %d %s is there (e.g. %s)" % (samples.groups, what,
                                                          samples.missing_groups[0])
    elif samples.missing_files:
        detail = ": %d files missing (e.g. %s)" % (len(samples.missing_files), samples.missing_files[0])
    elif samples.few_sources:
        detail = ": no reference view has view_num - 1 source views"
    return InputError("no %s sample found%s" % (samples.dataset, detail), samples.root)


def _pair_file(path):
    if not os.path.isfile(path):
        raise InputError("pair file does not exist", path)
    return read_pair(path)


def _filter_existing(groups):
    """Drop samples whose files are missing; groups: [(name, [sample, ...])] of the
    groups whose folder exists.  Returns (kept samples, missing unique paths, dropped count)."""
    exists = {}
    kept, missing, dropped = [], [], 0
    for _, group in groups:
        for sample in group:
            ok = True
            for path in sample:
                if path not in exists:
                    exists[path] = os.path.isfile(path)
                    if not exists[path]:
                        missing.append(path)
                ok = ok and exists[path]
            if ok:
                kept.append(sample)
            else:
                dropped += 1
    return kept, missing, dropped


def _view_sets(pairs, view_num):
    """[(ref, [src, ...])] with view_num - 1 sources, and the count of shorter entries."""
    out, few = [], 0
    for ref, sources in pairs:
        if len(sources) < view_num - 1:
            few += 1
            continue
        out.append((ref, [s for s, _ in sources[:view_num - 1]]))
    return out, few


def dtu_samples(root, view_num, mode="training", scans=None):
    """The original gen_dtu_resized_path (``mode`` 'training' or 'validation')."""
    if mode not in ("training", "validation"):
        raise ValueError("mode must be 'training' or 'validation', got %r" % (mode,))
    if scans is None:
        scans = DTU_TRAINING_SCANS if mode == "training" else DTU_VALIDATION_SCANS
    lightings = DTU_TRAINING_LIGHTINGS if mode == "training" else (DTU_VALIDATION_LIGHTING,)
    result = SampleList("dtu", root, [], groups=len(scans))
    if not os.path.isdir(root):
        raise InputError("DTU data root does not exist", root)
    pairs, result.few_sources = _view_sets(_pair_file(os.path.join(root, "Cameras", "pair.txt")),
                                           view_num)
    cam_folder = os.path.join(root, "Cameras", "train")
    present = []
    for scan in scans:
        image_folder = os.path.join(root, "Rectified", "scan%d_train" % scan)
        depth_folder = os.path.join(root, "Depths", "scan%d_train" % scan)
        if not (os.path.isdir(image_folder) and os.path.isdir(depth_folder)):
            result.missing_groups.append("scan%d" % scan)
            continue
        group = []
        for light in lightings:
            for ref, sources in pairs:
                paths = []
                for view in [ref] + sources:
                    paths.append(os.path.join(image_folder, "rect_%03d_%d_r5000.png" % (view + 1, light)))
                    paths.append(os.path.join(cam_folder, "%08d_cam.txt" % view))
                paths.append(os.path.join(depth_folder, "depth_map_%04d.pfm" % ref))
                group.append(paths)
        present.append(("scan%d" % scan, group))
    result.samples, result.missing_files, result.skipped_samples = _filter_existing(present)
    return result


def blendedmvs_samples(root, view_num, mode="training_mvs"):
    """The original gen_blendedmvs_path (``mode`` 'training_mvs', 'training_mvg' or
    'validation')."""
    if mode not in BLENDEDMVS_LISTS:
        raise ValueError("mode must be one of %s, got %r" % (sorted(BLENDEDMVS_LISTS), mode))
    list_path = os.path.join(root, BLENDEDMVS_LISTS[mode])
    if not os.path.isfile(list_path):
        raise InputError("project list does not exist", list_path)
    with open(list_path) as fh:
        projects = [line.strip() for line in fh.read().splitlines() if line.strip()]
    result = SampleList("blendedmvs", root, [], groups=len(projects))
    present = []
    for name in projects:
        folder = os.path.join(root, name)
        pair_path = os.path.join(folder, "cams", "pair.txt")
        if not os.path.isfile(pair_path):
            result.missing_groups.append(name)
            continue
        view_sets, few = _view_sets(read_pair(pair_path), view_num)
        result.few_sources += few
        group = []
        for ref, sources in view_sets:
            paths = []
            for view in [ref] + sources:
                paths.append(os.path.join(folder, "blended_images", "%08d_masked.jpg" % view))
                paths.append(os.path.join(folder, "cams", "%08d_cam.txt" % view))
            paths.append(os.path.join(folder, "rendered_depth_maps", "%08d.pfm" % ref))
            group.append(paths)
        present.append((name, group))
    result.samples, result.missing_files, result.skipped_samples = _filter_existing(present)
    return result


def _index2prefix(path):
    if not os.path.isfile(path):
        raise InputError("index file does not exist", path)
    with open(path) as fh:
        words = fh.read().split()
    try:
        count = int(words[0])
        return {int(words[2 * i + 1]): words[2 * i + 2] for i in range(count)}
    except (IndexError, ValueError):
        raise InputError("malformed index2prefix file: expected a count then INDEX NAME pairs",
                         path) from None


def eth3d_samples(root, view_num, mode="training"):
    """The original gen_eth3d_path (``mode`` 'training' or 'validation')."""
    if mode not in ETH3D_SCENES:
        raise ValueError("mode must be 'training' or 'validation', got %r" % (mode,))
    scenes = ETH3D_SCENES[mode]
    result = SampleList("eth3d", root, [], groups=len(scenes))
    present = []
    for name in scenes:
        folder = os.path.join(root, name)
        cam_folder = os.path.join(folder, "cams")
        if not os.path.isdir(cam_folder):
            result.missing_groups.append(name)
            continue
        index2name = _index2prefix(os.path.join(cam_folder, "index2prefix.txt"))
        view_sets, few = _view_sets(_pair_file(os.path.join(cam_folder, "pair.txt")), view_num)
        result.few_sources += few
        group = []
        for ref, sources in view_sets:
            paths = []
            for view in [ref] + sources:
                if view not in index2name:
                    raise InputError("view %d is not in index2prefix.txt" % view,
                                     os.path.join(cam_folder, "pair.txt"))
                paths.append(os.path.join(folder, "images", index2name[view]))
                paths.append(os.path.join(cam_folder, "%08d_cam.txt" % view))
            sub, image_name = os.path.split(index2name[ref])
            if sub not in ETH3D_DEPTH_FOLDERS:
                raise InputError("image folder %r of view %d has no depth folder (expected one of %s)"
                                 % (sub, ref, ", ".join(sorted(ETH3D_DEPTH_FOLDERS))),
                                 os.path.join(cam_folder, "index2prefix.txt"))
            depth_name = os.path.splitext(image_name)[0] + ".pfm"
            paths.append(os.path.join(folder, "depths", ETH3D_DEPTH_FOLDERS[sub], depth_name))
            group.append(paths)
        present.append((name, group))
    result.samples, result.missing_files, result.skipped_samples = _filter_existing(present)
    return result


def sample_list(dataset, root, view_num, mode="training", require=True):
    """The samples of ``dataset`` ('dtu', 'blendedmvs', 'blendedmvg', 'eth3d') in ``mode``
    ('training' or 'validation').  InputError when there is none and ``require``."""
    if dataset == "dtu":
        samples = dtu_samples(root, view_num, mode)
    elif dataset in ("blendedmvs", "blendedmvg"):
        if mode == "training":
            mode = "training_mvs" if dataset == "blendedmvs" else "training_mvg"
        samples = blendedmvs_samples(root, view_num, mode)
    elif dataset == "eth3d":
        samples = eth3d_samples(root, view_num, mode)
    else:
        raise ValueError("dataset must be one of %s, got %r" % (DATASETS, dataset))
    if require and not samples.samples:
        raise _no_samples(samples)
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
    """The dataset-specific part: scale / crop images, cameras and depth map."""
    if opts.dataset in ("blendedmvs", "blendedmvg"):
        depth = preprocess.scale_image(depth, scale=opts.sample_scale)
        cams = preprocess.scale_mvs_camera(cams, scale=opts.sample_scale)
    elif opts.dataset == "eth3d":
        try:
            images, cams, depth = preprocess.crop_mvs_input(
                images, cams, depth, max_w=opts.max_w, max_h=opts.max_h, base_image_size=32,
                force_w=opts.max_w, force_h=opts.max_h)
        except InputError as err:
            raise InputError("%s (lower --max_w / --max_h)" % err.problem, paths[0]) from None
        depth = preprocess.scale_image(depth, scale=opts.sample_scale)
        cams = preprocess.scale_mvs_camera(cams, scale=opts.sample_scale)
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
    if opts.dataset == "dtu":
        cams[0][1, 3, 0] = DTU_DEPTH_MIN
        cams[0][1, 3, 3] = DTU_DEPTH_MAX
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
