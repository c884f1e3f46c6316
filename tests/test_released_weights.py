"""The shipped released R-MVSNet GRU weights (weights/rmvsnet_gru_dtu, see weights/README.md).

- the files are the documented ones (sha256 parsed from weights/README.md) and fit the GRU
  model variable for variable;
- `mvsnet/test.py` with no checkpoint flag reads them, and on a ray-cast synthetic scene
  with exact depth they give real depth, far better than the random fixture checkpoint of
  the same layout;
- the checkpoint flags' edge cases without a path (3DCNNs, --ckpt_step);
- tools/convert_checkpoint.py converts them like any released checkpoint.
"""

import hashlib
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from cameras import pair as pair_file
from cameras.errors import InputError
from mvsnet import weights
from cameras.pfm import read_pfm
from tools import synthetic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEIGHTS_README = os.path.join(ROOT, "weights", "README.md")
SHIPPED = os.path.join(ROOT, "weights", "rmvsnet_gru_dtu", "model.ckpt-100000")
RANDOM_GRU = os.path.join(ROOT, "tests", "fixtures", "ckpt_gru", "model.ckpt")  # random weights
STEP = 100000

# the quality scene: 5 views 320x256 (network input 320x256, 80x64 depth maps), depth line
# "DEPTH_MIN DEPTH_INTERVAL" whose 64 planes x interval_scale 0.8 span the true range + 5 %
SCENE = dict(views=5, width=320, height=256, seed=0, depth_line=2, max_d=64, interval_scale=0.8)
SCENE_FLAGS = ["--max_w", "320", "--max_h", "256", "--max_d", "64", "--interval_scale", "0.8"]
REFS = 2            # reference views run (the first two of pair.txt), 5 views each
CONFIDENT = 0.3     # probability above which a pixel counts as confident
WITHIN = 0.01       # "right" = within 1 % of the true depth

# Measured (two reference views, 10240 pixels):
#   shipped: median relative error 0.0071, 60 % of pixels confident, 80 % of those within 1 %
#            (48 % of all pixels confident and within 1 %)
#   random fixture weights: median relative error 0.197, no confident pixel (0 %)
SHIPPED_MAX_MEDIAN_ERROR = 0.015
SHIPPED_MIN_CONFIDENT_SHARE = 0.40
SHIPPED_MIN_CONFIDENT_RIGHT = 0.65
SHIPPED_MIN_CONFIDENT_AND_RIGHT = 0.30
RANDOM_MIN_MEDIAN_ERROR = 0.08
RANDOM_MAX_CONFIDENT_AND_RIGHT = 0.05


def run_script(script, args):
    return subprocess.run([sys.executable, os.path.join(ROOT, script)] + args, cwd=ROOT,
                          capture_output=True, text=True, timeout=900)


def readme_sha256():
    """{file name: sha256} from the table of weights/README.md."""
    with open(WEIGHTS_README, encoding="utf-8") as f:
        rows = re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$", f.read(), re.M)
    return dict(rows)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ----------------------------------------------------------------------------- the files

def test_lookup_finds_the_shipped_files_of_the_checkout():
    assert weights.released_gru_checkpoint() == SHIPPED
    assert weights.released_gru_path_and_step() == (SHIPPED[:-len("-100000")], STEP)


def test_lookup_error_when_the_files_are_missing(tmp_path, monkeypatch):
    (tmp_path / "rmvsnet_gru_dtu").mkdir()
    (tmp_path / "rmvsnet_gru_dtu" / "model.ckpt-100000.index").write_bytes(b"")  # data file missing
    monkeypatch.setattr(weights, "weights_folders", lambda: [str(tmp_path)])
    with pytest.raises(InputError, match="shipped GRU weights are missing") as err:
        weights.released_gru_checkpoint()
    assert str(tmp_path / "rmvsnet_gru_dtu") in str(err.value)
    assert "\n" not in str(err.value)


