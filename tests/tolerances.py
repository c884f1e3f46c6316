"""How the tests compare NETWORK float outputs with fixtures written on another machine.

The oracle fixtures (tests/fixtures/orig_test_*, ref_*.npz, blocks/) were written by
TensorFlow on one x86-64 CPU. On another CPU, or with oneDNN on or off, TensorFlow picks
other kernels (oneDNN ISA, thread split of reductions), so float outputs differ in their
last bits and a winner-take-all argmax can flip where two depth planes nearly tie (random
weights give flat probability volumes). Byte equality is kept for what the project's own
writers compute from the same arrays with exact arithmetic: file names and layout, the
``.txt`` files of test.py, and the PFM / cam / pair writers. The ``.jpg`` of test.py passes
through OpenCV's float resize and the JPEG codec of Pillow (third-party code whose SIMD paths
and versions change): its decoded pixels are compared within ``JPG_ATOL``. Every network output is compared with the helpers here,
and only here.

Calibration (scene_tiny, fixture checkpoints, test.py --view_num 3 on all 5 views, i.e.
6400 pixels per run; the ORIGINAL test.py through the oracle harness and this port, each
with oneDNN on, oneDNN off (TF_ENABLE_ONEDNN_OPTS=0), oneDNN limited to AVX2
(ONEDNN_MAX_CPU_ISA=AVX2) and 8 intra-op threads, compared with the fixtures, which were
written on another AMD EPYC generation):

* the port equals the original byte for byte in every one of these settings;
* GRU (winner-take-all): at most 1 pixel of 1280 per view changes its depth (a flip to
  the neighbouring plane, 0.71 depth intervals); probabilities within 1.1e-6 (2e-5 relative);
* 3DCNNs (soft argmin): depths within 3.8e-6 relative (2.2e-4 depth intervals);
  probabilities within 1.6e-5, except at pixels whose depth index lies within 6e-6 of an
  integer: the 4-plane probability sum then takes other planes (jumps of up to 4.9e-3);
* graph references (ref_*.npz vs tools/parity.py outputs, and the original graph rerun with
  make_reference.py): probability volumes and maps within 7.2e-6, depths within 4.5e-6
  relative, losses and metrics equal; gradients within 1.5e-4 of their max magnitude
  (typically 1e-5), except d loss / d ``2dconv0_1/kernel`` (the first convolution,
  ill-conditioned with random weights): 1.5e-3 (GRU, oneDNN on), 2.8e-3 (GRU, off),
  4.3e-3 (3DCNNs, off);
* blocks/ (UniNetDS2, UniNetDS2GN, depth_refine): within 2.4e-6 of their max magnitude.

The tolerances below leave a margin of 4.5x or more over those numbers, and still reject
real bugs by far (tests/test_inference.py::test_tolerances_reject_real_bugs: RGB instead of
BGR input, a half-pixel shift of the principal point or of the warp leave only 11-73 % of
the GRU depth pixels equal and move probabilities by 8e-3 to 3.7e-2).
"""

import os

import numpy as np

from cameras.camfile import read_cam
from cameras.pfm import read_pfm

# depth maps -------------------------------------------------------------------------------
DEPTH_RTOL = 1e-4
"""A depth pixel is "the same" within this relative error (measured: 3.8e-6, soft argmin)."""
DEPTH_SAME_SHARE = 0.99
"""Share of depth pixels that must be the same (measured: >= 99.92 % per 1280-pixel view).
The others are winner-take-all flips between nearly tied planes. They are NOT bounded by a
few intervals: in the GRU volumes of scene_tiny, 52 of 6400 pixels have their two best planes
within 1e-4 relative, and 4 of those are 2 to 24 planes apart. A flipped pixel must still lie
within the sampled depth range, and its probability still passes the probability check."""

