"""tools/evaluate.py and mvsnet/pointcloud/evaluation.py on hand-computable data."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from cameras.pfm import write_pfm
from mvsnet.pointcloud import evaluation
from mvsnet.pointcloud.ply import read_ply, write_ply

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "tools", "evaluate.py")


def run(*args):
    return subprocess.run([sys.executable, SCRIPT] + [str(a) for a in args], capture_output=True,
                          text=True, timeout=120)


def test_point_metrics_by_hand():
    gt = np.array([[0, 0, 0], [10, 0, 0], [20, 0, 0], [30, 0, 0]], float)
    pred = np.array([[0, 0, 0.5], [10, 0, 2], [100, 0, 0]], float)
    m = evaluation.point_metrics(pred, gt, tau=1.0, max_dist=20)
    # pred -> gt: 0.5, 2, 70 (capped 20); gt -> pred: 0.5, 2, 10 (20 to (10,0,2) is 10.2), 30.07 capped 20
    assert m["accuracy"] == pytest.approx((0.5 + 2 + 20) / 3)
    assert m["completeness"] == pytest.approx((0.5 + 2 + np.hypot(10, 2) + 20) / 4)
    assert m["precision"] == pytest.approx(1 / 3) and m["recall"] == pytest.approx(1 / 4)
    assert m["fscore"] == pytest.approx(2 * (1 / 3) * (1 / 4) / (1 / 3 + 1 / 4))
    assert evaluation.point_metrics(gt, gt, 0.1)["fscore"] == 1.0
    assert evaluation.point_metrics(np.zeros((0, 3)), gt, 1)["recall"] == 0.0


def test_voxel_downsample():
    pts = np.array([[0.1, 0.1, 0.1], [0.2, 0.3, 0.4], [1.5, 0, 0]])
    assert evaluation.voxel_downsample(pts, 1.0).tolist() == [[0.1, 0.1, 0.1], [1.5, 0, 0]]


def test_depth_metrics_by_hand(tmp_path):
    gt = np.array([[100, 100], [100, 0]], np.float32)
    est = np.array([[101, 97], [0, 50]], np.float32)
    prob = np.array([[0.9, 0.1], [0.9, 0.9]], np.float32)
    for name, a in (("gt", gt), ("est", est), ("prob", prob)):
        write_pfm(tmp_path / (name + ".pfm"), a)
    proc = run("depth", "--est", tmp_path / "est.pfm", "--gt", tmp_path / "gt.pfm", "--json")
    r = json.loads(proc.stdout)
    assert r["pixels"] == 2 and r["coverage"] == pytest.approx(2 / 3)
    assert r["mae"] == pytest.approx(2) and r["mre"] == pytest.approx(0.02)
    assert r["within_1"] == 0 and r["within_2"] == 0.5 and r["within_4"] == 1
    proc = run("depth", "--est", tmp_path / "est.pfm", "--gt", tmp_path / "gt.pfm",
               "--prob", tmp_path / "prob.pfm", "--prob_threshold", 0.5, "--json")
    assert json.loads(proc.stdout)["mae"] == pytest.approx(1)


def test_resample_to_a_scaled_cropped_camera():
    gt = np.arange(16 * 12, dtype=np.float64).reshape(12, 16)
    k_gt = np.array([[10, 0, 8], [0, 10, 6], [0, 0, 1.0]])
    k_est = np.array([[5, 0, 4 - 1], [0, 5, 3], [0, 0, 1.0]])  # half size, cropped 1 column
    out = evaluation.resample_to(gt, k_gt, k_est, (6, 6))
    assert out[0, 0] == gt[0, 2] and out[5, 5] == gt[10, 12]


def test_synthetic_gt_cloud_and_points_cli(tmp_path):
    scene = tmp_path / "s"
    proc = subprocess.run([sys.executable, "-m", "tools.synthetic", "dense", str(scene),
                           "--views", "2", "--width", "16", "--height", "12", "--supersample", "1"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    points, _, _ = read_ply(scene / "gt" / "points.ply")
    depth = np.load(scene / "gt" / "00000000_depth.npy")
    assert len(points) == (depth > 0).sum() + (np.load(scene / "gt" / "00000001_depth.npy") > 0).sum()
    write_ply(tmp_path / "pred.ply", points[::2] + np.float32([0, 0, 0.5]))
    proc = run("points", tmp_path / "pred.ply", scene / "gt" / "points.ply", "--tau", 1, "--json")
    r = json.loads(proc.stdout)
    assert r["precision"] == 1.0 and r["accuracy"] <= 0.5 + 1e-6


def test_bad_input_is_one_line(tmp_path):
    proc = run("points", tmp_path / "none.ply", tmp_path / "none.ply")
    assert proc.returncode == 1 and proc.stderr == "error: %s: PLY file does not exist\n" % (tmp_path / "none.ply")
    write_pfm(tmp_path / "a.pfm", np.ones((2, 3), np.float32))
    write_pfm(tmp_path / "b.pfm", np.ones((3, 3), np.float32))
    proc = run("depth", "--est", tmp_path / "a.pfm", "--gt", tmp_path / "b.pfm")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "ground truth is" in proc.stderr
    proc = run("depth", "--dense_folder", tmp_path)
    assert proc.returncode == 1 and "missing depths_mvsnet/" in proc.stderr
