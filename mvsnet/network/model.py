"""R-MVSNet and MVSNet: one shared plane sweep, two regularisations.

:class:`PlaneSweepNetwork` holds what both networks share: the input checks, the feature
tower of every view, the homographies of the depth planes and the variance cost of a plane.
:class:`RMVSNet` (``regularization='GRU'``) regularises the planes one after the other with
the convolutional GRU; :class:`MVSNet` (``'3DCNNs'``) regularises the whole cost volume with
the 3D U-Net and may refine the depth map. :func:`build_model` builds either by name.

Inputs at the network boundary are those of the original graph:

* ``images`` (B, V, H, W, 3): centred images, view 0 the reference; H, W multiples of 32;
  or the raw images (uint8 or float, 0-255) with ``image_stats`` (B, V, 2, 3), each view's
  centring mean and denominator: the network then centres each view when its tower starts
  (:func:`centre_view`, bit for bit the original's preprocessing);
* ``cams`` (B, V, 2, 4, 4): cameras scaled to the 1/4 feature map (original layout; the
  reference view's depth range in ``cams[:, 0, 1, 3]``, :func:`depth_range`);
* ``depth_start``, ``depth_interval``, ``depth_end`` (B,), ``depth_num`` an int or
  int tensor.

Modes (original names in brackets):

* :meth:`RMVSNet.winner_take_all` [inference_winner_take_all] streams over the depth
  planes with the GRU: memory does not grow with the number of planes; its sweep from
  features is :meth:`RMVSNet.sweep` (:meth:`RMVSNet.sweep_exact`, :meth:`RMVSNet.sweep_fast`);
* :meth:`RMVSNet.prob_volume_recurrent` [inference_prob_recurrent] (GRU training);
* :meth:`MVSNet.soft_argmin` [inference; ``memory_saving=True``: inference_mem] (3DCNNs),
  from features :meth:`MVSNet.sweep`;
* :meth:`MVSNet.depth_refine` [depth_refine].
"""

from typing import NamedTuple

import keras
import tensorflow as tf

from mvsnet.network import homography as hg
from mvsnet.network.convgru import GRURegularizer
from mvsnet.network.cost_regularization import RegNetUS0
from mvsnet.network.cost_volume import variance_cost, variance_cost_planes
from mvsnet.network.depth_regression import probability_map, soft_argmin_depth
from mvsnet.network.feature_towers import UniNetDS2
from mvsnet.network.feature_towers import feature_tower as feature_tower_named
from mvsnet.network.refinement import RefineNet
from mvsnet.network.spec import REGULARIZATIONS, Readout, network_multiple


class DepthRange(NamedTuple):
    """The reference view's depth range of a batch of cameras (:func:`depth_range`)."""

    start: tf.Tensor      # (B,) depth of the first plane
    interval: tf.Tensor   # (B,) depth between planes
    num: tf.Tensor        # int32 scalar: planes of the first reference camera (as the original)
    end: tf.Tensor        # (B,) depth of the last of ``num`` planes: start + (num - 1) * interval
    max: tf.Tensor        # (B,) the cam file's fourth value (DEPTH_MAX), when it has one


def depth_range(cams):
    """The depth range of the reference view, ``cams[:, 0, 1, 3, :]`` of (B, V, 2, 4, 4)
    cameras, as the original's test.py and validate.py slice it: a :class:`DepthRange`."""
    cams = tf.convert_to_tensor(cams, tf.float32)
    start, interval = cams[:, 0, 1, 3, 0], cams[:, 0, 1, 3, 1]
    num = tf.cast(cams[0, 0, 1, 3, 2], tf.int32)
    end = start + (tf.cast(num, tf.float32) - 1) * interval
    return DepthRange(start, interval, num, end, cams[:, 0, 1, 3, 3])


