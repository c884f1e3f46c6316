"""The photometric + geometric filters (mvsnet.pointcloud.consistency: --fusion_mode normal,
dynamic, consistency) on hand-made geometry with answers worked out by hand, on exact depth
maps of a synthetic scene, and the mask PNGs of depthfusion.py --fusion_masks.

Cameras with identity rotation at x = -10, 0, 10 look down +z at the plane z = 100 (f = 50):
a point shifts by 5 pixels between neighbouring views, so the reference (at x = 0) sees its
pixels x < 35 in the view at x = -10 and x >= 5 in the one at x = 10 (W = 40)."""

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from cameras.camera import Camera
from cameras.errors import InputError
from mvsnet.pointcloud import consistency as C
from mvsnet.pointcloud.cloud import FusionOptions
from mvsnet.pointcloud.views import geometry

H, W, F = 30, 40, 50.0
K = np.array([[F, 0, 20.0], [0, F, 15.0], [0, 0, 1]])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def geo(cx):
    ext = np.eye(4)
    ext[0, 3] = -cx  # t = -R C
    return geometry(Camera(ext, K))


def plane(depth=100.0):
    return np.full((H, W), depth, np.float32)


def opts(mode="normal", **options):
    """FusionOptions of a consistency mode, checked."""
    o = FusionOptions(fusion_mode=mode, **options)
    o.check()
    return o


def run_view(ref_depth, sources, prob=None, **options):
    """filter_view of the reference at x = 0 with sources [(x, depth map, prob map or None)]."""
    prob = np.ones((H, W), np.float32) if prob is None else prob
    image = np.full((H, W, 3), 7, np.uint8)
    srcs = [(d, np.ones((H, W), np.float32) if p is None else p, geo(x)) for x, d, p in sources]
    return C.filter_view(ref_depth, prob, image, geo(0), srcs, opts(**options))


@pytest.mark.parametrize("mode", ["normal", "dynamic", "consistency"])
@pytest.mark.parametrize("average", ["depth", "points", "prob"])
def test_exact_plane_fuses_onto_the_plane(mode, average):
    r = run_view(plane(), [(-10, plane(), None), (10, plane(), None)], mode=mode,
                 num_consistent=2, geo_average=average)
    assert r.final.sum() == 30 * H and r.final[:, 5:35].all()  # seen by both sources
    np.testing.assert_allclose(r.points[:, 2], 100, rtol=1e-6)
    xs = np.tile(np.arange(5, 35), H)
    np.testing.assert_allclose(r.points[:, 0], (xs - 20) * 100 / F, atol=1e-4)
    assert (r.colors == 7).all() and r.photo.all() and (r.final == r.photo & r.geo).all()


def test_corrupted_view_is_rejected():
    wrong = plane(110.0)  # view 0 sees the plane 10 % too far
    r = run_view(plane(), [(-10, wrong, None), (10, plane(), None)], num_consistent=2)
    assert r.final.sum() == 0  # only view 2 agrees
    r = run_view(plane(), [(-10, wrong, None), (10, plane(), None)], num_consistent=1)
    assert r.final.sum() == 35 * H and r.final[:, 5:].all()  # the good view's pixels
    np.testing.assert_allclose(r.points[:, 2], 100, rtol=1e-6)
    r = run_view(wrong, [(-10, plane(), None), (10, plane(), None)], num_consistent=1,
                 mode="dynamic")
    assert r.final.sum() == 0  # the corrupted view as reference keeps nothing


def test_relative_depth_and_pixel_thresholds():
    # a source 0.5 % too far agrees at 1 %, not at 0.4 %; the point is the mean depth
    r = run_view(plane(), [(-10, plane(100.5), None)], num_consistent=1)
    assert r.final.sum() == 35 * H
    np.testing.assert_allclose(r.points[:, 2], 100.25, rtol=1e-6)  # (100 + 100.5) / 2
    r = run_view(plane(), [(-10, plane(100.5), None)], num_consistent=1, geo_depth_threshold=0.004)
    assert r.final.sum() == 0
    # 100.5 in the source lands 5 * 0.5 / 100.5 = 0.025 px off after the round trip
    r = run_view(plane(), [(-10, plane(100.5), None)], num_consistent=1, geo_pixel_threshold=0.02)
    assert r.final.sum() == 0


def test_probability_weighted_average():
    # reference probability 0.75, source 0.25: z = 0.75 * 100 + 0.25 * 100.5
    prob = np.full((H, W), 0.75, np.float32)
    r = run_view(plane(), [(-10, plane(100.5), np.full((H, W), 0.25, np.float32))], prob=prob,
                 num_consistent=1, geo_average="prob", prob_threshold=0.5)
    assert r.final.sum() == 35 * H
    np.testing.assert_allclose(r.points[:, 2], 100.125, rtol=1e-6)


