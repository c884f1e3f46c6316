"""Bad input in every command ends in one line ``error: PATH: problem`` on stderr, exit code
1, no traceback, and before the long
work: test.py, train.py, validate.py, tools/convert_checkpoint.py and tools/parity.py run as
a user would (subprocesses); the out-of-memory and unlistable-folder cases, which cannot be
produced for real in a fast test, through the library with the failure injected.

"Not writable" is made with a path under a regular file (FILE/sub), which fails for root
too (root ignores permission bits).
"""

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from cameras.errors import InputError
from mvsnet import checkpoint as ck
from mvsnet import checks
from mvsnet import weights
from mvsnet.inference import plan
from mvsnet.training.config import TrainConfig, ValidateConfig
from tools import synthetic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
SCENE = os.path.join(FIXTURES, "scene_tiny")
GRU_CKPT = os.path.join(FIXTURES, "ckpt_gru", "model.ckpt")
STEP = 100000
TEST, TRAIN, VALIDATE = (os.path.join(ROOT, "mvsnet", s) for s in ("test.py", "train.py", "validate.py"))
CONVERT, PARITY = (os.path.join(ROOT, "tools", s) for s in ("convert_checkpoint.py", "parity.py"))
OOM_ADVICE = "lower --max_w/--max_h (and --max_d for 3DCNNs)"


