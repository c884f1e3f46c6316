"""Losses and accuracies of the original ``mvsnet/loss.py``.

Depth maps are (B, h, w, 1); a ground-truth depth of 0 marks an invalid pixel.
Intervals are (B,).
"""

import tensorflow as tf


def _interval_image(interval, like):
    return tf.reshape(tf.convert_to_tensor(interval, tf.float32), [-1, 1, 1, 1]) * tf.ones_like(like)


def masked_mae(gt_depth, depth, interval):
    """Mean absolute error over valid pixels, in units of the interval, summed over the batch."""
    mask = tf.cast(tf.not_equal(gt_depth, 0.0), tf.float32)
    denom = tf.reduce_sum(mask, axis=[1, 2, 3]) + 1e-7
    abs_error = tf.reduce_sum(tf.abs(mask * (gt_depth - depth)), axis=[1, 2, 3])
    return tf.reduce_sum((abs_error / tf.reshape(interval, [-1])) / denom)


def less_than_percentage(gt_depth, depth, interval, threshold):
    """Share of valid pixels whose error is at most ``threshold`` intervals."""
    mask = tf.cast(tf.not_equal(gt_depth, 0.0), tf.float32)
    denom = tf.reduce_sum(mask) + 1e-7
    abs_diff = tf.abs(gt_depth - depth) / _interval_image(interval, gt_depth)
    hits = mask * tf.cast(tf.less_equal(abs_diff, threshold), tf.float32)
    return tf.reduce_sum(hits) / denom


def mvsnet_regression_loss(depth, gt_depth, depth_interval):
    """3DCNNs loss: (masked MAE, <1 interval accuracy, <3 interval accuracy)."""
    return (masked_mae(gt_depth, depth, depth_interval),
            less_than_percentage(gt_depth, depth, depth_interval, 1.0),
            less_than_percentage(gt_depth, depth, depth_interval, 3.0))


def mvsnet_classification_loss(prob_volume, gt_depth, depth_num, depth_start, depth_interval):
    """R-MVSNet loss: masked cross entropy of the probability volume against the one-hot
    ground-truth plane, plus the winner-take-all depth and its MAE, <1, <3 accuracies.

    prob_volume (B, D, h, w, 1).  Returns (loss, mae, less_one, less_three, wta_depth).
    """
    mask = tf.cast(tf.not_equal(gt_depth, 0.0), tf.float32)
    valid = tf.reduce_sum(mask, axis=[1, 2, 3]) + 1e-7
    start = _interval_image(depth_start, gt_depth)
    interval = _interval_image(depth_interval, gt_depth)
    # 1. ground-truth plane index -> one-hot volume (B, D, h, w, 1)
    gt_index = tf.cast(tf.round(mask * ((gt_depth - start) / interval)), tf.int32)
    gt_volume = tf.one_hot(gt_index, depth_num, axis=1)
    # 2. masked cross entropy
    cross_entropy = -tf.reduce_sum(gt_volume * tf.math.log(prob_volume), axis=1)
    loss = tf.reduce_sum(tf.reduce_sum(mask * cross_entropy, axis=[1, 2, 3]) / valid)
    # 3. winner-take-all depth and its accuracy
    wta_index = tf.cast(tf.argmax(prob_volume, axis=1), tf.float32)
    wta_depth = wta_index * interval + start
    abs_interval = tf.abs(tf.convert_to_tensor(depth_interval, tf.float32))
    mae, less_one, less_three = mvsnet_regression_loss(wta_depth, gt_depth, abs_interval)
    return loss, mae, less_one, less_three, wta_depth
