"""Validation of a trained model as the original ``mvsnet/validate.py`` (library; the CLI
is validate.py).

    from mvsnet.training import config, validation
    options = config.ValidateConfig(validate_set="dtu", data_root="/data/dtu",
                                    regularization="GRU", max_d=256,
                                    pretrained_model_ckpt_path="MODELS/GRU/model.ckpt",
                                    ckpt_step=100000, validation_result_path="val.txt")
    result = validation.validate(options)

For every sample of the validation list (DTU: the 18 validation scans, lighting 3;
BlendedMVS: validation_list.txt; ETH3D: playground, terrains): every camera gets max_d
planes over its [depth_min, depth_max], the ground truth is masked to the relaxed range,
and the depth map of the network -- 3DCNNs: the soft-argmin training graph
(``inference``); GRU: the winner-take-all sweep, linear or (``inverse_depth``) inverse
depth -- is scored by the regression loss: mean absolute error in intervals (in depth
units with ``inverse_depth``) and the share of pixels within 1 and 3 intervals.  The
averages over the samples are printed and appended to the result file as the original:
``Model check point STEP, L1 loss = ..., < 1 = ..., < 3 = ...``.
"""

import os
import time

import numpy as np
import tensorflow as tf
from absl import logging

from cameras.atomic import write_bytes_atomic
from mvsnet import checkpoint as ck
from mvsnet import checks
from mvsnet import progress
from mvsnet.network import loss as mvs_loss
from mvsnet.training import data
from mvsnet.weights import resolve_checkpoint
from mvsnet.network.model import build_model, depth_range

def _has_refinement(regularization, checkpoint_path):
    """True for a 3DCNNs TF1 checkpoint trained with refinement: the original restored
    such a checkpoint into its refinement-free validation graph (the refinement weights
    are loaded and not used)."""
    if regularization != "3DCNNs" or checkpoint_path.endswith(".weights.h5"):
        return False
    try:
        names = tf.train.load_checkpoint(checkpoint_path).get_variable_to_shape_map()
    except (tf.errors.OpError, ValueError):
        return False          # load_weights reports it
    return any(name.startswith("refine_") for name in names)


def make_evaluator(model, max_d, inverse_depth):
    """tf.function (images, cams, gt) -> per-sample (loss, less_one, less_three), each (B,)."""

    @tf.function          # one trace per batch size (the last batch may be smaller)
    def evaluate(images, cams, gt):
        planes = depth_range(cams)
        depth_start, depth_interval = planes.start, planes.interval
        if model.regularization == "3DCNNs":
            depth, _, _ = model.soft_argmin(images, cams, max_d, depth_start, depth_interval)
        else:
            # inverse depth: up to the cam file's DEPTH_MAX, as the original validate.py
            depth_end = planes.max if inverse_depth else planes.end
            depth, _ = model.winner_take_all(images, cams, planes.num, depth_start, depth_end,
                                             inverse_depth=inverse_depth)
        interval = tf.ones_like(depth_interval) if inverse_depth else depth_interval
        rows = [mvs_loss.mvsnet_regression_loss(depth[b:b + 1], gt[b:b + 1], interval[b:b + 1])
                for b in range(images.shape[0])]
        return tuple(tf.stack([row[k] for row in rows]) for k in range(3))

    return evaluate


def _append_line(path, line):
    """Append a line to a text file (atomically: the file is rewritten and renamed)."""
    old = b""
    if os.path.isfile(path):
        with open(path, "rb") as fh:
            old = fh.read()
    write_bytes_atomic(path, old + line.encode())


def validate(config, warn=logging.warning, out=print):
    """Run the validation; returns {loss, less_one, less_three, samples}."""
    config.check()
    root = config.data_root
    samples = data.sample_list(config.validate_set, root, config.view_num, "validation")
    if samples.warning():
        warn(samples.warning())
    checkpoint_path = resolve_checkpoint(config.pretrained_model_ckpt_path, config.ckpt_step)
    if config.validation_result_path:   # written at the very end: checked before the run
        checks.check_output_file(config.validation_result_path, "--validation_result_path", append=True)
    out("Validation sample number: %d" % len(samples))
    model = build_model(config.regularization,
                        refinement=_has_refinement(config.regularization, checkpoint_path))
    ck.load_weights(model, checkpoint_path)
    out("Pre-trained model restored from %s" % checkpoint_path)
    evaluate = make_evaluator(model, config.max_d, config.inverse_depth)
    errors = data.ItemErrors()
    dataset = data.validation_dataset(samples.samples, config.data_options(), config.batch_size, errors)
    totals = np.zeros(3)
    count = 0
    bar = progress.Progress(len(samples), "validation", unit="sample", log=out)
    try:
        for images, cams, gt in dataset:
            start = time.time()
            try:
                values = [v.numpy() for v in evaluate(images, cams, gt)]
            except (tf.errors.ResourceExhaustedError, MemoryError):
                _, _, h, w, _ = images.shape
                raise checks.out_of_memory(root, (w, h, config.max_d), config.regularization,
                                        "lower --max_d or --batch_size (--max_w/--max_h crop the ETH3D "
                                        "images only)") from None
            duration = time.time() - start
            for b in range(values[0].shape[0]):
                bar.update(line="depth map validation for %d, loss=%.3f, < 1 = %.3f, < 3 = %.3f. "
                           "(%.3f sec/step)" % (count, values[0][b], values[1][b], values[2][b],
                                                duration))
                totals += [float(v[b]) for v in values]
                count += 1
    finally:
        bar.close()
    errors.check()
    averages = totals / max(count, 1)
    out("ave_loss %s" % averages[0])
    out("ave_per1 %s" % averages[1])
    out("ave_per3 %s" % averages[2])
    if config.validation_result_path:
        _append_line(config.validation_result_path,
                     "Model check point %d, L1 loss = %f, < 1 = %f, < 3 = %f \n"
                     % (int(config.ckpt_step), averages[0], averages[1], averages[2]))
    return {"loss": float(averages[0]), "less_one": float(averages[1]),
            "less_three": float(averages[2]), "samples": count}
