"""The training loop of the original ``mvsnet/train.py`` (library; the CLI is train.py).

    from mvsnet.training import config, loop
    summary = loop.train(config.TrainConfig(dataset="dtu", data_root="/data/dtu", max_d=128))

What it does, as the original:

* the sample list of the dataset, shuffled once, cycled; ``epoch`` passes of
  len(samples) items (x2 for GRU, whose every sample comes a second time with the depth
  order reversed) in steps of ``batch_size`` items per device;
* one RMSProp step per batch (:class:`mvsnet.training.step.TrainStep`), learning rate
  ``base_lr * gamma ** (global_step / stepvalue)``;
* a progress line every ``display`` steps and TensorBoard scalars ``loss``,
  ``less_one_accuracy``, ``less_three_accuracy``, ``lr`` every ``10 * display`` steps in
  ``log_folder``;
* snapshots ``model_folder/<regularization>/model.ckpt-<global_step>`` (TF1 layout with
  RMSProp slots and global_step) every ``snapshot`` steps and at the end of each epoch;
* ``use_pretrain``: start from ``model_folder/<regularization>/model.ckpt-<ckpt_step>``
  (weights, RMSProp slots and global_step; ours or the original's), then train ``epoch``
  epochs.

Beyond the original: several devices with a ``tf.distribute`` strategy
(:func:`make_strategy`: MirroredStrategy for ``num_gpus > 1``, MultiWorkerMirroredStrategy
with ``multi_worker``), missing scans skipped with one warning, snapshots named after the
global step they hold (the original named them after the step before the update:
its model.ckpt-0 held one update).
"""

import os
import random
import time

import tensorflow as tf
from absl import logging

from cameras.errors import InputError
from mvsnet import checkpoint as ck
from mvsnet import checks
from mvsnet.training import step as train_step
from mvsnet import progress
from mvsnet.training import data
from mvsnet.weights import checkpoints_in
from mvsnet.network.model import build_model


def make_strategy(num_gpus=1, multi_worker=False):
    """The distribution strategy: MultiWorkerMirroredStrategy (cluster from TF_CONFIG) when
    ``multi_worker``, MirroredStrategy over GPUs 0..num_gpus-1 when num_gpus > 1, else the
    default (one device)."""
    if multi_worker:
        return tf.distribute.MultiWorkerMirroredStrategy()
    if num_gpus > 1:
        gpus = tf.config.list_physical_devices("GPU")
        if len(gpus) < num_gpus:
            raise InputError("--num_gpus %d but %d GPU%s visible" % (num_gpus, len(gpus),
                                                                      "" if len(gpus) == 1 else "s"))
        return tf.distribute.MirroredStrategy(devices=["/gpu:%d" % i for i in range(num_gpus)])
    return tf.distribute.get_strategy()


def is_chief(strategy):
    """True on the worker that writes snapshots and summaries."""
    if not _multi_worker(strategy):
        return True
    resolver = strategy.cluster_resolver
    jobs = resolver.cluster_spec().as_dict()
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type == "chief":
        return True
    return task_type == "worker" and task_id == 0 and "chief" not in jobs


def _multi_worker(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    return bool(resolver is not None and resolver.cluster_spec().as_dict())


def _barrier(strategy):
    """Every worker returns once all have reached it (an all-reduce of a constant)."""

    @tf.function
    def reduce_one():
        ones = strategy.run(lambda: tf.constant(1.0))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, ones, axis=None)

    reduce_one()


def write_scalars(writer, step, values):
    """TensorBoard scalar summaries (the 'scalars' plugin's layout), without needing the
    tensorboard package: ``tf.summary.write`` with the plugin's metadata."""
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
    with writer.as_default(step=step):
        for tag, value in values.items():
            tf.summary.write(tag, tf.constant(value, tf.float32), metadata=metadata.SerializeToString())
    writer.flush()


def _next_batch(iterator, errors):
    try:
        return next(iterator)
    except (StopIteration, tf.errors.OutOfRangeError):
        errors.check()
        raise RuntimeError("the training input pipeline ended unexpectedly") from None


def _check_pretrained(config):
    """InputError unless --use_pretrain has its snapshot (checked before the model is built)."""
    prefix = train_step.snapshot_prefix(config.model_folder, config.regularization, config.ckpt_step)
    if not ck.checkpoint_exists(prefix):
        found = checkpoints_in(config.snapshot_folder())
        raise InputError("--use_pretrain: no snapshot there: missing %s.index (the snapshot read is "
                         "--model_folder/<regularization>/model.ckpt-<--ckpt_step>)%s"
                         % (os.path.basename(prefix), " (found: %s; --ckpt_step picks the number)"
                            % ", ".join(found[:5]) if found else ""), prefix)
    return prefix


def _oom_error(config, batch):
    """The one-line error of a training step that did not fit in memory, at the size of
    the batch (images B, V, H, W, 3) and with the flags that lower it."""
    images = batch[0]
    values = getattr(images, "values", None)         # per-replica values of a distributed batch
    shape = (values[0] if values else images).shape
    advice = "lower --max_d or --batch_size" + data.LAYOUTS[config.dataset].MEMORY_ADVICE
    return checks.out_of_memory(config.data_root, (shape[3], shape[2], config.max_d),
                             "%s training, batch %d" % (config.regularization, shape[0]), advice)


