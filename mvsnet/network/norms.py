"""Keras 3 layers of R-MVSNet / MVSNet, one per block of the paper.

Every sub-layer is named after the TF1 variable scope of the original code
(github YoYo000/MVSNet, ``cnn_wrapper/mvsnet.py`` and ``mvsnet/convgru.py``), so a
released TF1 checkpoint maps onto these layers through the short table in
:mod:`mvsnet.checkpoint`.

Numerical conventions copied from the original graph:

* group norm (``conv_gn``/``deconv_gn``): G = max(1, C // 8) groups, eps 1e-5,
  per-channel gamma/beta, ``(x - mean) / sqrt(var + eps) * gamma + beta``;
* batch norm (``conv_bn``/``deconv_bn``): eps 1e-5, momentum 0.99, and *batch*
  statistics also at test time (the original builds every BatchNorm with
  ``training=True``).  ``batch_stats=False`` switches to the moving statistics;
* GRU gate norms: the original's ``group_norm(..., group_channel=16)`` falls back to
  ``tf.contrib.layers.layer_norm`` for every GRU width used (16, 4, 2): normalise over
  H, W, C with eps 1e-12, gamma/beta per channel.
"""

import keras
import tensorflow as tf

BN_EPSILON = 1e-5
BN_MOMENTUM = 0.99
LN_EPSILON = 1e-12


def _conv_layer(rank, filters, kernel_size, strides, name, use_bias, transpose=False,
                activation=None):
    """A 'same'-padded 2D/3D (transposed) convolution, as tf.layers builds it."""
    cls = {(2, False): keras.layers.Conv2D, (3, False): keras.layers.Conv3D,
           (2, True): keras.layers.Conv2DTranspose, (3, True): keras.layers.Conv3DTranspose}
    return cls[(rank, transpose)](filters, kernel_size, strides=strides, padding="same",
                                  use_bias=use_bias, activation=activation, name=name)


# ----------------------------------------------------------------------------------
# Normalisations
# ----------------------------------------------------------------------------------