def run(script, *args, cwd=ROOT, code=None):
    """The script run as a user would; ``code`` is Python run first in the same process
    (to inject a failure), then the script as __main__."""
    args = [str(a) for a in args]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if code is None:
        command = [sys.executable, script] + args
    else:
        command = [sys.executable, "-c", "import runpy, sys\nsys.argv = %r\n%s\nrunpy.run_path(%r, "
                   "run_name='__main__')" % ([script] + args, code, script)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def error_line(proc, *fragments, status=1):
    """The one ``error: `` line of a failed run, checked: exit status, no traceback, one
    error line, every fragment in it."""
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert proc.returncode == status, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert len(lines) == 1, proc.stderr[-3000:]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def dtu_root(tmp_path_factory):
    """Scans 2 (training) and 3 (validation), 3 views, 96x64 images."""
    root = str(tmp_path_factory.mktemp("cli_errors") / "dtu")
    synthetic.write_dtu(root, scans=[2, 3], views=3, width=96, height=64, seed=0)
    return root


@pytest.fixture
def a_file(tmp_path):
    """A regular file: FILE/sub can be neither created nor written, even by root."""
    path = tmp_path / "FILE"
    path.write_text("not a folder\n")
    return path


@pytest.fixture
def scene(tmp_path):
    folder = tmp_path / "scene"
    shutil.copytree(SCENE, folder, ignore=shutil.ignore_patterns("gt"))
    return folder


def scene_args(scene, *extra):
    return ["--dense_folder", scene, "--regularization", "GRU", "--pretrained_model_ckpt_path", GRU_CKPT,
            "--ckpt_step", STEP, "--max_w", 160, "--max_h", 128, "--max_d", 32, "--view_num", 3,
            *extra]


def train_args(dtu_root, tmp_path, *extra):
    return ["--train_dtu", "--dtu_data_root", dtu_root, "--max_d", 8, "--max_steps", 1, "--epoch", 1,
            "--log_folder", tmp_path / "logs", "--model_folder", tmp_path / "models", *extra]


def validate_args(dtu_root, tmp_path, *extra):
    return ["--validate_set", "dtu", "--dtu_data_root", dtu_root, "--regularization", "GRU",
            "--max_d", 8, "--pretrained_model_ckpt_path", GRU_CKPT, "--ckpt_step", STEP,
            "--validation_result_path", tmp_path / "val.txt", *extra]


# ----------------------------------------------------------------------------- 1. train.py folders

def test_train_log_folder_with_a_missing_parent_fails_before_training(dtu_root, tmp_path):
    logs = tmp_path / "no_such_parent" / "logs"
    proc = run(TRAIN, *train_args(dtu_root, tmp_path, "--log_folder", logs))
    error_line(proc, "error: %s: cannot create --log_folder: its parent %s does not exist"
               % (logs, logs.parent))
    assert "epoch 0" not in proc.stdout
    assert not (tmp_path / "models").exists() and not logs.parent.exists()


def test_train_model_folder_that_cannot_be_created_fails_before_training(dtu_root, tmp_path, a_file):
    proc = run(TRAIN, *train_args(dtu_root, tmp_path, "--model_folder", a_file / "sub"))
    error_line(proc, "error: %s: cannot create --model_folder: its parent %s is a file, not a folder"
               % (a_file / "sub", a_file))
    assert "epoch 0" not in proc.stdout and not (tmp_path / "logs").exists()
    proc = run(TRAIN, *train_args(dtu_root, tmp_path, "--model_folder", a_file))
    error_line(proc, "error: %s: --model_folder exists but is not a folder" % a_file)
    assert not (tmp_path / "logs").exists()


def test_train_leaves_no_folder_when_other_input_is_bad(dtu_root, tmp_path):
    proc = run(TRAIN, *train_args(dtu_root, tmp_path, "--use_pretrain", "--ckpt_step", 7))
    error_line(proc, "error: %s: --use_pretrain: no snapshot there: missing model.ckpt-7.index"
               % (tmp_path / "models" / "GRU" / "model.ckpt-7"))
    assert sorted(os.listdir(tmp_path)) == []


# (that train.py creates missing folders whose parent exists: tests/test_train.py,
# test_train_cli_3dcnns_refinement_snapshots_and_summaries)


# ----------------------------------------------------------------------------- 2. validate.py result

@pytest.mark.parametrize("where", ["missing", "file"])
def test_validate_checks_its_result_file_before_the_run(dtu_root, tmp_path, a_file, where):
    folder = tmp_path / "no_such_folder" if where == "missing" else a_file
    result = folder / "val.txt"
    proc = run(VALIDATE, *validate_args(dtu_root, tmp_path, "--validation_result_path", result))
    problem = "does not exist" if where == "missing" else "is a file, not a folder"
    error_line(proc, "error: %s: cannot write --validation_result_path: its folder %s %s"
               % (result, folder, problem))
    assert "depth map validation" not in proc.stdout and "Validation sample number" not in proc.stdout


def test_validate_result_path_that_is_a_folder(dtu_root, tmp_path):
    proc = run(VALIDATE, *validate_args(dtu_root, tmp_path, "--validation_result_path", tmp_path))
    error_line(proc, "error: %s: --validation_result_path is a folder, not a file" % tmp_path)


# ----------------------------------------------------------------------------- 3. convert_checkpoint.py

def test_convert_checkpoint_output_in_a_missing_or_unwritable_folder(tmp_path, a_file):
    missing = tmp_path / "no_such_folder" / "x.weights.h5"
    proc = run(CONVERT, "--ckpt", GRU_CKPT + "-100000", "--output", missing)
    error_line(proc, "error: %s: cannot write --output: its folder %s does not exist"
               % (missing, missing.parent))
    assert not missing.parent.exists()
    under_file = a_file / "x.weights.h5"
    proc = run(CONVERT, "--ckpt", GRU_CKPT + "-100000", "--output", under_file)
    error_line(proc, "error: %s: cannot write --output: its folder %s is a file, not a folder"
               % (under_file, a_file))


# ----------------------------------------------------------------------------- 4. "found:" hint

def test_checkpoint_hint_of_an_unlistable_folder_is_dropped(tmp_path, monkeypatch):
    from mvsnet.training import validation

    (tmp_path / "model.ckpt-5.index").write_bytes(b"")
    prefix = str(tmp_path / "model.ckpt")
    with pytest.raises(InputError, match=r"found: model\.ckpt-5; --ckpt_step"):
        weights.resolve_checkpoint(prefix, 7)
    assert validation.resolve_checkpoint is weights.resolve_checkpoint   # one copy

    def unlistable(path):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(os, "listdir", unlistable)
    with pytest.raises(InputError) as info:
        weights.resolve_checkpoint(prefix, 7)
    assert str(info.value).startswith("%s-7: no checkpoint there: missing model.ckpt-7.index" % prefix)
    assert "found" not in str(info.value)
    with pytest.raises(InputError, match="no checkpoint there") as info:
        ck.read_tf1_checkpoint(prefix + "-7")
    assert "found" not in str(info.value)
    assert weights.checkpoints_in(str(tmp_path)) == []


# ----------------------------------------------------------------------------- 5. parity.py

@pytest.fixture
def reference_inputs(tmp_path):
    with np.load(os.path.join(FIXTURES, "ref_gru.npz")) as data:
        ref = {k: data[k] for k in data.files}
    inputs = {k: ref[k] for k in ("images", "cams", "depth_start", "depth_interval", "depth_end",
                                   "depth_num", "gt_depth")}
    return ref, inputs


def test_parity_reference_without_the_keys_it_needs(tmp_path, reference_inputs):
    ref, inputs = reference_inputs
    only_inputs = tmp_path / "inputs.npz"
    np.savez(only_inputs, **inputs)
    proc = run(PARITY, "--reference", only_inputs, "--ckpt", GRU_CKPT + "-100000")
    error_line(proc, "error: %s: no output to compare: missing every GRU output key (wta_depth_inv, "
               % only_inputs, "grad/<variable>")
    no_images = tmp_path / "no_images.npz"
    np.savez(no_images, **{k: v for k, v in ref.items() if k not in ("images", "gt_depth")})
    proc = run(PARITY, "--reference", no_images, "--ckpt", GRU_CKPT + "-100000")
    error_line(proc, "error: %s: missing input keys images, gt_depth" % no_images)


def test_parity_reference_of_bad_shape_or_other_network(tmp_path, reference_inputs):
    ref, _ = reference_inputs
    cropped = tmp_path / "cropped.npz"
    np.savez(cropped, **dict(ref, images=ref["images"][:, :, :100]))
    proc = run(PARITY, "--reference", cropped, "--ckpt", GRU_CKPT + "-100000")
    error_line(proc, "error: %s: images are 160x100 (WxH); the GRU network needs multiples of 16"
               % cropped)
    other = os.path.join(FIXTURES, "ref_3dcnns.npz")
    proc = run(PARITY, "--reference", other, "--ckpt", GRU_CKPT + "-100000", "--regularization", "GRU")
    error_line(proc, "error: %s: a 3DCNNs reference (it has depth, prob, train_depth, train_prob), not "
               "a GRU one: --regularization 3DCNNs?" % other)


def test_parity_output_checked_before_the_run(a_file):
    out = a_file / "out.npz"
    proc = run(PARITY, "--reference", os.path.join(FIXTURES, "ref_gru.npz"), "--ckpt", GRU_CKPT + "-100000",
               "--output", out)
    error_line(proc, "error: %s: cannot write --output: its folder %s is a file" % (out, a_file))
    assert "keys compared" not in proc.stdout


# ----------------------------------------------------------------------------- 6. out of memory

RAISE_OOM = """
import tensorflow as tf
from mvsnet.inference import network
def _network_function(model, options, refinement=False):
    def network(images, image_stats, cams, cache=None):
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
    return network

network.network_function = _network_function
"""


def test_test_py_out_of_memory_is_one_line(scene):
    proc = run(TEST, *scene_args(scene), code=RAISE_OOM)
    error_line(proc, "error: %s: out of memory at 160x128x32 (GRU) — %s" % (scene, OOM_ADVICE))


class _StubModel:
    """Stands for a loaded model where the network is never run."""

    def __init__(self, regularization):
        self.regularization, self.refinement = regularization, False


def _stub_model(regularization):
    return _StubModel(regularization)


@pytest.mark.parametrize("regularization,error", [("GRU", "tf"), ("3DCNNs", "tf"), ("GRU", "memory")])
def test_inference_out_of_memory_names_size_and_flags(scene, monkeypatch, regularization, error):
    import tensorflow as tf

    from mvsnet.inference import network, pipeline

    def network_function(model, options, refinement=False):
        def network(images, image_stats, cams, cache=None):
            if error == "tf":
                raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
            raise MemoryError("std::bad_alloc")
        return network

    monkeypatch.setattr(network, "network_function", network_function)
    options = plan.Options(view_num=3, max_d=32, max_w=160, max_h=128, interval_scale=0.8,
                           regularization=regularization)
    with pytest.raises(InputError) as info:
        pipeline.run(str(scene), None, None, options, model=_stub_model(regularization), log=lambda s: None)
    assert str(info.value) == "%s: out of memory at 160x128x32 (%s) — %s" % (scene, regularization, OOM_ADVICE)


def test_inference_out_of_memory_while_reading(scene, monkeypatch):
    from mvsnet.inference import pipeline, prepare

    def failing_prepare(view_set_plan, options):
        raise MemoryError()

    monkeypatch.setattr(prepare, "prepare_view_set", failing_prepare)
    options = plan.Options(view_num=3, max_d=32, max_w=160, max_h=128, interval_scale=0.8)
    with pytest.raises(InputError, match=re.escape("out of memory at 160x128x32 (GRU) — " + OOM_ADVICE)):
        pipeline.run(str(scene), None, None, options, model=_stub_model("GRU"), log=lambda s: None)


def test_training_step_out_of_memory(dtu_root, tmp_path, monkeypatch):
    import tensorflow as tf

    from mvsnet.training import loop, step as train_step

    def step(self, *batch):
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")

    monkeypatch.setattr(train_step.TrainStep, "__call__", step)
    config = TrainConfig(dataset="dtu", data_root=dtu_root, max_d=8, epoch=1, seed=0,
                         log_folder=str(tmp_path / "logs"), model_folder=str(tmp_path / "models"))
    with pytest.raises(InputError) as info:
        loop.train(config, warn=lambda s: None, out=lambda s: None)
    assert str(info.value) == ("%s: out of memory at 96x64x8 (GRU training, batch 1) — lower --max_d "
                               "or --batch_size" % dtu_root)


def test_validation_out_of_memory(dtu_root, tmp_path, monkeypatch):
    from mvsnet.training import validation

    def make_evaluator(model, max_d, inverse_depth):
        def evaluate(images, cams, gt):
            raise MemoryError()
        return evaluate

    monkeypatch.setattr(validation, "make_evaluator", make_evaluator)
    config = ValidateConfig(data_root=dtu_root, regularization="GRU", max_d=8,
                            pretrained_model_ckpt_path=GRU_CKPT, ckpt_step=STEP,
                            validation_result_path=str(tmp_path / "val.txt"))
    with pytest.raises(InputError) as info:
        validation.validate(config, warn=lambda s: None, out=lambda s: None)
    assert str(info.value).startswith("%s: out of memory at 96x64x8 (GRU) — lower --max_d" % dtu_root)
    assert not (tmp_path / "val.txt").exists()


# ----------------------------------------------------------------------------- 7. sample_scale

SAMPLE_SCALE = "--sample_scale must be 0.25, got 0.5: the depth maps are always 1/4 of the network " \
               "input because the feature towers downsample the images by 4"


def test_sample_scale_other_than_a_quarter_is_rejected(scene, dtu_root, tmp_path):
    error_line(run(TEST, *scene_args(scene, "--sample_scale", 0.5)), "error: " + SAMPLE_SCALE)
    assert not (scene / "depths_mvsnet").exists()
    error_line(run(TRAIN, *train_args(dtu_root, tmp_path, "--sample_scale", 0.5)), "error: " + SAMPLE_SCALE)
    error_line(run(VALIDATE, *validate_args(dtu_root, tmp_path, "--sample_scale", 0.5)),
               "error: " + SAMPLE_SCALE)
    assert sorted(os.listdir(tmp_path)) == ["scene"]


# ----------------------------------------------------------------------------- obviously bad flags

@pytest.mark.parametrize("extra,expected", [
    (["--dense_folder", "{tmp}/nowhere"], "error: {tmp}/nowhere: dense folder does not exist"),
    (["--regularization", "LSTM"], "error: --regularization must be GRU or 3DCNNs, got 'LSTM'"),
    (["--max_w", "-16"], "error: --max_w and --max_h must be positive, got -16x128"),
    (["--view_num", "1"], "error: --view_num must be at least 2, got 1 (a reference and a source view"),
    (["--batch_size", "0"], "error: --batch_size must be at least 1, got 0"),
    (["--pretrained_model_ckpt_path", "{tmp}/model.ckpt"],
     "error: {tmp}/model.ckpt-100000: no checkpoint there: missing model.ckpt-100000.index"),
])
def test_test_py_bad_flags(scene, tmp_path, extra, expected):
    extra = [e.format(tmp=tmp_path) for e in extra]
    error_line(run(TEST, *scene_args(scene, *extra)), expected.format(tmp=tmp_path))
    assert not (scene / "depths_mvsnet").exists()


@pytest.mark.parametrize("extra,expected", [
    (["--dtu_data_root", "{tmp}/nowhere"], "error: {tmp}/nowhere: DTU data root does not exist"),
    (["--regularization", "LSTM"], "error: --regularization must be GRU or 3DCNNs, got 'LSTM'"),
    (["--view_num", "1"], "error: --view_num must be at least 2"),
    (["--max_d", "-3"], "error: --max_d must be at least 3, got -3 (the ground truth is masked"),
    (["--base_lr", "-1"], "error: --base_lr must be positive, got -1"),
    (["--max_steps", "-1"], "error: --max_steps must not be negative"),
    (["--notrain_dtu"], "error: give exactly one training dataset"),
])
def test_train_py_bad_flags(dtu_root, tmp_path, extra, expected):
    extra = [e.format(tmp=tmp_path) for e in extra]
    error_line(run(TRAIN, *train_args(dtu_root, tmp_path, *extra)), expected.format(tmp=tmp_path))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("extra,expected", [
    (["--dtu_data_root", "{tmp}/nowhere"], "error: {tmp}/nowhere: DTU data root does not exist"),
    (["--validate_set", "kitti"], "error: --validate_set must be one of dtu, blendedmvs, eth3d, got 'kitti'"),
    (["--view_num", "1"], "error: --view_num must be at least 2, got 1"),
    (["--batch_size", "-1"], "error: --batch_size must be at least 1, got -1"),
    (["--pretrained_model_ckpt_path", "{tmp}/model.ckpt"],
     "error: {tmp}/model.ckpt-100000: no checkpoint there: missing model.ckpt-100000.index"),
])
def test_validate_py_bad_flags(dtu_root, tmp_path, extra, expected):
    extra = [e.format(tmp=tmp_path) for e in extra]
    error_line(run(VALIDATE, *validate_args(dtu_root, tmp_path, *extra)), expected.format(tmp=tmp_path))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("script,args,expected,status", [
    (TEST, ["--max_d", "abc"], "error: flag --max_d=abc: invalid literal for int()", 1),
    (TRAIN, ["--max_dd", "3"], "error: Unknown command line flag 'max_dd'. Did you mean: max_d ?", 1),
    (PARITY, ["--regularization", "LSTM"], "error: flag --regularization=LSTM: value should be one of "
     "<GRU|3DCNNs>", 1),
])
def test_flags_absl_cannot_parse(script, args, expected, status):
    line = error_line(run(script, *args), expected, status=status)
    assert line.endswith("(--helpshort lists the flags)")


# ----------------------------------------------------------------------------- the helpers

def test_output_checks_accept_what_can_be_written(tmp_path):
    assert checks.check_output_folder(str(tmp_path), "--x") == str(tmp_path)
    assert checks.check_output_folder(str(tmp_path / "new"), "--x") == str(tmp_path / "new")
    assert checks.check_output_file(str(tmp_path / "a.txt"), "--x", append=True) == str(tmp_path / "a.txt")
    assert os.listdir(tmp_path) == []          # checking creates nothing
    checks.make_folder(str(tmp_path / "new" / "sub"), "--x")
    assert (tmp_path / "new" / "sub").is_dir()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only-bit folder; the "
                    "FILE/sub cases above cover root")