def test_shipped_files_have_the_sha256_of_the_readme():
    documented = readme_sha256()
    assert sorted(documented) == ["model.ckpt-100000.data-00000-of-00001", "model.ckpt-100000.index"]
    folder = os.path.dirname(SHIPPED)
    for name, digest in documented.items():
        assert sha256(os.path.join(folder, name)) == digest, name
    with open(os.path.join(folder, "checkpoint")) as f:
        assert f.readline().strip() == 'model_checkpoint_path: "model.ckpt-100000"'


def test_shipped_weights_fit_the_gru_model_variable_for_variable():
    from mvsnet import checkpoint as ck
    from mvsnet.network.model import build_model

    model = build_model("GRU")
    summary = ck.load_tf1_checkpoint(model, SHIPPED)
    stored = ck.read_tf1_checkpoint(SHIPPED)
    assert summary["matched"] == len(stored) == len(model.weights) == 126
    assert summary["parameters"] == 799365
    assert summary["dropped"] == 1 and summary["global_step"] == STEP   # only global_step
    loaded = ck.model_to_tf1(model)
    assert sorted(loaded) == sorted(stored)
    for name, value in stored.items():
        assert value.dtype == np.float32, name
        np.testing.assert_array_equal(loaded[name], value, err_msg=name)
    # trained weights, not an initialisation: e.g. the GroupNorm gammas are not all ones
    assert not np.allclose(stored["2dconv0_1/gn/gamma"], 1.0)
    with open(WEIGHTS_README, encoding="utf-8") as f:
        text = f.read()
    assert "126 model variables" in text and "799,365" in text


# ----------------------------------------------------------------------------- depth quality

@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """The quality scene; pair.txt keeps its first REFS reference views."""
    folder = str(tmp_path_factory.mktemp("released") / "scene")
    synthetic.write_dense(folder, **SCENE)
    pairs = pair_file.read_pair(os.path.join(folder, "pair.txt"))
    pair_file.write_pair(os.path.join(folder, "pair.txt"), pairs[:REFS])
    return folder


@pytest.fixture(scope="module")
def default_run(scene):
    """mvsnet/test.py on the scene with NO checkpoint flag: the shipped weights."""
    run = run_script("mvsnet/test.py", ["--dense_folder", scene] + SCENE_FLAGS)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def depth_quality(folder, refs=REFS):
    """Over the reference views' depth maps against gt/%08d_depth.npy (sampled at the
    1/4-scale pixels: the maps' cameras are the full cameras with intrinsics x 0.25):
    median relative error, share of pixels that are confident, share of confident pixels
    within WITHIN of the truth, share of all pixels confident and within."""
    errors, probs = [], []
    for ref in range(refs):
        depth = read_pfm(os.path.join(folder, "depths_mvsnet", "%08d_init.pfm" % ref))
        prob = read_pfm(os.path.join(folder, "depths_mvsnet", "%08d_prob.pfm" % ref))
        truth = np.load(os.path.join(folder, "gt", "%08d_depth.npy" % ref))
        truth = truth[::4, ::4]
        assert truth.shape == depth.shape == prob.shape
        valid = truth > 0
        errors.append(np.abs(depth - truth)[valid] / truth[valid])
        probs.append(prob[valid])
    errors, probs = np.concatenate(errors), np.concatenate(probs)
    confident = probs > CONFIDENT
    right = errors < WITHIN
    return {"median_error": float(np.median(errors)),
            "confident": float(confident.mean()),
            "confident_right": float(right[confident].mean()) if confident.any() else 0.0,
            "confident_and_right": float((confident & right).mean())}


def test_default_run_reads_the_shipped_weights_and_says_so(default_run):
    lines = default_run.stdout.splitlines()
    assert ("no --pretrained_model_ckpt_path: reading the shipped weights, "
            + weights.RELEASED_GRU_DESCRIPTION) in lines
    read = [line for line in lines if line.startswith("checkpoint: ")]
    assert len(read) == 1 and read[0].startswith("checkpoint: %s (TF1 checkpoint" % SHIPPED)
    assert "126 variables" in read[0] and "global_step 100000" in read[0]


