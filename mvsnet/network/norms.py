"""Normalisations and normalised convolutions of R-MVSNet / MVSNet, as the original graph.

Every sub-layer is named after the TF1 variable scope of the original code
(github YoYo000/MVSNet, ``cnn_wrapper/mvsnet.py`` and ``mvsnet/convgru.py``), so a
released TF1 checkpoint maps onto these layers through the short table in
:mod:`mvsnet.checkpoint`.

Numerical conventions of the original graph:

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


def conv_layer(rank, filters, kernel_size, strides, name, use_bias, transpose=False,
                activation=None):
    """A 'same'-padded 2D/3D (transposed) convolution, as tf.layers builds it."""
    cls = {(2, False): keras.layers.Conv2D, (3, False): keras.layers.Conv3D,
           (2, True): keras.layers.Conv2DTranspose, (3, True): keras.layers.Conv3DTranspose}
    return cls[(rank, transpose)](filters, kernel_size, strides=strides, padding="same",
                                  use_bias=use_bias, activation=activation, name=name)


def conv_in(layer, x, compute_dtype):
    """``layer(x)`` of a 'same'-padded Keras Conv2D / Conv2DTranspose with its operands (x
    and the kernel) cast to ``compute_dtype`` (e.g. "bfloat16"; the kernels accumulate in
    float32 and round the result once); the result cast back to float32, plus the bias in
    float32. x (B, H, W, C_in) -> (B, H', W', filters) float32."""
    kernel = tf.cast(layer.kernel, compute_dtype)
    operand = tf.cast(x, compute_dtype)
    strides = layer.strides
    if isinstance(layer, keras.layers.Conv2DTranspose):
        shape = tf.shape(x)
        out_shape = tf.stack([shape[0], shape[1] * strides[0], shape[2] * strides[1], layer.filters])
        y = tf.nn.conv2d_transpose(operand, kernel, out_shape, strides, padding="SAME")
    else:
        y = tf.nn.conv2d(operand, kernel, strides, padding="SAME")
    y = tf.cast(y, tf.float32)
    return tf.nn.bias_add(y, layer.bias) if layer.use_bias else y


def conv2d_in(x, kernel, compute_dtype=None):
    """``tf.nn.conv2d(x, kernel, 1, "SAME")``; with ``compute_dtype``, on operands cast to it and
    the result cast back to float32 (as :func:`conv_in`)."""
    if compute_dtype is None:
        return tf.nn.conv2d(x, kernel, 1, "SAME")
    y = tf.nn.conv2d(tf.cast(x, compute_dtype), tf.cast(kernel, compute_dtype), 1, "SAME")
    return tf.cast(y, tf.float32)


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
        self.conv = conv_layer(rank, filters, kernel_size, strides, "conv", use_bias=False,
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

    def call(self, x, training=False, compute_dtype=None):
        """``compute_dtype``: the convolution on operands of that type (:func:`conv_in`); the
        norm and the ReLU stay float32."""
        y = self.conv(x) if compute_dtype is None else conv_in(self.conv, x, compute_dtype)
        return self._norm_relu(y, training)

    def call_on_parts(self, parts, training=False, compute_dtype=None):
        """:meth:`call` on ``concat(parts, axis=-1)`` without building the concatenation:
        one convolution per part with its slice of the kernel, summed (2D, stride 1, not
        transposed). Equal up to float rounding (the sum over input channels is split);
        the largest tensor is one part's output instead of the concatenation.
        ``compute_dtype``: as :meth:`call`."""
        if self.transpose or self.rank != 2 or self.strides != 1:
            raise ValueError("call_on_parts needs a 2D stride-1 convolution")
        if not self.built:
            self.build(tf.TensorShape(parts[0].shape[:-1] + [sum(p.shape[-1] for p in parts)]))
        kernel, start, y = self.conv.kernel, 0, None
        for part in parts:
            channels = part.shape[-1]
            term = conv2d_in(part, kernel[:, :, start:start + channels], compute_dtype)
            y = term if y is None else y + term
            start += channels
        return self._norm_relu(y, training)

    def _norm_relu(self, y, training):
        y = self.norm_layer(y, training=training) if self.norm == "bn" else self.norm_layer(y)
        return tf.nn.relu(y) if self.relu else y

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "norm": self.norm, "relu": self.relu,
                "transpose": self.transpose, "rank": self.rank, "center": self.center,
                "scale": self.scale, "batch_stats": self.batch_stats}
