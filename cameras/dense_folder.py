"""The view sets of a dense folder, as the original gen_pipeline_mvs_list and test.py.

A dense folder holds ``images/%08d.jpg``, ``cams/%08d_cam.txt`` and ``pair.txt``.
"""

import os
from dataclasses import dataclass, field, replace
from typing import List

from cameras import layout
from cameras.camfile import read_cam
from cameras.errors import InputError
from cameras.layout import cam_path, image_path
from cameras.pair import read_pair


@dataclass
class ViewSet:
    """One reference view and its selected source views.

    ref_index    id of the reference view (the ``%08d`` of its files)
    image_paths  reference image first, then the sources in pair.txt order
    cam_paths    the matching ``*_cam.txt`` paths
    view_ids     the matching view ids (view_ids[0] == ref_index)
    """

    ref_index: int
    image_paths: List[str]
    cam_paths: List[str]
    view_ids: List[int] = field(default_factory=list)


def list_dense_folder(dense_folder, view_num):
    """One :class:`ViewSet` per entry of ``pair.txt``, in file order, like the original
    gen_pipeline_mvs_list: the reference view, then the first ``view_num - 1`` source
    views listed (fewer when pair.txt lists fewer; see :func:`fill_missing_views`).

    Raises InputError for: view_num < 1, a missing dense folder, images/ or cams/ folder,
    a missing or malformed pair.txt, and a used view (reference or selected source) whose
    image or cam file does not exist.
    """
    if view_num < 1:
        raise InputError("view_num must be at least 1, got %d" % view_num)
    dense_folder = os.fspath(dense_folder)
    if not os.path.isdir(dense_folder):
        raise InputError("dense folder does not exist" if not os.path.exists(dense_folder)
                         else "dense folder is not a folder", dense_folder)
    pair_file = layout.pair_path(dense_folder)
    if not os.path.isfile(pair_file):
        raise InputError("missing pair.txt (a dense folder holds images/, cams/ and pair.txt)",
                         pair_file)
    for sub in (layout.IMAGES, layout.CAMS):
        if not os.path.isdir(os.path.join(dense_folder, sub)):
            raise InputError("missing %s/ folder (a dense folder holds images/, cams/ and "
                             "pair.txt)" % sub, os.path.join(dense_folder, sub))
    view_sets = []
    for ref_id, sources in read_pair(pair_file):
        ids = [ref_id] + [src_id for src_id, _ in sources[:view_num - 1]]
        images = [image_path(dense_folder, i) for i in ids]
        cams = [cam_path(dense_folder, i) for i in ids]
        for k, i in enumerate(ids):
            role = "reference view" if k == 0 else "source view of view %d" % ref_id
            if not os.path.isfile(images[k]):
                raise InputError("view %d (%s) named in %s has no image" % (i, role, pair_file),
                                 images[k])
            if not os.path.isfile(cams[k]):
                raise InputError("view %d (%s) named in %s has no camera file" % (i, role, pair_file),
                                 cams[k])
        view_sets.append(ViewSet(ref_id, images, cams, ids))
    return view_sets


def fill_missing_views(view_set, view_num):
    """A ViewSet with exactly ``view_num`` views: when pair.txt gave fewer source views,
    the missing ones are the reference view again, as the original test.py does
    (extra views beyond ``view_num`` are dropped)."""
    have = min(view_num, len(view_set.image_paths))
    missing = view_num - have
    ids = list(view_set.view_ids[:have])
    if ids:
        ids += [view_set.view_ids[0]] * missing
    return replace(view_set,
                   image_paths=list(view_set.image_paths[:have]) + [view_set.image_paths[0]] * missing,
                   cam_paths=list(view_set.cam_paths[:have]) + [view_set.cam_paths[0]] * missing,
                   view_ids=ids)


def read_view_cams(view_set, view_num, interval_scale=1.0, max_d=0):
    """The ``view_num`` cameras of a view set, read as the original test.py does: each
    selected view with ``read_cam(path, interval_scale, max_d)`` and, when its depth_num is
    0, depth_num set to ``max_d`` (depth_max is left as read); views missing from pair.txt
    are the reference camera read again, without that depth_num fix (only the reference
    camera's depth range is used downstream)."""
    have = min(view_num, len(view_set.cam_paths))
    cams = []
    for path in view_set.cam_paths[:have]:
        cam = read_cam(path, interval_scale, max_d)
        if cam.depth_num == 0:
            cam.depth_num = float(max_d)
        cams.append(cam)
    for _ in range(have, view_num):
        cams.append(read_cam(view_set.cam_paths[0], interval_scale, max_d))
    return cams
