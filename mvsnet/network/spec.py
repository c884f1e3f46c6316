"""What the network accepts, as plain constants and checks (no TensorFlow: the CLIs check
their flags with these before TensorFlow loads).

* :data:`REGULARIZATIONS` — ``GRU`` (R-MVSNet) or ``3DCNNs`` (MVSNet);
* :func:`network_multiple` — image sides must be multiples of it;
* :data:`SAMPLE_SCALE` — the depth maps are 1/4 of the network input;
* :func:`check_view_num`, :func:`check_max_size`, :func:`check_max_d` — the checks of the
  ``--view_num``, ``--max_w``/``--max_h`` and ``--max_d`` of every command;
* :class:`Readout` — what the GRU sweep reads off the winning plane (test.py's
  ``--subplane``, ``--prob_window``).
"""

from typing import NamedTuple

from cameras.errors import InputError

REGULARIZATIONS = ("GRU", "3DCNNs")


def check_regularization(regularization):
    """InputError unless ``regularization`` is one of :data:`REGULARIZATIONS` (the check of
    test.py's, train.py's and validate.py's ``--regularization``)."""
    if regularization not in REGULARIZATIONS:
        raise InputError("--regularization must be GRU or 3DCNNs, got %r" % (regularization,))


SAMPLE_SCALE = 0.25


def check_sample_scale(sample_scale):
    """InputError unless ``sample_scale`` is 0.25: the depth maps (and the cameras and
    images that go with them) are always at 1/4 of the network input, because the feature
    towers downsample the images by 4; another value would only mis-scale the cameras.
    Shared by test.py, train.py and validate.py (the original's flag, kept for its name)."""
    if sample_scale != SAMPLE_SCALE:
        raise InputError("--sample_scale must be %g, got %g: the depth maps are always 1/4 of the "
                         "network input because the feature towers downsample the images by 4"
                         % (SAMPLE_SCALE, sample_scale))


def network_multiple(regularization):
    """Image sides must be multiples of this: the feature U-Net halves the image 4 times;
    the 3D U-Net of 3DCNNs halves the 1/4-scale cost volume 3 more times."""
    return 32 if regularization == "3DCNNs" else 16


def check_view_num(view_num):
    """InputError unless ``view_num`` >= 2: the cost volume is the variance across views."""
    if view_num < 2:
        raise InputError("--view_num must be at least 2, got %d (a reference and a source view: the "
                         "cost volume is the variance across views)" % view_num)


def check_max_size(max_w, max_h, least=1):
    """InputError unless ``max_w`` and ``max_h`` are at least ``least`` (1: positive)."""
    if max_w < least or max_h < least:
        raise InputError("--max_w and --max_h must be %s, got %dx%d"
                         % ("positive" if least == 1 else "at least %d" % least, max_w, max_h))


def check_max_d(max_d, least=1, why=None, automatic=False):
    """InputError unless ``max_d`` >= ``least`` (or 0 with ``automatic``: chosen per view);
    ``why`` is said after the value."""
    if automatic and max_d == 0:
        return
    if max_d < least:
        raise InputError("--max_d must be %sat least %d, got %d%s"
                         % ("0 (automatic) or " if automatic else "", least, max_d,
                            " (%s)" % why if why else ""))


class Readout(NamedTuple):
    """What a winner-take-all sweep reads off the winning plane (not in the original, whose
    depth is the winner's plane and whose probability is the winner's alone; the defaults).

    subplane     the winner's plane index moved to the peak of the parabola through the
                 regularised costs (log-probabilities) of the winner and its two neighbours:
                 at most half a plane, none at the first and the last plane; in inverse depth
                 when the planes are.
    prob_window  1: prob = the winner's probability; 3: the sum of the winner's and its two
                 neighbours' (as MVSNet sums four planes around its depth), a confidence
                 that does not halve where the surface lies between two planes.
    """

    subplane: bool = False
    prob_window: int = 1
