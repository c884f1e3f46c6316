"""The training step of the original ``mvsnet/train.py`` as a library.

    from mvsnet.training import step as train_step
    model = build_model("GRU")
    optimizer = train_step.make_optimizer(base_lr=0.001, stepvalue=10000, gamma=0.9)
    step = train_step.TrainStep(model, optimizer, max_d=128)
    metrics = step(images, cams, depth_image)       # one RMSProp update

Pieces, in the order of the original graph:

* :func:`mvsnet.network.model.depth_range` -- depth_start / depth_interval of the reference
  camera (``cams[:, 0, 1, 3, 0]`` / ``[..., 1]``), as train.py slices them;
* :func:`compute_loss` -- network + loss: GRU ``prob_volume_recurrent`` + classification
  loss; 3DCNNs ``soft_argmin`` (+ ``depth_refine``) + regression loss, ``(loss0 + loss1) / 2``
  with refinement;
* :class:`TF1RMSProp` -- ``tf.compat.v1.train.RMSPropOptimizer`` semantics in a Keras 3
  optimizer: rho 0.9, momentum 0, epsilon 1e-10, the mean-square slot initialised to ONES
  (Keras uses zeros) and the update done by the very kernel TF1 runs
  (``ResourceApplyRMSProp``);
* :func:`make_optimizer` -- learning rate ``base_lr * gamma ** (step / stepvalue)``
  (``tf.train.exponential_decay``, not staircase) of the optimizer's step counter;
* :class:`TrainStep` -- one compiled step (``tf.function``) under a
  ``tf.distribute`` strategy: gradients of the loss over every trainable variable,
  averaged over replicas by the strategy's all-reduce (each replica's loss is divided by
  the number of replicas: the original averaged its towers' gradients);
* :func:`loss_and_grads` -- loss, metrics and gradients by TF1 variable name through
  exactly the code of :class:`TrainStep` (for tools/parity.py);
* :func:`save_snapshot` / :func:`restore_snapshot` -- TF1-layout checkpoints with the
  RMSProp slots (``<var>/RMSProp`` = mean square, ``<var>/RMSProp_1`` = momentum) and an
  int32 ``global_step``, as the original's ``tf.train.Saver`` wrote them.

BatchNorm (3DCNNs cost regularisation): the original built it with ``training=True`` but
never ran its UPDATE_OPS, so batch statistics normalise and the moving statistics stay
as they are.  The network is therefore called with ``training=False`` (our BatchNorm
uses batch statistics anyway, ``batch_stats=True``), which leaves them untouched too.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from cameras.atomic import write_bytes_atomic
from mvsnet import checkpoint as ck
from mvsnet.network import loss as mvs_loss
from mvsnet.network.model import depth_range

MS_SLOT = "RMSProp"      # TF1 slot name of the mean square (created first)
MOM_SLOT = "RMSProp_1"   # TF1 slot name of the momentum
METRIC_KEYS = ("loss", "less_one", "less_three")


# ---------------------------------------------------------------------------- loss

def compute_loss(model, images, cams, depth_image, depth_num):
    """Forward pass and loss of the original training graph.

    images (B, V, H, W, 3) standardised; cams (B, V, 2, 4, 4) at the 1/4 feature map with
    the reference depth range in ``cams[:, 0, 1, 3, :]``; depth_image (B, H/4, W/4, 1)
    masked ground truth (0 = invalid); depth_num the static number of planes (max_d).

    Returns a dict: ``loss``, ``less_one``, ``less_three`` and
    GRU: ``mae``, ``prob_volume`` (B, D, h, w, 1), ``depth`` (winner-take-all);
    3DCNNs: ``depth``, ``prob`` and, with refinement, ``refined_depth``.
    """
    images = tf.convert_to_tensor(images, tf.float32)
    cams = tf.convert_to_tensor(cams, tf.float32)
    depth_image = tf.convert_to_tensor(depth_image, tf.float32)
    planes = depth_range(cams)
    depth_start, depth_interval = planes.start, planes.interval
    if model.regularization == "GRU":
        volume = model.prob_volume_recurrent(images, cams, depth_num, depth_start, depth_interval)
        total, mae, less_one, less_three, depth = mvs_loss.mvsnet_classification_loss(
            volume, depth_image, depth_num, depth_start, depth_interval)
        return {"loss": total, "mae": mae, "less_one": less_one, "less_three": less_three,
                "depth": depth, "prob_volume": volume}
    depth, prob, _ = model.soft_argmin(images, cams, depth_num, depth_start, depth_interval)
    out = {"depth": depth, "prob": prob}
    if model.refinement:
        refined = model.depth_refine(depth, images[:, 0], depth_num, depth_start, depth_interval)
        loss0, _, _ = mvs_loss.mvsnet_regression_loss(depth, depth_image, depth_interval)
        loss1, less_one, less_three = mvs_loss.mvsnet_regression_loss(
            refined, depth_image, depth_interval)
        total = (loss0 + loss1) / 2
        out["refined_depth"] = refined
    else:  # the original's (loss0 + loss0) / 2, which is loss0 exactly
        total, less_one, less_three = mvs_loss.mvsnet_regression_loss(
            depth, depth_image, depth_interval)
    out.update(loss=total, less_one=less_one, less_three=less_three)
    return out


# ---------------------------------------------------------------------------- optimizer

def _handle(variable):
    if isinstance(variable, keras.Variable):
        variable = variable.value
    return variable.handle


class TF1RMSProp(keras.optimizers.RMSprop):
    """``tf.compat.v1.train.RMSPropOptimizer`` (decay 0.9, momentum 0, epsilon 1e-10,
    not centred) as a Keras 3 optimizer.

    Per variable: ``ms`` (initialised to ones) and ``mom`` (zeros); each step runs TF1's
    ``ApplyRMSProp`` kernel: ``ms += (g^2 - ms) * (1 - rho)``,
    ``mom = momentum * mom + lr * g / sqrt(ms + epsilon)``, ``var -= mom``.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-10,
                 name="RMSProp", **kwargs):
        super().__init__(learning_rate=learning_rate, rho=rho, momentum=momentum,
                         epsilon=epsilon, centered=False, name=name, **kwargs)

    def build(self, var_list):
        if self.built:
            return
        keras.optimizers.Optimizer.build(self, var_list)
        self._velocities = self.add_optimizer_variables(var_list, "ms", initializer="ones")
        self._momentums = self.add_optimizer_variables(var_list, "mom", initializer="zeros")
        self._average_gradients = []

    def slots(self, variable):
        """(ms, mom) Keras variables of a model variable."""
        index = self._get_variable_index(variable)
        return self._velocities[index], self._momentums[index]

    def update_step(self, gradient, variable, learning_rate):
        ms, mom = self.slots(variable)
        dtype = variable.dtype
        tf.raw_ops.ResourceApplyRMSProp(
            var=_handle(variable), ms=_handle(ms), mom=_handle(mom),
            lr=tf.cast(learning_rate, dtype), rho=tf.constant(self.rho, dtype),
            momentum=tf.constant(self.momentum, dtype), epsilon=tf.constant(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype), use_locking=False)