def test_photometric_mask_and_source_probabilities():
    prob = np.ones((H, W), np.float32)
    prob[:, :10] = 0.2
    low = np.full((H, W), 0.2, np.float32)
    sources = [(-10, plane(), low), (10, plane(), None)]
    r = run_view(plane(), sources, prob=prob, num_consistent=2, prob_threshold=0.3)
    assert not r.photo[:, :10].any() and r.photo[:, 10:].all()
    assert r.geo[:, 5:35].all() and r.final.sum() == 25 * H  # x in [10, 35)
    # the ports ignore the sources' probabilities; consistency (the earlier mode) and
    # --source_prob_threshold filter them: view 0 (prob 0.2) no longer counts
    for options in ({"mode": "consistency"}, {"source_prob_threshold": 0.3}):
        r = run_view(plane(), sources, prob=prob, num_consistent=2, prob_threshold=0.3, **options)
        assert r.final.sum() == 0, options


def test_depth_edges_are_dropped():
    depth = plane()
    depth[:, 20:] = 90  # a step of 10 %; the sources see the same step
    sources = [(-10, depth.copy(), None), (10, depth.copy(), None)]
    kept = run_view(depth, sources, num_consistent=1).final
    pruned = run_view(depth, sources, num_consistent=1, edge_threshold=0.05).final
    assert kept[:, 19:21].all() and not pruned[:, 19:21].any()
    assert (pruned == kept & ~C.depth_edges(depth, 0.05)).all()
    assert C.depth_edges(depth, 0.05).sum() == 2 * H and not C.depth_edges(depth, 0.2).any()


def test_dynamic_thresholds_on_a_hand_built_case():
    inf = np.inf
    # 5 pixels (columns) x 4 sources (rows); dynamic levels n = 2, 3, 4 allow
    # n * 0.25 px and n / 1300 (0.00154, 0.00231, 0.00308) relative depth
    e_pix = np.array([[0.4, 0.7, 0.9, 1.1, 0.95],
                      [0.4, 0.7, 0.9, 1.1, 0.95],
                      [inf, 0.7, 0.9, 1.1, 0.95],
                      [inf, inf, 0.9, 1.1, inf]])
    e_depth = np.array([[0.001, 0.002, 0.003, 0.001, 0.009],
                        [0.001, 0.002, 0.003, 0.001, 0.009],
                        [inf, 0.002, 0.003, 0.001, 0.009],
                        [inf, inf, 0.003, 0.001, inf]])
    normal = opts(mode="normal", num_consistent=3)
    static, dynamic_only, agree = C.agreement(e_pix, e_depth, normal)
    assert not dynamic_only.any()
    geo = static
    # static test (1 px, 1 %, >= 3 sources): pixels 1 and 4 (3 sources) and 2 (4 sources)
    assert geo.tolist() == [False, True, True, False, True]
    assert agree[:, 2].tolist() == [True] * 4 and agree[:, 4].tolist() == [True, True, True, False]
    assert not agree[:, 0].any()
    dynamic = opts(mode="dynamic", num_consistent=3)
    static, passed, agree = C.agreement(e_pix, e_depth, dynamic)
    assert static.tolist() == [False, True, True, False, True]
    assert passed.tolist() == [True, True, True, False, False]
    geo = static | passed
    # pixel 0: 2 sources within 0.5 px / 0.00154 (n = 2); pixel 1: 3 within 0.75 px / 0.00231
    # (n = 3; 0.7 px fails n = 2); pixel 2: n = 4; pixel 3: 1.1 px fails every level and the
    # static test; pixel 4: only the static test
    assert geo.tolist() == [True, True, True, False, True]
    assert agree[:, 0].tolist() == [True, True, False, False]
    assert agree[:, 1].tolist() == [True, True, True, False]
    assert not agree[:, 3].any()
    # without the static test (more sources required than exist) pixel 4 goes
    off = opts(mode="dynamic", num_consistent=99)
    assert C.agreement(e_pix, e_depth, off)[1].tolist() == [True, True, True, False, False]
    # n from 3: pixel 0 (2 sources) fails
    from3 = opts(mode="dynamic", num_consistent=99, dynamic_min_views=3)
    assert C.agreement(e_pix, e_depth, from3)[1].tolist() == [False, True, True, False, False]
    # 0.4 px and 2 / 1300 per view: pixel 3's 1.1 px passes at n = 3 (1.2 px, 0.0046),
    # pixel 4's 0.009 fails every level (at most 4 * 0.00154)
    wide = opts(mode="dynamic", num_consistent=99, dynamic_depth_step=2 / 1300,
                                dynamic_pixel_step=0.4)
    assert C.agreement(e_pix, e_depth, wide)[1].tolist() == [True, True, True, True, False]


