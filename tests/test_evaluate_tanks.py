"""tools/evaluate.py tanks and mvsnet/pointcloud/tanks.py on a synthetic Tanks-and-Temples-style
scene (tools/synthetic/eval_sets.py) with answers known by hand."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from mvsnet.pointcloud import tanks
from mvsnet.pointcloud.ply import read_ply, write_ply
from tools import evaluate
from tools.synthetic import eval_sets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "tools", "evaluate.py")
TAU = 0.5


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """Ground truth (about 30 000 points), crop, a similarity alignment (scale 2)."""
    out = tmp_path_factory.mktemp("tanks")
    eval_sets.write_tanks_eval(str(out), scene="Synthetic", seed=2, size=(24.0, 18.0), spacing=0.1, scale=2.0)
    gt, _, normals = read_ply(out / "Synthetic.ply")
    trans = tanks.read_alignment(out / "Synthetic_trans.txt")
    return dict(out=out, gt=gt, normals=normals.astype(np.float64), trans=trans,
                crop=tanks.read_crop(out / "Synthetic.json"), to_rec=np.linalg.inv(trans))


def test_crop_polygon_by_hand():
    square = np.array([[0, 0, 0], [2, 0, 0], [2, 2, 0], [0, 2, 0.0]])
    crop = tanks.CropVolume(polygon=square, axis="z", axis_min=-1.0, axis_max=1.0)
    pts = np.array([[1, 1, 0], [1, 1, 1.0], [1, 1, 1.01], [3, 1, 0], [-0.5, 1, 0], [1, 2.5, 0]])
    assert crop.contains(pts).tolist() == [True, True, False, False, False, False]
    # an L: the notch (1.5, 1.5) is outside, the arms inside
    ell = np.array([[0, 0, 0], [2, 0, 0], [2, 1, 0], [1, 1, 0], [1, 2, 0], [0, 2, 0.0]])
    crop = tanks.CropVolume(polygon=ell, axis="z", axis_min=-1.0, axis_max=1.0)
    assert crop.contains(np.array([[1.5, 0.5, 0], [0.5, 1.5, 0], [1.5, 1.5, 0]])).tolist() == [True, True, False]
    # orthogonal axis X: the polygon lives in (y, z), the range applies to x
    crop = tanks.CropVolume(polygon=square[:, [2, 0, 1]], axis="x", axis_min=5.0, axis_max=6.0)
    assert crop.contains(np.array([[5.5, 1, 1], [4.9, 1, 1], [5.5, 3, 1]])).tolist() == [True, False, False]


def test_voxel_downsample_by_hand():
    # Open3D: voxels from the minimum corner minus half a voxel, one mean point per voxel
    pts = np.array([[0, 0, 0], [0.4, 0, 0], [1.0, 0, 0], [0.2, 0.6, 0]])
    out = tanks.voxel_downsample(pts, 1.0)
    assert sorted(map(tuple, out.tolist())) == [(0.2, 0.0, 0.0), (0.2, 0.6, 0.0), (1.0, 0.0, 0.0)]


def test_alignment_applied_and_ground_truth_scores_one(scene):
    rec = tanks.transform(scene["gt"], scene["to_rec"])  # the ground truth in a reconstruction's frame
    r = tanks.evaluate(rec, scene["gt"], scene["crop"], TAU, scene["trans"])
    assert r.precision == 1.0 and r.recall == 1.0 and r.fscore == 1.0
    r = tanks.evaluate(rec, scene["gt"], scene["crop"], TAU)  # not aligned: nothing in the crop
    assert r.cropped == 0 and r.fscore == 0.0


@pytest.mark.parametrize("shift, expected", [(0.5 * TAU, 1.0), (2.0 * TAU, 0.0)])
def test_shift_along_the_normals(scene, shift, expected):
    rec = scene["gt"] + shift * scene["normals"]
    r = tanks.evaluate(rec, scene["gt"], scene["crop"], TAU)
    assert abs(r.precision - expected) < 0.03 and abs(r.recall - expected) < 0.03


def test_half_shifted_scores_the_share_of_the_other_half(scene):
    gt, normals = scene["gt"], scene["normals"]
    cx = float(np.median(gt[scene["crop"].contains(gt), 0]))
    moved = gt[:, 0] >= cx
    rec = gt.copy()
    rec[moved] += 2.0 * TAU * normals[moved]
    r = tanks.evaluate(rec, gt, scene["crop"], TAU)
    # precision: the unshifted half's share of the occupied voxels; recall: about half of the ground truth
    inside = scene["crop"].contains(rec)
    n_still = len(tanks.voxel_downsample(rec[inside & ~moved], TAU / 2))
    n_moved = len(tanks.voxel_downsample(rec[inside & moved], TAU / 2))
    assert abs(r.precision - n_still / (n_still + n_moved)) < 0.02
    assert abs(r.recall - 0.5) < 0.03
    assert r.fscore == pytest.approx(2 * r.precision * r.recall / (r.precision + r.recall))


def test_points_outside_the_crop_are_ignored(scene):
    gt, crop = scene["gt"], scene["crop"]
    rec = gt + 0.3 * TAU * scene["normals"]
    rng = np.random.default_rng(0)
    junk = gt[~crop.contains(gt)][::3] + rng.normal(0, 3 * TAU, (len(gt[~crop.contains(gt)][::3]), 3))
    junk = junk[~crop.contains(junk)]
    above = gt[crop.contains(gt)][::5] + [0, 0, 0]
    above[:, 2] = crop.axis_max + 0.01  # just above the height range
    a = tanks.evaluate(rec, gt, crop, TAU)
    b = tanks.evaluate(np.concatenate([rec, junk, above]), gt, crop, TAU)
    assert len(junk) > 1000 and a.summary() | {"points": 0} == b.summary() | {"points": 0}


def test_cli_last_line_and_files(scene, tmp_path):
    cloud = tmp_path / "rec.ply"
    write_ply(cloud, tanks.transform(scene["gt"] + 2.0 * TAU * scene["normals"], scene["to_rec"]))
    out = scene["out"]
    proc = subprocess.run([sys.executable, SCRIPT, "tanks", str(cloud), "--gt", str(out / "Synthetic.ply"),
                           "--crop", str(out / "Synthetic.json"), "--alignment", str(out / "Synthetic_trans.txt"),
                           "--tau", str(TAU), "--vis_out", str(tmp_path / "vis"), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    words = lines[-1].split()
    assert words[0::2] == ["precision", "recall", "fscore"]
    assert all(float(x) < 0.03 for x in words[1::2])
    assert json.loads(lines[-2])["tau"] == TAU
    _, colors, _ = read_ply(tmp_path / "vis" / "Synthetic.precision.ply")
    # 2 tau of 3 tau on hot_r = 'hot' at 1/3: red (1/3) / 0.365 = 0.91, no green or blue
    r, g, b = np.median(colors, axis=0)
    assert abs(r - 233) <= 6 and g == 0 and b == 0
    assert os.path.isfile(tmp_path / "vis" / "Synthetic.recall.ply")


def run_main(argv, capsys):
    status = evaluate.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_scene_tau_from_the_crop_file_name(scene, tmp_path, capsys):
    crop = tmp_path / "Ignatius.json"
    crop.write_bytes((scene["out"] / "Synthetic.json").read_bytes())
    status, out, _ = run_main(["tanks", scene["out"] / "Synthetic.ply", "--gt", scene["out"] / "Synthetic.ply",
                               "--crop", crop, "--json"], capsys)
    assert status == 0 and json.loads(out.splitlines()[-2])["tau"] == 0.003
    status, _, err = run_main(["tanks", scene["out"] / "Synthetic.ply", "--gt", scene["out"] / "Synthetic.ply",
                               "--crop", scene["out"] / "Synthetic.json"], capsys)
    assert status == 1 and err.startswith("error: %s: give --tau: 'Synthetic' is not a Tanks and Temples training "
                                          "scene" % (scene["out"] / "Synthetic.json"))


def test_bad_input_is_one_line(scene, tmp_path, capsys):
    out = scene["out"]
    args = ["tanks", out / "Synthetic.ply", "--gt", out / "Synthetic.ply", "--tau", 1, "--crop"]
    good = json.loads((out / "Synthetic.json").read_text())
    cases = [(b"{not json", "not a JSON file: "),
             (json.dumps(dict(good, class_name="AxisAlignedBoundingBox")).encode(),
              "not a crop volume: class_name is 'AxisAlignedBoundingBox', not 'SelectionPolygonVolume'"),
             (json.dumps(dict(good, orthogonal_axis="W")).encode(), "orthogonal_axis must be 'X', 'Y' or 'Z', got 'W'"),
             (json.dumps({k: v for k, v in good.items() if k != "bounding_polygon"}).encode(),
              "no 'bounding_polygon' in the crop volume"),
             (json.dumps(dict(good, bounding_polygon=[[0, 0, 0], [1, 1, 1]])).encode(),
              "bounding_polygon must be at least 3 finite [x, y, z] points")]
    for i, (data, problem) in enumerate(cases):
        crop = tmp_path / ("crop%d.json" % i)
        crop.write_bytes(data)
        status, _, err = run_main(args + [crop], capsys)
        assert status == 1 and err.startswith("error: %s: %s" % (crop, problem)) and err.count("\n") == 1, err
    bad = tmp_path / "trans.txt"
    bad.write_text("1 0 0 0\n0 1 0 0\n0 0 1 0\n")
    status, _, err = run_main(args + [out / "Synthetic.json", "--alignment", bad], capsys)
    assert status == 1 and err == "error: %s: not a 4x4 matrix (4 rows of 4 numbers)\n" % bad
    empty = tmp_path / "empty.ply"
    write_ply(empty, np.zeros((0, 3)))
    status, _, err = run_main(["tanks", empty, "--gt", out / "Synthetic.ply", "--tau", 1, "--crop",
                               out / "Synthetic.json"], capsys)
    assert status == 1 and err == "error: %s: the point cloud has no vertices\n" % empty
