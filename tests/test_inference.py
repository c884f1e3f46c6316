"""mvsnet/test.py and mvsnet.inference (plan, prepare, pipeline, outputs): dense-folder depth inference.

End to end on tests/fixtures/scene_tiny (200x150 images, network input 160x128, 32 planes,
3 views, the first 2 reference views) with the fixture checkpoints, against the ORIGINAL
test.py's outputs (tests/fixtures/orig_test_*_v3, see tests/fixtures/README.md): jpg and txt
files byte for byte, depth and probability maps up to float noise of another CPU
(tests/tolerances.py); and every bad-input case of issue 4 (a few through the CLI, the rest
through the library).
"""

import hashlib
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tolerances as tol

from cameras.camfile import read_cam
from cameras.errors import InputError
from mvsnet.inference import outputs
from mvsnet.inference import plan
from mvsnet.inference import prepare
from mvsnet import weights
from cameras.pair import read_pair, write_pair
from cameras.pfm import read_pfm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
SCENE = os.path.join(FIXTURES, "scene_tiny")
CKPT = {"GRU": os.path.join(FIXTURES, "ckpt_gru", "model.ckpt"),
        "3DCNNs": os.path.join(FIXTURES, "ckpt_3dcnns", "model.ckpt")}
STEP = 100000
ORIG = {"GRU": os.path.join(FIXTURES, "orig_test_gru_v3"),
        "3DCNNs": os.path.join(FIXTURES, "orig_test_3dcnns_v3")}
REFS = 2  # reference views run (pair.txt cut to its first REFS entries)
KINDS = ("_init.pfm", "_prob.pfm", ".jpg", ".txt")


def options(regularization="GRU", **kw):
    base = dict(view_num=3, max_d=32, max_w=160, max_h=128, interval_scale=0.8,
                regularization=regularization)
    base.update(kw)
    return plan.Options(**base)


def cli_args(folder, regularization="GRU", ckpt=None, **flags):
    args = ["--dense_folder", str(folder), "--regularization", regularization,
            "--pretrained_model_ckpt_path", ckpt or CKPT[regularization], "--ckpt_step", str(STEP),
            "--max_w", "160", "--max_h", "128", "--max_d", "32", "--view_num", "3",
            "--interval_scale", "0.8"]
    for k, v in flags.items():
        args += ["--%s" % k, str(v)]
    return args


def run_cli(script, args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "mvsnet", script)] + args, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def make_scene(tmp_path, refs=REFS, name="scene"):
    """A private copy of scene_tiny whose pair.txt lists its first ``refs`` reference views."""
    folder = tmp_path / name
    shutil.copytree(SCENE, folder, ignore=shutil.ignore_patterns("gt"))
    pairs = read_pair(folder / "pair.txt")
    write_pair(folder / "pair.txt", pairs[:refs])
    return folder


def digest_inputs(folder):
    h = hashlib.sha256()
    for sub in ("images", "cams"):
        for name in sorted(os.listdir(folder / sub)):
            h.update(name.encode() + (folder / sub / name).read_bytes())
    h.update((folder / "pair.txt").read_bytes())
    return h.hexdigest()


def assert_one_error_line(proc, *fragments):
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# ----------------------------------------------------------------------------- end to end

@pytest.fixture(scope="module")
def gru_cli_run(tmp_path_factory):
    folder = make_scene(tmp_path_factory.mktemp("gru"))
    before = digest_inputs(folder)
    proc = run_cli("test.py", cli_args(folder))
    return folder, proc, before


def test_cli_gru_matches_the_original_file_for_file(gru_cli_run):
    folder, proc, before = gru_cli_run
    assert proc.returncode == 0, proc.stderr
    out = folder / "depths_mvsnet"
    expected = ["%08d%s" % (i, k) for i in range(REFS) for k in KINDS]
    assert sorted(os.listdir(out)) == sorted(expected)  # and no temporary files left
    tol.assert_outputs_match(out, ORIG["GRU"], expected, "GRU")  # jpg, txt: byte for byte
    assert digest_inputs(folder) == before  # inputs untouched


