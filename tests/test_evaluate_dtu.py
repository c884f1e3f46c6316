"""tools/evaluate.py dtu and mvsnet/pointcloud/dtu.py on a synthetic DTU evaluation set
(tools/synthetic/eval_sets.py) with answers known by hand."""

import os
import subprocess
import sys

import numpy as np
import pytest
from scipy.io import savemat
from scipy.spatial import cKDTree

from mvsnet.pointcloud import dtu
from mvsnet.pointcloud.ply import read_ply, write_ply
from tools import evaluate
from tools.synthetic import eval_sets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "tools", "evaluate.py")
SCAN = 3


@pytest.fixture(scope="module")
def dtu_set(tmp_path_factory):
    """A synthetic DTU evaluation root with scan 3 (about 40 000 reference points)."""
    root = str(tmp_path_factory.mktemp("dtu_eval"))
    info = eval_sets.write_dtu_eval(root, scans=(SCAN,), seed=1)
    stl, _, normals = read_ply(os.path.join(root, dtu.STL_FILE % SCAN))
    gt = dtu.load_ground_truth(root, SCAN)
    return dict(root=root, info=info["scans"][str(SCAN)], stl=stl, normals=normals.astype(np.float64), gt=gt)


def test_the_files_are_the_official_layout(dtu_set):
    gt = dtu_set["gt"]
    assert gt.bb.shape == (2, 3) and gt.mask.ndim == 3 and gt.plane.shape == (4,)
    assert np.array_equal(gt.stl, dtu_set["stl"])
    # the mask covers the reference except the unobserved slab; the plane leaves 15 % below
    x_cut, y_cut = dtu_set["info"]["x_cut"], dtu_set["info"]["y_cut"]
    m = dtu.in_mask(gt.stl, gt)
    assert m[gt.stl[:, 0] < x_cut - 1].all() and not m[gt.stl[:, 0] > x_cut + 1].any()
    below = ~dtu.above_plane(gt.stl, gt.plane)
    assert np.array_equal(below, gt.stl[:, 1] >= y_cut)
    assert 0.13 < below.mean() < 0.17


def test_ground_truth_scores_zero(dtu_set):
    r = dtu.evaluate(dtu_set["stl"], dtu_set["gt"])
    assert r.accuracy == 0.0 and r.completeness < 0.02 and r.overall < 0.01
    assert r.accuracy_points == dtu.in_mask(dtu_set["stl"][r.data_kept], dtu_set["gt"]).sum()


@pytest.mark.parametrize("shift", [1.0, 0.5])
def test_shift_along_the_normals_scores_the_shift(dtu_set, shift):
    r = dtu.evaluate(dtu_set["stl"] + shift * dtu_set["normals"], dtu_set["gt"])
    # edges (a shifted point nearer to another surface) pull the means slightly below the shift
    assert shift * 0.97 < r.accuracy <= shift * 1.005
    assert shift * 0.97 < r.completeness <= shift * 1.005


def test_points_outside_the_mask_are_ignored(dtu_set):
    stl, normals, gt = dtu_set["stl"], dtu_set["normals"], dtu_set["gt"]
    x_cut = dtu_set["info"]["x_cut"]
    unobserved = stl[:, 0] > x_cut + 4
    junk = stl[unobserved] + 3.0 * normals[unobserved]
    r = dtu.evaluate(np.concatenate([stl, junk]), gt)
    assert r.accuracy == 0.0  # 3 mm off the surface, but not in the observability mask
    observed = stl[:, 0] < x_cut - 4
    junk = stl[observed][::4] + 3.0 * normals[observed][::4]
    r = dtu.evaluate(np.concatenate([stl, junk]), gt)
    assert r.accuracy > 0.3  # the same junk where the mask is set counts


def test_reference_below_the_plane_is_ignored(dtu_set):
    stl, gt = dtu_set["stl"], dtu_set["gt"]
    y_cut = dtu_set["info"]["y_cut"]
    r = dtu.evaluate(stl[stl[:, 1] < y_cut], gt)  # the cloud lacks everything below the plane
    assert r.completeness < 0.02 and r.accuracy == 0.0
    r = dtu.evaluate(stl[stl[:, 1] < y_cut - 5], gt)  # ... and a 5 mm band above it
    assert r.completeness > 0.1