def learning_rate_schedule(base_lr=0.001, stepvalue=10000, gamma=0.9):
    """``tf.train.exponential_decay(base_lr, step, stepvalue, gamma)``, not staircase."""
    return keras.optimizers.schedules.ExponentialDecay(
        base_lr, decay_steps=stepvalue, decay_rate=gamma, staircase=False)


def make_optimizer(base_lr=0.001, stepvalue=10000, gamma=0.9):
    """The original's optimizer: TF1 RMSProp on the exponentially decayed learning rate.
    Create it under the strategy's scope when training with several devices."""
    return TF1RMSProp(learning_rate_schedule(base_lr, stepvalue, gamma))


# ---------------------------------------------------------------------------- training step

class TrainStep:
    """One compiled training step of ``model`` under ``strategy`` (default: the current one).

    Call with a batch (images, cams, depth_image) -- tensors, or a distributed batch from
    ``strategy.distribute_datasets_from_function`` -- to apply one RMSProp update.
    Returns {loss, less_one, less_three, lr}: metrics averaged over replicas, ``lr`` the
    learning rate of this step.  The model and optimizer must have been created under
    ``strategy.scope()``.
    """

    def __init__(self, model, optimizer, max_d, strategy=None):
        self.model = model
        self.optimizer = optimizer
        self.max_d = int(max_d)
        self.strategy = strategy or tf.distribute.get_strategy()
        with self.strategy.scope():
            optimizer.build(model.trainable_variables)
        self._step = tf.function(self._distributed_step, reduce_retracing=True)

    def replica_step(self, images, cams, depth_image):
        """The per-replica computation: loss, gradients, update."""
        variables = self.model.trainable_variables
        replicas = self.strategy.num_replicas_in_sync
        lr = self.optimizer.learning_rate
        with tf.GradientTape() as tape:
            out = compute_loss(self.model, images, cams, depth_image, self.max_d)
            # gradients are summed over replicas by the all-reduce: average them
            total = out["loss"] / replicas if replicas > 1 else out["loss"]
        grads = tape.gradient(total, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        metrics = {k: out[k] for k in METRIC_KEYS}
        metrics["lr"] = tf.cast(lr, tf.float32)
        return metrics

    def _distributed_step(self, images, cams, depth_image):
        per_replica = self.strategy.run(self.replica_step, args=(images, cams, depth_image))
        return {k: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
                for k, v in per_replica.items()}

    def __call__(self, images, cams, depth_image):
        return self._step(images, cams, depth_image)


def loss_and_grads(model, images, cams, depth_image, depth_num, grad_names=None):
    """Loss, metrics and gradients of one training step, without updating anything.

    The same code as :class:`TrainStep` (:func:`compute_loss` in one ``tf.function``, the
    gradient of the loss over every trainable variable).  ``depth_start`` and
    ``depth_interval`` are read from ``cams[:, 0, 1, 3]`` as train.py does.

    Returns (values, grads): values {loss, less_one, less_three, ... as
    :func:`compute_loss`} as numpy; grads {TF1 variable name: numpy gradient} for
    ``grad_names`` (default: every trainable variable).  Raises KeyError for a name the
    model does not have.
    """
    table = ck.model_tf1_names(model)
    trainable = {id(v) for v in model.trainable_variables}
    names = sorted(n for n, v in table.items() if id(v) in trainable) if grad_names is None \
        else list(grad_names)
    unknown = [n for n in names if n not in table]
    if unknown:
        raise KeyError("variables the %s model does not have: %s"
                       % (model.regularization, ", ".join(unknown)))
    variables = model.trainable_variables
    index = {id(v): i for i, v in enumerate(variables)}

    @tf.function
    def step(images, cams, depth_image):
        with tf.GradientTape() as tape:
            out = compute_loss(model, images, cams, depth_image, int(depth_num))
        return out, tape.gradient(out["loss"], variables)

    out, grads = step(tf.convert_to_tensor(images, tf.float32),
                      tf.convert_to_tensor(cams, tf.float32),
                      tf.convert_to_tensor(depth_image, tf.float32))
    values = {k: v.numpy() for k, v in out.items()}
    return values, {n: grads[index[id(table[n])]].numpy() for n in names}


# ---------------------------------------------------------------------------- snapshots

def snapshot_prefix(model_folder, regularization, step):
    """``MODEL_FOLDER/<regularization>/model.ckpt-STEP`` as the original."""
    return os.path.join(model_folder, regularization, "model.ckpt-%d" % int(step))


def training_state(model, optimizer):
    """{TF1 name: ndarray}: model variables, RMSProp slots and int32 global_step."""
    tensors = ck.model_to_tf1(model)
    trainable = {id(v) for v in model.trainable_variables}
    for name, variable in ck.model_tf1_names(model).items():
        if id(variable) in trainable:
            ms, mom = optimizer.slots(variable)
            tensors["%s/%s" % (name, MS_SLOT)] = np.asarray(ms.numpy())
            tensors["%s/%s" % (name, MOM_SLOT)] = np.asarray(mom.numpy())
    tensors["global_step"] = np.int32(int(optimizer.iterations.numpy()))
    return tensors


def save_snapshot(model, optimizer, prefix):
    """Write the training state as a TF1 checkpoint at ``prefix`` (atomic) and point the
    folder's ``checkpoint`` state file at it, as tf.train.Saver does."""
    ck.write_tf1_checkpoint(prefix, training_state(model, optimizer))
    folder, name = os.path.split(os.path.abspath(prefix))
    state = os.path.join(folder, "checkpoint")
    previous = []
    if os.path.isfile(state):
        with open(state) as fh:
            for line in fh:
                if line.startswith("all_model_checkpoint_paths:"):
                    path = line.split(":", 1)[1].strip().strip('"')
                    if path != name and os.path.isfile(os.path.join(folder, path) + ".index"):
                        previous.append(path)
    text = 'model_checkpoint_path: "%s"\n' % name
    text += "".join('all_model_checkpoint_paths: "%s"\n' % p for p in previous + [name])
    write_bytes_atomic(state, text.encode())
    return prefix


def restore_snapshot(model, optimizer, prefix):
    """Load weights, RMSProp slots and the step counter from a TF1 checkpoint (ours or
    the original's).  The optimizer must be built.  A checkpoint without slots (e.g. a
    converted weights-only one) restores weights and step; slots keep their fresh values.

    Returns a summary dict (that of :func:`mvsnet.checkpoint.load_weights`, plus
    ``slots`` True/False and ``global_step``).
    """
    summary = ck.load_weights(model, prefix)
    tensors = ck.read_tf1_checkpoint(prefix, with_slots=True)
    trainable = {id(v) for v in model.trainable_variables}
    pairs = []
    missing = []
    for name, variable in ck.model_tf1_names(model).items():
        if id(variable) not in trainable:
            continue
        ms, mom = optimizer.slots(variable)
        for slot, target in ((MS_SLOT, ms), (MOM_SLOT, mom)):
            key = "%s/%s" % (name, slot)
            if key not in tensors:
                missing.append(key)
            elif tuple(tensors[key].shape) != tuple(target.shape):
                raise ck.CheckpointError("%s: slot %s has shape %s, the variable %s"
                                         % (prefix, key, tuple(tensors[key].shape),
                                            tuple(target.shape)))
            else:
                pairs.append((target, tensors[key]))
    if missing and pairs:
        raise ck.CheckpointError("%s: %d of %d RMSProp slots missing, e.g. %s"
                                 % (prefix, len(missing), len(missing) + len(pairs), missing[0]))
    for target, value in pairs:
        target.assign(value)
    step = int(tensors["global_step"]) if "global_step" in tensors else None
    if step is not None:
        optimizer.iterations.assign(step)
    summary = dict(summary)
    summary.update(slots=bool(pairs), global_step=step)
    return summary