def test_cli_gru_log(gru_cli_run):
    _, proc, _ = gru_cli_run
    log = proc.stdout
    assert "TF1 checkpoint converted in memory" in log and "model.ckpt-100000" in log
    views = [line for line in log.splitlines() if line.startswith("view ")]
    assert len(views) == REFS
    assert views[0].startswith("view 1/2 (00000000): input 160x128, depth map 40x32, 32 planes")
    assert views[0].endswith(" s")
    assert "done: 2 depth map(s)" in log


def test_output_formats(gru_cli_run):
    import imageio.v2 as iio

    out = gru_cli_run[0] / "depths_mvsnet"
    depth, prob = read_pfm(str(out / "00000000_init.pfm")), read_pfm(str(out / "00000000_prob.pfm"))
    assert depth.shape == prob.shape == (32, 40) and depth.dtype == np.float32
    assert (out / "00000000_init.pfm").read_bytes().startswith(b"Pf\n40 32\n-1.000000\n")
    assert np.all((prob > 0) & (prob <= 1))
    cam = (out / "00000000.txt").read_text().split()
    start, interval, num, end = (float(w) for w in cam[-4:])
    assert num == 32 and abs(end - (start + 32 * interval)) < 1e-3
    assert np.all((depth >= start - 1e-3) & (depth <= start + 31 * interval + 1e-3))
    image = iio.imread(out / "00000000.jpg")
    assert image.shape == (32, 40, 3) and image.min() < 20 and image.max() > 220  # min..max stretch (+ JPEG loss)


@pytest.fixture(scope="module")
def gru_model():
    from mvsnet.inference import network
    return network.load_model("GRU", CKPT["GRU"] + "-%d" % STEP)[0]


def library_maps(model, images, cams, exact=None):
    """The network API's winner_take_all on prepared inputs (3 views), with the depth range
    taken from the cameras inside the graph as the original test.py does. (The batch size
    stays unknown to the graph, as in the original: a graph traced for a static batch of 1
    rounds the probabilities differently, ~1e-6 relative.) ``exact``: the sweep formulation
    (default: test.py's default)."""
    import tensorflow as tf

    from mvsnet.inference import network

    @tf.function(input_signature=[tf.TensorSpec([None, 3, 128, 160, 3]), tf.TensorSpec([None, 3, 2, 4, 4])])
    def api(images, cams):
        start, interval = cams[:, 0, 1, 3, 0], cams[:, 0, 1, 3, 1]
        num = tf.cast(cams[0, 0, 1, 3, 2], tf.int32)
        end = start + (tf.cast(num, tf.float32) - 1) * interval
        # the formulation test.py runs by default (fast unless --exact)
        return model.winner_take_all(images, cams, num, start, end, inverse_depth=True,
                                     exact=plan.Options().exact if exact is None else exact,
                                     chunk=network.PLANE_CHUNK)

    depth, prob = api(tf.constant(images[None]), tf.constant(cams[None]))
    return depth.numpy()[0, :, :, 0], prob.numpy()[0, :, :, 0]


def test_maps_equal_the_library_api(gru_cli_run, gru_model):
    """The CLI's maps are exactly the library API's: both run here, on the same CPU and
    kernels, so the comparison is bit for bit."""
    folder = gru_cli_run[0]
    opts = options()
    plans = plan.plan_dense_folder(str(folder), opts)
    item = prepare.prepare_view_set(plans[1], opts)
    depth, prob = library_maps(gru_model, item.centered_images, item.scaled_cams)
    out = folder / "depths_mvsnet"
    np.testing.assert_array_equal(depth, read_pfm(str(out / "00000001_init.pfm")))
    np.testing.assert_array_equal(prob, read_pfm(str(out / "00000001_prob.pfm")))


def _unshifted_warp(feature, homography):
    """A warp that forgets the original's half-pixel re-expression of the homography."""
    import tensorflow as tf

    h = tf.reshape(homography, [-1, 9])
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=feature, transforms=h[:, :8] / h[:, 8:9], output_shape=tf.shape(feature)[1:3],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")


