"""BlendedMVS / BlendedMVG samples (the original ``gen_blendedmvs_path``): the projects of
``BlendedMVS_training.txt``, ``BlendedMVG_training.txt`` or ``validation_list.txt``; per
project ``cams/pair.txt``, ``cams/%08d_cam.txt``, ``blended_images/%08d_masked.jpg``,
``rendered_depth_maps/%08d.pfm``.
"""

import os

from cameras.errors import InputError
from cameras.pair import read_pair
from mvsnet import preprocess
from mvsnet.training.samples import SampleList, filter_existing, select_view_sets

BLENDEDMVS_LISTS = {"training_mvs": "BlendedMVS_training.txt",
                    "training_mvg": "BlendedMVG_training.txt",
                    "validation": "validation_list.txt"}
TRAINING_DEPTH_RANGE = None   # the cam files' own
MEMORY_ADVICE = ""   # the images are at the network's size already


def samples(dataset, root, view_num, mode):
    """The sample list of ``dataset`` ('blendedmvs' or 'blendedmvg') in ``mode``
    ('training': that dataset's list, or 'validation')."""
    if mode == "training":
        mode = "training_mvs" if dataset == "blendedmvs" else "training_mvg"
    return blendedmvs_samples(root, view_num, mode)


def rescale(images, cams, depth, paths, opts):
    """Depth map and cameras to the 1/4 scale (the images are at the network's size)."""
    depth = preprocess.scale_image(depth, scale=opts.sample_scale)
    cams = preprocess.scale_mvs_camera(cams, scale=opts.sample_scale)
    return images, cams, depth


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
        view_sets, few = select_view_sets(read_pair(pair_path), view_num)
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
    result.samples, result.missing_files, result.skipped_samples = filter_existing(present)
    return result
