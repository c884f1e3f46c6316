"""Depth maps of one or many dense folders on a Dask cluster, then fusion of each scene.

    from mvsnet.inference import cluster, plan
    from mvsnet.pointcloud.cloud import FusionOptions
    options = plan.Options(max_w=1600, max_h=1200, max_d=256)
    job = cluster.Job("MODELS/GRU/model.ckpt", 100000, options)
    scenes = [cluster.Scene(folder, plan.plan_dense_folder(folder, options), FusionOptions())
              for folder in ("SCENE_A", "SCENE_B")]
    with cluster.connect("local:2") as client:        # or "tcp://HOST:8786"
        summary = cluster.run(client, scenes, job)

Dask distributed (the optional extra ``cluster``: ``pip install -e .[cluster]``) is the
engine; docs/distributed.md says why it and not Ray. The reference views of every scene are
cut into tasks of ``Job.views_per_task`` view sets, contiguous in pair.txt order (whole
batches, see :mod:`mvsnet.inference.shard`), so that the feature cache of each task hits as
in one process. A worker loads the network once, on its first task, and keeps it (one
model per worker process, :func:`worker_model`); with several GPUs in one machine each
worker of a local cluster takes one GPU. A task whose worker dies is run again on
another worker by the scheduler (``distributed.scheduler.allowed-failures`` deaths, 3 by
default); a task that raises is retried ``Job.retries`` times. Every file is written under a
temporary name and renamed, so a dead worker leaves no partial depth map; its temporary
files are removed once the scene's tasks are done. When a scene's depth maps are all
written, one task fuses it (:func:`mvsnet.pointcloud.fusion.fuse_dense_folder`) on one
worker, while the other workers go on with the next scene.

The dense folders must be at the same path on every worker (one machine, or a shared file
system). Bad input is checked by the caller before anything is sent
(:func:`mvsnet.inference.plan.plan_dense_folder`); an input error met on a worker (a
truncated image) stops the run with that error, not retried. Dask is imported only when a
function here needs it; TensorFlow only on the workers.
"""

import contextlib
import dataclasses
import logging
import os
import re
import time
from typing import List, Optional

from cameras import layout
from cameras.errors import InputError
from mvsnet.inference import outputs, shard

INSTALL = "pip install -e .[cluster]"
ENGINE_MISSING = ("--cluster needs Dask distributed, an optional extra: %s (or pip install distributed)"
                  % INSTALL)
CONNECT_TIMEOUT = "30s"
"""How long to try to reach a remote scheduler."""
_LOCAL = re.compile(r"^local:(\d+)$")
_ADDRESS = re.compile(r"^(?:(?:tcp|tls|inproc|ucx|ws|wss)://)?[^\s/:]+(?::\d+)?/?$")


def check_engine():
    """InputError in one line (how to install it) when Dask distributed is not installed."""
    try:
        from distributed import Client, LocalCluster  # noqa: F401  (the package, not a file of that name)
    except ImportError:
        raise InputError(ENGINE_MISSING) from None


def parse_address(text):
    """("local", N) for ``local:N`` (N >= 1 worker processes on this machine), ("remote",
    ADDRESS) for a scheduler address (``tcp://HOST:PORT``, ``HOST:PORT``); InputError otherwise."""
    text = (text or "").strip()
    match = _LOCAL.match(text)
    if match:
        workers = int(match.group(1))
        if workers < 1:
            raise InputError("--cluster local:N needs at least 1 worker, got %r" % text)
        return "local", workers
    if text.startswith("local"):
        raise InputError("--cluster: write local:N with N the number of worker processes, got %r" % text)
    if not _ADDRESS.match(text):
        raise InputError("--cluster must be local:N or a Dask scheduler address such as "
                         "tcp://HOST:8786, got %r" % text)
    return "remote", text


