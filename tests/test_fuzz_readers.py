"""Property-based fuzzing of every reader of user files (hypothesis).

Each reader gets a valid file of its kind, broken at random: truncated, bytes flipped,
inserted or deleted, a number replaced by nan / inf / a huge or negative value, a count
changed. The property: the reader returns a result whose numbers are all finite, or raises
the project's own error (:class:`cameras.errors.InputError`) with a one-line message --
never another exception, never a hang.

Bounded for the README's test command: the ``quick`` profile (the default) runs a few
dozen examples per reader, the whole file in well under a minute. A deep run::

    RMVSNET_FUZZ=deep pytest -q tests/test_fuzz_readers.py      # 2000 examples per reader

(``RMVSNET_FUZZ_EXAMPLES=N`` sets the number directly.) Each example runs under a
watchdog (:data:`HANG_SECONDS`, an alarm signal): a guard against hangs (a reader looping
on a huge count), not a speed test -- it is far above the time any example takes, and
hypothesis' own per-example deadline is off (the machine's load must not fail a test).
"""

import contextlib
import os
import re
import shutil
import signal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cameras.errors import InputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
SCENE = os.path.join(FIXTURES, "scene_tiny")

PROFILES = {"quick": 40, "deep": 2000}
EXAMPLES = int(os.environ.get("RMVSNET_FUZZ_EXAMPLES") or PROFILES[os.environ.get("RMVSNET_FUZZ", "quick")])


HANG_SECONDS = 120


def fuzz(examples=EXAMPLES):
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


class Hang(Exception):
    pass


@contextlib.contextmanager
def watchdog(seconds=HANG_SECONDS):
    """Hang raised in the main thread when the block runs longer than ``seconds``."""
    def alarm(signum, frame):
        raise Hang("a reader ran for more than %d s on one input" % seconds)

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ----------------------------------------------------------------------------- the mutations

BAD_NUMBERS = ["nan", "NaN", "inf", "-inf", "1e999", "-1e999", "1e39", "0", "-0", "-1", "-7.5",
               "99999999999999999999", "18446744073709551615", "1e-320", "x", "", "0x10", "1,5"]
