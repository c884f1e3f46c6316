"""The compiled network of test.py: the model with its weights (:func:`load_model`), its
two compiled pieces per setting (:func:`network_function`, :class:`InferenceNetwork`) and
the feature maps reused across view sets (:class:`FeatureCache`).

    from mvsnet.inference import network
    model, _ = network.load_model("GRU", "MODELS/GRU/model.ckpt-100000")
    net = network.network_function(model, options)            # compiled once per setting
    out = net(images, image_stats, cams)                       # {'depth', 'prob'} (B, h, w, 1)
"""

import collections
import hashlib

import numpy as np
import tensorflow as tf

from mvsnet import checkpoint as ck
from mvsnet.network.model import build_model, centre_view, depth_range


PLANE_CHUNK = 2
"""Depth planes per chunk of the fast GRU sweep (``exact=False``): their costs and
first-layer convolutions are held at once, 2 x (48 + 32) floats per cost-map pixel. The
maps do not depend on it (byte-identical files with 4); with 2 instead of 4 the peak RSS
at 1600x1200 is 15 to 50 MiB lower and a view 4 to 8 % faster (paired runs,
docs/benchmarks.md)."""


def load_model(regularization, checkpoint_path, refinement=False):
    """(model, summary): the network with the checkpoint's weights. A TF1 checkpoint
    (the original's or ours) is converted in memory; nothing is written."""
    model = build_model(regularization, refinement)
    summary = ck.load_weights(model, checkpoint_path)
    return model, summary


def network_function(model, options, refinement=False):
    """The compiled network of the original test.py graph (an :class:`InferenceNetwork`):
    images (B, V, H, W, 3) uint8, image_stats (B, V, 2, 3) (their centring, see
    :class:`mvsnet.inference.prepare.PreparedViewSet`), cams (B, V, 2, 4, 4) at the 1/4
    scale -> {'depth', 'prob'[, 'refined']} (B, h, w, 1).

    GRU: winner-take-all between depth_start and depth_start + (depth_num - 1) * interval,
    depth_num from the first reference camera of the batch (as the original), inverse or
    linear depth; ``options.exact`` picks the original formulation, otherwise the fast one
    (:meth:`mvsnet.network.model.RMVSNet.winner_take_all`), whose convolutions run on
    ``options.precision`` operands (as given: the hardware check is
    :func:`mvsnet.inference.precision.effective_precision`'s, in the pipeline). 3DCNNs: soft argmin over
    ``max_d`` planes (the original inference_mem), and the refinement network when
    ``refinement``. Compiled once per model and setting.
    """
    refine = bool(refinement and options.regularization == "3DCNNs")
    key = (options.regularization, options.inverse_depth, options.exact, options.view_num,
           options.max_h, options.max_w, options.max_d, refine, options.precision, options.readout())
    key = (model,) + key
    if key not in _COMPILED:
        _COMPILED[key] = InferenceNetwork(model, options, refine)
        while len(_COMPILED) > COMPILED_NETWORKS:
            _COMPILED.popitem(last=False)
    _COMPILED.move_to_end(key)
    return _COMPILED[key]


AUTOGRAPH = False
"""Whether the compiled pieces of :class:`InferenceNetwork` are traced through AutoGraph.
Their loops are explicit ``tf.while_loop`` calls and no Python branch depends on a tensor,
so the graph is the same without it; AutoGraph only rewrites the Python source of every
function and layer traced through, which was more than half of the tracing time of the
sweep (640x512x64 on a loaded 2-core machine: 62 -> 28 s)."""

COMPILED_NETWORKS = 4
"""Compiled networks kept for reuse by :func:`network_function` (the most recently used
(model, setting) pairs; each keeps its model alive)."""

_COMPILED = collections.OrderedDict()


class FeatureCache:
    """The feature maps of the last ``capacity`` distinct views (least recently used out).

    A view's features depend on its network input only (its uint8 image and centring; the
    towers' group norms are per image), so the towers run once per image, not once per view
    set: with 5 views per set each image is otherwise seen by about 5 sets. Keyed by the
    image's bytes (BLAKE2b), so a change of scale or crop is a different view. One map is
    h * w * 32 floats (15.4 MB at 1600x1200 input).
    """

    def __init__(self, capacity):
        self.capacity = capacity
        self.maps = collections.OrderedDict()
        self.hits = self.misses = 0

    @staticmethod
    def key(image, image_stats):
        digest = hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=16)
        digest.update(np.ascontiguousarray(image_stats).data)
        return digest.digest()

    def get(self, key):
        feature = self.maps.get(key)
        if feature is None:
            self.misses += 1
        else:
            self.hits += 1
            self.maps.move_to_end(key)
        return feature

    def put(self, key, feature):
        if self.capacity < 1:
            return
        self.maps[key] = feature
        self.maps.move_to_end(key)
        while len(self.maps) > self.capacity:
            self.maps.popitem(last=False)