def test_exact_depth_maps_of_a_synthetic_scene_fuse_onto_the_surfaces():
    from scipy.spatial import cKDTree

    from tools import synthetic

    _, views = synthetic.dense_scene(views=4, width=96, height=80, seed=4)
    geos = [geometry(Camera(v.extrinsic, v.intrinsic)) for v in views]
    gt = synthetic.gt_points(views)
    tree = cKDTree(gt)
    for mode in ("normal", "dynamic"):
        points = []
        for r, v in enumerate(views):
            sources = [(w.depth.astype(np.float32), np.ones(w.depth.shape, np.float32), geos[s])
                       for s, w in enumerate(views) if s != r]
            res = C.filter_view(v.depth.astype(np.float32), np.ones(v.depth.shape), v.image,
                                geos[r], sources, opts(mode=mode, num_consistent=2))
            assert res.final.mean() > 0.5, mode
            points.append(res.points)
        dist = tree.query(np.concatenate(points))[0]
        # the averaged depths are bilinear samples of exact depths: on the surfaces (the
        # ground-truth pixels' points) to far under a pixel (about 650 / 86 = 7.5 units here)
        # but at a few occlusion edges (bilinear mixing within the 1 % tolerance)
        assert np.median(dist) < 0.01 and np.quantile(dist, 0.99) < 0.25 * 7.5, \
            (mode, np.quantile(dist, [0.5, 0.99]))


def test_bad_options():
    with pytest.raises(InputError, match="--fusion_mode must be one of fusibile, normal, dynamic, consistency"):
        opts(mode="gipuma")
    with pytest.raises(InputError, match="--fusion_masks needs --fusion_mode normal, dynamic or consistency"):
        opts(mode="fusibile", fusion_masks=True)
    with pytest.raises(InputError, match="--dynamic_prob_threshold must be a finite number"):
        opts(dynamic_prob_threshold=float("inf"))
    with pytest.raises(InputError, match="--geo_pixel_threshold must be a finite number"):
        opts(geo_pixel_threshold=float("nan"))
    with pytest.raises(InputError, match="--dynamic_min_views must be a whole number"):
        opts(dynamic_min_views=1.5)


def test_cli_writes_masks_on_request(tmp_path):
    from scenes import fused_scene

    scene = fused_scene(tmp_path)
    out = scene / "points_mvsnet"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "mvsnet", "depthfusion.py"),
                           "--dense_folder", str(scene), "--fusion_mode", "dynamic",
                           "--prob_threshold", "0.035", "--num_consistent", "1", "--fusion_masks"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1].endswith("(dynamic mode) -> %s" % (out / "fused.ply"))
    names = sorted(os.listdir(out / "mask"))
    assert len(names) == 15 and names[:3] == ["00000000_final.png", "00000000_geo.png",
                                              "00000000_photo.png"]
    photo, geo_, final = (cv2.imread(str(out / "mask" / ("00000000_%s.png" % k)), cv2.IMREAD_UNCHANGED)
                          for k in ("photo", "geo", "final"))
    assert set(np.unique(photo)) <= {0, 255} and photo.dtype == np.uint8
    assert ((final == 255) == ((photo == 255) & (geo_ == 255))).all() and final.any()
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "mvsnet", "depthfusion.py"),
                           "--dense_folder", str(scene), "--fusion_masks"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1
    assert proc.stderr == "error: --fusion_masks needs --fusion_mode normal, dynamic or consistency\n"


def test_dynamic_probability_threshold():
    # four exact sources: the dynamic test passes at n = 4 (and the static one at 3); a
    # reference probability of 0.2 is below --prob_threshold 0.3
    prob = np.full((H, W), 0.2, np.float32)
    sources = [(x, plane(), None) for x in (-10, -5, 5, 10)]
    seen_by_all = np.zeros((H, W), bool)
    seen_by_all[:, 5:35] = True  # x >= 5 in the view at x = 10, x < 35 at x = -10
    kw = dict(mode="dynamic", prob_threshold=0.3, num_consistent=3, dynamic_min_views=4)
    r = run_view(plane(), sources, prob=prob, **kw)
    assert r.final.sum() == 0 and not r.photo.any()  # as TransMVSNet: one probability threshold
    r = run_view(plane(), sources, prob=prob, dynamic_prob_threshold=0.15, **kw)
    assert (r.final == seen_by_all).all() and not r.photo.any() and r.geo[seen_by_all].all()
    np.testing.assert_allclose(r.points[:, 2], 100, rtol=1e-6)
    # the static test alone (3 sources at x in [3, 5) and [35, 37): the views at x = +-5 see
    # 2 pixels more) keeps nothing below 0.3; with probability 0.3 it does
    r = run_view(plane(), sources, prob=prob, dynamic_prob_threshold=0.15, **dict(kw, prob_threshold=0.2))
    assert r.final[:, 3:37].all() and r.final.sum() == 34 * H
    r = run_view(plane(), sources, prob=prob, dynamic_prob_threshold=0.21, **dict(kw, mode="normal"))
    assert r.final.sum() == 0  # the normal mode has no dynamic test


def test_tuned_settings_are_valid_options():
    from mvsnet.pointcloud import cloud

    o = cloud.tuned()
    o.check()
    assert o.fusion_mode == "dynamic" and C.dynamic_prob_floor(o) == 0.15
    assert cloud.tuned(prob_threshold=0.5).prob_threshold == 0.5
