"""From a probability volume to a depth map (MVSNet's soft argmin) and its probability map.

Shapes: prob_volume (B, D, h, w), softmax over D; depths (B, h, w, 1).
"""

import tensorflow as tf


def soft_argmin_depth(prob_volume, depth_start, depth_end, depth_num):
    """Expected depth over ``depth_num`` planes sampled linearly from start to end.

    Args:
        prob_volume: (B, D, h, w) probabilities, summing to 1 over D.
        depth_start, depth_end: (B,) depths of the first and last plane.
        depth_num: D, int or int tensor.
    Returns:
        depth (B, h, w, 1) = sum_d depth_d * p_d.
    """
    samples = tf.linspace(depth_start, depth_end, tf.cast(depth_num, tf.int32), axis=1)
    return tf.reduce_sum(samples[:, :, None, None] * prob_volume, axis=1)[..., None]


def probability_map(prob_volume, depth, depth_start, depth_interval):
    """Sum of the probabilities of the 4 planes around the soft-argmin depth.

    prob_volume (B, D, h, w); depth (B, h, w, 1).  Planes floor-1, floor, ceil, ceil+1,
    each clipped to [0, D-1] (an integral index counts its plane twice, as the original).
    """
    depth_num = tf.shape(prob_volume)[1]
    index = (depth - tf.reshape(depth_start, [-1, 1, 1, 1])) / tf.reshape(depth_interval, [-1, 1, 1, 1])
    index = index[..., 0]
    left0 = tf.clip_by_value(tf.cast(tf.floor(index), tf.int32), 0, depth_num - 1)
    left1 = tf.clip_by_value(left0 - 1, 0, depth_num - 1)
    right0 = tf.clip_by_value(tf.cast(tf.math.ceil(index), tf.int32), 0, depth_num - 1)
    right1 = tf.clip_by_value(right0 + 1, 0, depth_num - 1)
    by_pixel = tf.transpose(prob_volume, [0, 2, 3, 1])           # (B, h, w, D)

    def pick(i):
        return tf.gather(by_pixel, i[..., None], batch_dims=3)[..., 0]

    total = pick(left0) + pick(left1) + pick(right0) + pick(right1)
    return total[..., None]
