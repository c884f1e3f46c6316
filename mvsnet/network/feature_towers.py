"""2D feature towers (paper: image feature extraction), shared by every view.

* :class:`UNetDS2GN` — R-MVSNet's 2D U-Net with group norm (the released towers);
* :class:`UniNetDS2` — MVSNet's 8-layer tower, batch norm (``norm="bn"``) or group norm;
* :func:`feature_tower` — the tower by its original name.

All take images (B, H, W, 3) with H, W multiples of 16 and return 32-channel features at
1/4 scale, (B, H/4, W/4, 32).
"""

import keras
import tensorflow as tf

from mvsnet.network.norms import ConvNorm, conv_in, conv_layer

FEATURE_TOWERS = ("UNetDS2GN", "UniNetDS2", "UniNetDS2GN")


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
        self.conv10_2 = conv_layer(2, 4 * f, 3, 1, "conv10_2", use_bias=False)

    def call(self, image, low_memory=False, compute_dtype=None):
        """image (B, H, W, 3) -> features (B, H/4, W/4, 32).

        ``low_memory``: the full-resolution decoder convolution reads its two inputs
        without concatenating them (:meth:`ConvNorm.call_on_parts`): the largest tensor is
        then H x W x 8 floats instead of H x W x 16 (59 instead of 117 MB at 1600x1200).
        Equal up to float rounding; the fast inference path uses it.
        ``compute_dtype`` (with ``low_memory``, the fast path's ``--precision``): every
        convolution on operands of that type, the group norms in float32
        (:func:`mvsnet.network.norms.conv_in`)."""
        if compute_dtype is not None and not low_memory:
            raise ValueError("compute_dtype is for the fast (low_memory) tower only")

        def block(name, x):
            if compute_dtype is None:
                return self.blocks[name](x)
            return self.blocks[name](x, compute_dtype=compute_dtype)

        # 1. encoder: four stride-2 stages, each refined by two 3x3 convs
        e1 = block("2dconv1_0", image)
        e2 = block("2dconv2_0", e1)
        e3 = block("2dconv3_0", e2)
        e4 = block("2dconv4_0", e3)
        skip0 = block("2dconv0_2", block("2dconv0_1", image))
        skip1 = block("2dconv1_2", block("2dconv1_1", e1))
        skip2 = block("2dconv2_2", block("2dconv2_1", e2))
        skip3 = block("2dconv3_2", block("2dconv3_1", e3))
        bottom = block("2dconv4_2", block("2dconv4_1", e4))
        # 2. decoder: upsample, concatenate the skip, two convs
        d5 = block("2dconv5_0", bottom)
        d5 = block("2dconv5_2", block("2dconv5_1", tf.concat([d5, skip3], axis=-1)))
        d6 = block("2dconv6_0", d5)
        d6 = block("2dconv6_2", block("2dconv6_1", tf.concat([d6, skip2], axis=-1)))
        d7 = block("2dconv7_0", d6)
        d7 = block("2dconv7_2", block("2dconv7_1", tf.concat([d7, skip1], axis=-1)))
        d8 = block("2dconv8_0", d7)
        if low_memory:
            parts = self.blocks["2dconv8_1"].call_on_parts([d8, skip0], compute_dtype=compute_dtype)
            unet_out = block("2dconv8_2", parts)
        else:
            unet_out = block("2dconv8_2", block("2dconv8_1", tf.concat([d8, skip0], axis=-1)))
        # 3. two stride-2 stages down to 1/4 resolution, 32 channels
        x = block("conv9_2", block("conv9_1", block("conv9_0", unet_out)))
        x = block("conv10_1", block("conv10_0", x))
        return self.conv10_2(x) if compute_dtype is None else conv_in(self.conv10_2, x, compute_dtype)

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
        self.conv2_2 = conv_layer(2, 4 * f, 3, 1, "conv2_2", use_bias=False)

    def call(self, image, training=False):
        x = image
        for stage in self.stages:
            x = stage(x, training=training)
        return self.conv2_2(x)

    def get_config(self):
        return {**super().get_config(), "norm": self.norm, "base_filter": self.base_filter,
                "batch_stats": self.batch_stats}


def feature_tower(kind, batch_stats=True):
    """The feature tower named ``kind`` (one of :data:`FEATURE_TOWERS`), TF1 scope ``feature_tower``."""
    if kind == "UNetDS2GN":
        return UNetDS2GN(name="feature_tower")
    if kind == "UniNetDS2":
        return UniNetDS2(norm="bn", batch_stats=batch_stats, name="feature_tower")
    if kind == "UniNetDS2GN":
        return UniNetDS2(norm="gn", name="feature_tower")
    raise ValueError("feature tower must be one of %s, got %r" % (FEATURE_TOWERS, kind))
