"""cameras.checks and the readers that use it: every camera the project reads (cam files,
COLMAP models) is checked on entry, and the error names the file and the field."""

import glob
import os
import shutil

import numpy as np
import pytest

from cameras import checks
from cameras.camfile import parse_cam, read_cam
from cameras.errors import InputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")

ROWS = ["1 0 0 10", "0 1 0 20", "0 0 1 30", "0 0 0 1"]
K_ROWS = ["100 0 50", "0 100 40", "0 0 1"]


def cam_text(rows=ROWS, k_rows=K_ROWS, depth="425 2.5"):
    return ("extrinsic\n" + "\n".join(rows) + "\n\nintrinsic\n" + "\n".join(k_rows) + "\n\n"
            + (depth + "\n" if depth is not None else ""))


def replace(rows, i, text):
    rows = list(rows)
    rows[i] = text
    return rows


C, S = float(np.cos(0.3)), float(np.sin(0.3))
ROTATED = ["%r 0 %r 10" % (C, S), "0 1 0 20", "%r 0 %r 30" % (-S, C), "0 0 0 1"]


@pytest.mark.parametrize("text,problem", [
    (cam_text(replace(ROWS, 0, "1 0 0 inf")), "extrinsic row 1 holds inf"),
    (cam_text(replace(ROWS, 2, "0 0 nan 30")), "extrinsic row 3 holds nan"),
    (cam_text(replace(ROWS, 1, "0 1 0 1e39")), "extrinsic row 2 holds 1e+39 (beyond the float32 range"),
    (cam_text(k_rows=replace(K_ROWS, 1, "0 nan 40")), "intrinsic row 2 holds nan"),
    (cam_text(k_rows=["0 0 0"] * 3), "intrinsic: the focal length fx (row 1, column 1) must be positive, found 0"),
    (cam_text(k_rows=replace(K_ROWS, 1, "0 -100 40")),
     "intrinsic: the focal length fy (row 2, column 2) must be positive, found -100"),
    (cam_text(k_rows=replace(K_ROWS, 2, "0 0 0")), "intrinsic row 3 must be 0 0 1, found 0 0 0"),
    (cam_text(replace(ROWS, 3, "10 20 30 1")), "extrinsic row 4 must be 0 0 0 1, found 10 20 30 1 (a transposed"),
    (cam_text(["2 0 0 10", "0 2 0 20", "0 0 2 30", "0 0 0 1"]),
     "extrinsic rotation (rows 1-3, columns 1-3) is not a rotation: R R^T differs from the identity by up to 3"),
    (cam_text(["1 0 0 10", "0 1 0 20", "0 0 -1 30", "0 0 0 1"]),
     "extrinsic rotation (rows 1-3, columns 1-3) is not a rotation: its determinant is -1 (a reflection)"),
    (cam_text(depth="425 nan"), "DEPTH_INTERVAL is nan"),
    (cam_text(depth="-inf 2.5"), "DEPTH_MIN is -inf"),
    (cam_text(depth="425 0"), "DEPTH_INTERVAL must be positive, found 0"),
    (cam_text(depth="425 -2.5 192"), "DEPTH_INTERVAL must be positive, found -2.5"),
    (cam_text(depth="425 2.5 -3"), "DEPTH_NUM must not be negative, found -3"),
    (cam_text(depth="425 2.5 192 inf"), "DEPTH_MAX is inf"),
    (cam_text(depth="1e38 1e38 1e38"), "DEPTH_MAX is 1e+76 (beyond the float32 range"),                 # overflow of min + interval * num
])
def test_bad_camera_names_the_field(text, problem):
    with pytest.raises(InputError) as info:
        parse_cam(text, "scan1/cams/00000002_cam.txt")
    assert str(info.value).startswith("scan1/cams/00000002_cam.txt: " + problem), str(info.value)
    assert "\n" not in str(info.value)


def test_good_cameras_pass():
    for text in (cam_text(), cam_text(ROTATED), cam_text(depth=None), cam_text(depth="425 2.5 192 905"),
                 cam_text(k_rows=["100 0.5 50", "0 90 40", "0 0 1"])):   # skew is allowed
        parse_cam(text)


def _rounded(text, digits):
    return cam_text(["%s %s %s 10" % tuple("%.*g" % (digits, float(v)) for v in row.split()[:3])
                     for row in ROTATED[:3]] + ["0 0 0 1"])


