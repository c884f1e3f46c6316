"""Load the ORIGINAL R-MVSNet code (github YoYo000/MVSNet, TF1, Python 2) under TensorFlow 2.

A developer tool of this project (see README.md here): it runs in its own virtual environment
(make_venv.sh), never in the project's, and nothing of the original is stored in this
repository. The original files are read at run time from a USER-SUPPLIED copy of the original
repository (``--orig_repo PATH`` or env ``ORIG_REPO``): a git clone work tree (files read as
they are on disk) or a bare / mirror git directory (files read with ``git show HEAD:PATH``).
They are patched in memory, written to a private temporary folder and imported from there.

Every patch is listed in :data:`PATCHES` with the reason it is needed; each must apply exactly
as often as listed, so a different revision of the original fails loudly instead of running
half-patched. Beyond the text patches, ``tf`` in the original files is :data:`tf` below:
``tf.compat.v1`` plus the ``tf.contrib`` pieces the original uses.
"""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
import types

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")   # tf.compat.v1.layers needs Keras 2 (tf-keras)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# The graph code of the original: what the models, losses and test.py import.
GRAPH_FILES = [
    "cnn_wrapper/__init__.py", "cnn_wrapper/network.py", "cnn_wrapper/mvsnet.py",
    "tools/__init__.py", "tools/common.py",
    "mvsnet/convgru.py", "mvsnet/homography_warping.py", "mvsnet/model.py", "mvsnet/loss.py",
    "mvsnet/preprocess.py", "mvsnet/test.py",
]

_PY2_DIV = "Python 2 integer division: `/` of two ints (or of a TF1 Dimension) is floor division"
_SHIM_TF = "tf is tf.compat.v1 plus the tf.contrib pieces the original uses (see _TF below)"
_PFM_BINARY = ("load_pfm decodes bytes: Python 2's open() returned bytes, Python 3's text mode "
               "returns str, so the PFM is opened in binary mode")

# {file: [(old, new, times, why)]}; "*" applies to every file loaded (times: any).
PATCHES = {
    "*": [
        ("import tensorflow as tf", "from _orig_tf_shim import tf", None, _SHIM_TF),
    ],
    "cnn_wrapper/network.py": [
        ("C / group_channel", "C // group_channel", 2, _PY2_DIV + " (group count of group norm)"),
        ("basestring", "str", 1, "`basestring` does not exist in Python 3"),
    ],
    "mvsnet/convgru.py": [
        ("C / group_channel", "C // group_channel", 1, _PY2_DIV + " (group count of group norm)"),
    ],
    "mvsnet/model.py": [
        ("FLAGS.max_h / 4", "FLAGS.max_h // 4", 1, _PY2_DIV + " (feature map size)"),
        ("FLAGS.max_w / 4", "FLAGS.max_w // 4", 1, _PY2_DIV + " (feature map size)"),
        ("FLAGS.max_h/4", "FLAGS.max_h//4", 2, _PY2_DIV + " (GRU state shape)"),
        ("FLAGS.max_w/4", "FLAGS.max_w//4", 2, _PY2_DIV + " (GRU state shape)"),
    ],
    "mvsnet/preprocess.py": [
        ("math.ceil((h - new_h) / 2)", "math.ceil((h - new_h) // 2)", 1,
         _PY2_DIV + ": the centred crop starts at floor(excess / 2), the ceil is a no-op"),
        ("math.ceil((w - new_w) / 2)", "math.ceil((w - new_w) // 2)", 1,
         _PY2_DIV + ": the centred crop starts at floor(excess / 2), the ceil is a no-op"),
        (".tostring()", ".tobytes()", 1, "ndarray.tostring was removed from NumPy (same bytes)"),
        ("np.fromstring(", "np.frombuffer(", 1, "np.fromstring on binary data was removed from NumPy"),
    ],
    "mvsnet/test.py": [
        ("import cv2\n", "import cv2\nimport _orig_io\n", 1, "the scipy.misc stand-ins below"),
        ("scipy.misc.imread(image_file, mode='RGB')", "_orig_io.imread(image_file)", 2,
         "scipy.misc.imread was removed from SciPy (stand-in: imageio, RGB)"),
        ("scipy.misc.imsave(image_file, out_ref_image)", "_orig_io.imsave(image_file, out_ref_image)", 1,
         "scipy.misc.imsave was removed from SciPy (stand-in: imageio, bytescaled as scipy did)"),
    ],
    "mvsnet/depthfusion.py": [
        ("import pylab as plt\n", "", 1, "pylab (matplotlib) is imported but never used"),
        ("load_pfm(open(in_path))", "load_pfm(open(in_path, 'rb'))", 1, _PFM_BINARY),
        ("load_pfm(open(init_depth_map_path))", "load_pfm(open(init_depth_map_path, 'rb'))", 1, _PFM_BINARY),
        ("load_pfm(open(prob_map_path))", "load_pfm(open(prob_map_path, 'rb'))", 1, _PFM_BINARY),
    ],
    "mvsnet/colmap2mvsnet.py": [],   # np.asscalar is restored instead (run_colmap2mvsnet.py)
}


