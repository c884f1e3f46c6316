"""DTU training / validation samples (the original ``gen_dtu_resized_path``), in the
preprocessed ``mvs_training/dtu`` layout: ``Cameras/pair.txt``, ``Cameras/train/%08d_cam.txt``,
``Rectified/scan%d_train/rect_%03d_%d_r5000.png`` (view + 1, lighting),
``Depths/scan%d_train/depth_map_%04d.pfm``; the original's training scans (79, lightings
0..6) and validation scans (18, lighting 3). The images are at the network's size already
(no scaling); training fixes the reference depth range to DTU's 425..937 mm.
"""

import os

from cameras.errors import InputError
from mvsnet.training.samples import SampleList, filter_existing, read_pair_file, select_view_sets

DTU_TRAINING_SCANS = (
    2, 6, 7, 8, 14, 16, 18, 19, 20, 22, 30, 31, 36, 39, 41, 42, 44, 45, 46, 47, 50, 51, 52,
    53, 55, 57, 58, 60, 61, 63, 64, 65, 68, 69, 70, 71, 72, 74, 76, 83, 84, 85, 87, 88, 89,
    90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 107, 108, 109,
    111, 112, 113, 115, 116, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128)
DTU_VALIDATION_SCANS = (3, 5, 17, 21, 28, 35, 37, 38, 40, 43, 56, 59, 66, 67, 82, 86, 106, 117)
DTU_TRAINING_LIGHTINGS = tuple(range(7))
DTU_VALIDATION_LIGHTING = 3
DTU_DEPTH_MIN, DTU_DEPTH_MAX = 425.0, 937.0
TRAINING_DEPTH_RANGE = (DTU_DEPTH_MIN, DTU_DEPTH_MAX)
"""The reference camera's (DEPTH_MIN, DEPTH_MAX) in training, as the original train.py."""
MEMORY_ADVICE = ""   # the images are at the network's size already


def samples(dataset, root, view_num, mode):
    """The sample list of ``mode`` ('training' or 'validation')."""
    return dtu_samples(root, view_num, mode)


def rescale(images, cams, depth, paths, opts):
    """The preprocessed DTU layout is at the network's size: nothing to scale."""
    return images, cams, depth


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
    pairs, result.few_sources = select_view_sets(read_pair_file(os.path.join(root, "Cameras", "pair.txt")),
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
    result.samples, result.missing_files, result.skipped_samples = filter_existing(present)
    return result