def test_tolerances_reject_real_bugs(gru_model):
    """The float-noise tolerances of tests/tolerances.py accept the correct maps of view 0
    and reject those of three plausible bugs: RGB instead of BGR input, the principal point
    of the scaled cameras shifted by half a pixel, and a warp without the half-pixel shift.
    (Measured: 11-73 % of the depth pixels stay equal, probabilities move by 8e-3 to 3.7e-2.)"""
    opts = options()
    item = prepare.prepare_view_set(plan.plan_dense_folder(SCENE, opts)[0], opts)
    cam = read_cam(os.path.join(ORIG["GRU"], "00000000.txt"))
    ref = [read_pfm(os.path.join(ORIG["GRU"], "00000000" + k)) for k in ("_init.pfm", "_prob.pfm")]

    def problems(depth, prob):
        return tol.map_problems(depth, prob, ref[0], ref[1], cam, "GRU")

    assert problems(*library_maps(gru_model, item.centered_images, item.scaled_cams)) == []
    rgb = np.ascontiguousarray(item.centered_images[..., ::-1])
    shifted = item.scaled_cams.copy()
    shifted[:, 1, :2, 2] += 0.5
    for bug, maps in (("RGB input", lambda: library_maps(gru_model, rgb, item.scaled_cams)),
                      ("cx, cy + 0.5", lambda: library_maps(gru_model, item.centered_images, shifted))):
        found = problems(*maps())
        assert any(p.startswith("depth: only") for p in found), bug
        assert any(p.startswith("prob: ") for p in found), bug
    warp = gru_model._warp_fn
    gru_model._warp_fn = _unshifted_warp   # the warp of the exact (original) formulation
    try:
        found = problems(*library_maps(gru_model, item.centered_images, item.scaled_cams, exact=True))
    finally:
        gru_model._warp_fn = warp
    assert any(p.startswith("depth: only") for p in found) and any(p.startswith("prob: ") for p in found)


def test_batch_size_two_and_a_given_model(tmp_path, gru_model):
    from mvsnet.inference import pipeline
    folder = make_scene(tmp_path)
    lines = []
    summary = pipeline.run(str(folder), None, None, options(), batch_size=2, model=gru_model,
                            log=lines.append)
    assert summary["views"] == 2 and len(summary["per_view"]) == 2
    out = folder / "depths_mvsnet"
    # batched convolutions round differently (a winner may flip): within the same tolerances
    tol.assert_outputs_match(out, ORIG["GRU"], ["%08d%s" % (i, k) for i in range(REFS) for k in KINDS], "GRU")


def test_features_are_computed_once_per_image_and_reused(tmp_path, gru_model, monkeypatch):
    """5 view sets of 3 views over 5 images: the towers run 5 times, not 15, and the maps
    are those of a run that recomputes every view (same bytes)."""
    from mvsnet.inference import pipeline
    folder = make_scene(tmp_path, refs=5)
    reused = pipeline.run(str(folder), None, None, options(), model=gru_model, log=lambda _: None)
    assert (reused["towers_run"], reused["features_reused"]) == (5, 10)
    first = {n: read_pfm(folder / "depths_mvsnet" / n) for n in ("%08d_%s.pfm" % (i, k) for i in range(5)
                                                                for k in ("init", "prob"))}
    monkeypatch.setattr(pipeline, "FEATURE_CACHE_SETS", 0)
    again = pipeline.run(str(folder), None, None, options(), model=gru_model, log=lambda _: None)
    assert (again["towers_run"], again["features_reused"]) == (15, 0)
    for name, data in first.items():
        assert np.array_equal(read_pfm(folder / "depths_mvsnet" / name), data), name


def test_feature_cache_is_least_recently_used_and_keyed_by_content():
    from mvsnet.inference.network import FeatureCache
    cache = FeatureCache(2)
    image, stats = np.zeros((4, 4, 3), np.uint8), np.ones((2, 3), np.float32)
    changed = image.copy()
    changed[3, 3, 2] = 1
    keys = [FeatureCache.key(image, stats), FeatureCache.key(changed, stats), FeatureCache.key(image, stats * 2)]
    assert len(set(keys)) == 3 and FeatureCache.key(image.copy(), stats.copy()) == keys[0]
    cache.put(keys[0], "a")
    cache.put(keys[1], "b")
    assert cache.get(keys[0]) == "a"          # now the most recently used
    cache.put(keys[2], "c")                   # evicts keys[1]
    assert cache.get(keys[1]) is None and cache.get(keys[0]) == "a" and cache.get(keys[2]) == "c"
    assert (cache.hits, cache.misses) == (3, 1)


