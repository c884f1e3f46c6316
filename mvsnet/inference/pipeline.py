"""Dense-folder depth inference: the pipeline of the original mvsnet/test.py as a library.

    from mvsnet.inference import pipeline, plan
    options = plan.Options(regularization="GRU", max_w=1600, max_h=1200, max_d=256)
    summary = pipeline.run("SCENE", "/path/model.ckpt", 100000, options)

For every view set of ``SCENE/pair.txt`` the network writes ``SCENE/depths_mvsnet/``
``%08d_init.pfm``, ``%08d_prob.pfm``, ``%08d.jpg`` and ``%08d.txt`` as the original.
Reading and preprocessing run in a background thread, one batch ahead, so that they overlap
the network (compiled ``tf.function`` pieces, see :class:`InferenceNetwork`).
Every parameter is explicit; nothing here reads command-line flags.
"""

import collections
import concurrent.futures
import ctypes
import hashlib
import time

import numpy as np
import tensorflow as tf

from cameras.errors import InputError
from mvsnet import checkpoint as ck
from mvsnet import cli
from mvsnet.inference import outputs
from mvsnet.inference.plan import plan_dense_folder
from mvsnet.inference import prepare
from mvsnet import weights
from mvsnet.network.model import build_model, centre_view


FEATURE_CACHE_SETS = 2
"""Feature maps kept for reuse by the next view sets: this many view sets' worth
(FEATURE_CACHE_SETS * view_num maps, 15.4 MB each at 1600x1200 input)."""

RESERVE_BYTES_PER_PIXEL = 160
"""Bytes per network-input pixel reserved in TensorFlow's CPU tensor pool before the first
view (:func:`reserve_tensor_pool`): about the feature towers' full-resolution working set,
five 8-channel float32 maps (307 MB at 1600x1200)."""

PLANE_CHUNK = 4
"""Depth planes per chunk of the fast GRU sweep (``exact=False``): their costs and
first-layer convolutions are held at once, 4 x (48 + 32) floats per cost-map pixel."""


def load_model(regularization, checkpoint_path, refinement=False):
    """(model, summary): the network with the checkpoint's weights. A TF1 checkpoint
    (the original's or ours) is converted in memory; nothing is written."""
    model = build_model(regularization, refinement)
    summary = ck.load_weights(model, checkpoint_path)
    return model, summary


def describe_checkpoint(summary):
    if summary.get("format") == "Keras weights":
        return "%s (Keras weights file of this port, %d variables)" % (summary["source"], summary["matched"])
    text = "%s (TF1 checkpoint converted in memory: %d variables" % (summary["source"], summary["matched"])
    if summary.get("dropped"):
        text += ", %d optimizer/step variables dropped" % summary["dropped"]
    if summary.get("global_step") is not None:
        text += ", global_step %d" % summary["global_step"]
    return text + ")"


