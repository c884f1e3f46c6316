"""cameras.dense_folder: gen_pipeline_mvs_list semantics, filling missing views, clear errors."""

import os

import pytest

from cameras.camfile import read_cam
from cameras.dense_folder import ViewSet, fill_missing_views, list_dense_folder, read_view_cams
from cameras.errors import InputError
from cameras.pair import write_pair

HEAD = ("extrinsic\n1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n\n"
        "intrinsic\n100 0 50\n0 100 40\n0 0 1\n\n")
PAIRS = [(0, [(1, 9.0), (2, 8.0), (3, 7.0)]),
         (1, [(0, 9.0)]),
         (3, []),
         (2, [(3, 5.0), (0, 4.0), (1, 3.0)])]


def make_folder(root, depth_lines=None, pairs=PAIRS, ids=range(4)):
    folder = os.path.join(str(root), "dense")
    os.makedirs(os.path.join(folder, "images"))
    os.makedirs(os.path.join(folder, "cams"))
    for i in ids:
        open(os.path.join(folder, "images", "%08d.jpg" % i), "wb").close()
        line = (depth_lines or {}).get(i, "425 2.5\n")
        with open(os.path.join(folder, "cams", "%08d_cam.txt" % i), "w") as f:
            f.write(HEAD + line)
    write_pair(os.path.join(folder, "pair.txt"), pairs)
    return folder


def img(folder, i):
    return os.path.join(folder, "images", "%08d.jpg" % i)


def cam(folder, i):
    return os.path.join(folder, "cams", "%08d_cam.txt" % i)


def test_list_dense_folder(tmp_path):
    folder = make_folder(tmp_path)
    sets = list_dense_folder(folder, 3)
    assert [s.ref_index for s in sets] == [0, 1, 3, 2]
    # reference first, then the first view_num - 1 sources in pair.txt order
    assert sets[0] == ViewSet(0, [img(folder, 0), img(folder, 1), img(folder, 2)],
                              [cam(folder, 0), cam(folder, 1), cam(folder, 2)], [0, 1, 2])
    assert sets[3].view_ids == [2, 3, 0]
    # fewer sources than view_num - 1: as many as pair.txt lists
    assert sets[1].view_ids == [1, 0] and sets[1].image_paths == [img(folder, 1), img(folder, 0)]
    assert sets[2].view_ids == [3] and sets[2].cam_paths == [cam(folder, 3)]
    # view_num 1: references only; large view_num: every listed source
    assert [s.view_ids for s in list_dense_folder(folder, 1)] == [[0], [1], [3], [2]]
    assert list_dense_folder(folder, 10)[0].view_ids == [0, 1, 2, 3]


def test_fill_missing_views(tmp_path):
    folder = make_folder(tmp_path)
    sets = list_dense_folder(folder, 3)
    filled = fill_missing_views(sets[1], 3)
    assert filled.view_ids == [1, 0, 1]
    assert filled.image_paths == [img(folder, 1), img(folder, 0), img(folder, 1)]
    assert filled.cam_paths == [cam(folder, 1), cam(folder, 0), cam(folder, 1)]
    assert fill_missing_views(sets[2], 3).view_ids == [3, 3, 3]
    assert fill_missing_views(sets[0], 3) == sets[0]
    assert fill_missing_views(sets[0], 2).view_ids == [0, 1]
    assert sets[1].view_ids == [1, 0]  # input unchanged


def test_read_view_cams(tmp_path):
    # view 1 has no depth line, view 0 two numbers, view 3 four numbers
    folder = make_folder(tmp_path, {0: "425 2.5\n", 1: "\n", 3: "400 2 100 600\n"})
    sets = {s.ref_index: s for s in list_dense_folder(folder, 3)}
    cams = read_view_cams(sets[0], 3, interval_scale=0.8, max_d=256)
    assert len(cams) == 3
    assert cams[0] == read_cam(cam(folder, 0), 0.8, 256)
    assert (cams[0].depth_num, cams[0].depth_max) == (256.0, 425.0 + 2.5 * 0.8 * 256)
    # a cam without depth range gets depth_num = max_d (depth_max stays 0), as test.py
    assert (cams[1].depth_min, cams[1].depth_num, cams[1].depth_max) == (0.0, 256.0, 0.0)
    # view set of 1 with one source: the third camera is the reference's, read again
    # without that fix (test.py only fixed the views it read from pair.txt)
    cams = read_view_cams(sets[1], 3, 1.0, 192)
    assert [c.depth_num for c in cams] == [192.0, 192.0, 0.0]
    cams = read_view_cams(sets[3], 3, 0.5, 192)
    assert [c.depth_max for c in cams] == [600.0, 600.0, 600.0]
    assert cams[0].depth_interval == 1.0


def test_errors_missing_folder_and_files(tmp_path):
    missing = str(tmp_path / "nowhere")
    with pytest.raises(InputError) as info:
        list_dense_folder(missing, 3)
    assert str(info.value) == missing + ": dense folder does not exist"

    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(InputError) as info:
        list_dense_folder(str(a_file), 3)
    assert str(info.value) == str(a_file) + ": dense folder is not a folder"

    folder = make_folder(tmp_path)
    with pytest.raises(InputError) as info:
        list_dense_folder(folder, 0)
    assert str(info.value) == "view_num must be at least 1, got 0"

    os.rename(os.path.join(folder, "cams"), os.path.join(folder, "cameras"))
    with pytest.raises(InputError) as info:
        list_dense_folder(folder, 3)
    assert str(info.value) == (os.path.join(folder, "cams") + ": missing cams/ folder "
                               "(a dense folder holds images/, cams/ and pair.txt)")
    os.rename(os.path.join(folder, "cameras"), os.path.join(folder, "cams"))

    os.remove(os.path.join(folder, "pair.txt"))
    with pytest.raises(InputError) as info:
        list_dense_folder(folder, 3)
    assert str(info.value) == (os.path.join(folder, "pair.txt") + ": missing pair.txt "
                               "(a dense folder holds images/, cams/ and pair.txt)")


def test_errors_views_that_do_not_exist(tmp_path):
    folder = make_folder(tmp_path, pairs=[(0, [(1, 9.0), (7, 8.0)]), (5, [])])
    pair = os.path.join(folder, "pair.txt")
    with pytest.raises(InputError) as info:
        list_dense_folder(folder, 3)
    assert str(info.value) == "%s: view 7 (source view of view 0) named in %s has no image" % (img(folder, 7), pair)
    # with view_num 2, view 7 is not used; then reference view 5 is missing
    with pytest.raises(InputError) as info:
        list_dense_folder(folder, 2)
    assert str(info.value) == "%s: view 5 (reference view) named in %s has no image" % (img(folder, 5), pair)

    folder2 = make_folder(tmp_path / "b")
    os.remove(cam(folder2, 2))
    with pytest.raises(InputError) as info:
        list_dense_folder(folder2, 3)
    assert str(info.value) == ("%s: view 2 (source view of view 0) named in %s has no camera file"
                               % (cam(folder2, 2), os.path.join(folder2, "pair.txt")))


def test_malformed_pair_names_the_file(tmp_path):
    folder = make_folder(tmp_path)
    with open(os.path.join(folder, "pair.txt"), "w") as f:
        f.write("2\n0\n1 1 5.0\n")
    with pytest.raises(InputError) as info:
        list_dense_folder(folder, 3)
    assert str(info.value).startswith(os.path.join(folder, "pair.txt") + ": file ends early")