def test_rotation_tolerance_accepts_4_digits_and_rejects_a_scale():
    """The tolerance (1e-3) is calibrated: rotations printed with 4 significant digits pass
    (TF1-era files have 6-7), a rotation scaled by 1.001 fails."""
    parse_cam(_rounded(cam_text(ROTATED), 4))
    scaled = ["%r 0 %r 10" % (C * 1.001, S * 1.001), "0 1.001 0 20", "%r 0 %r 30" % (-S * 1.001, C * 1.001),
              "0 0 0 1"]
    with pytest.raises(InputError, match="is not a rotation: R R.T differs from the identity by up to 0.002"):
        parse_cam(cam_text(scaled))


def test_every_camera_of_the_fixtures_and_the_generator_passes(tmp_path):
    """The real files the tolerance was calibrated on: the cams of the fixtures (synthetic
    scenes, the original colmap2mvsnet's output, the float32 cams the original test.py
    wrote), the DTU training camera as published (6 significant digits) and the COLMAP
    model of the fixture, text and binary."""
    from mvsnet.colmap.model import read_model
    from tools.synthetic import colmap as synthetic_colmap

    files = (glob.glob(os.path.join(FIXTURES, "*", "cams", "*_cam.txt"))
             + glob.glob(os.path.join(FIXTURES, "*", "*", "cams", "*_cam.txt"))
             + glob.glob(os.path.join(FIXTURES, "orig_test_*", "*.txt")))
    assert len(files) >= 49
    worst = max(checks.rotation_error(read_cam(f).extrinsic[:3, :3])[0] for f in files)
    assert worst < 1e-6
    dtu = parse_cam(cam_text(["0.970263 0.00747983 0.241939 -191.02", "-0.0147429 0.999493 0.0282234 3.28832",
                              "-0.241605 -0.030951 0.969881 22.5401", "0.0 0.0 0.0 1.0"],
                             ["2892.33 0 823.205", "0 2883.18 619.071", "0 0 1"]))
    assert 1e-7 < checks.rotation_error(dtu.extrinsic[:3, :3])[0] < 1e-6
    assert len(read_model(os.path.join(FIXTURES, "colmap_scene", "sparse")).views) == 12
    synthetic_colmap.write_workspace(str(tmp_path / "bin"), views=4, binary=True)
    assert len(read_model(str(tmp_path / "bin" / "sparse")).views) == 4


def test_cams_are_checked_in_every_reader(tmp_path):
    """The dense folder (test.py's plan), the cams test.py writes (fusion) and the training
    sets all read through read_cam: one bad number, one error naming the file."""
    from mvsnet.pointcloud.views import DenseOutput

    folder = tmp_path / "scene"
    (folder / "images").mkdir(parents=True)
    (folder / "depths_mvsnet").mkdir()
    (folder / "images" / "00000000.jpg").write_bytes(b"")
    bad = folder / "depths_mvsnet" / "00000000.txt"
    bad.write_text(cam_text(k_rows=replace(K_ROWS, 0, "nan 0 50")))
    with pytest.raises(InputError, match="^%s: intrinsic row 1 holds nan$" % bad):
        DenseOutput(str(folder)).geometry("00000000")


# ----------------------------------------------------------------------------- COLMAP models

@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from tools.synthetic import colmap as synthetic_colmap

    root = tmp_path_factory.mktemp("models")
    for kind in ("text", "binary"):
        synthetic_colmap.write_workspace(str(root / kind), views=4, points=4, binary=kind == "binary")
    return root


def _copy(models, kind, tmp_path):
    target = tmp_path / kind
    shutil.copytree(models / kind / "sparse", target)
    return target


def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _first_data_line(path):
    return next(line for line in path.read_text().splitlines() if line and not line.startswith("#"))


@pytest.mark.parametrize("name,cut", [("cameras.bin", 30), ("images.bin", 100), ("points3D.bin", 50),
                                      ("frames.bin", 20), ("rigs.bin", 12)])
def test_truncated_binary_model_names_the_file(models, tmp_path, name, cut):
    """pycolmap aborts the process on some of these (points3D.bin, frames.bin)."""
    from mvsnet.colmap.model import read_model

    sparse = _copy(models, "binary", tmp_path)
    data = (sparse / name).read_bytes()
    (sparse / name).write_bytes(data[:cut])
    with pytest.raises(InputError) as info:
        read_model(str(sparse))
    message = str(info.value)
    assert message.startswith("%s: " % (sparse / name)) and ("ends early" in message or "room for" in message), message