class PlaneSweepNetwork(keras.Model):
    """What R-MVSNet and MVSNet share: input checks, the feature tower (``feature_tower``,
    one for every view), the plane homographies and the variance cost of a plane. A
    subclass adds its regulariser (:meth:`make_blocks`), its Keras entry point (``call``) and
    its sweep from features to depth (``sweep``).

    ``batch_stats=True`` keeps the original's batch-statistics BatchNorm at test time;
    ``warp='gather'`` selects the original's unused gather-based warp instead of
    ``tf.contrib.image.transform``.
    """

    regularization = None   # "GRU" or "3DCNNs", set by the subclass
    refinement = False

    def __init__(self, feature_tower="UNetDS2GN", batch_stats=True, warp="transform", **kwargs):
        kwargs.setdefault("name", "rmvsnet")
        super().__init__(**kwargs)
        if warp not in ("transform", "gather"):
            raise ValueError("warp must be 'transform' or 'gather', got %r" % (warp,))
        self.feature_tower_kind = feature_tower
        self.batch_stats = batch_stats
        self.warp = warp
        self._warp_fn = hg.warp_transform if warp == "transform" else hg.warp_gather
        self.feature_tower = feature_tower_named(feature_tower, batch_stats)
        self.make_blocks()
        self.build()

    # ------------------------------------------------------------------ keras plumbing
    def make_blocks(self):
        """Create the subclass's blocks (attributes named as in :meth:`blocks`)."""
        raise NotImplementedError

    def build_blocks(self):
        """Create the subclass's weights by running its blocks once on tiny inputs."""
        raise NotImplementedError

    def build(self, input_shape=None):
        """Create every weight by running each block once on a tiny input."""
        if self.built:
            return
        self.feature_tower(tf.zeros([1, 32, 32, 3]))
        self.build_blocks()
        self.built = True

    def blocks(self):
        """The top-level blocks, by name (the unit of the checkpoint name table)."""
        return {"feature_tower": self.feature_tower}

    def get_config(self):
        return {**super().get_config(), "feature_tower": self.feature_tower_kind,
                "batch_stats": self.batch_stats, "warp": self.warp}

    # ------------------------------------------------------------------ the shared sweep
    def check_inputs(self, images, cams, image_stats=None):
        """ValueError unless images are (B, V, H, W, 3) with H, W multiples of the network's
        multiple (16 for GRU, 32 for 3DCNNs), cams are (B, V, 2, 4, 4) and image_stats, when
        given, (B, V, 2, 3) for the same V (checked on the static shapes, i.e. once per trace)."""
        image_shape, cam_shape = tf.TensorShape(images.shape), tf.TensorShape(cams.shape)
        if image_stats is not None:
            stats_shape = tf.TensorShape(image_stats.shape)
            if stats_shape.rank != 4 or stats_shape[2:] != (2, 3) or \
                    not stats_shape[1:2].is_compatible_with(image_shape[1:2]):
                raise ValueError("image_stats must be (B, V, 2, 3) for images %s, got %s"
                                 % (image_shape, stats_shape))
        if image_shape.rank != 5 or image_shape[-1] not in (None, 3):
            raise ValueError("images must be (B, V, H, W, 3), got %s" % image_shape)
        if cam_shape.rank != 5 or cam_shape[2:] != (2, 4, 4):
            raise ValueError("cams must be (B, V, 2, 4, 4), got %s" % cam_shape)
        if None not in (image_shape[1], cam_shape[1]) and image_shape[1] != cam_shape[1]:
            raise ValueError("images have %d views but cams %d" % (image_shape[1], cam_shape[1]))
        multiple = network_multiple(self.regularization)
        for side, name in ((image_shape[2], "H"), (image_shape[3], "W")):
            if side is not None and side % multiple:
                raise ValueError("image %s = %d: the %s network needs a multiple of %d"
                                 % (name, side, self.regularization, multiple))

    def view_features(self, view, training=False, low_memory=False, compute_dtype=None):
        """The feature tower on one view (B, H, W, 3) -> (B, H/4, W/4, 32). ``low_memory``
        and ``compute_dtype`` (UNetDS2GN only; the fast formulation): see
        :meth:`UNetDS2GN.call`."""
        tower = self.feature_tower
        if isinstance(tower, UniNetDS2):
            if compute_dtype is not None:
                raise ValueError("compute_dtype is for the UNetDS2GN tower of the fast formulation only")
            return tower(view, training=training)
        if compute_dtype is not None:
            return tower(view, low_memory=low_memory, compute_dtype=compute_dtype)
        return tower(view, low_memory=low_memory) if low_memory else tower(view)

    def extract_features(self, images, training=False, sequential=False, image_stats=None,
                         low_memory=False, compute_dtype=None):
        """One tower for every view: (ref (B,h,w,32), [src (B,h,w,32)] * (V-1)).

        ``sequential``: each tower starts after the previous one has finished (in a graph,
        independent towers may otherwise run at the same time; their full-resolution
        activations then set the peak memory). Scheduling only: values are unchanged.
        ``image_stats``: images are raw, each view is centred first (:func:`centre_view`).
        ``low_memory``, ``compute_dtype``: see :meth:`view_features`."""

        def view(i):
            return images[:, i] if image_stats is None else centre_view(images, image_stats, i)

        features = []
        for i in range(images.shape[1]):
            if sequential and features:
                # the view is sliced (a copy) only when the previous tower is done
                with tf.control_dependencies([features[-1]]):
                    v = view(i)
            else:
                v = view(i)
            features.append(self.view_features(v, training, low_memory, compute_dtype))
        return features[0], features[1:]

    def sweep_homographies(self, cams, depths):
        """src_from_ref homographies of every source view, [(B, D, 3, 3)] * (V-1)."""
        cams = tf.convert_to_tensor(cams, tf.float32)
        ref_cam = cams[:, 0]
        return [hg.get_homographies(ref_cam, cams[:, v], depths) for v in range(1, cams.shape[1])]

    def plane_cost(self, ref_feature, src_features, homographies, d, memory_saving=False):
        """Variance cost of depth plane ``d`` (a scalar int tensor), (B, h, w, 32)."""
        warped = [self._warp_fn(f, h[:, d]) for f, h in zip(src_features, homographies)]
        return variance_cost(ref_feature, warped, memory_saving)