def test_distances_of_20_mm_or_more_are_discarded_not_clamped(dtu_set):
    stl, gt = dtu_set["stl"], dtu_set["gt"]
    lo, hi = stl.min(axis=0), stl.max(axis=0)
    x_cut = dtu_set["info"]["x_cut"]
    xs, ys = np.meshgrid(np.linspace(lo[0], x_cut - 2, 25), np.linspace(lo[1], hi[1], 20))
    far = np.stack([xs.ravel(), ys.ravel(), np.full(500, lo[2] - 30.0)], axis=1)  # 30 mm before the scene
    assert (cKDTree(stl).query(far)[0] >= 30.0 - 1e-9).all()
    r = dtu.evaluate(np.concatenate([stl, far]), gt)
    in_mask = dtu.in_mask(far, gt).sum()
    assert in_mask > 400 and r.accuracy_points - r.accuracy_inliers == in_mask  # in the mask, then discarded
    assert r.accuracy == 0.0


def test_mask_index_plane_and_cells_by_hand():
    mask = np.zeros((3, 4, 5), bool)
    mask[1, 2, 3] = True
    gt = dtu.GroundTruth(stl=np.zeros((1, 3)), mask=mask, bb=np.array([[10.0, 20, 30], [12, 23, 34]]), res=1.0,
                         plane=np.array([0.0, 0, 1, -31]))
    # voxel round((x - BB0) / Res + 1), 1-based: (2, 3, 4) -> mask[1, 2, 3]; halves go away from zero
    pts = np.array([[11.0, 22, 33], [11.49, 22.49, 33.49], [11.5, 22, 33], [10.5, 22, 33], [11, 22, 34.6]])
    assert dtu.in_mask(pts, gt).tolist() == [True, True, False, True, False]
    assert dtu.above_plane(np.array([[0, 0, 31.0], [0, 0, 31.5], [0, 0, 30]]), gt.plane).tolist() == [False, True, False]
    # MaxDistCP's cells: floor((BB1 - BB0) / 60) + 1 cells of 60 mm from BB0, half-open
    bb = np.array([[0.0, 0, 0], [100, 100, 100]])
    assert dtu.cell_box(bb).tolist() == [[0, 0, 0], [120, 120, 120]]
    assert dtu.in_cells(np.array([[119.9, 0, 50], [120, 0, 50], [-0.1, 5, 5]]), bb).tolist() == [True, False, False]


def _sequential_reduction(points, distance, rng):
    """reducePts_haa as written: one point at a time in a random order."""
    order = rng.permutation(len(points))
    tree = cKDTree(points)
    keep = np.ones(len(points), bool)
    for i in order:
        if keep[i]:
            keep[tree.query_ball_point(points[i], distance)] = False
            keep[i] = True
    return keep


def test_reduction_is_the_sequential_loop():
    rng = np.random.default_rng(5)
    pts = rng.random((3000, 3)) * [3, 3, 0.05]
    pts = np.concatenate([pts, pts[:300], pts[:50] + 0.2])  # duplicates and points exactly 0.2 apart (per axis)
    for seed, blocks in ((0, dict(block=700)), (1, dict(pairs_per_block=500))):  # fixed, adapted blocks
        kept = dtu.reduce_points(pts, 0.2, np.random.default_rng(seed), **blocks)
        assert np.array_equal(kept, _sequential_reduction(pts, 0.2, np.random.default_rng(seed)))
    assert len(cKDTree(pts[kept]).query_pairs(0.2)) == 0  # no two kept points within 0.2
    assert (cKDTree(pts[kept]).query(pts[~kept])[0] <= 0.2).all()  # every removed one was near a kept one


def test_error_colours():
    dist = np.array([0.0, 5.0, 10.0, 30.0, np.inf, 1.0])
    used = np.array([True, True, True, True, True, False])
    c = dtu.error_colors(dist, used)
    assert c.tolist() == [[255, 255, 255], [255, 128, 128], [255, 0, 0], [0, 255, 0], [0, 255, 0], [0, 0, 255]]


