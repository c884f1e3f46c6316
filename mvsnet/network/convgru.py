"""R-MVSNet's recurrent cost regularisation: a stack of convolutional GRUs (paper Sec. 3.2).

The cost maps of the depth planes are fed one at a time; the GRU states carry the context
along the depth direction, so memory does not grow with the number of planes.
"""

import keras
import tensorflow as tf

from mvsnet.network.norms import LayerNorm, conv2d_in, conv_layer


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
        self.gates_conv = conv_layer(2, 2 * filters, kernel_size, 1, "gates_conv", use_bias=True)
        self.reset_norm = LayerNorm(name="reset_norm")
        self.update_norm = LayerNorm(name="update_norm")
        self.output_conv = conv_layer(2, filters, kernel_size, 1, "output_conv", use_bias=True)
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

    # -- the same cell split in two (the fast inference path) --------------------------------
    # conv([x, h]) = conv(x, W_x) + conv(h, W_h): the part on the input x does not depend on
    # the recurrence and can be computed for many depth planes in one batched convolution.
    def input_weights(self, negate=False):
        """(kernel (k, k, C_x, 3F), bias (3F,)): the gate and output convolutions restricted
        to the input channels, stacked (gates first). ``negate``: for -x (exact: the
        products and sums only change sign)."""
        channels = self.gates_conv.kernel.shape[2] - self.filters
        kernel = tf.concat([self.gates_conv.kernel[:, :, :channels], self.output_conv.kernel[:, :, :channels]], -1)
        bias = tf.concat([self.gates_conv.bias, self.output_conv.bias], 0)
        return (-kernel if negate else kernel), bias

    def call_split(self, x_part, h, compute_dtype=None):
        """The cell given x_part = conv(x, W_x) + b from :meth:`input_weights` (..., 3F):
        only the convolutions on the hidden state run here.  Equal to ``call(x, h)`` up to
        the order of the float sums. ``compute_dtype``: those two convolutions on operands
        of that type (:func:`mvsnet.network.norms.conv2d_in`); the rest stays float32."""
        channels = self.gates_conv.kernel.shape[2] - self.filters
        gates = x_part[..., :2 * self.filters] + conv2d_in(
            h, self.gates_conv.kernel[:, :, channels:], compute_dtype)
        reset_gate, update_gate = tf.split(gates, 2, axis=-1)
        reset_gate = tf.sigmoid(self.reset_norm(reset_gate))
        update_gate = tf.sigmoid(self.update_norm(update_gate))
        candidate = x_part[..., 2 * self.filters:] + conv2d_in(
            reset_gate * h, self.output_conv.kernel[:, :, channels:], compute_dtype)
        candidate = tf.tanh(self.output_norm(candidate))
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
        self.prob_conv = conv_layer(2, 1, 3, 1, "prob_conv", use_bias=True)

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

    def cost_part(self, costs, compute_dtype=None):
        """The first cell's convolutions on -cost for a stack of cost maps (N, H, W, 32) at
        once (one batched convolution): (N, H, W, 3 * 16) float32, input of
        :meth:`step_split`. ``compute_dtype``: on operands of that type, the bias added in
        float32."""
        kernel, bias = self.cells[0].input_weights(negate=True)
        return tf.nn.bias_add(conv2d_in(costs, kernel, compute_dtype), bias)

    def step_split(self, cost_part, states, compute_dtype=None):
        """:meth:`call` given the first cell's :meth:`cost_part` of this plane.
        ``compute_dtype``: the first cell's hidden-state convolutions on operands of that
        type (:meth:`ConvGRUCell.call_split`); the second and third cells, whose
        convolutions are small, and prob_conv stay float32."""
        with tf.name_scope(self.cells[0].name):
            x = self.cells[0].call_split(cost_part, states[0], compute_dtype)
        new_states = [x]
        for cell, state in zip(self.cells[1:], states[1:]):
            x = cell(x, state)
            new_states.append(x)
        return self.prob_conv(x), tuple(new_states)