def test_output_checks_reject_a_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(InputError, match="--x is not writable: Permission denied"):
            checks.check_output_folder(str(folder), "--x")
        with pytest.raises(InputError, match="cannot create --x in .*: Permission denied"):
            checks.check_output_folder(str(folder / "sub"), "--x")
        with pytest.raises(InputError, match="its folder .* is not writable: Permission denied"):
            checks.check_output_file(str(folder / "a.txt"), "--x")
    finally:
        folder.chmod(0o755)


# ----------------------------------------------------------------------------- bad input files, every CLI

DEPTHFUSION, COLMAP2MVSNET, VISUALIZE, RECONSTRUCT = (
    os.path.join(ROOT, "mvsnet", s) for s in ("depthfusion.py", "colmap2mvsnet.py", "visualize.py", "reconstruct.py"))
EVALUATE = os.path.join(ROOT, "tools", "evaluate.py")


def _checksums(folder):
    import hashlib

    out = {}
    for base, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(base, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return out


def _edit_words(path, row, column, value):
    """Replace word ``column`` of line ``row`` (both from 0) of a text file."""
    lines = open(path).read().split("\n")
    words = lines[row].split()
    words[column] = value
    lines[row] = " ".join(words)
    open(path, "w").write("\n".join(lines))


def _truncate(path, fraction=0.5):
    data = open(path, "rb").read()
    open(path, "wb").write(data[:int(len(data) * fraction)])


def _nan_map(path, rows=slice(0, 3)):
    from cameras.pfm import read_pfm, write_pfm

    image = read_pfm(path)
    image[rows] = np.nan
    write_pfm(path, image)


def _fused_scene(root):
    """scene_tiny with the original test.py's outputs as its depths_mvsnet/."""
    shutil.copytree(SCENE, root, ignore=shutil.ignore_patterns("gt"))
    shutil.copytree(os.path.join(FIXTURES, "orig_test_gru"), os.path.join(root, "depths_mvsnet"))
    return root


def _colmap_workspace(root, binary=False):
    from tools.synthetic import colmap as synthetic_colmap

    synthetic_colmap.write_workspace(root, views=4, points=4, binary=binary)
    return root


def _photos(root):
    os.makedirs(root)
    for name in sorted(os.listdir(os.path.join(SCENE, "images"))):
        shutil.copy(os.path.join(SCENE, "images", name), os.path.join(root, name))
    return root


# (id, script, make the input tree in ROOT -> nothing, args with {in}, the file the error names, problem)
BAD_INPUTS = [
    ("test-nan-intrinsic", TEST, lambda d: _edit_words(os.path.join(d, "cams", "00000002_cam.txt"), 7, 0, "nan"),
     "cams/00000002_cam.txt", "intrinsic row 1 holds nan"),
    ("test-zero-intrinsic", TEST, lambda d: _zero_intrinsic(d),
     "cams/00000001_cam.txt", "intrinsic: the focal length fx (row 1, column 1) must be positive, found 0"),
    ("test-inf-source-extrinsic", TEST, lambda d: _edit_words(os.path.join(d, "cams", "00000003_cam.txt"), 1, 3, "inf"),
     "cams/00000003_cam.txt", "extrinsic row 1 holds inf"),
    ("test-not-a-rotation", TEST, lambda d: _edit_words(os.path.join(d, "cams", "00000004_cam.txt"), 2, 1, "1.5"),
     "cams/00000004_cam.txt", "extrinsic rotation (rows 1-3, columns 1-3) is not a rotation"),
    ("test-truncated-image", TEST, lambda d: _truncate(os.path.join(d, "images", "00000002.jpg")),
     "images/00000002.jpg", "cannot decode the image (corrupt or truncated?)"),
    ("test-nan-pair-score", TEST, lambda d: _edit_words(os.path.join(d, "pair.txt"), 2, 2, "nan"),
     "pair.txt", "must be a finite number, found 'nan'"),
    ("fusion-truncated-map", DEPTHFUSION, lambda d: _truncate(os.path.join(d, "depths_mvsnet", "00000001_prob.pfm")),
     "depths_mvsnet/00000001_prob.pfm", "PFM data size is wrong"),
    ("fusion-inf-cam", DEPTHFUSION, lambda d: _edit_words(os.path.join(d, "depths_mvsnet", "00000002.txt"), 3, 3, "-inf"),
     "depths_mvsnet/00000002.txt", "extrinsic row 3 holds -inf"),
    ("fusion-truncated-colour", DEPTHFUSION, lambda d: _truncate(os.path.join(d, "depths_mvsnet", "00000003.jpg")),
     "depths_mvsnet/00000003.jpg", "cannot decode the image"),
    ("colmap-nan-camera", COLMAP2MVSNET, lambda d: _edit_words(os.path.join(d, "sparse", "cameras.txt"), 3, 4, "nan"),
     "sparse/cameras.txt", "line 4: the parameters of camera 1 holds nan"),
    ("colmap-truncated-images-bin", COLMAP2MVSNET, lambda d: _truncate(os.path.join(d, "sparse", "images.bin")),
     "sparse/images.bin", "a wrong count or a truncated file"),
    ("visualize-nan-map", VISUALIZE, lambda d: _nan_map(os.path.join(d, "depths_mvsnet", "00000000_init.pfm")),
     "depths_mvsnet/00000000_init.pfm", "the map holds 120 non-finite pixels"),
    ("evaluate-nan-ply", EVALUATE, lambda d: _nan_ply(d), "pred.ply", "the vertex positions (x, y, z) holds 1 non-finite"),
    ("reconstruct-too-few-photos", RECONSTRUCT, lambda d: [_truncate(os.path.join(d, "photos", n))
                                                           for n in sorted(os.listdir(os.path.join(d, "photos")))[1:]],
     "photos", "only 1 of 5 photos decode (need 3); the others are named above"),
]


def _zero_intrinsic(d):
    path = os.path.join(d, "cams", "00000001_cam.txt")
    for row in (7, 8, 9):
        for column in range(3):
            _edit_words(path, row, column, "0")


def _nan_ply(d):
    from mvsnet.pointcloud.ply import write_ply

    points = np.zeros((4, 3), np.float32)
    points[2, 0] = np.nan
    write_ply(os.path.join(d, "pred.ply"), points)
    write_ply(os.path.join(d, "gt.ply"), np.ones((4, 3), np.float32))


def _bad_input_tree(script, case, root):
    """The input tree of a case and the command-line arguments."""
    if script == TEST:
        shutil.copytree(SCENE, root, ignore=shutil.ignore_patterns("gt"))
        return ["--dense_folder", root, "--max_w", 160, "--max_h", 128, "--max_d", 32, "--view_num", 3]
    if script in (DEPTHFUSION, VISUALIZE):
        _fused_scene(root)
        if script == VISUALIZE:
            return [os.path.join(root, "depths_mvsnet", "00000000_init.pfm"), "--output", os.path.join(root, "x.png")]
        return ["--dense_folder", root]
    if script == COLMAP2MVSNET:
        _colmap_workspace(root, binary="bin" in case)
        return ["--dense_folder", root, "--test"]
    if script == EVALUATE:
        os.makedirs(root)
        return ["points", os.path.join(root, "pred.ply"), os.path.join(root, "gt.ply")]
    _photos(os.path.join(root, "photos"))
    return ["--images", os.path.join(root, "photos"), "--workspace", os.path.join(os.path.dirname(root), "ws")]


@pytest.mark.parametrize("case,script,make_bad,named,problem", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_files_end_every_cli_in_one_line(tmp_path, case, script, make_bad, named, problem):
    """Exit 1, the last line ``error: PATH: problem`` naming the bad file, no traceback, the
    inputs unchanged; test.py fails before TensorFlow is imported (no model is built)."""
    root = str(tmp_path / "input")
    args = _bad_input_tree(script, case, root)
    make_bad(root)
    before = _checksums(root)
    proc = run(script, *args)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and os.path.join(root, named) in last and problem in last, last
    assert _checksums(root) == before
    if script == TEST:
        assert "checkpoint:" not in proc.stdout and not os.path.exists(os.path.join(root, "depths_mvsnet"))


def test_depthfusion_names_maps_with_nan_pixels_and_fuses_the_rest(tmp_path):
    root = _fused_scene(str(tmp_path / "scene"))
    _nan_map(os.path.join(root, "depths_mvsnet", "00000001_init.pfm"), slice(0, 2))
    before = _checksums(os.path.join(root, "depths_mvsnet"))
    proc = run(DEPTHFUSION, "--dense_folder", root, "--prob_threshold", 0.01, "--num_consistent", 1)
    assert proc.returncode == 0, proc.stderr[-3000:]
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings == ["warning: %s: 80 non-finite pixels (nan or inf) of 1280, the first at row 1, column 1, "
                        "treated as pixels without depth" % os.path.join(root, "depths_mvsnet", "00000001_init.pfm")]
    assert _checksums(os.path.join(root, "depths_mvsnet")) == before
    from mvsnet.pointcloud.ply import read_ply

    points = read_ply(os.path.join(root, "points_mvsnet", "fused.ply"))[0]
    assert len(points) > 1000 and np.isfinite(points).all()


def test_inference_non_finite_map_is_an_error_naming_the_views(scene, monkeypatch):
    """A map that comes out non-finite (here: injected) is not written; the error names the
    file, the reference view and its source views; the view before it is complete."""
    import tensorflow as tf

    from mvsnet.inference import network as net, pipeline

    calls = []

    def network_function(model, options, refinement=False):
        def network(images, image_stats, cams, cache=None):
            calls.append(1)
            depth = np.full((1, 32, 40, 1), 600, np.float32)
            prob = np.full((1, 32, 40, 1), 0.5, np.float32)
            if len(calls) == 2:
                depth[0, 5:7, :3] = np.nan
            return {"depth": tf.constant(depth), "prob": tf.constant(prob)}
        return network

    monkeypatch.setattr(net, "network_function", network_function)
    options = plan.Options(view_num=3, max_d=32, max_w=160, max_h=128, interval_scale=0.8)
    lines = []
    with pytest.raises(InputError) as info:
        pipeline.run(str(scene), None, None, options, model=_stub_model("GRU"), log=lines.append)
    folder = scene / "depths_mvsnet"
    assert str(info.value) == (
        "%s: not written: the network's depth map of reference view 1 holds 6 non-finite pixels (nan or inf) of "
        "1280, the first at row 6, column 1; its inputs are view 1 and source view(s) 2, 0 (images/%%08d.jpg, "
        "cams/%%08d_cam.txt)" % (folder / "00000001_init.pfm"))
    assert sorted(os.listdir(folder)) == ["00000000.jpg", "00000000.txt", "00000000_init.pfm", "00000000_prob.pfm"]