class GroupNorm(keras.layers.Layer):
    """Group normalisation of the original ``conv_gn``: G = max(1, C // group_channel)."""

    def __init__(self, group_channel=8, epsilon=BN_EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.group_channel = group_channel
        self.epsilon = epsilon

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.groups = max(1, channels // self.group_channel)
        self.gamma = self.add_weight(name="gamma", shape=(channels,), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(channels,), initializer="zeros")

    def call(self, x):
        # evaluated channels-first, as the original, so sums reduce in the same order
        channels = x.shape[-1]
        nchw = tf.transpose(x, [0, 3, 1, 2])
        shape = tf.shape(nchw)
        grouped = tf.reshape(nchw, [shape[0], self.groups, channels // self.groups, shape[2], shape[3]])
        mean, var = tf.nn.moments(grouped, [2, 3, 4], keepdims=True)
        normed = (grouped - mean) / tf.sqrt(var + self.epsilon)
        out = tf.reshape(normed, [-1, channels, shape[2], shape[3]])
        out = out * tf.reshape(self.gamma, [1, channels, 1, 1]) + tf.reshape(self.beta, [1, channels, 1, 1])
        return tf.transpose(out, [0, 2, 3, 1])

    def get_config(self):
        return {**super().get_config(), "group_channel": self.group_channel, "epsilon": self.epsilon}


class BatchNorm(keras.layers.Layer):
    """``tf.layers.batch_normalization`` as the original uses it.

    ``batch_stats=True`` (the faithful default) normalises with the statistics of the
    current batch even at test time.  Moving statistics are updated only when the
    layer is called with ``training=True`` (train.py).
    """

    def __init__(self, center=True, scale=True, batch_stats=True, epsilon=BN_EPSILON,
                 momentum=BN_MOMENTUM, **kwargs):
        super().__init__(**kwargs)
        self.center, self.scale = center, scale
        self.batch_stats = batch_stats
        self.epsilon, self.momentum = epsilon, momentum

    def build(self, input_shape):
        channels = (int(input_shape[-1]),)
        if self.scale:
            self.gamma = self.add_weight(name="gamma", shape=channels, initializer="ones")
        if self.center:
            self.beta = self.add_weight(name="beta", shape=channels, initializer="zeros")
        self.moving_mean = self.add_weight(name="moving_mean", shape=channels,
                                           initializer="zeros", trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=channels,
                                               initializer="ones", trainable=False)

    def call(self, x, training=False):
        channels = x.shape[-1]
        gamma = self.gamma if self.scale else tf.ones([channels], x.dtype)
        beta = self.beta if self.center else tf.zeros([channels], x.dtype)
        if self.batch_stats or training:
            # the fused kernel the original's fused=True layer runs (NHWC / NDHWC)
            y, mean, unbiased_var = tf.compat.v1.nn.fused_batch_norm(
                x, gamma, beta, epsilon=self.epsilon, is_training=True,
                data_format="NHWC" if len(x.shape) == 4 else "NDHWC")
            if training:
                decay = 1.0 - self.momentum
                self.moving_mean.assign_sub((self.moving_mean - mean) * decay)
                self.moving_variance.assign_sub((self.moving_variance - unbiased_var) * decay)
            return y
        return tf.nn.batch_normalization(x, self.moving_mean, self.moving_variance, beta, gamma,
                                         self.epsilon)

    def get_config(self):
        return {**super().get_config(), "center": self.center, "scale": self.scale,
                "batch_stats": self.batch_stats, "epsilon": self.epsilon,
                "momentum": self.momentum}


class LayerNorm(keras.layers.Layer):
    """``tf.contrib.layers.layer_norm``: over H, W, C; gamma/beta per channel; eps 1e-12."""

    def __init__(self, epsilon=LN_EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        channels = (int(input_shape[-1]),)
        self.beta = self.add_weight(name="beta", shape=channels, initializer="zeros")
        self.gamma = self.add_weight(name="gamma", shape=channels, initializer="ones")

    def call(self, x):
        mean, var = tf.nn.moments(x, list(range(1, len(x.shape))), keepdims=True)
        return tf.nn.batch_normalization(x, mean, var, self.beta, self.gamma, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


# ----------------------------------------------------------------------------------
# Normalised convolutions (cnn_wrapper conv_gn / deconv_gn / conv_bn / deconv_bn)
# ----------------------------------------------------------------------------------

class ConvNorm(keras.layers.Layer):
    """Convolution (no bias) + group or batch norm (+ ReLU).

    ``norm='gn'``: the original ``conv_gn`` (``transpose=True``: ``deconv_gn``, whose
    default is no ReLU).  ``norm='bn'``: ``conv_bn`` / ``deconv_bn``.
    Sub-layers: ``conv`` (TF1 ``<scope>/kernel``) and ``gn``/``bn``
    (TF1 ``<scope>/gn/*`` or ``<scope>/bn/*``).
    """

    def __init__(self, filters, kernel_size=3, strides=1, norm="gn", relu=True, transpose=False,
                 rank=2, center=True, scale=True, batch_stats=True, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = filters, kernel_size, strides
        self.norm, self.relu, self.transpose, self.rank = norm, relu, transpose, rank
        self.center, self.scale, self.batch_stats = center, scale, batch_stats
        self.conv = _conv_layer(rank, filters, kernel_size, strides, "conv", use_bias=False,
                                transpose=transpose)
        if norm == "gn":
            self.norm_layer = GroupNorm(name="gn")
        elif norm == "bn":
            self.norm_layer = BatchNorm(center=center, scale=scale, batch_stats=batch_stats, name="bn")
        else:
            raise ValueError("norm must be 'gn' or 'bn', got %r" % (norm,))

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.norm_layer.build(self.conv.compute_output_shape(input_shape))

    def call(self, x, training=False):
        y = self.conv(x)
        y = self.norm_layer(y, training=training) if self.norm == "bn" else self.norm_layer(y)
        return tf.nn.relu(y) if self.relu else y

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "norm": self.norm, "relu": self.relu,
                "transpose": self.transpose, "rank": self.rank, "center": self.center,
                "scale": self.scale, "batch_stats": self.batch_stats}


# ----------------------------------------------------------------------------------
# 2D feature towers
# ----------------------------------------------------------------------------------

class UNetDS2GN(keras.layers.Layer):
    """2D U-Net feature tower with group norm (the released R-MVSNet/MVSNet towers).

    (B, H, W, 3) image -> (B, H/4, W/4, 32) feature map.  H, W multiples of 16.
    """

    def __init__(self, base_filter=8, **kwargs):
        super().__init__(**kwargs)
        self.base_filter = f = base_filter

        def gn(filters, name, k=3, s=1, transpose=False):
            return ConvNorm(filters, k, s, norm="gn", relu=not transpose, transpose=transpose,
                            name=name)

        self.blocks = {}
        spec = [  # name, filters, kernel, stride, transpose
            ("2dconv1_0", 2 * f, 3, 2, False), ("2dconv2_0", 4 * f, 3, 2, False),
            ("2dconv3_0", 8 * f, 3, 2, False), ("2dconv4_0", 16 * f, 3, 2, False),
            ("2dconv0_1", f, 3, 1, False), ("2dconv0_2", f, 3, 1, False),
            ("2dconv1_1", 2 * f, 3, 1, False), ("2dconv1_2", 2 * f, 3, 1, False),
            ("2dconv2_1", 4 * f, 3, 1, False), ("2dconv2_2", 4 * f, 3, 1, False),
            ("2dconv3_1", 8 * f, 3, 1, False), ("2dconv3_2", 8 * f, 3, 1, False),
            ("2dconv4_1", 16 * f, 3, 1, False), ("2dconv4_2", 16 * f, 3, 1, False),
            ("2dconv5_0", 8 * f, 3, 2, True),
            ("2dconv5_1", 8 * f, 3, 1, False), ("2dconv5_2", 8 * f, 3, 1, False),
            ("2dconv6_0", 4 * f, 3, 2, True),
            ("2dconv6_1", 4 * f, 3, 1, False), ("2dconv6_2", 4 * f, 3, 1, False),
            ("2dconv7_0", 2 * f, 3, 2, True),
            ("2dconv7_1", 2 * f, 3, 1, False), ("2dconv7_2", 2 * f, 3, 1, False),
            ("2dconv8_0", f, 3, 2, True),
            ("2dconv8_1", f, 3, 1, False), ("2dconv8_2", f, 3, 1, False),
            ("conv9_0", 2 * f, 5, 2, False), ("conv9_1", 2 * f, 3, 1, False),
            ("conv9_2", 2 * f, 3, 1, False),
            ("conv10_0", 4 * f, 5, 2, False), ("conv10_1", 4 * f, 3, 1, False),
        ]
        for name, filters, k, s, transpose in spec:
            self.blocks[name] = gn(filters, name, k, s, transpose)
        self.conv10_2 = _conv_layer(2, 4 * f, 3, 1, "conv10_2", use_bias=False)

    def call(self, image):
        b = self.blocks
        # 1. encoder: four stride-2 stages, each refined by two 3x3 convs
        e1 = b["2dconv1_0"](image)
        e2 = b["2dconv2_0"](e1)
        e3 = b["2dconv3_0"](e2)
        e4 = b["2dconv4_0"](e3)
        skip0 = b["2dconv0_2"](b["2dconv0_1"](image))
        skip1 = b["2dconv1_2"](b["2dconv1_1"](e1))
        skip2 = b["2dconv2_2"](b["2dconv2_1"](e2))
        skip3 = b["2dconv3_2"](b["2dconv3_1"](e3))
        bottom = b["2dconv4_2"](b["2dconv4_1"](e4))
        # 2. decoder: upsample, concatenate the skip, two convs
        d5 = b["2dconv5_0"](bottom)
        d5 = b["2dconv5_2"](b["2dconv5_1"](tf.concat([d5, skip3], axis=-1)))
        d6 = b["2dconv6_0"](d5)
        d6 = b["2dconv6_2"](b["2dconv6_1"](tf.concat([d6, skip2], axis=-1)))
        d7 = b["2dconv7_0"](d6)
        d7 = b["2dconv7_2"](b["2dconv7_1"](tf.concat([d7, skip1], axis=-1)))
        d8 = b["2dconv8_0"](d7)
        unet_out = b["2dconv8_2"](b["2dconv8_1"](tf.concat([d8, skip0], axis=-1)))
        # 3. two stride-2 stages down to 1/4 resolution, 32 channels
        x = b["conv9_2"](b["conv9_1"](b["conv9_0"](unet_out)))
        x = b["conv10_1"](b["conv10_0"](x))
        return self.conv10_2(x)

    def get_config(self):
        return {**super().get_config(), "base_filter": self.base_filter}


class UniNetDS2(keras.layers.Layer):
    """The plain 2D UniNet of MVSNet (``norm='bn'``) or its group-norm variant (``'gn'``).

    (B, H, W, 3) -> (B, H/4, W/4, 32).
    """

    def __init__(self, norm="bn", base_filter=8, batch_stats=True, **kwargs):
        super().__init__(**kwargs)
        self.norm, self.base_filter, self.batch_stats = norm, base_filter, batch_stats
        f = base_filter
        spec = [("conv0_0", f, 3, 1), ("conv0_1", f, 3, 1), ("conv1_0", 2 * f, 5, 2),
                ("conv1_1", 2 * f, 3, 1), ("conv1_2", 2 * f, 3, 1), ("conv2_0", 4 * f, 5, 2),
                ("conv2_1", 4 * f, 3, 1)]
        self.stages = [ConvNorm(filters, k, s, norm=norm, batch_stats=batch_stats, name=name)
                       for name, filters, k, s in spec]
        self.conv2_2 = _conv_layer(2, 4 * f, 3, 1, "conv2_2", use_bias=False)

    def call(self, image, training=False):
        x = image
        for stage in self.stages:
            x = stage(x, training=training)
        return self.conv2_2(x)

    def get_config(self):
        return {**super().get_config(), "norm": self.norm, "base_filter": self.base_filter,
                "batch_stats": self.batch_stats}


def UniNetDS2GN(**kwargs):
    """UniNetDS2 with group normalisation."""
    return UniNetDS2(norm="gn", **kwargs)


# ----------------------------------------------------------------------------------
# Cost volume regularisation
# ----------------------------------------------------------------------------------

class RegNetUS0(keras.layers.Layer):
    """Shallow 3D U-Net of MVSNet: (B, D, H, W, 32) cost volume -> (B, D, H, W, 1).

    D, H, W multiples of 8.  Batch norms use batch statistics (see module doc).
    """

    def __init__(self, base_filter=8, batch_stats=True, **kwargs):
        super().__init__(**kwargs)
        self.base_filter, self.batch_stats = base_filter, batch_stats
        f = base_filter

        def bn(filters, name, s=1, transpose=False):
            return ConvNorm(filters, 3, s, norm="bn", rank=3, transpose=transpose,
                            batch_stats=batch_stats, name=name)

        self.blocks = {name: bn(filters, name, s, t) for name, filters, s, t in [
            ("3dconv1_0", 2 * f, 2, False), ("3dconv2_0", 4 * f, 2, False),
            ("3dconv3_0", 8 * f, 2, False), ("3dconv0_1", f, 1, False),
            ("3dconv1_1", 2 * f, 1, False), ("3dconv2_1", 4 * f, 1, False),
            ("3dconv3_1", 8 * f, 1, False), ("3dconv4_0", 4 * f, 2, True),
            ("3dconv5_0", 2 * f, 2, True), ("3dconv6_0", f, 2, True)]}
        self.conv6_2 = _conv_layer(3, 1, 3, 1, "3dconv6_2", use_bias=False)

    def call(self, volume, training=False):
        b = {k: (lambda x, layer=v: layer(x, training=training)) for k, v in self.blocks.items()}
        # 1. encoder
        e1 = b["3dconv1_0"](volume)
        e2 = b["3dconv2_0"](e1)
        e3 = b["3dconv3_0"](e2)
        skip0 = b["3dconv0_1"](volume)
        skip1 = b["3dconv1_1"](e1)
        skip2 = b["3dconv2_1"](e2)
        bottom = b["3dconv3_1"](e3)
        # 2. decoder with additive skips
        d4 = b["3dconv4_0"](bottom) + skip2
        d5 = b["3dconv5_0"](d4) + skip1
        d6 = b["3dconv6_0"](d5) + skip0
        # 3. one-channel cost
        return self.conv6_2(d6)

    def get_config(self):
        return {**super().get_config(), "base_filter": self.base_filter,
                "batch_stats": self.batch_stats}


class ConvGRUCell(keras.layers.Layer):
    """Convolutional GRU cell of R-MVSNet (``mvsnet/convgru.py``).

    r, u = sigmoid(LN(conv([x, h])))  (split in two halves, reset first)
    h'   = u * h + (1 - u) * tanh(LN(conv([x, r * h])))
    TF1 scopes: ``<name>/Gates/conv``, ``Gates/LayerNorm`` (reset), ``Gates/LayerNorm_1``
    (update), ``Output/output_conv``, ``Output/LayerNorm``.
    """

    def __init__(self, filters, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size = filters, kernel_size
        self.gates_conv = _conv_layer(2, 2 * filters, kernel_size, 1, "gates_conv", use_bias=True)
        self.reset_norm = LayerNorm(name="reset_norm")
        self.update_norm = LayerNorm(name="update_norm")
        self.output_conv = _conv_layer(2, filters, kernel_size, 1, "output_conv", use_bias=True)
        self.output_norm = LayerNorm(name="output_norm")

    def build(self, input_shape):
        in_shape = tuple(input_shape[:-1]) + (input_shape[-1] + self.filters,)
        self.gates_conv.build(in_shape)
        out_shape = tuple(input_shape[:-1]) + (self.filters,)
        for norm in (self.reset_norm, self.update_norm, self.output_norm):
            norm.build(out_shape)
        self.output_conv.build(in_shape)

    def call(self, x, h):
        # 1. gates
        gates = self.gates_conv(tf.concat([x, h], axis=-1))
        reset_gate, update_gate = tf.split(gates, 2, axis=-1)
        reset_gate = tf.sigmoid(self.reset_norm(reset_gate))
        update_gate = tf.sigmoid(self.update_norm(update_gate))
        # 2. candidate state
        candidate = self.output_conv(tf.concat([x, reset_gate * h], axis=-1))
        candidate = tf.tanh(self.output_norm(candidate))
        # 3. soft update
        return update_gate * h + (1 - update_gate) * candidate

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size}


class GRURegularizer(keras.layers.Layer):
    """Three stacked ConvGRUs (16, 4, 2 filters) and ``prob_conv``, one depth plane a step.

    step(cost (B,H,W,32), states) -> (reg_cost (B,H,W,1), new states).
    """

    FILTERS = (16, 4, 2)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.cells = [ConvGRUCell(f, name="conv_gru%d" % (i + 1)) for i, f in enumerate(self.FILTERS)]
        self.prob_conv = _conv_layer(2, 1, 3, 1, "prob_conv", use_bias=True)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for cell in self.cells:
            cell.build(shape)
            shape = shape[:-1] + (cell.filters,)
        self.prob_conv.build(shape)

    def initial_states(self, cost):
        """Zero states for a (B, H, W, C) cost slice."""
        shape = tf.shape(cost)
        return tuple(tf.zeros([shape[0], shape[1], shape[2], f], cost.dtype) for f in self.FILTERS)

    def call(self, cost, states):
        # the original feeds the negated variance to the first GRU
        x = -cost
        new_states = []
        for cell, state in zip(self.cells, states):
            x = cell(x, state)
            new_states.append(x)
        return self.prob_conv(x), tuple(new_states)


class RefineNet(keras.layers.Layer):
    """MVSNet depth refinement: residual from [image, normalised depth].

    color (B,H,W,3), depth (B,H,W,1) in [0,1] -> refined normalised depth (B,H,W,1).
    """

    def __init__(self, batch_stats=True, **kwargs):
        super().__init__(**kwargs)
        self.batch_stats = batch_stats
        self.convs = [ConvNorm(32, 3, 1, norm="bn", center=False, scale=False,
                               batch_stats=batch_stats, name="refine_conv%d" % i) for i in range(3)]
        self.refine_conv3 = _conv_layer(2, 1, 3, 1, "refine_conv3", use_bias=True)

    def call(self, color_image, depth_image, training=False):
        x = tf.concat([color_image, depth_image], axis=3)
        for conv in self.convs:
            x = conv(x, training=training)
        return self.refine_conv3(x) + depth_image

    def get_config(self):
        return {**super().get_config(), "batch_stats": self.batch_stats}
