"""Dense-folder depth inference: the pipeline of the original mvsnet/test.py as a library.

    from mvsnet.inference import pipeline, plan
    options = plan.Options(regularization="GRU", max_w=1600, max_h=1200, max_d=256)
    summary = pipeline.run("SCENE", "/path/model.ckpt", 100000, options)

For every view set of ``SCENE/pair.txt`` the network writes ``SCENE/depths_mvsnet/``
``%08d_init.pfm``, ``%08d_prob.pfm``, ``%08d.jpg`` and ``%08d.txt`` as the original.
Reading and preprocessing run in a background thread, one batch ahead, so that they overlap
the network (compiled ``tf.function`` pieces, :mod:`mvsnet.inference.network`).
Every parameter is explicit; nothing here reads command-line flags or changes the process's
settings (the commands call :func:`mvsnet.inference.process.configure` first).
"""

import concurrent.futures
import dataclasses
import time

import numpy as np
import tensorflow as tf

from cameras.errors import InputError
from mvsnet import checks
from mvsnet import progress
from mvsnet import weights
from mvsnet.inference import network as net
from mvsnet.inference import outputs
from mvsnet.inference import precision
from mvsnet.inference import prepare
from mvsnet.inference.plan import plan_dense_folder


FEATURE_CACHE_SETS = 2
"""Feature maps kept for reuse by the next view sets: this many view sets' worth
(FEATURE_CACHE_SETS * view_num maps, 15.4 MB each at 1600x1200 input)."""


def describe_checkpoint(summary):
    if summary.get("format") == "Keras weights":
        return "%s (Keras weights file of this port, %d variables)" % (summary["source"], summary["matched"])
    text = "%s (TF1 checkpoint converted in memory: %d variables" % (summary["source"], summary["matched"])
    if summary.get("dropped"):
        text += ", %d optimizer/step variables dropped" % summary["dropped"]
    if summary.get("global_step") is not None:
        text += ", global_step %d" % summary["global_step"]
    return text + ")"