def train(config, strategy=None, warn=logging.warning, out=print):
    """Train as configured; returns a summary dict (steps, global_step, snapshots,
    history of per-step metrics, samples).

    Everything checkable is checked before the model is built: the options, the sample
    list, the --use_pretrain snapshot, and (on the chief, the one that writes) the output
    folders. ``log_folder`` and ``model_folder`` may not exist yet: they are then created,
    as the original did on its first write, but only when their parent folder exists and
    is writable (a mistyped parent, or the original's default /data/... on a machine
    without /data, is an error rather than a tree of new folders), and only once every
    check has passed and the model is restored, just before the first step -- a run that
    fails its input checks leaves nothing behind.
    """
    config.check()
    strategy = strategy or make_strategy(config.num_gpus, config.multi_worker)
    chief = is_chief(strategy)
    samples = data.sample_list(config.dataset, config.data_root, config.view_num, "training")
    if config.use_pretrain:
        _check_pretrained(config)
    if chief:
        config.check_outputs()
    message = samples.warning()
    if message:
        warn(message)
    items = len(samples) * (2 if config.regularization == "GRU" else 1)
    replicas = strategy.num_replicas_in_sync
    global_batch = config.batch_size * replicas
    steps_per_epoch = max(1, items // global_batch)
    out("Training samples: %d (%d items per epoch), %d step(s) per epoch of %d item(s) on %d device(s)"
        % (len(samples), items, steps_per_epoch, global_batch, replicas))

    with strategy.scope():
        model = build_model(config.regularization, config.refinement)
        optimizer = train_step.make_optimizer(config.base_lr, config.stepvalue, config.gamma)
        step_fn = train_step.TrainStep(model, optimizer, config.max_d, strategy)
    if config.use_pretrain:
        prefix = train_step.snapshot_prefix(config.model_folder, config.regularization, config.ckpt_step)
        restored = train_step.restore_snapshot(model, optimizer, prefix)
        if restored["global_step"] is None:
            optimizer.iterations.assign(config.ckpt_step)
        if not restored["slots"]:
            warn("%s has no RMSProp slots: the optimizer state starts fresh" % prefix)
        out("Pre-trained model restored from %s (global step %d)"
            % (prefix, int(optimizer.iterations.numpy())))

    errors = data.ItemErrors()
    opts = config.data_options()
    ordered = list(samples.samples)

    def dataset_fn(context):
        mine = ordered[context.input_pipeline_id::context.num_input_pipelines]
        random.Random(None if config.seed is None else config.seed + context.input_pipeline_id).shuffle(mine)
        return data.training_dataset(mine, opts, config.regularization,
                                     context.get_per_replica_batch_size(global_batch), errors,
                                     augment=config.online_augmentation)

    iterator = iter(strategy.distribute_datasets_from_function(dataset_fn))
    writer = None
    if chief:
        checks.make_folder(config.snapshot_folder(), "--model_folder")
        writer = tf.summary.create_file_writer(checks.make_folder(config.log_folder, "--log_folder"))
    snapshots, history = [], []
    step_count = 0
    total = steps_per_epoch * config.epoch
    if config.max_steps:
        total = min(total, config.max_steps)
    # a bar with the time left on the chief's terminal (mvsnet.progress); the lines as before
    bar = progress.Progress(total, "training", unit="step", log=out, bar=None if chief else False)
    try:
        for epoch in range(config.epoch):
            for step in range(steps_per_epoch):
                if config.max_steps and step_count >= config.max_steps:
                    break
                start = time.time()
                batch = _next_batch(iterator, errors)
                try:
                    metrics = {k: float(v) for k, v in step_fn(*batch).items()}
                except (tf.errors.ResourceExhaustedError, MemoryError):  # std::bad_alloc: MemoryError
                    raise _oom_error(config, batch) from None
                duration = time.time() - start
                global_step = int(optimizer.iterations.numpy())
                step_count += 1
                history.append(dict(metrics, global_step=global_step))
                line = None
                if step % config.display == 0:
                    line = ("epoch %d, step %d, global_step %d, loss = %.4f, (< 1px) = %.4f, "
                            "(< 3px) = %.4f, lr = %.6g (%.3f sec/step)"
                            % (epoch, step, global_step, metrics["loss"], metrics["less_one"],
                               metrics["less_three"], metrics["lr"], duration))
                bar.update(line=line)
                if writer is not None and step % (config.display * 10) == 0:
                    write_scalars(writer, global_step, {
                        "loss": metrics["loss"], "less_one_accuracy": metrics["less_one"],
                        "less_three_accuracy": metrics["less_three"], "lr": metrics["lr"]})
                last = step == steps_per_epoch - 1 or step_count == config.max_steps
                if global_step % config.snapshot == 0 or last:
                    prefix = train_step.snapshot_prefix(config.model_folder, config.regularization, global_step)
                    if chief:
                        train_step.save_snapshot(model, optimizer, prefix)
                        bar.log("Saving model to %s" % prefix)
                    snapshots.append(prefix)
    finally:
        bar.close()
    if writer is not None:
        writer.close()
    if _multi_worker(strategy):
        _barrier(strategy)      # non-chief workers wait for the chief's last snapshot
    return {"steps": step_count, "global_step": int(optimizer.iterations.numpy()),
            "snapshots": snapshots, "history": history, "samples": len(samples),
            "model": model, "optimizer": optimizer}