def test_cli_last_lines_and_coloured_plys(dtu_set, tmp_path):
    cloud = tmp_path / "cloud.ply"
    write_ply(cloud, dtu_set["stl"] + dtu_set["normals"])
    proc = subprocess.run([sys.executable, SCRIPT, "dtu", str(cloud), "--dtu_eval_root", dtu_set["root"],
                           "--scan", str(SCAN), "--vis_out", str(tmp_path / "vis")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-2].startswith("note: the 0.2 mm reduction visits the points in a random order")
    words = lines[-1].split()
    assert words[0::2] == ["accuracy", "completeness", "overall"]
    acc, comp, overall = map(float, words[1::2])
    assert 0.97 < acc < 1.005 and 0.97 < comp < 1.005 and overall == pytest.approx((acc + comp) / 2, abs=1e-4)
    pts, colors, _ = read_ply(tmp_path / "vis" / ("vis_%03d_accuracy.ply" % SCAN))
    x_cut = dtu_set["info"]["x_cut"]
    assert (colors[pts[:, 0] > x_cut + 4] == [0, 0, 255]).all()  # not evaluated: blue
    inlier = colors[pts[:, 0] < x_cut - 4]
    assert (inlier[:, 0] == 255).all() and abs(np.median(inlier[:, 1]) - 229.5) <= 1  # 1 mm of 10: 0.9 white
    _, colors, _ = read_ply(tmp_path / "vis" / ("vis_%03d_completeness.ply" % SCAN))
    assert len(colors) == len(dtu_set["stl"])


def run_main(argv, capsys):
    status = evaluate.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_bad_input_is_one_line(dtu_set, tmp_path, capsys):
    root, cloud = dtu_set["root"], tmp_path / "cloud.ply"
    write_ply(cloud, dtu_set["stl"])
    status, _, err = run_main(["dtu", cloud, "--dtu_eval_root", root, "--scan", 7], capsys)
    assert status == 1 and err == "error: %s: no such file: scan 7 has no ground truth here\n" % os.path.join(
        root, dtu.STL_FILE % 7)
    empty = tmp_path / "empty.ply"
    write_ply(empty, np.zeros((0, 3)))
    status, _, err = run_main(["dtu", empty, "--dtu_eval_root", root, "--scan", SCAN], capsys)
    assert status == 1 and err == "error: %s: the point cloud has no vertices\n" % empty
    nan = tmp_path / "nan.ply"
    write_ply(nan, np.array([[0, 0, 0], [np.nan, 1, 1]]))
    status, _, err = run_main(["dtu", nan, "--dtu_eval_root", root, "--scan", SCAN], capsys)
    # named by the PLY reader (cameras.checks); dtu.check_cloud covers arrays given in code
    assert status == 1 and err == ("error: %s: the vertex positions (x, y, z) holds 1 non-finite values (nan or "
                                   "inf) of 6, the first at row 2, column 1\n" % nan)
    # a missing key, a wrong shape, a v7.3-like unreadable file, each named
    bad = tmp_path / "bad"
    for sub in ("Points/stl", "ObsMask"):
        os.makedirs(bad / sub)
    os.link(os.path.join(root, dtu.STL_FILE % SCAN), bad / (dtu.STL_FILE % SCAN))
    os.link(os.path.join(root, dtu.PLANE_FILE % SCAN), bad / (dtu.PLANE_FILE % SCAN))
    mask_file = bad / (dtu.MASK_FILE % SCAN)
    savemat(mask_file, {"ObsMask": np.ones((2, 2, 2), np.uint8), "BB": np.zeros((2, 3))})
    status, _, err = run_main(["dtu", cloud, "--dtu_eval_root", bad, "--scan", SCAN], capsys)
    assert status == 1 and err == "error: %s: no variable 'Res' in the .mat file\n" % mask_file
    savemat(mask_file, {"ObsMask": np.ones((2, 2, 2), np.uint8), "BB": np.zeros((3, 3)), "Res": 1.0})
    status, _, err = run_main(["dtu", cloud, "--dtu_eval_root", bad, "--scan", SCAN], capsys)
    assert status == 1 and err.startswith("error: %s: BB must be a finite 2x3 [min; max] box" % mask_file)
    mask_file.write_bytes(b"MATLAB 7.3 MAT-file, but not really")
    status, _, err = run_main(["dtu", cloud, "--dtu_eval_root", bad, "--scan", SCAN], capsys)
    assert status == 1 and err.startswith("error: %s: " % mask_file) and err.count("\n") == 1
    # a cloud in another frame: nothing to average, said so after the progress lines
    far = tmp_path / "far.ply"
    write_ply(far, dtu_set["stl"] + 1000.0)
    status, _, err = run_main(["dtu", far, "--dtu_eval_root", root, "--scan", SCAN], capsys)
    last = err.splitlines()[-1]
    assert status == 1 and err.count("error:") == 1
    assert last.startswith("error: %s: no point of the cloud lies inside the observability mask" % far)


def test_synthetic_cli_writes_the_layouts(tmp_path, capsys):
    from tools.synthetic import cli

    out = tmp_path / "d"
    assert cli.main(["dtu_eval", str(out), "--scans", "2,5", "--size", "8,6"]) == 0
    for scan in (2, 5):
        gt = dtu.load_ground_truth(str(out), scan)
        assert len(gt.stl) > 500 and gt.mask.any() and not gt.mask.all()
    assert cli.main(["tanks_eval", str(tmp_path / "t"), "--scene", "Barn", "--size", "8,6"]) == 0
    assert sorted(os.listdir(tmp_path / "t")) == ["Barn.json", "Barn.ply", "Barn_trans.txt", "synthetic.json"]
    capsys.readouterr()
    assert cli.main(["dtu_eval", str(out)]) == 1
    assert capsys.readouterr().err == "error: %s: folder exists and is not empty (use --overwrite)\n" % out


def _maxdistcp_literal(q_to, q_from, bb, max_dist):
    """MaxDistCP.m transcribed loop for loop: 60 mm cells from BB(1,:), each cell's points
    searched among the other cloud's points in the cell widened by 60 mm, 60 elsewhere."""
    dist = np.full(len(q_from), float(max_dist))
    cells = np.floor((bb[1] - bb[0]) / max_dist).astype(int)
    for x in range(cells[0] + 1):
        for y in range(cells[1] + 1):
            for z in range(cells[2] + 1):
                low = bb[0] + np.array([x, y, z]) * max_dist
                high = low + max_dist
                idx_f = np.flatnonzero(((q_from >= low) & (q_from < high)).all(axis=1))
                low, high = low - max_dist, high + max_dist
                near = q_to[((q_to >= low) & (q_to < high)).all(axis=1)]
                if len(idx_f):
                    dist[idx_f] = cKDTree(near).query(q_from[idx_f])[0] if len(near) else max_dist
    return dist


def test_scores_equal_a_literal_transcription_of_the_matlab_scripts(dtu_set):
    stl, normals, gt = dtu_set["stl"], dtu_set["normals"], dtu_set["gt"]
    rng = np.random.default_rng(3)
    lo, hi = gt.bb
    # the reference moved and blurred, plus junk all over and beyond the cells (BB + 60 mm margins)
    cloud = np.concatenate([stl + rng.normal(0.3, 0.5, (len(stl), 1)) * normals,
                            rng.uniform(lo - 80, hi + 100, (3000, 3))])
    r = dtu.evaluate(cloud, gt, seed=4)
    data = cloud[dtu.reduce_points(cloud, 0.2, np.random.default_rng(4))]
    d_data = _maxdistcp_literal(gt.stl, data, gt.bb, 60.0)  # PointCompareMain: Ddata, Dstl
    d_stl = _maxdistcp_literal(data, gt.stl, gt.bb, 60.0)
    qv = np.sign(v := (data - gt.bb[0]) / gt.res + 1) * np.floor(np.abs(v) + 0.5)
    inside = ((qv > 0) & (qv <= np.array(gt.mask.shape))).all(axis=1)
    in_mask = np.zeros(len(data), bool)
    idx = qv[inside].astype(int) - 1
    in_mask[np.flatnonzero(inside)[gt.mask[idx[:, 0], idx[:, 1], idx[:, 2]]]] = True
    above = np.concatenate([gt.stl, np.ones((len(gt.stl), 1))], axis=1) @ gt.plane > 0
    acc = d_data[in_mask][d_data[in_mask] < 20].mean()  # ComputeStat_web.m
    comp = d_stl[above][d_stl[above] < 20].mean()
    assert r.accuracy == pytest.approx(acc, rel=1e-12) and r.completeness == pytest.approx(comp, rel=1e-12)
    assert r.accuracy_points == in_mask.sum() and r.completeness_points == above.sum()
    assert 0.3 < r.accuracy < 1.5 and r.accuracy_inliers < r.accuracy_points  # some junk counted, some discarded