def test_library_3dcnns_matches_the_original(tmp_path):
    """3DCNNs (inference_mem, batch statistics): jpg and txt byte for byte, maps up to float noise."""
    from mvsnet.inference import pipeline
    folder = make_scene(tmp_path)
    lines = []
    pipeline.run(str(folder), CKPT["3DCNNs"], STEP, options("3DCNNs"), log=lines.append)
    out = folder / "depths_mvsnet"
    expected = ["%08d%s" % (i, k) for i in range(REFS) for k in KINDS]
    assert sorted(os.listdir(out)) == sorted(expected)
    tol.assert_outputs_match(out, ORIG["3DCNNs"], expected, "3DCNNs")
    assert any("32 planes" in line for line in lines)


def test_refinement_writes_refined_maps(tmp_path):
    """3DCNNs --refinement: the original computes the refined map but never saves it; this
    port also writes it as %08d_refined.pfm (a random-weight model keeps the test small)."""
    from mvsnet.inference import pipeline
    from mvsnet.network.model import build_model

    folder = make_scene(tmp_path, refs=1)
    model = build_model("3DCNNs", refinement=True)
    opts = options("3DCNNs", view_num=2, max_d=8)
    pipeline.run(str(folder), None, None, opts, refinement=True, model=model, log=lambda _: None)
    out = folder / "depths_mvsnet"
    assert sorted(os.listdir(out)) == sorted("00000000" + k for k in KINDS + ("_refined.pfm",))
    refined = read_pfm(str(out / "00000000_refined.pfm"))
    assert refined.shape == (32, 40) and np.all(np.isfinite(refined))
    # the fixture checkpoint has no refinement weights: a clear error, before any output
    with pytest.raises(InputError, match="does not fit the 3DCNNs model"):
        pipeline.run(str(make_scene(tmp_path, name="s2")), CKPT["3DCNNs"], STEP, opts, refinement=True,
                      log=lambda _: None)


# ----------------------------------------------------------------------------- preprocessing

def test_network_centres_the_views_bit_for_bit_as_the_original_preprocessing():
    """The view set travels as uint8 + centring statistics; the network's centring
    (model.centre_view) gives the float32 values of preprocess.center_image exactly."""
    import tensorflow as tf

    from mvsnet import preprocess
    from mvsnet.network.model import centre_view

    item = prepare.prepare_view_set(plan.plan_dense_folder(SCENE, options())[0], options())
    assert item.images.dtype == np.uint8 and item.images.shape == (3, 128, 160, 3)
    assert item.image_stats.dtype == np.float32 and item.image_stats.shape == (3, 2, 3)
    images, stats, _ = item.network_inputs()
    centre = tf.function(centre_view)
    for i in range(3):
        want = preprocess.center_image(item.images[i])
        assert np.array_equal(centre(tf.constant(images), tf.constant(stats), i).numpy()[0], want)
        assert np.array_equal(item.centered_images[i], want)


def test_image_stats_of_the_wrong_shape_are_refused(gru_model):
    with pytest.raises(ValueError, match=r"image_stats must be \(B, V, 2, 3\)"):
        gru_model.winner_take_all(np.zeros((1, 3, 32, 32, 3), np.uint8), np.zeros((1, 3, 2, 4, 4), np.float32),
                                  4, [1.0], [2.0], image_stats=np.zeros((1, 2, 2, 3), np.float32))