def network_function(model, options, refinement=False):
    """The compiled network of the original test.py graph (an :class:`InferenceNetwork`):
    images (B, V, H, W, 3) uint8, image_stats (B, V, 2, 3) (their centring, see
    :class:`mvsnet.inference.prepare.PreparedViewSet`), cams (B, V, 2, 4, 4) at the 1/4
    scale -> {'depth', 'prob'[, 'refined']} (B, h, w, 1).

    GRU: winner-take-all between depth_start and depth_start + (depth_num - 1) * interval,
    depth_num from the first reference camera of the batch (as the original), inverse or
    linear depth; ``options.exact`` picks the original formulation, otherwise the fast one
    (:meth:`mvsnet.network.model.RMVSNet.winner_take_all`). 3DCNNs: soft argmin over
    ``max_d`` planes (the original inference_mem), and the refinement network when
    ``refinement``. Compiled once per model and setting.
    """
    refine = bool(refinement and options.regularization == "3DCNNs")
    key = (options.regularization, options.inverse_depth, options.exact, options.view_num,
           options.max_h, options.max_w, options.max_d, refine)
    # cached on the model itself (outside Keras attribute tracking): compiled once per setting
    cache = vars(model).setdefault("_inference_networks", {})
    if key not in cache:
        cache[key] = InferenceNetwork(model, options, refine)
    return cache[key]


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
    its cameras -> the maps, :meth:`RMVSNet.winner_take_all_features` or
    :meth:`RMVSNet.soft_argmin_features`). Same values as one graph over the view set:
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

        @tf.function(input_signature=image_spec)
        def tower(image, image_stats):
            view = centre_view(image[:, None], image_stats[:, None], 0)
            # the fast formulation's tower (GRU only: 3DCNNs has one formulation, the original's)
            return model.view_features(view, low_memory=options.regularization == "GRU" and not options.exact)

        @tf.function(input_signature=depth_spec)
        def depth(ref_feature, src_features, cams, ref_image=None, ref_stats=None):
            depth_start = tf.reshape(cams[:, 0, 1, 3, 0], [-1])
            depth_interval = tf.reshape(cams[:, 0, 1, 3, 1], [-1])
            if options.regularization == "GRU":
                depth_num = tf.cast(cams[0, 0, 1, 3, 2], tf.int32)
                depth_end = depth_start + (tf.cast(depth_num, tf.float32) - 1) * depth_interval
                depth, prob = model.winner_take_all_features(
                    ref_feature, src_features, cams, depth_num, depth_start, depth_end,
                    inverse_depth=options.inverse_depth, exact=options.exact, chunk=PLANE_CHUNK)
                return {"depth": depth, "prob": prob}
            depth, prob, _ = model.soft_argmin_features(ref_feature, src_features, cams, max_d,
                                                        depth_start, depth_interval, memory_saving=True)
            out = {"depth": depth, "prob": prob}
            if refine:
                ref = centre_view(ref_image[:, None], ref_stats[:, None], 0)
                out["refined"] = model.depth_refine(depth, ref, max_d, depth_start, depth_interval)
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


MMAP_THRESHOLD = 1 << 20
"""Bytes from which glibc's malloc maps a block on its own (returned to the system when
freed), set by :func:`fix_malloc_mmap_threshold`."""


