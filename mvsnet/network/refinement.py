"""MVSNet's depth map refinement network (paper: depth map refinement)."""

import keras
import tensorflow as tf

from mvsnet.network.norms import ConvNorm, conv_layer


class RefineNet(keras.layers.Layer):
    """MVSNet depth refinement: residual from [image, normalised depth].

    color (B,H,W,3), depth (B,H,W,1) in [0,1] -> refined normalised depth (B,H,W,1).
    """

    def __init__(self, batch_stats=True, **kwargs):
        super().__init__(**kwargs)
        self.batch_stats = batch_stats
        self.convs = [ConvNorm(32, 3, 1, norm="bn", center=False, scale=False,
                               batch_stats=batch_stats, name="refine_conv%d" % i) for i in range(3)]
        self.refine_conv3 = conv_layer(2, 1, 3, 1, "refine_conv3", use_bias=True)

    def call(self, color_image, depth_image, training=False):
        x = tf.concat([color_image, depth_image], axis=3)
        for conv in self.convs:
            x = conv(x, training=training)
        return self.refine_conv3(x) + depth_image

    def get_config(self):
        return {**super().get_config(), "batch_stats": self.batch_stats}