class RMVSNet(PlaneSweepNetwork):
    """R-MVSNet: the planes regularised one after the other by the convolutional GRU
    (``gru``), winner-take-all at test time, a probability volume in training."""

    regularization = "GRU"

    def make_blocks(self):
        self.gru = GRURegularizer(name="gru")

    def build_blocks(self):
        cost = tf.zeros([1, 8, 8, 32])
        self.gru(cost, self.gru.initial_states(cost))

    def blocks(self):
        return {**super().blocks(), "gru": self.gru}

    def call(self, inputs, training=False):
        """Keras entry point: the training-path probability volume (B, D, H, W, 1).

        inputs: dict with images, cams, depth_start, depth_interval and (static int)
        depth_num."""
        return self.prob_volume_recurrent(inputs["images"], inputs["cams"], inputs["depth_num"],
                                          inputs["depth_start"], inputs["depth_interval"],
                                          training=training)

    def winner_take_all(self, images, cams, depth_num, depth_start, depth_end, inverse_depth=True,
                        exact=True, chunk=8, image_stats=None, compute_dtype=None,
                        readout=Readout()):
        """Streaming GRU inference: depth of the most probable plane and its probability.

        prob = max_d exp(c_d) / (sum_d exp(c_d) + 1e-7).  Depths from depth_start to
        depth_end, sampled in inverse depth (default, as test.py) or linearly.
        Returns depth (B, h, w, 1), prob (B, h, w, 1).

        ``exact=True``: the original graph's formulation (:meth:`sweep_exact`).
        ``exact=False``: the same network reorganised for speed and memory: the towers'
        full-resolution decoder convolution without its concatenation
        (``UNetDS2GN(low_memory=True)``) and the chunked sweep (:meth:`sweep_fast`).
        Equal up to float rounding (order of sums, fused multiply-adds).
        ``compute_dtype`` (fast only; "bfloat16" for ``--precision bfloat16``): the towers' and
        the first GRU layer's convolutions on operands of that type, everything else float32.
        ``readout`` (:class:`Readout`; default: the original's) reads the depth between the
        planes and the probability over the winner's neighbours too.
        """
        _check_compute_dtype(exact, compute_dtype)
        self.check_inputs(images, cams, image_stats)
        ref_feature, src_features = self.extract_features(images, sequential=True,
                                                          image_stats=image_stats, low_memory=not exact,
                                                          compute_dtype=compute_dtype)
        return self.sweep(ref_feature, src_features, cams, depth_num, depth_start, depth_end,
                          inverse_depth, exact, chunk, compute_dtype, readout)

    def sweep(self, ref_feature, src_features, cams, depth_num, depth_start, depth_end,
              inverse_depth=True, exact=True, chunk=8, compute_dtype=None,
              readout=Readout()):
        """:meth:`winner_take_all` on features already extracted: ref_feature (B, h, w, 32),
        src_features [(B, h, w, 32)] * (V-1) (e.g. reused across view sets: a view's features
        depend on its image only). :meth:`sweep_exact` or :meth:`sweep_fast`; same returns."""
        _check_compute_dtype(exact, compute_dtype)
        if exact:
            return self.sweep_exact(ref_feature, src_features, cams, depth_num, depth_start,
                                    depth_end, inverse_depth, readout)
        return self.sweep_fast(ref_feature, src_features, cams, depth_num, depth_start, depth_end,
                               inverse_depth, chunk, compute_dtype, readout)

    def sweep_exact(self, ref_feature, src_features, cams, depth_num, depth_start, depth_end,
                    inverse_depth=True, readout=Readout()):
        """The original graph's sweep: each plane's warps, variance and GRU step in turn."""
        planes = self._planes(cams, depth_num, depth_start, depth_end, inverse_depth, readout)

        def body(d, states, *best):
            cost = self.plane_cost(ref_feature, src_features, planes.homographies, d)
            reg_cost, states = self.gru(cost, states)
            return (d + 1, states) + planes.update(d, reg_cost, *best)

        return self._winner_take_all(ref_feature, planes, body)

    def sweep_fast(self, ref_feature, src_features, cams, depth_num, depth_start, depth_end,
                   inverse_depth=True, chunk=8, compute_dtype=None, readout=Readout()):
        """The fast sweep: the planes in chunks of ``chunk``, the warps and variances of a
        chunk in one XLA-compiled gather (:func:`mvsnet.network.cost_volume.variance_cost_planes`)
        and the first GRU layer's convolutions on the cost as one batched convolution
        (:meth:`GRURegularizer.cost_part`); only the convolutions on the hidden states stay
        in the sequential loop. Memory grows with ``chunk``, not with the number of planes.
        ``compute_dtype``: the first GRU layer's convolutions (the batched one on the cost and
        the ones on its hidden state) on operands of that type, the rest float32. The name
        scopes label the ops for ``tools/profile_ops.py`` (names only: same graph)."""
        planes = self._planes(cams, depth_num, depth_start, depth_end, inverse_depth, readout)
        depth_num = planes.num

        def body(start, states, *best):
            # the costs of planes start .. start + chunk - 1 (past the last: repeats of it,
            # computed but not swept) and their first-layer convolutions, batched
            with tf.name_scope("cost_volume"):
                indices = tf.minimum(start + tf.range(chunk), depth_num - 1)
                chunk_homographies = [tf.gather(h, indices, axis=1) for h in planes.homographies]
                costs = variance_cost_planes(ref_feature, src_features, chunk_homographies)
            with tf.name_scope("gru1_cost_part"):
                shape = tf.shape(costs)
                parts = self.gru.cost_part(tf.reshape(costs, tf.concat([[-1], shape[2:]], 0)),
                                           compute_dtype)
                parts = tf.reshape(parts, tf.concat([shape[:2], tf.shape(parts)[1:]], 0))

            def plane_body(k, states, *best):
                with tf.name_scope("plane_slice"):
                    part = parts[:, k]
                reg_cost, states = self.gru.step_split(part, states, compute_dtype)
                with tf.name_scope("winner_take_all"):
                    best = planes.update(start + k, reg_cost, *best)
                return (k + 1, states) + best

            out = tf.while_loop(lambda k, *_: k < tf.minimum(chunk, depth_num - start), plane_body,
                                [tf.constant(0), states] + list(best), parallel_iterations=1)
            return (start + chunk,) + tuple(out[1:])

        return self._winner_take_all(ref_feature, planes, body)

    def _planes(self, cams, depth_num, depth_start, depth_end, inverse_depth, readout=Readout()):
        """The planes of a winner-take-all sweep: their homographies and the update of the
        running best (:class:`_Planes`)."""
        depth_num = tf.cast(depth_num, tf.int32)
        depth_start = tf.convert_to_tensor(depth_start, tf.float32)
        depth_end = tf.convert_to_tensor(depth_end, tf.float32)
        planes_minus_one = tf.cast(depth_num, tf.float32) - 1
        # plane_depth broadcasts the batch's ranges over (B, h, w, 1) indices (readout.subplane)
        start4, end4 = tf.reshape(depth_start, [-1, 1, 1, 1]), tf.reshape(depth_end, [-1, 1, 1, 1])
        if inverse_depth:
            depths = hg.depth_samples(depth_start, depth_num, depth_end=depth_end, inverse=True)
            inv_start, inv_end = 1.0 / start4, 1.0 / end4
            inv_interval = (inv_start - inv_end) / planes_minus_one

            def plane_depth(d_idx):
                return 1.0 / (inv_start - d_idx * inv_interval)
        else:
            depth_interval = (depth_end - depth_start) / planes_minus_one
            depths = hg.depth_samples(depth_start, depth_num, depth_interval=depth_interval)
            interval4 = tf.reshape(depth_interval, [-1, 1, 1, 1])

            def plane_depth(d_idx):
                return start4 + d_idx * interval4
        return _Planes(depth_num, self.sweep_homographies(cams, depths), plane_depth, readout)

    def _winner_take_all(self, ref_feature, planes, body):
        """Run ``body`` (d, states, *best) -> the next, from plane 0 while d < depth_num, best
        being :meth:`_Planes.initial`'s running best; the winner's depth and probability,
        (B, h, w, 1) each."""
        loop_vars = [tf.constant(0), self.gru.initial_states(ref_feature)]
        loop_vars += planes.initial(ref_feature)
        _, _, *best = tf.while_loop(lambda d, *_: d < planes.num, body, loop_vars,
                                    parallel_iterations=1)
        return planes.result(*best)

    def prob_volume_recurrent(self, images, cams, depth_num, depth_start, depth_interval,
                              training=False):
        """Training path: softmax over depth of the GRU-regularised costs, (B, D, h, w, 1)."""
        depth_num = tf.cast(depth_num, tf.int32)
        self.check_inputs(images, cams)
        ref_feature, src_features = self.extract_features(images, training=training)
        depths = hg.depth_samples(depth_start, depth_num, depth_interval=depth_interval)
        homographies = self.sweep_homographies(cams, depths)
        reg_costs = tf.TensorArray(tf.float32, size=depth_num)

        def body(d, states, reg_costs):
            cost = self.plane_cost(ref_feature, src_features, homographies, d)
            reg_cost, states = self.gru(cost, states)
            return d + 1, states, reg_costs.write(d, reg_cost)

        _, _, reg_costs = tf.while_loop(
            lambda d, *_: d < depth_num, body,
            [tf.constant(0), self.gru.initial_states(ref_feature), reg_costs])
        volume = tf.transpose(reg_costs.stack(), [1, 0, 2, 3, 4])
        return tf.nn.softmax(volume, axis=1)


