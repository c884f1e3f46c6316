"""ETH3D low-res samples (the original ``gen_eth3d_path``): scenes delivery_area, electro,
forest (training) or playground, terrains (validation); ``cams/index2prefix.txt``,
``cams/pair.txt``, ``images/...``, ``depths/images_rig_camN/...pfm``.
"""

import os

from cameras.errors import InputError
from mvsnet import preprocess
from mvsnet.training.samples import SampleList, filter_existing, read_pair_file, select_view_sets

ETH3D_SCENES = {"training": ("delivery_area", "electro", "forest"),
                "validation": ("playground", "terrains")}
ETH3D_DEPTH_FOLDERS = {"images_rig_cam%d_undistorted" % i: "images_rig_cam%d" % i for i in (4, 5, 6, 7)}
TRAINING_DEPTH_RANGE = None   # the cam files' own
MEMORY_ADVICE = " (or --max_w/--max_h, the ETH3D crop)"
"""What else lowers a training step's memory, after --max_d and --batch_size."""


def samples(dataset, root, view_num, mode):
    """The sample list of ``mode`` ('training' or 'validation')."""
    return eth3d_samples(root, view_num, mode)


def rescale(images, cams, depth, paths, opts):
    """Crop every view to --max_w x --max_h (sides multiples of 32), then the depth map and
    the cameras to the 1/4 scale."""
    try:
        images, cams, depth = preprocess.crop_mvs_input(
            images, cams, depth, max_w=opts.max_w, max_h=opts.max_h, base_image_size=32,
            force_w=opts.max_w, force_h=opts.max_h)
    except InputError as err:
        raise InputError("%s (lower --max_w / --max_h)" % err.problem, paths[0]) from None
    depth = preprocess.scale_image(depth, scale=opts.sample_scale)
    cams = preprocess.scale_mvs_camera(cams, scale=opts.sample_scale)
    return images, cams, depth


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
        view_sets, few = select_view_sets(read_pair_file(os.path.join(cam_folder, "pair.txt")), view_num)
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
    result.samples, result.missing_files, result.skipped_samples = filter_existing(present)
    return result