def prepared_batches(plans, options, batch_size, failures):
    """The view sets of ``plans`` prepared (:func:`prepare.prepare_view_set`) in batches of
    ``batch_size``: lists of :class:`mvsnet.inference.prepare.PreparedViewSet` (the network's
    arrays of a batch: :func:`mvsnet.inference.prepare.network_inputs`). The next batch is
    read in a background thread while the caller runs the network on this one. A view set that
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

    groups = [plans[i:i + batch_size] for i in range(0, len(plans), batch_size)]
    if not groups:
        return
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="read-view-sets")
    try:
        pending = pool.submit(read, groups[0])
        for k in range(len(groups)):
            items, err = pending.result()
            if err is None and k + 1 < len(groups):
                pending = pool.submit(read, groups[k + 1])
            if items:
                yield items
            if err is not None:
                failures.append(err)
                return
    finally:
        # Not wait=True: a generator its caller dropped can be finalised by the garbage
        # collector in the reader thread itself, which cannot join itself.
        pool.shutdown(wait=False, cancel_futures=True)


def _oom_error(dense_folder, options, plan):
    """The one-line error of a view set that did not fit in memory (TensorFlow's
    ResourceExhaustedError, or MemoryError), with the flags to lower (the GRU sweeps the
    planes one at a time, so there only the image size matters)."""
    planes = plan.depth_num if options.regularization == "GRU" else options.max_d
    return checks.out_of_memory(dense_folder, (options.max_w, options.max_h, planes), options.regularization,
                                "lower --max_w/--max_h (and --max_d for 3DCNNs)")


def _print(message):
    print(message, flush=True)


def run(dense_folder, ckpt_path, ckpt_step, options, batch_size=1, refinement=False, log=_print,
        plans=None, model=None, check_precision=True):
    """Depth maps of every view set of ``dense_folder`` into ``dense_folder/depths_mvsnet``.

    ckpt_path, ckpt_step  the checkpoint read is ``ckpt_path-ckpt_step`` (see
                          :func:`mvsnet.weights.resolve_checkpoint`); with ckpt_step None,
                          ckpt_path is the checkpoint itself, already resolved
    options               :class:`mvsnet.inference.plan.Options`
    batch_size            view sets per network call (the depth_num of a GRU batch is that of
                          its first reference view, as the original)
    refinement            3DCNNs only: also write ``%08d_refined.pfm``
    log                   called with one line per event (progress, summary)
    plans                 the view sets from :func:`mvsnet.inference.plan.plan_dense_folder`
                          when already planned
    model                 a network of build_model with its weights already loaded (then the checkpoint
                          is not read; its compiled graph is reused across calls)
    check_precision       options.precision "bfloat16" runs only on hardware with bfloat16
                          units (:func:`mvsnet.inference.precision.effective_precision`:
                          otherwise one line says so and float32 runs); False runs it
                          anyway (emulated where there are none: tests, quality measurements)

    Everything that can be checked is checked before anything is written; InputError names
    the file at fault. Returns a summary dict (views, seconds, per-view seconds, outputs).
    The process's memory settings are the caller's (:func:`mvsnet.inference.process.configure`).
    """
    if batch_size < 1:
        raise InputError("--batch_size must be at least 1, got %d" % batch_size)
    if check_precision and options.precision != "float32":
        options = dataclasses.replace(options, precision=precision.effective_precision(options.precision, log))
    if plans is None:
        plans = plan_dense_folder(dense_folder, options)
    if refinement and options.regularization == "GRU":
        log("note: --refinement applies to 3DCNNs only; ignored for GRU (as the original)")
    if model is None:
        checkpoint_path = ckpt_path if ckpt_step is None else weights.resolve_checkpoint(ckpt_path, ckpt_step)
        model, ckpt_summary = net.load_model(options.regularization, checkpoint_path, refinement)
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

    network = net.network_function(model, options, refinement)
    failures = []
    batches = prepared_batches(plans, options, batch_size, failures)
    cache = net.FeatureCache(FEATURE_CACHE_SETS * options.view_num)
    per_view = []
    written = []
    start = last = time.perf_counter()
    done = 0
    bar = progress.Progress(len(plans), "depth maps", unit="view", log=log)  # closed below
    try:
        for view_sets in batches:
            out = network(*prepare.network_inputs(view_sets), cache)
            out = {k: v.numpy() for k, v in out.items()}
            batch_plans = plans[done:done + len(view_sets)]
            for b, item in enumerate(view_sets):
                outputs.check_view_maps(folder, batch_plans[b].view_ids,
                                        {"init": out["depth"][b], "prob": out["prob"][b],
                                         "refined": out["refined"][b] if "refined" in out else None})
                written += outputs.write_view_outputs(
                    folder, item.ref_index, out["depth"][b], out["prob"][b], item.scaled_ref_image,
                    item.scaled_cams[0], refined=out["refined"][b] if "refined" in out else None)
            now = time.perf_counter()
            seconds = (now - last) / len(view_sets)
            last = now
            # a GRU batch sweeps the planes of its first reference view, as the original
            planes = batch_plans[0].depth_num if options.regularization == "GRU" else options.max_d
            h, w = out["depth"].shape[1:3]
            for plan in batch_plans:
                done += 1
                bar.update(line="view %d/%d (%08d): input %dx%d, depth map %dx%d, %d planes from "
                           "%.6g, %.3f s" % (done, len(plans), plan.ref_index, options.max_w,
                                             options.max_h, w, h, planes, plan.cams[0].depth_min,
                                             seconds))
                per_view.append(seconds)
    except (tf.errors.ResourceExhaustedError, MemoryError):   # std::bad_alloc surfaces as MemoryError
        raise _oom_error(dense_folder, options, plans[min(done, len(plans) - 1)]) from None
    finally:
        bar.close()
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