def test_binary_model_count_larger_than_the_file(models, tmp_path):
    from mvsnet.colmap.model import read_model

    sparse = _copy(models, "binary", tmp_path)
    data = bytearray((sparse / "points3D.bin").read_bytes())
    data[:8] = (2 ** 40).to_bytes(8, "little")
    (sparse / "points3D.bin").write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"points3D.bin: announces 1099511627776 3-D points but the file has "
                                         r"room for at most \d+: a wrong count or a truncated file$"):
        read_model(str(sparse))


def test_text_model_errors_name_file_and_line(models, tmp_path):
    from mvsnet.colmap.model import read_model

    sparse = _copy(models, "text", tmp_path)
    line = _first_data_line(sparse / "cameras.txt")
    words = line.split()
    _edit(sparse / "cameras.txt", line, " ".join(words[:4] + ["nan"] + words[5:]))
    with pytest.raises(InputError, match=r"cameras.txt: line 4: the parameters of camera 1 holds nan$"):
        read_model(str(sparse))
    _edit(sparse / "cameras.txt", "nan", "0")
    with pytest.raises(InputError, match=r"cameras.txt: camera 1 \(PINHOLE\): the focal length fx .* found 0$"):
        read_model(str(sparse))
    shutil.rmtree(sparse)
    sparse = _copy(models, "text", tmp_path)
    line = _first_data_line(sparse / "images.txt")
    _edit(sparse / "images.txt", line, " ".join(line.split()[:8]))
    with pytest.raises(InputError, match=r"images.txt: line 5: expected IMAGE_ID QW .* found 8 words$"):
        read_model(str(sparse))


def test_model_pose_that_is_not_a_rotation(models, tmp_path):
    """A quaternion that is not finite is named by the walker; the rotation read from the
    model goes through the same check as a cam file's."""
    from mvsnet.colmap.model import read_model

    sparse = _copy(models, "text", tmp_path)
    line = _first_data_line(sparse / "frames.txt")
    words = line.split()
    _edit(sparse / "frames.txt", line, " ".join(words[:2] + ["inf"] + words[3:]))
    with pytest.raises(InputError, match=r"frames.txt: line 4: the pose of frame 1 holds inf$"):
        read_model(str(sparse))


# ----------------------------------------------------------------------------- other readers

def test_pfm_values_and_scale_are_checked(tmp_path):
    from cameras.pfm import pfm_bytes, read_pfm, write_pfm

    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    image[1, 2] = np.nan
    image[2, 0] = -np.inf
    path = tmp_path / "d.pfm"
    write_pfm(path, image)
    with pytest.raises(InputError, match=r"d.pfm: the map holds 2 non-finite pixels \(nan or inf\) of 12, "
                                         r"the first at row 2, column 3$"):
        read_pfm(path)
    back = read_pfm(path, allow_non_finite=True)
    assert np.isnan(back[1, 2]) and np.isneginf(back[2, 0])
    for scale in (b"nan", b"0", b"inf"):
        data = pfm_bytes(np.ones((2, 2), np.float32)).replace(b"-1.000000", scale)
        path.write_bytes(data)
        with pytest.raises(InputError, match="the scale must be a finite, non-zero number, found '%s'"
                           % scale.decode()):
            read_pfm(path)


def test_pair_scores_and_ids_are_checked():
    from cameras.pair import parse_pair

    with pytest.raises(InputError, match=r"^p: score of source view 1 of view 0 \(word 7\) must be a finite "
                                         r"number, found 'nan'$"):
        parse_pair("1\n0\n2 1 3.5 2 nan\n", "p")
    with pytest.raises(InputError, match=r"^p: source view 0 of view 0 \(word 4\) must be a view id \(0 or more\), "
                                         r"found -1$"):
        parse_pair("1\n0\n1 -1 3.5\n", "p")
    assert parse_pair("1\n0\n1 1 1e3\n") == [(0, [(1, 1000.0)])]


def test_ply_positions_must_be_finite(tmp_path):
    from mvsnet.pointcloud.ply import read_ply, write_ply

    points = np.zeros((5, 3), np.float32)
    points[3, 1] = np.nan
    write_ply(tmp_path / "c.ply", points)
    with pytest.raises(InputError, match=r"c.ply: the vertex positions \(x, y, z\) holds 1 non-finite values "
                                         r"\(nan or inf\) of 15, the first at row 4, column 2$"):
        read_ply(tmp_path / "c.ply")


def _write_maps(folder, name, depth, prob):
    from cameras.pfm import write_pfm

    write_pfm(folder / "depths_mvsnet" / (name + "_init.pfm"), depth)
    write_pfm(folder / "depths_mvsnet" / (name + "_prob.pfm"), prob)