class HarnessError(Exception):
    """A problem with the harness's input: printed as one line ``error: PATH: problem``."""

    def __init__(self, path, problem):
        super().__init__("%s: %s" % (path, problem))


def main_guard(main):
    """Run ``main()``; HarnessError -> one line on stderr, exit 1.

    Any other exception (raised inside the original code) is reported as one line too;
    set HARNESS_TRACEBACK=1 to see the whole traceback.
    """
    try:
        return main()
    except HarnessError as err:
        print("error: %s" % err, file=sys.stderr)
        sys.exit(1)
    except Exception as err:  # noqa: BLE001 - a developer tool: one line, traceback on request
        if os.environ.get("HARNESS_TRACEBACK"):
            traceback.print_exc()
        frame = traceback.extract_tb(err.__traceback__)[-1]
        print("error: %s:%d: %s: %s (HARNESS_TRACEBACK=1 shows the traceback)"
              % (frame.filename, frame.lineno, type(err).__name__, str(err).strip().splitlines()[0]
                 if str(err).strip() else ""), file=sys.stderr)
        sys.exit(1)


# ---------------------------------------------------------------- the original repository

class OriginalRepo:
    """A copy of YoYo000/MVSNet: a work tree (files on disk) or a git directory (HEAD)."""

    def __init__(self, path):
        if not path:
            raise HarnessError("--orig_repo", "give the path of a clone of github.com/YoYo000/MVSNet "
                                              "(or set ORIG_REPO)")
        self.path = os.path.abspath(path)
        if not os.path.isdir(self.path):
            raise HarnessError(path, "no such folder (expected a clone of YoYo000/MVSNet)")
        self.work_tree = os.path.isfile(os.path.join(self.path, "mvsnet", "model.py"))
        if not self.work_tree and self._git("rev-parse", "--git-dir") is None:
            raise HarnessError(path, "neither a work tree of YoYo000/MVSNet (no mvsnet/model.py) "
                                     "nor a git directory")
        if not self.work_tree and self._git("cat-file", "-e", "HEAD:mvsnet/model.py") is None:
            raise HarnessError(path, "a git directory without mvsnet/model.py at HEAD "
                                     "(not YoYo000/MVSNet?)")

    def _git(self, *args):
        run = subprocess.run(["git", "-C", self.path] + list(args), capture_output=True, text=True)
        return run.stdout if run.returncode == 0 else None

    def commit(self):
        """HEAD commit (+ '-dirty' for a modified work tree), or 'unknown' outside git."""
        head = self._git("rev-parse", "HEAD")
        if head is None:
            return "unknown"
        dirty = self.work_tree and self._git("status", "--porcelain", "--untracked-files=no", "--",
                                             *PATCHES_FILES)
        return head.strip() + ("-dirty" if dirty else "")

    def read(self, rel):
        if self.work_tree:
            path = os.path.join(self.path, rel)
            if not os.path.isfile(path):
                raise HarnessError(path, "missing in the original repository")
            with open(path, encoding="utf-8") as fh:
                return fh.read()
        text = self._git("show", "HEAD:" + rel)
        if text is None:
            raise HarnessError(self.path, "HEAD has no %s" % rel)
        return text