def test_shipped_weights_give_real_depth(scene, default_run):
    quality = depth_quality(scene)
    print("shipped weights:", quality)
    assert quality["median_error"] < SHIPPED_MAX_MEDIAN_ERROR
    assert quality["confident"] > SHIPPED_MIN_CONFIDENT_SHARE
    assert quality["confident_right"] > SHIPPED_MIN_CONFIDENT_RIGHT
    assert quality["confident_and_right"] > SHIPPED_MIN_CONFIDENT_AND_RIGHT


def test_random_weights_are_far_worse_on_the_same_scene(scene, tmp_path):
    """The quality test discriminates: the fixture checkpoint (same layout, random weights)
    through the same pipeline fails every shipped-weights threshold by far."""
    import shutil

    from mvsnet.inference import pipeline
    from mvsnet.inference import plan

    folder = str(tmp_path / "scene")
    shutil.copytree(scene, folder, ignore=shutil.ignore_patterns("depths_mvsnet"))
    options = plan.Options(view_num=5, max_w=320, max_h=256, max_d=64, interval_scale=0.8)
    pipeline.run(folder, RANDOM_GRU, STEP, options, log=lambda line: None)
    quality = depth_quality(folder)
    print("random weights:", quality)
    assert quality["median_error"] > RANDOM_MIN_MEDIAN_ERROR
    assert quality["confident_and_right"] < RANDOM_MAX_CONFIDENT_AND_RIGHT


# ----------------------------------------------------------------------------- flags without a path

def error_line(run):
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr[-2000:]
    return lines[0]


def test_3dcnns_without_a_path_is_one_line_error(tmp_path):
    run = run_script("mvsnet/test.py", ["--dense_folder", str(tmp_path), "--regularization", "3DCNNs",
                                        "--max_w", "160", "--max_h", "128"])
    line = error_line(run)
    assert "--regularization 3DCNNs needs --pretrained_model_ckpt_path" in line
    assert "only GRU weights are shipped" in line


def test_ckpt_step_without_a_path_must_be_the_shipped_step(tmp_path):
    run = run_script("mvsnet/test.py", ["--dense_folder", str(tmp_path), "--ckpt_step", "150000"])
    line = error_line(run)
    assert "--ckpt_step 150000 without --pretrained_model_ckpt_path" in line
    assert "step 100000 only" in line
    # the shipped step itself is accepted: the run goes on to the (empty) dense folder
    run = run_script("mvsnet/test.py", ["--dense_folder", str(tmp_path), "--ckpt_step", "100000"])
    line = error_line(run)
    assert "--ckpt_step" not in line and line.startswith("error: %s" % tmp_path)


def test_an_explicit_path_is_read_as_before(tmp_path):
    """With a path, --ckpt_step keeps the original's default 150000 and nothing is shipped-in."""
    run = run_script("mvsnet/test.py", ["--dense_folder", os.path.join(ROOT, "tests", "fixtures", "scene_tiny"),
                                        "--pretrained_model_ckpt_path", str(tmp_path / "model.ckpt"),
                                        "--max_w", "160", "--max_h", "128", "--max_d", "32"])
    line = error_line(run)
    assert line.startswith("error: %s: no checkpoint there" % (tmp_path / "model.ckpt-150000"))
    assert "shipped" not in run.stdout


# ----------------------------------------------------------------------------- converter

def test_convert_checkpoint_converts_the_shipped_weights(tmp_path):
    from mvsnet import checkpoint as ck
    from mvsnet.network.model import build_model

    output = str(tmp_path / "rmvsnet_gru.weights.h5")
    run = run_script("tools/convert_checkpoint.py", ["--ckpt", SHIPPED, "--regularization", "GRU",
                                                     "--output", output])
    assert run.returncode == 0, run.stderr[-3000:]
    assert "126 model variables matched, 799365 parameters" in run.stdout
    assert "global_step 100000" in run.stdout
    model = build_model("GRU")
    summary = ck.load_weights(model, output)
    assert summary["format"] == "Keras weights" and summary["matched"] == 126
    stored = ck.read_tf1_checkpoint(SHIPPED)
    converted = ck.model_to_tf1(model)
    assert sorted(converted) == sorted(stored)
    for name, value in stored.items():
        np.testing.assert_array_equal(converted[name], value, err_msg=name)