def test_fusion_names_maps_with_non_finite_pixels_once(tmp_path):
    from mvsnet.pointcloud.views import DenseOutput

    folder = tmp_path / "scene"
    (folder / "images").mkdir(parents=True)
    (folder / "depths_mvsnet").mkdir()
    (folder / "images" / "00000000.jpg").write_bytes(b"")
    depth = np.full((4, 5), 10, np.float32)
    depth[0, :3] = np.nan
    prob = np.full((4, 5), 0.9, np.float32)
    prob[3, 4] = np.inf
    prob[2, 2] = np.nan
    _write_maps(folder, "00000000", depth, prob)
    lines = []
    out = DenseOutput(str(folder), warn=lines.append)
    for _ in range(2):
        got = out.depth("00000000", 0.5)
    init, probf = (str(folder / "depths_mvsnet" / ("00000000" + s)) for s in ("_init.pfm", "_prob.pfm"))
    assert lines == ["%s: 3 non-finite pixels (nan or inf) of 20, the first at row 1, column 1, treated as pixels "
                     "without depth" % init,
                     "%s: 2 non-finite pixels (nan or inf) of 20, the first at row 3, column 3, treated as pixels "
                     "without depth" % probf]
    expected = np.full((4, 5), 10, np.float32)
    expected[0, :3] = expected[3, 4] = expected[2, 2] = 0
    np.testing.assert_array_equal(got, expected)


def test_non_finite_network_maps_are_not_written(tmp_path):
    from mvsnet.inference import outputs

    depth = np.ones((4, 4, 1), np.float32)
    prob = depth.copy()
    prob[1, 1] = np.nan
    outputs.check_view_maps(str(tmp_path), [3, 1, 2], {"init": depth, "prob": depth, "refined": None})
    with pytest.raises(InputError) as info:
        outputs.check_view_maps(str(tmp_path), [3, 1, 2, 3], {"init": depth, "prob": prob})
    assert str(info.value) == (
        "%s: not written: the network's probability map of reference view 3 holds 1 non-finite pixels (nan or "
        "inf) of 16, the first at row 2, column 2; its inputs are view 3 and source view(s) 1, 2 "
        "(images/%%08d.jpg, cams/%%08d_cam.txt)" % (tmp_path / "00000003_prob.pfm"))
    assert os.listdir(tmp_path) == []


def _truncated_copy(src, dst, fraction=0.5):
    data = open(src, "rb").read()
    with open(dst, "wb") as f:
        f.write(data[:int(len(data) * fraction)])


def test_images_that_do_not_decode_are_named(tmp_path):
    from mvsnet import images

    src = os.path.join(FIXTURES, "scene_tiny", "images", "00000000.jpg")
    good, bad, bad2 = (str(tmp_path / n) for n in ("good.jpg", "bad.jpg", "bad2.jpg"))
    shutil.copy(src, good)
    _truncated_copy(src, bad)
    _truncated_copy(src, bad2, 0.05)
    assert images.decode_problem(good) is None
    with pytest.raises(InputError, match=r"bad.jpg: cannot decode the image \(corrupt or truncated\?\): image file "
                                         r"is truncated .*\(1 more image\(s\) do not decode: bad2.jpg\)$"):
        images.check_all_decode([good, bad, good, bad2])
    lines = []
    assert images.decodable([good, bad], lines.append) == [good]
    assert len(lines) == 1 and lines[0].startswith(bad + ": cannot decode") and lines[0].endswith("; left out")


def test_reconstruct_leaves_out_photos_that_do_not_decode(tmp_path):
    from mvsnet.colmap import sfm

    src = os.path.join(FIXTURES, "scene_tiny", "images")
    names = sorted(os.listdir(src))
    for n in names:
        shutil.copy(os.path.join(src, n), tmp_path / n)
    _truncated_copy(os.path.join(src, names[1]), tmp_path / names[1])
    lines = []
    good = sfm.decodable_photos(str(tmp_path), names, sfm.SfmOptions(), lines.append)
    assert good == [n for n in names if n != names[1]]
    assert len(lines) == 1 and lines[0].startswith("  warning: %s: cannot decode" % (tmp_path / names[1]))
    with pytest.raises(InputError, match=r"only 4 of 5 photos decode \(need 5\); the others are named above$"):
        sfm.decodable_photos(str(tmp_path), names, sfm.SfmOptions(min_registered=5), lines.append)