def _check_compute_dtype(exact, compute_dtype):
    """ValueError for a ``compute_dtype`` with the exact formulation (the original's float32)."""
    if exact and compute_dtype is not None:
        raise ValueError("compute_dtype applies to the fast formulation (exact=False) only")


class _Planes(NamedTuple):
    """The planes of one winner-take-all sweep (:meth:`RMVSNet._planes`) and the running
    best: (depth_image, max_prob, exp_sum), and when the readout needs the winner's neighbours
    (:attr:`neighbours`) also the winner's plane index, its cost, the costs of its left and
    right neighbours and the previous plane's cost."""

    num: tf.Tensor
    homographies: list
    plane_depth: object
    readout: Readout

    def initial(self, ref_feature):
        """The running best before plane 0, (B, h, w, 1) each."""
        zeros = tf.zeros_like(ref_feature[..., :1])
        return [zeros] * (8 if self.neighbours else 3)

    @property
    def neighbours(self):
        """Whether the sweep tracks the winner's neighbours (``subplane``, ``prob_window`` 3)."""
        return self.readout.subplane or self.readout.prob_window == 3

    def update(self, d, reg_cost, depth_image, max_prob, exp_sum, *winner):
        """The running best after plane ``d``."""
        prob = tf.exp(reg_cost)
        plane = tf.reshape(self.plane_depth(tf.cast(d, tf.float32)), [-1, 1, 1, 1])
        better = tf.cast(max_prob < prob, tf.float32)
        max_prob = better * prob + (1 - better) * max_prob
        depth_image = better * plane + (1 - better) * depth_image
        if not self.neighbours:
            return depth_image, max_prob, exp_sum + prob
        index, left, centre, right, previous = winner
        d = tf.cast(d, tf.float32)
        is_better = better > 0
        # the plane just after the winner: its cost is the winner's right neighbour
        right = tf.where(is_better, right, tf.where(tf.equal(index, d - 1), reg_cost, right))
        left = tf.where(is_better, previous, left)
        centre = tf.where(is_better, reg_cost, centre)
        index = tf.where(is_better, d, index)
        return depth_image, max_prob, exp_sum + prob, index, left, centre, right, reg_cost

    def result(self, depth_image, max_prob, exp_sum, *winner):
        """depth (B, h, w, 1), prob (B, h, w, 1) = max_d exp(c_d) / (sum_d exp(c_d) + 1e-7)."""
        prob = max_prob / (exp_sum + 1e-7)
        if not self.neighbours:
            return depth_image, prob
        index, left, centre, right, _ = winner
        last = tf.cast(self.num, tf.float32) - 1
        if self.readout.prob_window == 3:
            zero = tf.zeros_like(index)
            around = (tf.where(index > 0, tf.exp(left), zero) + max_prob
                      + tf.where(index < last, tf.exp(right), zero))
            prob = around / (exp_sum + 1e-7)
        if not self.readout.subplane:
            return depth_image, prob
        inner = (index > 0) & (index < last)
        offset = tf.where(inner, subplane_offset(left, centre, right), tf.zeros_like(index))
        return self.plane_depth(index + offset), prob