NUMBER = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@st.composite
def mutated(draw, data, text=False):
    """``data`` (bytes) with 1 to 3 random breakages."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        kinds = ["truncate", "flip", "insert", "delete", "swap"]
        if text:
            kinds += ["number"] * 4 + ["word"]
        kind = draw(st.sampled_from(kinds))
        n = len(out)
        if kind == "truncate":
            del out[draw(st.integers(0, max(0, n - 1))):]
        elif kind == "flip" and n:
            k = draw(st.integers(0, n - 1))
            out[k] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            k = draw(st.integers(0, n))
            out[k:k] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete" and n:
            k = draw(st.integers(0, n - 1))
            del out[k:k + draw(st.integers(1, 16))]
        elif kind == "swap" and n >= 8:
            # a count or a field changed to a huge or odd value, in place (binary layouts)
            k = draw(st.integers(0, n - 8))
            out[k:k + 8] = draw(st.sampled_from([b"\xff" * 8, b"\x00" * 8, (2 ** 40).to_bytes(8, "little"),
                                                 (2 ** 31).to_bytes(8, "little"), b"\x00\x00\xc0\x7f" * 2,
                                                 b"\x00\x00\x80\x7f" * 2]))
        elif kind == "number":
            spans = [m.span() for m in NUMBER.finditer(bytes(out))]
            if spans:
                a, b = draw(st.sampled_from(spans))
                out[a:b] = draw(st.sampled_from(BAD_NUMBERS)).encode()
        elif kind == "word":
            words = list(re.finditer(rb"\S+", bytes(out)))
            if words:
                m = draw(st.sampled_from(words))
                a, b = m.span()
                out[a:b] = b"" if draw(st.booleans()) else m.group() + b" " + m.group()   # a word lost or doubled
    return bytes(out)


def read_or_input_error(read, check_result):
    """The property: ``read()`` returns a result ``check_result`` accepts (all finite), or
    raises InputError with a one-line message."""
    try:
        with watchdog():
            result = read()
    except InputError as err:
        message = str(err)
        assert message and "\n" not in message and "\r" not in message, repr(message)
        return None
    check_result(result)
    return result


def all_finite(*arrays):
    for a in arrays:
        if a is not None:
            assert np.isfinite(np.asarray(a, np.float64)).all(), a


def _bytes(path):
    with open(path, "rb") as f:
        return f.read()


# ----------------------------------------------------------------------------- cam files, pair.txt

CAM = _bytes(os.path.join(SCENE, "cams", "00000001_cam.txt"))
CAM_FLOAT32 = _bytes(os.path.join(FIXTURES, "orig_test_gru", "00000001.txt"))
PAIR = _bytes(os.path.join(SCENE, "pair.txt"))


@fuzz()
@given(st.one_of(mutated(CAM, text=True), mutated(CAM_FLOAT32, text=True)), st.sampled_from([0, 192]))
def test_fuzz_cam_file(tmp_path_factory, data, max_d):
    from cameras.camfile import read_cam

    path = tmp_path_factory.mktemp("cam") / "00000001_cam.txt"
    path.write_bytes(data)
    read_or_input_error(lambda: read_cam(path, interval_scale=0.8, max_d=max_d),
                        lambda cam: all_finite(cam.to_array()))


@fuzz()
@given(mutated(PAIR, text=True))
def test_fuzz_pair_file(data):
    from cameras.pair import parse_pair

    def check(pairs):
        for ref, sources in pairs:
            assert ref >= 0 and all(s >= 0 for s, _ in sources)
            all_finite([score for _, score in sources])

    read_or_input_error(lambda: parse_pair(data.decode("utf-8", errors="replace"), "pair.txt"), check)


# ----------------------------------------------------------------------------- PFM, PLY, images

PFM = _bytes(os.path.join(FIXTURES, "orig_test_gru", "00000001_init.pfm"))


@fuzz()
@given(st.one_of(mutated(PFM), mutated(PFM[:40], text=True).map(lambda head: head + PFM[40:])))
def test_fuzz_pfm(tmp_path_factory, data):
    from cameras.pfm import read_pfm

    path = tmp_path_factory.mktemp("pfm") / "map.pfm"
    path.write_bytes(data)
    read_or_input_error(lambda: read_pfm(path), lambda image: all_finite(image))


def _ply_files():
    from mvsnet.pointcloud.ply import ply_bytes

    rng = np.random.default_rng(0)
    points = rng.normal(size=(20, 3)).astype(np.float32)
    colors = rng.integers(0, 255, size=(20, 3)).astype(np.uint8)
    binary = ply_bytes(points, colors)
    header = b"ply\nformat ascii 1.0\nelement vertex 20\nproperty float x\nproperty float y\nproperty float z\n" \
             b"end_header\n"
    ascii_ply = header + b"".join(b"%r %r %r\n" % tuple(float(v) for v in p) for p in points)
    return binary, ascii_ply


PLY_BINARY, PLY_ASCII = _ply_files()


@fuzz()
@given(st.one_of(mutated(PLY_BINARY), mutated(PLY_ASCII, text=True),
                 mutated(PLY_BINARY[:200], text=True).map(lambda head: head + PLY_BINARY[200:])))
def test_fuzz_ply(tmp_path_factory, data):
    from mvsnet.pointcloud.ply import read_ply

    path = tmp_path_factory.mktemp("ply") / "cloud.ply"
    path.write_bytes(data)
    read_or_input_error(lambda: read_ply(str(path)), lambda r: all_finite(r[0], r[2]))


JPEG = _bytes(os.path.join(SCENE, "images", "00000000.jpg"))


def _png():
    import cv2

    ok, data = cv2.imencode(".png", np.arange(48 * 3, dtype=np.uint8).reshape(12, 4, 3))
    return data.tobytes()


PNG = _png()


@fuzz()
@given(st.one_of(mutated(JPEG), mutated(PNG)))
def test_fuzz_images(tmp_path_factory, data):
    """A photo either decodes (then test.py's reader decodes it too) or is named."""
    from mvsnet import images
    from mvsnet.inference.prepare import image_size, read_image

    path = str(tmp_path_factory.mktemp("img") / "00000000.jpg")
    with open(path, "wb") as f:
        f.write(data)

    def read():
        images.check_decodes(path)
        h, w = image_size(path)
        image = read_image(path)
        assert image.shape == (h, w, 3)
        return image

    read_or_input_error(read, lambda image: None)


# ----------------------------------------------------------------------------- COLMAP models

@pytest.fixture(scope="module")
def colmap_models(tmp_path_factory):
    from tools.synthetic import colmap as synthetic_colmap

    root = tmp_path_factory.mktemp("fuzz_models")
    for kind in ("text", "binary"):
        synthetic_colmap.write_workspace(str(root / kind), views=3, points=3, binary=kind == "binary")
    return {kind: {name: _bytes(str(root / kind / "sparse" / name))
                   for name in os.listdir(str(root / kind / "sparse"))} for kind in ("text", "binary")}


MODEL_FILES = ["cameras", "images", "points3D", "rigs", "frames"]


@fuzz()
@given(kind=st.sampled_from(["text", "binary"]), name=st.sampled_from(MODEL_FILES), data=st.data())
def test_fuzz_colmap_model(tmp_path_factory, colmap_models, kind, name, data):
    """Every file of a text or binary model broken in turn; pycolmap never sees a broken
    file (some abort the process) and the error names the file."""
    from mvsnet.colmap.model import read_model

    files = dict(colmap_models[kind])
    target = name + (".bin" if kind == "binary" else ".txt")
    files[target] = data.draw(mutated(files[target], text=kind == "text"))
    sparse = tmp_path_factory.mktemp("model")
    for n, content in files.items():
        (sparse / n).write_bytes(content)

    def check(model):
        for view in model.views:
            all_finite(view.intrinsic, view.extrinsic)
        all_finite(model.point_xyz)

    read_or_input_error(lambda: read_model(str(sparse)), check)


# ----------------------------------------------------------------------------- checkpoints

CKPT = os.path.join(FIXTURES, "ckpt_gru", "model.ckpt-100000")


@pytest.fixture(scope="module")
def tensorflow_checkpoint():
    """mvsnet.checkpoint, imported (with TensorFlow) before the first example."""
    from mvsnet import checkpoint

    return checkpoint


@fuzz(max(4, EXAMPLES // 5))
@given(part=st.sampled_from([".index", ".data-00000-of-00001"]), data=st.data())
def test_fuzz_checkpoint(tmp_path_factory, tensorflow_checkpoint, part, data):
    """Fewer examples: each reads a 3 MB checkpoint through TensorFlow."""
    ck = tensorflow_checkpoint

    folder = tmp_path_factory.mktemp("ckpt")
    for suffix in (".index", ".data-00000-of-00001"):
        shutil.copy(CKPT + suffix, str(folder / ("model.ckpt-100000" + suffix)))
    target = folder / ("model.ckpt-100000" + part)
    original = target.read_bytes()
    if part == ".data-00000-of-00001":
        # a few bytes flipped or set to nan inside the float data (a truncation is the other case)
        broken = bytearray(original)
        k = data.draw(st.integers(0, len(broken) - 4))
        choice = data.draw(st.sampled_from(["nan", "flip", "truncate"]))
        if choice == "nan":
            broken[k:k + 4] = b"\x00\x00\xc0\x7f"
        elif choice == "flip":
            broken[k] ^= 0xff
        else:
            del broken[k:]
        broken = bytes(broken)
    else:
        broken = data.draw(mutated(original))
    target.write_bytes(broken)
    read_or_input_error(lambda: ck.read_tf1_checkpoint(str(folder / "model.ckpt-100000"), with_slots=True),
                        lambda tensors: [all_finite(v) for v in tensors.values() if np.asarray(v).dtype.kind == "f"])