# probability maps and volumes ---------------------------------------------------------------
PROB_ATOL = 1e-4
"""Absolute error of probabilities (measured: 1.6e-5, 3DCNNs; 1.1e-6, GRU). Same as
tools/parity.py. Probabilities of random-weight models are 0.03 to 0.3."""
PLANE_EDGE = 1e-3
"""3DCNNs' probability map sums the 4 planes around floor/ceil of the soft-argmin depth
index: pixels whose reference index lies within this many depth intervals of an integer
(5x the measured depth noise, 2.2e-4 intervals) may take other planes; their probability
is not compared (7 of 6400 pixels in the calibration)."""

# the 1/4-scale reference image of test.py ----------------------------------------------------
JPG_ATOL = 2
"""Decoded ``%08d.jpg`` pixels agree within this many grey levels (of 255). Calibration: the
jpg of scene_tiny re-encoded after 5 random input values moved by one level (what a last-bit
change of the float resize can do through the bytescale's rounding), 50 times: no decoded pixel
changed; RGB instead of BGR input changes them by tens of levels."""

# graph references, training path -------------------------------------------------------------
SCALAR_RTOL = 1e-4
"""Loss and metrics (measured: equal)."""
GRAD_RTOL = 1e-3
"""max |error| / max |reference| of a gradient (measured: 1.5e-4). Same as tools/parity.py."""
ILL_CONDITIONED_GRAD_RTOL = 2e-2
"""The same for gradients of the first convolution, ``2dconv0_1/kernel`` (measured: 4.3e-3);
with random weights it moves by ~1.5e-3 under 1e-6 relative input noise."""
ILL_CONDITIONED_GRADS = ("2dconv0_1/kernel",)
FEATURE_RTOL = 1e-4
"""max |error| / max |reference| of feature maps and refined depths (blocks/; measured 2.4e-6)."""


def _depth_range(cam):
    """(start, interval, last plane) of a camera as the network samples it."""
    start, interval, num = float(cam.depth_min), float(cam.depth_interval), int(round(cam.depth_num))
    return start, interval, start + (num - 1) * interval


def depth_problems(ours, ref, cam):
    """Why the depth map ``ours`` is not ``ref`` up to float noise ([] when it is).

    cam: the reference camera (cameras.camera.Camera) giving the depth range."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    if ours.shape != ref.shape:
        return ["shape %s, expected %s" % (ours.shape, ref.shape)]
    if not np.all(np.isfinite(ours)):
        return ["%d non-finite depths" % np.sum(~np.isfinite(ours))]
    same = np.abs(ours - ref) <= DEPTH_RTOL * np.abs(ref)
    problems = []
    if same.mean() < DEPTH_SAME_SHARE:
        problems.append("only %.2f%% of depth pixels within %g relative (need %g%%)"
                        % (100 * same.mean(), DEPTH_RTOL, 100 * DEPTH_SAME_SHARE))
    start, interval, last = _depth_range(cam)
    slack = DEPTH_RTOL * max(abs(start), abs(last))
    outside = ~same & ((ours < min(start, last) - slack) | (ours > max(start, last) + slack))
    if outside.any():
        problems.append("%d differing depths outside the range %g..%g" % (outside.sum(), start, last))
    return problems


def prob_problems(ours, ref, plane_index=None):
    """Why the probabilities ``ours`` are not ``ref`` up to float noise ([] when they are).

    plane_index: for a 4-plane probability map (3DCNNs), the reference depth map as a
    plane index (depth - start) / interval; pixels within PLANE_EDGE of an integer are
    not compared."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    if ours.shape != ref.shape:
        return ["shape %s, expected %s" % (ours.shape, ref.shape)]
    err = np.abs(ours - ref)
    err[~np.isfinite(err)] = np.inf
    if plane_index is not None:
        index = np.asarray(plane_index, np.float64).reshape(ref.shape)
        err[np.abs(index - np.round(index)) <= PLANE_EDGE] = 0
    if err.max() > PROB_ATOL:
        return ["probabilities off by up to %.3g (> %g) at %d pixels"
                % (err.max(), PROB_ATOL, np.sum(err > PROB_ATOL))]
    return []