PATCHES_FILES = sorted(set(GRAPH_FILES) | {f for f in PATCHES if f != "*"})


def patch(rel, text):
    """The patched text of the original file ``rel`` (every listed patch must apply)."""
    for old, new, times, _ in PATCHES["*"] + PATCHES.get(rel, []):
        found = text.count(old)
        if times is not None and found != times:
            raise HarnessError(rel, "patch %r expected %d time(s), found %d (another revision of "
                                    "the original? see tools/original/README.md)" % (old, times, found))
        text = text.replace(old, new)
    return text


def repo_from_argv(argv):
    """Remove ``--orig_repo PATH`` / ``--orig_repo=PATH`` from argv (else env ORIG_REPO)."""
    rest, path = [], os.environ.get("ORIG_REPO", "")
    i = 0
    while i < len(argv):
        if argv[i] == "--orig_repo":
            if i + 1 >= len(argv):
                raise HarnessError("--orig_repo", "needs a path")
            path = argv[i + 1]
            i += 2
            continue
        if argv[i].startswith("--orig_repo="):
            path = argv[i].split("=", 1)[1]
        else:
            rest.append(argv[i])
        i += 1
    return OriginalRepo(path), rest


# ---------------------------------------------------------------- TF1 / SciPy stand-ins

import tensorflow.compat.v1 as _tf  # noqa: E402
import tf_slim  # noqa: E402

_tf.logging.set_verbosity(_tf.logging.ERROR)   # TF's deprecation chatter; errors still show
_tf.disable_v2_behavior()


def _transform(images, transforms, interpolation="NEAREST", output_shape=None, name=None):
    """tf.contrib.image.transform: ImageProjectiveTransformV2/V3 with zero fill."""
    if output_shape is None:
        output_shape = _tf.shape(images)[1:3]
    return _tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=output_shape,
        fill_value=0.0, interpolation=interpolation.upper(), fill_mode="CONSTANT")


class _TF(types.ModuleType):
    """``tf`` of the original files: tf.compat.v1 with tf.contrib and tf.app.flags."""

    def __getattr__(self, name):
        return getattr(_tf, name)


# Graph-level callers (make_reference, make_ckpt, ...) set these instead of command-line flags.
FLAGS = types.SimpleNamespace(view_num=3, max_h=128, max_w=160, batch_size=1, max_d=32)

tf = _TF("tf")
tf.contrib = types.SimpleNamespace(
    # tf.contrib.layers -> tf_slim (the same implementations, moved out of TF)
    layers=types.SimpleNamespace(layer_norm=tf_slim.layer_norm,
                                 instance_norm=tf_slim.instance_norm,
                                 l2_regularizer=tf_slim.l2_regularizer),
    # ConvGRUCell subclasses RNNCell but is only ever called directly (never through an RNN
    # wrapper), so a plain base class is enough
    rnn=types.SimpleNamespace(RNNCell=object),
    image=types.SimpleNamespace(transform=_transform),
)
tf.app = types.SimpleNamespace(flags=types.SimpleNamespace(FLAGS=FLAGS))
sys.modules["_orig_tf_shim"] = types.SimpleNamespace(tf=tf)