def subplane_offset(left, centre, right):
    """Where the parabola through (-1, left), (0, centre), (1, right) peaks, clipped to
    [-0.5, 0.5]: the winner's sub-plane offset in planes (0 where the costs do not curve
    down, e.g. all equal). Any shapes that broadcast."""
    curvature = left - 2.0 * centre + right
    safe = tf.where(curvature < 0, curvature, -tf.ones_like(curvature))
    offset = 0.5 * (left - right) / safe
    return tf.where(curvature < 0, tf.clip_by_value(offset, -0.5, 0.5), tf.zeros_like(offset))


class MVSNet(PlaneSweepNetwork):
    """MVSNet: the whole cost volume regularised by the 3D U-Net (``reg_net``), soft argmin
    depth; with ``refinement``, the depth refinement network (``refine_net``)."""

    regularization = "3DCNNs"

    def __init__(self, refinement=False, **kwargs):
        self.refinement = refinement
        super().__init__(**kwargs)

    def make_blocks(self):
        self.reg_net = RegNetUS0(batch_stats=self.batch_stats, name="reg_net")
        if self.refinement:
            self.refine_net = RefineNet(batch_stats=self.batch_stats, name="refine_net")

    def build_blocks(self):
        self.reg_net(tf.zeros([1, 8, 8, 8, 32]))
        if self.refinement:
            self.refine_net(tf.zeros([1, 8, 8, 3]), tf.zeros([1, 8, 8, 1]))

    def blocks(self):
        out = {**super().blocks(), "reg_net": self.reg_net}
        if self.refinement:
            out["refine_net"] = self.refine_net
        return out

    def get_config(self):
        return {**super().get_config(), "refinement": self.refinement}

    def call(self, inputs, training=False):
        """Keras entry point: the training-path (depth, prob), (B, h, w, 1) each.

        inputs: dict with images, cams, depth_start, depth_interval and (static int)
        depth_num."""
        depth, prob, _ = self.soft_argmin(inputs["images"], inputs["cams"], inputs["depth_num"],
                                          inputs["depth_start"], inputs["depth_interval"],
                                          training=training)
        return depth, prob

    def soft_argmin(self, images, cams, depth_num, depth_start, depth_interval, training=False,
                    memory_saving=False, image_stats=None):
        """3D-CNN regularisation, soft argmin depth and its 4-plane probability.

        ``memory_saving=True`` is the original's test-time ``inference_mem`` (its variance
        rounding, bit for bit); the default is the training-time ``inference``.
        Returns depth (B, h, w, 1), prob (B, h, w, 1), probability volume (B, D, h, w).
        """
        self.check_inputs(images, cams, image_stats)
        ref_feature, src_features = self.extract_features(images, training=training,
                                                          image_stats=image_stats)
        return self.sweep(ref_feature, src_features, cams, depth_num, depth_start,
                          depth_interval, training, memory_saving)

    def sweep(self, ref_feature, src_features, cams, depth_num, depth_start, depth_interval,
              training=False, memory_saving=False):
        """:meth:`soft_argmin` on features already extracted (see :meth:`RMVSNet.sweep`).
        Same returns."""
        depth_start = tf.convert_to_tensor(depth_start, tf.float32)
        depth_interval = tf.convert_to_tensor(depth_interval, tf.float32)
        depth_end = depth_start + (tf.cast(depth_num, tf.float32) - 1) * depth_interval
        # 1. cost volume
        depths = hg.depth_samples(depth_start, depth_num, depth_interval=depth_interval)
        homographies = self.sweep_homographies(cams, depths)
        volume = self.cost_volume(ref_feature, src_features, homographies, depth_num, memory_saving)
        # 2. regularisation and softmax over depth
        filtered = tf.squeeze(self.reg_net(volume, training=training), axis=-1)
        prob_volume = tf.nn.softmax(-filtered, axis=1)
        # 3. soft argmin over the linearly sampled depths
        depth = soft_argmin_depth(prob_volume, depth_start, depth_end, depth_num)
        prob = probability_map(prob_volume, depth, depth_start, depth_interval)
        return depth, prob, prob_volume

    def cost_volume(self, ref_feature, src_features, homographies, depth_num, memory_saving=False):
        """The full (B, D, h, w, 32) cost volume, one plane at a time."""
        planes = tf.TensorArray(tf.float32, size=depth_num)

        def body(d, planes):
            cost = self.plane_cost(ref_feature, src_features, homographies, d, memory_saving)
            return d + 1, planes.write(d, cost)

        _, planes = tf.while_loop(lambda d, _: d < depth_num, body, [tf.constant(0), planes])
        return tf.transpose(planes.stack(), [1, 0, 2, 3, 4])

    def depth_refine(self, init_depth, image, depth_num, depth_start, depth_interval,
                     training=False):
        """Refine a depth map with the reference image (normalised depth residual)."""
        depth_start = tf.reshape(tf.convert_to_tensor(depth_start, tf.float32), [-1, 1, 1, 1])
        depth_interval = tf.reshape(tf.convert_to_tensor(depth_interval, tf.float32), [-1, 1, 1, 1])
        depth_scale = (tf.cast(depth_num, tf.float32) - 1) * depth_interval
        norm_depth = (init_depth - depth_start) / depth_scale
        # legacy bilinear resize (no half-pixel centres), as tf.image.resize_bilinear
        resized = tf.raw_ops.ResizeBilinear(images=image, size=tf.shape(init_depth)[1:3],
                                            align_corners=False, half_pixel_centers=False)
        refined = self.refine_net(resized, norm_depth, training=training)
        return refined * depth_scale + depth_start