def map_problems(depth, prob, ref_depth, ref_prob, cam, regularization):
    """Depth and probability maps of one view vs the reference ones ([] when they match).

    regularization: "GRU" (winner-take-all probability) or "3DCNNs" (4-plane sum)."""
    index = None
    if regularization == "3DCNNs":
        start, interval, _ = _depth_range(cam)
        index = (np.asarray(ref_depth, np.float64) - start) / interval
    return (["depth: " + p for p in depth_problems(depth, ref_depth, cam)]
            + ["prob: " + p for p in prob_problems(prob, ref_prob, index)])


def jpg_problems(ours, ref):
    """Decoded pixels of two JPEG files: same shape, within ``JPG_ATOL`` levels."""
    import imageio.v2 as iio

    a, b = (np.asarray(iio.imread(p), np.int16) for p in (ours, ref))
    if a.shape != b.shape:
        return ["shape %s, expected %s" % (a.shape, b.shape)]
    worst = int(np.abs(a - b).max()) if a.size else 0
    return ["decoded pixels differ by up to %d levels" % worst] if worst > JPG_ATOL else []


def output_problems(out_dir, ref_dir, names, regularization):
    """test.py output files ``names`` in ``out_dir`` vs the reference ones in ``ref_dir``.

    ``%08d.txt``: byte for byte; ``%08d.jpg``: decoded pixels within ``JPG_ATOL``; ``%08d_init.pfm`` / ``%08d_prob.pfm``: the
    map checks above, with the depth range of the reference ``%08d.txt``."""
    problems = []
    for name in names:
        ours, ref = os.path.join(str(out_dir), name), os.path.join(str(ref_dir), name)
        if name.endswith("_prob.pfm"):
            continue  # compared with its depth map
        if name.endswith("_init.pfm"):
            view = name[:-len("_init.pfm")]
            cam = read_cam(os.path.join(str(ref_dir), view + ".txt"))
            found = map_problems(read_pfm(ours), read_pfm(os.path.join(str(out_dir), view + "_prob.pfm")),
                                 read_pfm(ref), read_pfm(os.path.join(str(ref_dir), view + "_prob.pfm")),
                                 cam, regularization)
            problems += ["%s: %s" % (view, p) for p in found]
        elif name.endswith(".jpg"):
            problems += ["%s: %s" % (name, p) for p in jpg_problems(ours, ref)]
        else:
            with open(ours, "rb") as a, open(ref, "rb") as b:
                if a.read() != b.read():
                    problems.append("%s: bytes differ" % name)
    return problems


def assert_outputs_match(out_dir, ref_dir, names, regularization):
    problems = output_problems(out_dir, ref_dir, names, regularization)
    assert not problems, "\n".join(problems)


def assert_maps_match(depth, prob, ref_depth, ref_prob, cam, regularization):
    problems = map_problems(depth, prob, ref_depth, ref_prob, cam, regularization)
    assert not problems, "\n".join(problems)


def relative_error(got, want):
    """max |got - want| / max |want|."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.abs(got.reshape(want.shape) - want).max() / max(np.abs(want).max(), 1e-30))


def assert_grad_close(name, got, want):
    """A gradient (TF1 variable ``name``) vs the original graph's."""
    bound = ILL_CONDITIONED_GRAD_RTOL if name in ILL_CONDITIONED_GRADS else GRAD_RTOL
    rel = relative_error(got, want)
    assert rel <= bound, "gradient of %s off by %.3g of its max magnitude (> %g)" % (name, rel, bound)


def assert_scalar_close(name, got, want):
    got, want = float(got), float(want)
    assert abs(got - want) <= SCALAR_RTOL * abs(want), "%s: %r, expected %r" % (name, got, want)


def assert_features_close(got, want):
    """Feature maps or refined depths vs the original graph's, relative to their magnitude."""
    rel = relative_error(got, want)
    assert rel <= FEATURE_RTOL, "off by %.3g of the max magnitude (> %g)" % (rel, FEATURE_RTOL)