def fix_malloc_mmap_threshold(nbytes=MMAP_THRESHOLD):
    """Fix glibc malloc's mmap threshold (``mallopt(M_MMAP_THRESHOLD)``; the same as the
    ``MALLOC_MMAP_THRESHOLD_`` environment variable). By default glibc raises it, up to
    32 MB, after every large block freed, after which decoded images and other view-set
    arrays land in the reading thread's heap and stay resident: the peak RSS of the same
    run then varied by 130 MB from run to run (1421 to 1579 MiB at 1600x1200). Returns
    False where there is no glibc (nothing changed)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, int(nbytes)))     # M_MMAP_THRESHOLD = -3
    except (OSError, AttributeError):
        return False


def run_ops_one_at_a_time():
    """Let TensorFlow run one op at a time (each op still on every core:
    ``inter_op_parallelism_threads=1``), if its runtime has not started yet (otherwise
    nothing changes; returns whether it was set).

    The network is a chain (feature towers one after the other, then a sequential sweep),
    so running independent ops side by side gains nothing measurable here; but it made
    the order of allocations vary, and with it the peak RSS: 1300 or 1455 MiB for the same
    run at 1600x1200, against 1235 MiB every time with one op at a time."""
    try:
        tf.config.threading.set_inter_op_parallelism_threads(1)
        return True
    except RuntimeError:   # the runtime is initialised: the setting is fixed
        return False


def reserve_tensor_pool(nbytes):
    """Make TensorFlow's CPU tensor pool grow by one region of ``nbytes`` now, without
    touching its pages (an uninitialised tensor, freed at once).

    With oneDNN (TensorFlow's default on x86) tensors come from a BFC pool that grows by
    regions of doubling size and never gives memory back; a large tensor that finds no
    free block of its size in the existing regions opens a new one, so the resident memory
    ends well above the largest amount ever in use (measured at 1600x1200, 64 planes, before
    the other memory settings: 1558 MiB peak RSS instead of 1428 MiB with one region opened
    first; with them, 1278-1313 instead of 1235-1265 MiB). Values are not affected; without
    the pool (TF_ENABLE_ONEDNN_OPTS=0) this is a malloc and a free.
    """
    tf.raw_ops.Empty(shape=[int(nbytes)], dtype=tf.uint8)


def prepared_batches(plans, options, batch_size, failures):
    """The view sets of ``plans`` prepared (:func:`prepare.prepare_view_set`) in batches of
    ``batch_size``: tuples of NumPy arrays (scaled_ref (B, h, w, 3), images (B, V, H, W, 3),
    image_stats (B, V, 2, 3), cams (B, V, 2, 4, 4), ref indices [B]). The next batch is read
    in a background thread while the caller runs the network on this one. A view set that
    fails to read ends the batches (after those read before it) and its exception is
    appended to ``failures``, for the caller to raise once the finished views are written.
    """
    def read(group):
        items = []
        for plan in group:
            try:
                items.append(prepare.prepare_view_set(plan, options))
            except Exception as err:  # handed to the caller, raised in the main thread
                return items, err
        return items, None

    def stacked(items):
        if len(items) == 1:   # views, no copies
            item = items[0]
            return (item.scaled_ref_image[None], item.images[None], item.image_stats[None],
                    item.scaled_cams[None], [item.ref_index])
        return (np.stack([i.scaled_ref_image for i in items]), np.stack([i.images for i in items]),
                np.stack([i.image_stats for i in items]), np.stack([i.scaled_cams for i in items]),
                [i.ref_index for i in items])

    groups = [plans[i:i + batch_size] for i in range(0, len(plans), batch_size)]
    if not groups:
        return
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="read-view-sets") as pool:
        pending = pool.submit(read, groups[0])
        for k in range(len(groups)):
            items, err = pending.result()
            if err is None and k + 1 < len(groups):
                pending = pool.submit(read, groups[k + 1])
            if items:
                yield stacked(items)
            if err is not None:
                failures.append(err)
                return


def _oom_error(dense_folder, options, plan):
    """The one-line error of a view set that did not fit in memory (TensorFlow's
    ResourceExhaustedError, or MemoryError), with the flags to lower (the GRU sweeps the
    planes one at a time, so there only the image size matters)."""
    planes = plan.depth_num if options.regularization == "GRU" else options.max_d
    return cli.out_of_memory(dense_folder, (options.max_w, options.max_h, planes), options.regularization,
                             "lower --max_w/--max_h (and --max_d for 3DCNNs)")


def _print(message):
    print(message, flush=True)


def run(dense_folder, ckpt_path, ckpt_step, options, batch_size=1, refinement=False, log=_print,
        plans=None, model=None):
    """Depth maps of every view set of ``dense_folder`` into ``dense_folder/depths_mvsnet``.

    ckpt_path, ckpt_step  the checkpoint read is ``ckpt_path-ckpt_step`` (see
                          :func:`mvsnet.weights.resolve_checkpoint`)
    options               :class:`mvsnet.inference.plan.Options`
    batch_size            view sets per network call (the depth_num of a GRU batch is that of
                          its first reference view, as the original)
    refinement            3DCNNs only: also write ``%08d_refined.pfm``
    log                   called with one line per event (progress, summary)
    plans                 the view sets from :func:`mvsnet.inference.plan.plan_dense_folder`
                          when already planned
    model                 an RMVSNet with its weights already loaded (then the checkpoint
                          is not read; its compiled graph is reused across calls)

    Everything that can be checked is checked before anything is written; InputError names
    the file at fault. Returns a summary dict (views, seconds, per-view seconds, outputs).
    """
    if batch_size < 1:
        raise InputError("--batch_size must be at least 1, got %d" % batch_size)
    run_ops_one_at_a_time()
    if plans is None:
        plans = plan_dense_folder(dense_folder, options)
    if refinement and options.regularization == "GRU":
        log("note: --refinement applies to 3DCNNs only; ignored for GRU (as the original)")
    if model is None:
        checkpoint_path = weights.resolve_checkpoint(ckpt_path, ckpt_step)
        model, ckpt_summary = load_model(options.regularization, checkpoint_path, refinement)
        log("checkpoint: " + describe_checkpoint(ckpt_summary))
    else:
        if model.regularization != options.regularization:
            raise ValueError("the model is %s but options.regularization is %s"
                             % (model.regularization, options.regularization))
        if refinement and options.regularization == "3DCNNs" and not model.refinement:
            raise ValueError("refinement needs a model built with refinement=True")
        ckpt_summary = None
        log("checkpoint: (model given, weights already loaded)")
    for plan in plans:
        for note in plan.notes:
            log("note: " + note)
    folder = outputs.make_output_folder(dense_folder)
    log("%s inference of %d reference view(s), %d views each, network input %dx%d (WxH), "
        "output %s" % (options.regularization, len(plans), options.view_num, options.max_w,
                       options.max_h, folder))

    network = network_function(model, options, refinement)
    failures = []
    batches = prepared_batches(plans, options, batch_size, failures)
    cache = FeatureCache(FEATURE_CACHE_SETS * options.view_num)
    # memory settings of this process (values unchanged; see each function)
    fix_malloc_mmap_threshold()
    reserve_tensor_pool(RESERVE_BYTES_PER_PIXEL * options.max_w * options.max_h)
    per_view = []
    written = []
    start = last = time.perf_counter()
    done = 0
    try:
        for scaled_ref, images, image_stats, cams, index in batches:
            out = network(images, image_stats, cams, cache)
            out = {k: v.numpy() for k, v in out.items()}
            batch_plans = plans[done:done + len(index)]
            for b, ref_index in enumerate(index):
                written += outputs.write_view_outputs(
                    folder, ref_index, out["depth"][b], out["prob"][b], scaled_ref[b], cams[b, 0],
                    refined=out["refined"][b] if "refined" in out else None)
            now = time.perf_counter()
            seconds = (now - last) / len(index)
            last = now
            # a GRU batch sweeps the planes of its first reference view, as the original
            planes = batch_plans[0].depth_num if options.regularization == "GRU" else options.max_d
            h, w = out["depth"].shape[1:3]
            for plan, ref_index in zip(batch_plans, index):
                done += 1
                log("view %d/%d (%08d): input %dx%d, depth map %dx%d, %d planes from %.6g, %.3f s"
                    % (done, len(plans), ref_index, options.max_w, options.max_h, w, h, planes,
                       plan.cams[0].depth_min, seconds))
                per_view.append(seconds)
    except (tf.errors.ResourceExhaustedError, MemoryError):   # std::bad_alloc surfaces as MemoryError
        raise _oom_error(dense_folder, options, plans[min(done, len(plans) - 1)]) from None
    if failures:
        if done:
            log("stopped after %d of %d view(s); their files are complete" % (done, len(plans)))
        if isinstance(failures[0], MemoryError):
            raise _oom_error(dense_folder, options, plans[done]) from None
        raise failures[0]
    total = time.perf_counter() - start
    steady = per_view[1:] if len(per_view) > 1 else per_view
    log("done: %d depth map(s) in %.1f s (%.3f s per view after the first, which includes "
        "compiling the graph; feature towers run for %d of %d views, the others reused); outputs in %s"
        % (done, total, float(np.mean(steady)) if steady else 0.0, cache.misses,
           cache.misses + cache.hits, folder))
    return {"views": done, "seconds": total, "per_view": per_view, "output_folder": folder,
            "written": written, "checkpoint": ckpt_summary,
            "towers_run": cache.misses, "features_reused": cache.hits}