NETWORKS = {"GRU": RMVSNet, "3DCNNs": MVSNet}
"""The network class of each --regularization."""


def centre_view(images, image_stats, i):
    """View ``i`` of raw images centred as the original's preprocessing, (B, H, W, 3) float32.

    images       (B, V, H, W, 3) uint8 (or float holding 0-255 values)
    image_stats  (B, V, 2, 3) float32: [:, :, 0] the per-channel mean, [:, :, 1] std + 1e-8
                 (:func:`mvsnet.preprocess.centring_statistics`)

    ``(image - mean) / denominator`` in float32, the same two IEEE operations per value as
    :func:`mvsnet.preprocess.center_image`: equal bit for bit.
    """
    mean = image_stats[:, i, 0][:, None, None, :]
    denominator = image_stats[:, i, 1][:, None, None, :]
    return (tf.cast(images[:, i], tf.float32) - mean) / denominator


def build_model(regularization, refinement=False, **kwargs):
    """The network the original test.py / train.py build for ``regularization`` ('GRU':
    :class:`RMVSNet`, '3DCNNs': :class:`MVSNet`); refinement exists only for 3DCNNs (the
    original ignores it for GRU). ``kwargs``: feature_tower, batch_stats, warp, name."""
    if regularization not in REGULARIZATIONS:
        raise ValueError("regularization must be one of %s, got %r" % (REGULARIZATIONS, regularization))
    if regularization == "3DCNNs":
        return MVSNet(refinement=bool(refinement), **kwargs)
    return RMVSNet(**kwargs)
