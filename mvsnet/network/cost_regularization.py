"""MVSNet's cost volume regularisation: the 3D U-Net ``RegNetUS0`` (paper: 3D CNNs).

Cost volume (B, D, h, w, 32), D and h, w multiples of 8 -> one-channel cost (B, D, h, w, 1).
"""

import keras

from mvsnet.network.norms import ConvNorm, conv_layer


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
        self.conv6_2 = conv_layer(3, 1, 3, 1, "3dconv6_2", use_bias=False)

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