class _IO:
    """scipy.misc.imread / imsave stand-ins (removed from SciPy)."""

    @staticmethod
    def imread(f):
        import imageio.v2 as iio
        return iio.imread(f.name, pilmode="RGB")

    @staticmethod
    def imsave(f, arr):
        import imageio.v2 as iio
        import numpy as np
        name = f.name
        f.close()
        if arr.dtype != np.uint8:  # scipy.misc.imsave bytescaled floats to min..max
            lo, hi = float(arr.min()), float(arr.max())
            arr = ((arr - lo) * (255.0 / max(hi - lo, 1e-12)) + 0.5).clip(0, 255).astype(np.uint8)
        iio.imwrite(name, arr, format="jpg")


sys.modules["_orig_io"] = _IO


# ---------------------------------------------------------------- loading

def materialize(repo, extra_files=(), real_flags=False):
    """Write the patched original files to a temporary folder (removed at exit), put it on
    sys.path and return it. With ``real_flags`` the original's tf.app.flags are the real
    (absl) flags, as its scripts need; otherwise FLAGS is the namespace above."""
    if real_flags:
        tf.app = _tf.app
    root = tempfile.mkdtemp(prefix="orig_mvsnet_")
    atexit.register(shutil.rmtree, root, True)
    for rel in list(GRAPH_FILES) + list(extra_files):
        text = patch(rel, repo.read(rel))
        os.makedirs(os.path.join(root, os.path.dirname(rel)), exist_ok=True)
        with open(os.path.join(root, rel), "w", encoding="utf-8") as fh:
            fh.write(text)
    sys.path[:0] = [os.path.join(root, "mvsnet"), root]
    print("original: %s @ %s" % (repo.path, repo.commit()), file=sys.stderr)
    return root


def load(repo=None):
    """The original ``model`` and ``loss`` modules (mvsnet/model.py, mvsnet/loss.py).

    ``repo``: an OriginalRepo or a path; default env ORIG_REPO."""
    if not isinstance(repo, OriginalRepo):
        repo = OriginalRepo(repo if repo is not None else os.environ.get("ORIG_REPO", ""))
    materialize(repo)
    import model  # noqa: E402  (the original mvsnet/model.py)
    import loss  # noqa: E402
    return model, loss


def absolute_paths(argv, flags):
    """``--flag PATH`` / ``--flag=PATH`` made absolute (the original scripts run from a
    temporary folder)."""
    out = list(argv)
    for i, arg in enumerate(out):
        for flag in flags:
            if arg.startswith(flag + "="):
                out[i] = flag + "=" + os.path.abspath(arg.split("=", 1)[1])
            elif arg == flag and i + 1 < len(out):
                out[i + 1] = os.path.abspath(out[i + 1])
    return out


def flag_value(argv, flag, default=None):
    """The last value of ``--flag X`` / ``--flag=X`` in argv."""
    value = default
    for i, arg in enumerate(argv):
        if arg.startswith(flag + "="):
            value = arg.split("=", 1)[1]
        elif arg == flag and i + 1 < len(argv):
            value = argv[i + 1]
    return value


def need_dense_folder(folder):
    """A dense folder as the original test.py / depthfusion.py read it."""
    if not folder:
        raise HarnessError("--dense_folder", "required")
    for rel, is_dir in (("", True), ("images", True), ("cams", True), ("pair.txt", False)):
        path = os.path.join(folder, rel) if rel else folder
        if not (os.path.isdir(path) if is_dir else os.path.isfile(path)):
            raise HarnessError(path, "missing (a dense folder has images/, cams/ and pair.txt)")


def need_checkpoint(prefix):
    if not os.path.isfile(prefix + ".index"):
        raise HarnessError(prefix, "no checkpoint there (missing %s.index)" % os.path.basename(prefix))


def run_script(root, rel, argv):
    """Run the patched original script ROOT/REL as __main__ from its own folder."""
    import runpy
    path = os.path.join(root, rel)
    os.chdir(os.path.dirname(path))
    sys.argv = [path] + list(argv)
    runpy.run_path(path, run_name="__main__")


def replace_atomically(write, path):
    """Call ``write(tmp_path)`` for a temporary name beside PATH, then rename it to PATH."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", dir=folder)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