class InferenceNetwork:
    """The network of test.py in two compiled pieces: ``tower`` (one view's uint8 image and
    centring -> its (B, h, w, 32) features) and ``depth`` (the features of a view set and
    its cameras -> the maps, :meth:`mvsnet.network.model.RMVSNet.sweep` or
    :meth:`mvsnet.network.model.MVSNet.sweep`). Same values as one graph over the view set:
    the towers of a view set ran one after the other there too
    (``extract_features(sequential=True)``).

    ``network(images, image_stats, cams, cache=None)``: with a :class:`FeatureCache`, a
    view already seen is not run through its tower again.
    """

    def __init__(self, model, options, refine):
        self.model, self.options, self.refine = model, options, refine
        view_num, max_h, max_w, max_d = options.view_num, options.max_h, options.max_w, options.max_d
        h, w = max_h // 4, max_w // 4
        image_spec = [tf.TensorSpec([None, max_h, max_w, 3], tf.uint8), tf.TensorSpec([None, 2, 3], tf.float32)]
        feature_spec = tf.TensorSpec([None, h, w, 32], tf.float32)
        depth_spec = [feature_spec, [feature_spec] * (view_num - 1),
                      tf.TensorSpec([None, view_num, 2, 4, 4], tf.float32)]
        if refine:
            depth_spec += image_spec
        fast = options.regularization == "GRU" and not options.exact
        # --precision: the fast GRU sweep only (Options.check refuses the other cases)
        compute_dtype = options.precision if fast and options.precision != "float32" else None

        @tf.function(input_signature=image_spec, autograph=AUTOGRAPH)
        def tower(image, image_stats):
            view = centre_view(image[:, None], image_stats[:, None], 0)
            # the fast formulation's tower (GRU only: 3DCNNs has one formulation, the original's)
            return model.view_features(view, low_memory=fast, compute_dtype=compute_dtype)

        @tf.function(input_signature=depth_spec, autograph=AUTOGRAPH)
        def depth(ref_feature, src_features, cams, ref_image=None, ref_stats=None):
            planes = depth_range(cams)
            if options.regularization == "GRU":
                depth, prob = model.sweep(ref_feature, src_features, cams, planes.num, planes.start,
                                          planes.end, inverse_depth=options.inverse_depth,
                                          exact=options.exact, chunk=PLANE_CHUNK,
                                          compute_dtype=compute_dtype, readout=options.readout())
                return {"depth": depth, "prob": prob}
            depth, prob, _ = model.sweep(ref_feature, src_features, cams, max_d, planes.start,
                                         planes.interval, memory_saving=True)
            out = {"depth": depth, "prob": prob}
            if refine:
                ref = centre_view(ref_image[:, None], ref_stats[:, None], 0)
                out["refined"] = model.depth_refine(depth, ref, max_d, planes.start, planes.interval)
            return out

        self.tower, self.depth = tower, depth

    def features(self, images, image_stats, cache=None):
        """[(B, h, w, 32)] * V: the features of every view of a batch of view sets."""
        batch, views = images.shape[:2]
        columns = []
        for v in range(views):
            column = []
            for b in range(batch):
                key = feature = None
                if cache is not None:
                    key = cache.key(images[b, v], image_stats[b, v])
                    feature = cache.get(key)
                if feature is None:
                    feature = self.tower(images[b:b + 1, v], image_stats[b:b + 1, v])
                    if cache is not None:
                        cache.put(key, feature)
                column.append(feature)
            columns.append(column[0] if batch == 1 else tf.concat(column, axis=0))
        return columns

    def __call__(self, images, image_stats, cams, cache=None):
        images, image_stats = np.asarray(images), np.asarray(image_stats, np.float32)
        self.model.check_inputs(images, np.asarray(cams), image_stats)
        features = self.features(images, image_stats, cache)
        extra = (images[:, 0], image_stats[:, 0]) if self.refine else ()
        return self.depth(features[0], features[1:], tf.convert_to_tensor(cams, tf.float32), *extra)