def test_prepare_view_set_as_the_original(tmp_path):
    """Adaptive scale 128/150 (200x150 -> 171x128), centred crop start 5 (py2 floor),
    cameras at 1/4 scale, interval scaled, depth_num from max_d."""
    plans = plan.plan_dense_folder(SCENE, options())
    assert [p.ref_index for p in plans] == [0, 1, 2, 3, 4]
    assert plans[0].view_ids == [0, 1, 2] and plans[0].depth_num == 32
    item = prepare.prepare_view_set(plans[0], options())
    assert item.centered_images.shape == (3, 128, 160, 3) and item.centered_images.dtype == np.float32
    assert item.scaled_ref_image.shape == (32, 40, 3) and item.scaled_ref_image.dtype == np.uint8
    np.testing.assert_allclose(item.centered_images.mean(axis=(1, 2)), 0, atol=1e-4)
    cam = item.scaled_cams[0]
    assert cam.dtype == np.float32
    scale = 128 / 150.0
    np.testing.assert_allclose(cam[1, 0, 0], 180.0 * scale * 0.25, rtol=1e-6)
    np.testing.assert_allclose(cam[1, 0, 2], (103.6 * scale - 5) * 0.25, rtol=1e-6)
    np.testing.assert_allclose(cam[1, 3], [534.587748, 17.324481 * 0.8, 32,
                                           534.587748 + 17.324481 * 0.8 * 32], rtol=1e-6)


