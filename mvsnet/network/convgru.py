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

    def input_part(self, x, negate=False, compute_dtype=None):
        """conv(x, W_x) + b, (..., H, W, C_x) -> (..., H, W, 3F): both convolutions' share of
        the input x in one convolution, the input of :meth:`call_split` (``negate``: of -x;
        ``compute_dtype``: on operands of that type, the bias added in float32)."""
        kernel, bias = self.input_weights(negate)
        return tf.nn.bias_add(conv2d_in(x, kernel, compute_dtype), bias)

    def call_split(self, x_part, h, compute_dtype=None, conv=None):
        """The cell given x_part = :meth:`input_part` of x (..., 3F): only the convolutions on
        the hidden state run here.  Equal to ``call(x, h)`` up to the order of the float
        sums. ``compute_dtype``: those two convolutions on operands of that type
        (:func:`mvsnet.network.norms.conv2d_in`); the rest stays float32. ``conv``: another
        'same' convolution (x, kernel) -> y for them (e.g. :func:`small_conv`)."""
        if conv is None:
            def conv(x, kernel):
                return conv2d_in(x, kernel, compute_dtype)
        channels = self.gates_conv.kernel.shape[2] - self.filters
        gates = x_part[..., :2 * self.filters] + conv(h, self.gates_conv.kernel[:, :, channels:])
        reset_gate, update_gate = tf.split(gates, 2, axis=-1)
        reset_gate = tf.sigmoid(self.reset_norm(reset_gate))
        update_gate = tf.sigmoid(self.update_norm(update_gate))
        candidate = x_part[..., 2 * self.filters:] + conv(
            reset_gate * h, self.output_conv.kernel[:, :, channels:])
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
        return self.cells[0].input_part(costs, negate=True, compute_dtype=compute_dtype)

    def step_split(self, cost_part, states, compute_dtype=None):
        """:meth:`call` given the first cell's :meth:`cost_part` of this plane, reorganised
        for speed (equal up to the order of the float sums):

        1. the first cell's convolutions on its hidden state (``compute_dtype``: on operands
           of that type, :meth:`ConvGRUCell.call_split`);
        2. the second cell: its two convolutions' share of the input in one convolution
           (:meth:`ConvGRUCell.input_part`), then the ones on its hidden state;
        3. the third cell the same way, its hidden-state convolutions (2 channels) and
           prob_conv as :func:`small_conv` with all of that cell's element-wise work in one
           XLA computation (:meth:`last_cell_and_prob`): oneDNN's convolutions cost
           about as much at 2 channels as at 16.
        """
        first, second, third = self.cells
        with tf.name_scope(first.name):
            x1 = first.call_split(cost_part, states[0], compute_dtype)
        with tf.name_scope(second.name):
            with tf.name_scope("input_part"):
                x_part = second.input_part(x1)
            x2 = second.call_split(x_part, states[1])
        with tf.name_scope(third.name):
            with tf.name_scope("input_part"):
                x_part = third.input_part(x2)
            reg_cost, x3 = self.last_cell_and_prob(x_part, states[2])
        return reg_cost, (x1, x2, x3)

    @tf.function(jit_compile=True, autograph=False)
    def last_cell_and_prob(self, x_part, h):
        """The third cell given its :meth:`ConvGRUCell.input_part` (..., 3 * 2) and state h
        (..., 2), then prob_conv, with :func:`small_conv`, compiled by XLA as one computation
        (the taps of the small convolutions fuse with the norms and gates):
        (reg_cost (..., 1), new h)."""
        x = self.cells[2].call_split(x_part, h, conv=small_conv)
        return small_conv(x, self.prob_conv.kernel) + self.prob_conv.bias, x


def small_conv(x, kernel):
    """A 'same'-padded stride-1 convolution without bias as a sum of shifted planes, for few
    channels (inside XLA this is one fused loop; oneDNN spends on a 2-channel convolution
    about what it spends on a 16-channel one). Equal to ``tf.nn.conv2d(x, kernel, 1,
    "SAME")`` up to the order of the float sums.

    x       (B, H, W, C) float32, H and W static
    kernel  (k, k, C, F), k odd
    Returns (B, H, W, F): y[b, i, j, f] = sum_{dy, dx, c} x[b, i + dy - k//2, j + dx - k//2, c]
            * kernel[dy, dx, c, f], x taken as 0 outside the image.
    """
    size, _, channels, filters = kernel.shape
    if size % 2 != 1 or kernel.shape[1] != size or x.shape[-1] != channels:
        raise ValueError("small_conv: kernel %s does not fit input %s" % (kernel.shape, x.shape))
    height, width, r = x.shape[1], x.shape[2], size // 2
    planes = tf.pad(tf.transpose(x, [0, 3, 1, 2]), [[0, 0], [0, 0], [r, r], [r, r]])
    outputs = []
    for f in range(filters):
        terms = [planes[:, c, dy:dy + height, dx:dx + width] * kernel[dy, dx, c, f]
                 for dy in range(size) for dx in range(size) for c in range(channels)]
        outputs.append(tf.add_n(terms))
    return tf.stack(outputs, axis=-1)
