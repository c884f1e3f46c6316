"""The variance cost volume (paper Sec. 3.1, "cost volume"): one cost map per depth plane.

Features of the source views are warped into the reference view by the plane-sweep
homographies (:mod:`mvsnet.network.homography`); the cost is their variance across views.
"""

import tensorflow as tf

from mvsnet.network.homography import warp_planes


def variance_cost(ref_feature, warped_features, memory_saving=False):
    """Variance metric over views (ref included), (B, H, W, C): E[f^2] - E[f]^2.

    The same value rounded two ways, as the original: ``sum(f^2)/V - (sum(f)/V)^2``
    (``inference``, ``inference_*_recurrent``, ``inference_winner_take_all``), or with
    ``memory_saving`` ``sum(f^2)/V - sum(f)^2/V^2`` (``inference_mem``, test.py's 3DCNNs).
    """
    view_num = 1 + len(warped_features)
    total = ref_feature
    total2 = tf.square(ref_feature)
    for warped in warped_features:
        total = total + warped
        total2 = total2 + tf.square(warped)
    if memory_saving:
        return total2 / view_num - tf.square(total) / (view_num * view_num)
    return total2 / view_num - tf.square(total / view_num)


@tf.function(jit_compile=True, autograph=False)
def variance_cost_planes(ref_feature, src_features, homographies):
    """Variance costs of a chunk of K depth planes, warps included, in one XLA-compiled
    function (the fast inference path): ref_feature (B, H, W, C), src_features a list of
    (B, H, W, C), homographies a list of (B, K, 3, 3) (one per source view).
    Returns (B, K, H, W, C); the formula of :func:`variance_cost` (not ``memory_saving``),
    with the warps of :func:`mvsnet.network.homography.warp_planes`."""
    warped = [warp_planes(f, h) for f, h in zip(src_features, homographies)]
    return variance_cost(ref_feature[:, None], warped)