def test_bytescale_as_scipy():
    image = np.array([[[1.5, -2.0, 3.0]], [[0.25, 7.0, -2.0]]], np.float32)
    lo, hi = image.min(), image.max()
    expected = (((image - lo) * np.float32(255.0 / (hi - lo))).clip(0, 255) + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(outputs.bytescale(image), expected)
    assert outputs.bytescale(image).min() == 0 and outputs.bytescale(image).max() == 255
    assert np.all(outputs.bytescale(np.full((2, 2, 3), 4.0, np.float32)) == 0)  # constant image


def test_read_image_is_bgr():
    import imageio.v2 as iio

    path = os.path.join(SCENE, "images", "00000000.jpg")
    rgb = iio.imread(path, pilmode="RGB")  # what the oracle calls
    np.testing.assert_array_equal(prepare.read_image(path), rgb[:, :, ::-1])


def test_checkpoint_path_is_path_dash_step(tmp_path):
    assert weights.resolve_checkpoint(CKPT["GRU"], STEP) == CKPT["GRU"] + "-100000"
    keras_file = tmp_path / "m.weights.h5"
    keras_file.write_bytes(b"x")
    assert weights.resolve_checkpoint(str(keras_file), 5) == str(keras_file)
    (tmp_path / "model.ckpt-7.weights.h5").write_bytes(b"x")
    assert weights.resolve_checkpoint(str(tmp_path / "model.ckpt"), 7).endswith("model.ckpt-7.weights.h5")


# ----------------------------------------------------------------------------- bad input (CLI)

def test_cli_missing_dense_folder(tmp_path):
    proc = run_cli("test.py", cli_args(tmp_path / "nowhere"))
    assert_one_error_line(proc, str(tmp_path / "nowhere"), "dense folder does not exist")


def test_cli_max_size_larger_than_the_images(tmp_path):
    folder = make_scene(tmp_path)
    proc = run_cli("test.py", cli_args(folder, max_w=224, max_h=160))  # the last value counts
    line = assert_one_error_line(proc, "00000000.jpg", "200x150", "224x160")
    assert "smaller than --max_w x --max_h" in line
    assert not (folder / "depths_mvsnet").exists()


def test_cli_missing_checkpoint(tmp_path):
    folder = make_scene(tmp_path)
    proc = run_cli("test.py", cli_args(folder, ckpt=str(tmp_path / "model.ckpt")))
    assert_one_error_line(proc, str(tmp_path / "model.ckpt-100000"), "no checkpoint there")
    assert not (folder / "depths_mvsnet").exists()


def test_cli_checkpoint_of_the_other_regularization(tmp_path):
    """Found after TensorFlow started: still one line on stderr (its start-up chatter is kept off)."""
    folder = make_scene(tmp_path)
    proc = run_cli("test.py", cli_args(folder, "3DCNNs", ckpt=CKPT["GRU"]))
    assert_one_error_line(proc, CKPT["GRU"] + "-100000", "a GRU checkpoint, but the model is 3DCNNs")
    assert not (folder / "depths_mvsnet").exists()


def test_cli_malformed_pair(tmp_path):
    folder = make_scene(tmp_path)
    (folder / "pair.txt").write_text("2\n0\n2 1 5.0 2\n")
    proc = run_cli("test.py", cli_args(folder))
    assert_one_error_line(proc, str(folder / "pair.txt"))


def test_cli_requires_dense_folder():
    proc = run_cli("test.py", [])
    assert_one_error_line(proc, "--dense_folder is required")


# ----------------------------------------------------------------------------- bad input (library)

def plan_error(folder, **kw):
    with pytest.raises(InputError) as info:
        plan.plan_dense_folder(str(folder), options(**kw))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_pair_txt(tmp_path):
    folder = make_scene(tmp_path)
    (folder / "pair.txt").unlink()
    assert plan_error(folder).startswith(str(folder / "pair.txt") + ": missing pair.txt")


def test_missing_image_and_cam(tmp_path):
    folder = make_scene(tmp_path)
    (folder / "images" / "00000002.jpg").unlink()
    assert plan_error(folder).startswith(str(folder / "images" / "00000002.jpg") + ": view 2")
    folder = make_scene(tmp_path, name="scene2")
    (folder / "cams" / "00000001_cam.txt").unlink()
    assert plan_error(folder).startswith(str(folder / "cams" / "00000001_cam.txt") + ": view 1")


def test_pair_names_views_that_do_not_exist(tmp_path):
    folder = make_scene(tmp_path)
    (folder / "pair.txt").write_text("1\n0\n2 9 5.0 1 4.0\n")
    message = plan_error(folder)
    assert message.startswith(str(folder / "images" / "00000009.jpg")) and "view 9" in message


def test_malformed_cam(tmp_path):
    folder = make_scene(tmp_path)
    path = folder / "cams" / "00000001_cam.txt"
    path.write_text(path.read_text().replace("intrinsic", "intrinsics"))
    assert plan_error(folder).startswith(str(path) + ": ")
    path.write_text("extrinsic\n1 0 0 x\n")
    assert plan_error(folder).startswith(str(path) + ": ")


def test_reference_cam_without_depth_range(tmp_path):
    folder = make_scene(tmp_path)
    path = folder / "cams" / "00000000_cam.txt"
    text = path.read_text().split("\n\n")
    path.write_text("\n\n".join(text[:2]) + "\n")  # no depth line
    message = plan_error(folder)
    assert message.startswith(str(path) + ": the reference camera has no usable depth range")


def test_unreadable_image(tmp_path):
    folder = make_scene(tmp_path)
    (folder / "images" / "00000001.jpg").write_bytes(b"not a jpeg at all")
    assert plan_error(folder).startswith(str(folder / "images" / "00000001.jpg") + ": not an image")


def test_network_size_and_crop_errors(tmp_path):
    folder = make_scene(tmp_path)
    assert "multiples of 16" in plan_error(folder, max_w=152)
    assert "multiples of 32" in plan_error(folder, regularization="3DCNNs", max_h=144)
    assert "multiple of 8" in plan_error(folder, regularization="3DCNNs", max_d=30)
    # no adaptive scaling: a 200x150 image cannot give a 224x144 input
    message = plan_error(folder, adaptive_scaling=False, max_w=224, max_h=144)
    assert message.startswith(str(folder / "images" / "00000000.jpg")) and "exactly" in message
    # without scaling the centred crop of 200x150 to 160x128 is fine
    plans = plan.plan_dense_folder(str(folder), options(adaptive_scaling=False))
    item = prepare.prepare_view_set(plans[0], options(adaptive_scaling=False))
    assert item.centered_images.shape == (3, 128, 160, 3)


def test_truncated_image_fails_when_decoded(tmp_path):
    """Found by the plan (every image decodes before the network starts), and by the
    reader when the file is cut after planning."""
    folder = make_scene(tmp_path)
    path = folder / "images" / "00000001.jpg"
    plans = plan.plan_dense_folder(str(folder), options())
    path.write_bytes(path.read_bytes()[:2000])  # header intact, data cut
    with pytest.raises(InputError) as info:
        plan.plan_dense_folder(str(folder), options())
    assert str(info.value).startswith(str(path) + ": cannot decode the image (corrupt or truncated?): image file "
                                      "is truncated")
    with pytest.raises(InputError) as info:
        prepare.prepare_view_set(plans[0], options())
    assert str(info.value).startswith(str(path) + ": cannot decode image")


def test_run_errors_write_nothing(tmp_path):
    """Checkpoint truncated / of the other regularization, and an image that fails to
    decode: one InputError naming the file, no output folder, inputs untouched."""
    from mvsnet.inference import pipeline
    folder = make_scene(tmp_path)
    before = digest_inputs(folder)
    # the other regularization
    with pytest.raises(InputError) as info:
        pipeline.run(str(folder), CKPT["3DCNNs"], STEP, options("GRU"), log=lambda _: None)
    assert "3DCNNs checkpoint, but the model is GRU" in str(info.value)
    # a truncated checkpoint
    ckpt_dir = tmp_path / "ckpt"
    shutil.copytree(os.path.dirname(CKPT["GRU"]), ckpt_dir)
    data = ckpt_dir / "model.ckpt-100000.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:1000])
    with pytest.raises(InputError) as info:
        pipeline.run(str(folder), str(ckpt_dir / "model.ckpt"), STEP, options(), log=lambda _: None)
    assert str(info.value).startswith(str(ckpt_dir / "model.ckpt-100000"))
    assert "\n" not in str(info.value)
    assert not (folder / "depths_mvsnet").exists()
    # an image whose data is cut: found by the plan, before the network and any output
    path = folder / "images" / "00000000.jpg"
    path.write_bytes(path.read_bytes()[:2000])
    before = digest_inputs(folder)
    with pytest.raises(InputError) as info:
        pipeline.run(str(folder), CKPT["GRU"], STEP, options(), log=lambda _: None)
    assert str(info.value).startswith(str(path) + ": cannot decode the image")
    assert not (folder / "depths_mvsnet").exists()
    assert digest_inputs(folder) == before


def test_output_folder_is_a_file(tmp_path):
    folder = make_scene(tmp_path)
    (folder / "depths_mvsnet").write_text("mine")
    with pytest.raises(InputError) as info:
        outputs.make_output_folder(str(folder))
    assert str(info.value).startswith(str(folder / "depths_mvsnet") + ": exists but is not a folder")
    assert (folder / "depths_mvsnet").read_text() == "mine"


def test_bad_options():
    for kw, fragment in ((dict(regularization="LSTM"), "GRU or 3DCNNs"), (dict(view_num=0), "view_num"),
                         (dict(max_d=0), "max_d"), (dict(interval_scale=0), "positive")):
        with pytest.raises(InputError, match=fragment):
            options(**kw).check()


def test_missing_sources_are_filled_with_the_reference(tmp_path):
    folder = make_scene(tmp_path)
    (folder / "pair.txt").write_text("1\n0\n1 1 5.0\n")
    plans = plan.plan_dense_folder(str(folder), options())
    assert plans[0].view_ids == [0, 1, 0] and plans[0].notes


def test_memory_settings_of_the_inference_process():
    """Process settings of test.py and reconstruct.py (values unchanged; their effect on the peak RSS is
    measured by tools/benchmark_inference.py, not here)."""
    import platform

    import tensorflow as tf

    from mvsnet.inference import process
    tf.constant(1.0) + 1.0                      # the runtime of this process has started
    assert process.run_ops_one_at_a_time() is False
    glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    if glibc:
        assert process.fix_malloc_mmap_threshold() is True
    process.reserve_tensor_pool(8 << 20)        # an uninitialised tensor, freed at once
    assert process.configure(64, 32) == {"inter_op_threads": False, "mmap_threshold": glibc,
                                         "tensor_pool": True}


def test_a_fresh_inference_process_runs_ops_one_at_a_time(tmp_path):
    code = ("import tensorflow as tf; from mvsnet.inference import process; "
            "print(process.run_ops_one_at_a_time(), tf.config.threading.get_inter_op_parallelism_threads())")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["True", "1"]