@contextlib.contextmanager
def connect(address, log=print):
    """A ``distributed.Client`` for ``address`` (see :func:`parse_address`), closed on exit.
    ``local:N`` starts N worker processes on the loopback interface (one thread each: one
    task and one model at a time per worker; each restarted by its nanny if it dies) and
    stops them on exit."""
    kind, value = parse_address(address)
    check_engine()
    from distributed import Client, LocalCluster

    # Dask's own INFO and WARNING lines (start-up, a worker restarted, workers killed after
    # 4 s at shutdown) would bury the progress lines; errors still show
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.ERROR)
    local = client = None
    try:
        if kind == "local":
            local = LocalCluster(n_workers=value, threads_per_worker=1, processes=True,
                                 host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                 worker_dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
            client = Client(local)
            log("cluster: %d local worker process(es) on %s" % (value, local.scheduler_address))
        else:
            try:
                client = Client(value, timeout=CONNECT_TIMEOUT)
            except OSError as err:
                raise InputError("cannot reach the Dask scheduler: %s"
                                 % (str(err).strip().splitlines() or [type(err).__name__])[0], value) from None
            log("cluster: scheduler %s, %d worker(s)" % (value, len(client.scheduler_info().get("workers", {}))))
        yield client
    finally:
        logger.setLevel(logging.CRITICAL)   # connections closing while the workers stop
        try:
            if client is not None:
                client.close()
            if local is not None:
                local.close()
        finally:
            logger.setLevel(level)


@dataclasses.dataclass(frozen=True)
class Job:
    """What every task of a run shares.

    ckpt_path, ckpt_step  checkpoint ``ckpt_path-ckpt_step`` (see mvsnet.weights), read by
                          every worker (the same path on each); with ckpt_step None,
                          ``ckpt_path`` is the resolved checkpoint itself
    options               :class:`mvsnet.inference.plan.Options`
    batch_size            view sets per network call (as test.py's --batch_size)
    refinement            3DCNNs: also write ``%08d_refined.pfm``
    views_per_task        view sets per task, rounded up to whole batches
    resume                skip the batches whose files are complete already
    retries               further attempts of a task that raised (a dead worker's tasks are
                          rescheduled by Dask without counting here)
    threads               TensorFlow intra-op threads of each worker, set before its first
                          task; 0: TensorFlow's default (every core). The files are byte for
                          byte those of one process only with the same number of threads as
                          that process: another number moves probabilities in the last bits
                          (measured: scene_tiny with 1 thread against 2). Several workers on one
                          many-core machine run faster with cores / workers threads each.
    """

    ckpt_path: str
    ckpt_step: int
    options: object
    batch_size: int = 1
    refinement: bool = False
    views_per_task: int = 8
    resume: bool = False
    retries: int = 2
    threads: int = 0

    def check(self):
        if self.batch_size < 1:
            raise InputError("--batch_size must be at least 1, got %d" % self.batch_size)
        if self.views_per_task < 1:
            raise InputError("--views_per_task must be at least 1, got %d" % self.views_per_task)
        if self.retries < 0:
            raise InputError("--retries must be at least 0, got %d" % self.retries)
        if self.threads < 0:
            raise InputError("--worker_threads must be at least 0, got %d" % self.threads)


@dataclasses.dataclass
class Scene:
    """A dense folder, its checked view sets (``plan_dense_folder``) and, optionally, its fusion:
    depthfusion.py's built-in fusion, its modes and defaults
    (:class:`mvsnet.pointcloud.cloud.FusionOptions`; ``fusion_mode`` "fusibile" checks every
    view against every other, time growing with the square of the views, "consistency" only
    the pair.txt sources of each view, linear; ``output`` defaults to
    ``SCENE/points_mvsnet/fused.ply``; ``fusibile_exe_path`` is not used)."""

    dense_folder: str
    plans: List[object]
    fusion: Optional[object] = None


def task_chunks(plans, job):
    """``plans`` in tasks of ``views_per_task`` view sets rounded up to whole batches."""
    per_task = -(-job.views_per_task // job.batch_size) * job.batch_size
    return shard.batches(list(plans), per_task)


# ----------------------------------------------------------------------------- worker side

_MODELS = {}
"""The models loaded in this worker process, by (regularization, checkpoint, refinement)."""


def _worker_index():
    """This worker's position (the name of a LocalCluster worker: 0, 1, ...), or None."""
    try:
        from distributed import get_worker

        return int(get_worker().name)
    except (ImportError, ValueError, TypeError):
        return None


def _pin_gpu(tf):
    """One GPU per worker: with several GPUs visible and no CUDA_VISIBLE_DEVICES, worker i
    of a local cluster uses GPU i mod the number of GPUs. Returns the GPU name or None."""
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) < 2 or "CUDA_VISIBLE_DEVICES" in os.environ:
        return gpus[0].name if gpus else None
    index = _worker_index() or 0
    gpu = gpus[index % len(gpus)]
    tf.config.set_visible_devices(gpu, "GPU")
    return gpu.name


def worker_model(job):
    """The network of ``job`` in this process, loaded on first use and kept. The first call
    sets up the process as test.py does (:func:`mvsnet.inference.process.configure`, after
    the GPU and ``job.threads``)."""
    from mvsnet import quiet_tf, weights

    key = (job.options.regularization, job.ckpt_path, job.ckpt_step, bool(job.refinement))
    if key not in _MODELS:
        tf = quiet_tf.import_tensorflow()
        from mvsnet.inference import network, process

        if not _MODELS:   # the first model of this worker: its runtime has not started
            _pin_gpu(tf)
            if job.threads:
                tf.config.threading.set_intra_op_parallelism_threads(job.threads)
            process.configure(job.options.max_w, job.options.max_h)
        path = job.ckpt_path if job.ckpt_step is None else weights.resolve_checkpoint(job.ckpt_path, job.ckpt_step)
        _MODELS[key] = network.load_model(job.options.regularization, path, job.refinement)[0]
    return _MODELS[key]


def depth_task(dense_folder, plans, job):
    """Worker: the depth maps of ``plans`` (view sets of ``dense_folder``), as
    :func:`mvsnet.inference.pipeline.run`. Returns a dict: views, seconds, worker, pid,
    ref_indices, notes (the run's ``--precision`` line, if any: this worker's hardware decides),
    and ``error`` (one line) for an input error."""
    start = time.perf_counter()
    base = {"dense_folder": dense_folder, "ref_indices": [p.ref_index for p in plans],
            "pid": os.getpid(), "worker": _worker_index()}
    try:
        model = worker_model(job)
        from mvsnet.inference import pipeline

        notes = []

        def log(line):
            if "bfloat16" in line:   # precision.effective_precision's line
                notes.append(line)

        summary = pipeline.run(dense_folder, None, None, job.options, batch_size=job.batch_size,
                               refinement=job.refinement, log=log, plans=plans, model=model)
    except InputError as err:
        return dict(base, error=str(err), views=0, seconds=time.perf_counter() - start)
    return dict(base, views=summary["views"], seconds=time.perf_counter() - start, notes=notes)


def fusion_task(dense_folder, fusion, *depth_results):
    """Worker: fuse ``dense_folder`` once its depth tasks (``depth_results``) are done, by
    depthfusion.py's route (:func:`mvsnet.pointcloud.cloud.pointcloud`). Returns a dict:
    points, output, seconds (or error)."""
    base = {"dense_folder": dense_folder, "fusion": True, "pid": os.getpid(), "worker": _worker_index()}
    failed = [r["error"] for r in depth_results if r.get("error")]
    if failed:
        return dict(base, error=failed[0], skipped=True)
    from mvsnet.pointcloud.cloud import pointcloud

    try:
        if fusion.output is None:
            os.makedirs(layout.point_folder(dense_folder), exist_ok=True)
        cloud, output, seconds = pointcloud(dense_folder, fusion)
    except (InputError, OSError) as err:
        return dict(base, error=str(err))
    return dict(base, points=len(cloud.points), output=output, seconds=seconds)


# ----------------------------------------------------------------------------- driver side

def _remove_stale_temporaries(folder, log):
    for path in shard.stale_temporaries(folder):
        try:
            os.remove(path)
            log("removed %s, left by a worker that died while writing" % path)
        except OSError:
            pass


def _duration(seconds):
    seconds = int(round(seconds))
    return "%d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60)


def run(client, scenes, job, log=print):
    """Every view set of ``scenes`` (:class:`Scene`) on the cluster of ``client``, then the
    fusion of each scene that asks for it. Progress: one line per finished task, with the
    time left. Returns a summary dict: views, tasks, seconds, per-scene results. Raises
    InputError for an input error met on a worker, or a task whose workers kept dying."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    job.options.check()
    job.check()
    start = time.perf_counter()
    futures, kinds, names, todo_views = [], {}, {}, 0
    per_scene = {}
    for scene in scenes:
        folder = outputs.make_output_folder(scene.dense_folder)
        plans = scene.plans
        if job.resume:
            plans = shard.pending(plans, folder, job.options, job.batch_size, job.refinement)
            log("%s: --resume: %d of %d view set(s) complete already"
                % (scene.dense_folder, len(scene.plans) - len(plans), len(scene.plans)))
        chunks = task_chunks(plans, job)
        scene_futures = [client.submit(depth_task, scene.dense_folder, chunk, job, retries=job.retries,
                                       pure=False) for chunk in chunks]
        todo_views += len(plans)
        for f, chunk in zip(scene_futures, chunks):
            kinds[f.key] = "depth"
            names[f.key] = "view sets %08d-%08d of %s" % (chunk[0].ref_index, chunk[-1].ref_index,
                                                           scene.dense_folder)
        futures += scene_futures
        per_scene[scene.dense_folder] = {"views": len(plans), "tasks": len(chunks), "folder": folder,
                                         "pending": len(chunks), "fusion": None}
        if scene.fusion is not None:
            f = client.submit(fusion_task, scene.dense_folder, scene.fusion, *scene_futures,
                              retries=job.retries, pure=False)
            kinds[f.key] = "fusion"
            names[f.key] = "the fusion of %s" % scene.dense_folder
            futures.append(f)
    if not client.scheduler_info().get("workers"):
        log("no worker on the cluster yet: the tasks wait for one to join")
    log("%d view set(s) of %d scene(s) in %d task(s) of up to %d view sets, on %d worker(s)"
        % (todo_views, len(scenes), sum(v["tasks"] for v in per_scene.values()),
           -(-job.views_per_task // job.batch_size) * job.batch_size,
           len(client.scheduler_info().get("workers", {}))))
    done_views = 0
    results = []
    notes = set()
    try:
        for future in as_completed(futures):
            try:
                result = future.result()
            except KilledWorker as err:
                raise InputError("the workers running %s kept dying (%s); see their logs"
                                 % (names[future.key], str(err).splitlines()[0])) from None
            results.append(result)
            if result.get("error"):
                if result.get("skipped"):
                    continue
                raise InputError(result["error"])
            scene = per_scene[result["dense_folder"]]
            if kinds[future.key] == "fusion":
                scene["fusion"] = result
                log("%s: fused %d points in %.1f s on worker %s -> %s"
                    % (result["dense_folder"], result["points"], result["seconds"], result["worker"],
                       result["output"]))
                continue
            for note in result.get("notes", ()):
                if note not in notes:   # once per distinct line, not once per task
                    notes.add(note)
                    log("worker %s: %s" % (result["worker"], note))
            done_views += result["views"]
            scene["pending"] -= 1
            if scene["pending"] == 0:
                _remove_stale_temporaries(scene["folder"], log)
            elapsed = time.perf_counter() - start
            left = elapsed / done_views * (todo_views - done_views) if done_views else 0.0
            refs = result["ref_indices"]
            log("views %d/%d: %s view sets %08d-%08d on worker %s (%.2f s/view), elapsed %s, about %s left"
                % (done_views, todo_views, result["dense_folder"], refs[0], refs[-1], result["worker"],
                   result["seconds"] / max(1, result["views"]), _duration(elapsed), _duration(left)))
    except BaseException:
        client.cancel(futures)
        raise
    total = time.perf_counter() - start
    log("done: %d depth map(s) of %d scene(s) in %.1f s" % (done_views, len(scenes), total))
    return {"views": done_views, "seconds": total, "scenes": per_scene, "results": results}


def run_folder(address, dense_folder, plans, job, log=print):
    """The view sets ``plans`` of one dense folder on the cluster at ``address`` (started
    and stopped here for ``local:N``), depth maps only: test.py's and reconstruct.py's
    ``--cluster``. Returns :func:`run`'s summary."""
    with connect(address, log) as client:
        return run(client, [Scene(dense_folder, plans)], job, log)
