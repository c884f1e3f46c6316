"""Photos to a coloured point cloud: pycolmap SfM, colmap2mvsnet, R-MVSNet, depth fusion; the
pipeline of ``reconstruct.py`` (a CLI-level module: it drives mvsnet.colmap, mvsnet.inference
and mvsnet.pointcloud).

Workspace layout (every stage writes its own part; a stage whose output exists is skipped,
``force`` redoes every stage)::

    WS/database.db, WS/sparse/      1. SfM: COLMAP database and the largest model (binary)
    WS/dense/                       1. undistorted photos and model (COLMAP dense workspace)
    WS/mvsnet/                      2. colmap2mvsnet: images/, cams/, pair.txt
    WS/mvsnet/depths_mvsnet/        3. R-MVSNet depth and probability maps
    WS/points.ply                   4. fused coloured point cloud
    WS/mesh.ply                     (with mesh) its coloured mesh
    WS/preview.png                  the photos, the cloud from their cameras, depth and probability

Each stage is one function (:func:`structure_from_motion`, :func:`colmap2mvsnet`,
:func:`depth_maps`, :func:`fusion`) that returns its part of the summary; :func:`reconstruct`
runs them. A stage failure is an InputError ``stage N (name): why``.
"""

import contextlib
import dataclasses
import os
import shutil
import time

from cameras import layout
from cameras.errors import InputError
from mvsnet.colmap import convert
from mvsnet.colmap import sfm as sfm_stage
from mvsnet.inference import precision as precisions
from mvsnet.network.spec import check_max_d, check_max_size, check_view_num
from mvsnet.options import option
from mvsnet.pointcloud import mesh as meshing

NETWORK_MULTIPLE = 32
AUTO_PLANES = (32, 256)  # bounds of the automatic number of depth planes
STAGES = ("structure from motion", "colmap2mvsnet", "depth inference", "fusion")
STAGE_SECONDS = ("sfm", "colmap2mvsnet", "inference", "fusion")  # keys of summary["seconds"]


@dataclasses.dataclass
class PipelineOptions:
    """reconstruct.py's options (its flags are generated from the flag fields)."""

    max_w: int = option(1600, "Largest network input width (a multiple of 32 is used).")
    max_h: int = option(1200, "Largest network input height (a multiple of 32 is used).")
    max_d: int = option(0, "Depth planes per view, spread over the view's sparse depth range; 0 "
                        "(default): per view, about one pixel apart in the network's 1/4-scale "
                        "cost volume, 32 to 256 (see docs/own-photos.md).")
    view_num: int = option(5, "Views per depth map: the reference and view_num - 1 sources.")
    depth_margin: float = option(0.25, "The sparse depth range of a view widened to [(1 - m) "
                                 "min, (1 + m) max], as COLMAP's own dense stage does (sparse "
                                 "points miss texture-poor surfaces, often the far ones); 0: "
                                 "colmap2mvsnet's range as it is.")
    interval_scale: float = option(1.0, "colmap2mvsnet's: the depth interval is divided by it "
                                   "(above 1: a narrower range around the near end).")
    precision: str = precisions.option()   # test.py's --precision, for stage 3
    pretrained_model_ckpt_path: str = option(None, "Checkpoint path without the step "
                                             "(default: the shipped released GRU weights).")
    ckpt_step: int = option(100000, "Step of --pretrained_model_ckpt_path.")
    prob_threshold: float = option(0.3, "Fusion: least probability of a depth (0.3: the original "
                                   "README's value for R-MVSNet).")
    disp_threshold: float = option(0.25, "Fusion: largest reprojection disparity (pixels).")
    num_consistent: int = option(3, "Fusion: least number of agreeing source views.")
    fusion_mode: str = option("tuned", "Fusion: 'tuned' (the dynamic mode with the settings "
                              "that measured best, mvsnet.pointcloud.cloud.TUNED, at "
                              "--prob_threshold and --num_consistent; docs/pointclouds.md) or "
                              "'fusibile' (fusibile's algorithm, also --disp_threshold).",
                              choices=("tuned", "fusibile"))
    mesh: bool = option(False, "Also write WS/mesh.ply, a coloured mesh of the cloud (screened "
                        "Poisson; needs the mesh extra: pip install -e .[mesh]).")
    mesh_depth: int = option(meshing.DEFAULT_DEPTH, "--mesh: Poisson octree depth (at most "
                             "2^depth cells per side).")
    mesh_trim: float = option(meshing.DEFAULT_TRIM, "--mesh: share of the lowest-density vertices "
                              "removed.")
    force: bool = option(False, "Redo every stage even when its output exists.")
    cluster: str = option(None, "Stage 3 on a Dask cluster: local:N (N worker processes here) or "
                          "a scheduler address tcp://HOST:8786; needs pip install -e .[cluster] "
                          "(docs/distributed.md).")
    sfm: sfm_stage.SfmOptions = dataclasses.field(default_factory=sfm_stage.SfmOptions,
                                                  metadata={"flag": False})

    def check(self):
        check_max_size(self.max_w, self.max_h, NETWORK_MULTIPLE)   # one multiple must fit
        check_max_d(self.max_d, 2, automatic=True)
        check_view_num(self.view_num)
        precisions.check(self.precision)
        if not 0 <= self.depth_margin < 1:
            raise InputError("--depth_margin must be in [0, 1), got %r" % self.depth_margin)
        if self.cluster is not None:
            from mvsnet.inference import cluster

            cluster.parse_address(self.cluster)
            cluster.check_engine()
        if self.mesh:  # before any work: the extra and its options
            meshing.require_meshlab()
            meshing.check_options(self.mesh_depth, self.mesh_trim)
        self.sfm.check()


def network_size(width, height, max_w, max_h, multiple=NETWORK_MULTIPLE):
    """(W, H) of the network input: the largest multiples of ``multiple`` that fit in the
    image and in max_w x max_h. test.py's adaptive scaling then scales the image to just
    cover it and crops the centre."""
    w = min(width, max_w) // multiple * multiple
    h = min(height, max_h) // multiple * multiple
    if w < multiple or h < multiple:
        raise InputError("the undistorted photos are %dx%d; the network needs at least %dx%d"
                         % (width, height, multiple, multiple))
    return w, h


def auto_planes(estimate, scale, low=AUTO_PLANES[0], high=AUTO_PLANES[1]):
    """Depth planes about one pixel apart in the network's 1/4-scale cost volume:
    colmap2mvsnet's inverse-depth estimate (planes one photo pixel apart) times the network
    scale / 4, rounded, within [low, high]."""
    return int(min(high, max(low, round(estimate * scale / 4.0))))


class Workspace:
    def __init__(self, root):
        self.root = os.path.abspath(os.fspath(root))
        self.database = os.path.join(self.root, "database.db")
        self.sparse = os.path.join(self.root, "sparse")
        self.dense = os.path.join(self.root, "dense")
        self.dense_model = os.path.join(self.dense, "sparse")
        self.mvsnet = os.path.join(self.root, "mvsnet")
        self.depths = layout.depth_folder(self.mvsnet)
        self.ply = os.path.join(self.root, "points.ply")
        self.mesh = os.path.join(self.root, "mesh.ply")
        self.preview = os.path.join(self.root, "preview.png")


@dataclasses.dataclass
class Network:
    """The undistorted COLMAP model (read once, after stage 1) and the network input it gives:
    the smallest photo size (width, height) and the network's (net_w, net_h)."""

    model: object
    width: int
    height: int
    net_w: int
    net_h: int

    @classmethod
    def of_workspace(cls, ws, options):
        from mvsnet.colmap.model import read_model

        model = read_model(ws.dense_model)
        width = min(v.width for v in model.views)
        height = min(v.height for v in model.views)
        return cls(model, width, height, *network_size(width, height, options.max_w, options.max_h))

    @property
    def scale(self):
        """test.py's adaptive scaling of the photos to the network input."""
        return max(self.net_w / self.width, self.net_h / self.height)


@contextlib.contextmanager
def _stage(number):
    """InputError inside stage ``number`` -> ``stage N (name): why``."""
    try:
        yield
    except InputError as err:
        raise InputError("stage %d (%s): %s" % (number, STAGES[number - 1], err)) from None


def _remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def _skipped(number, output, log):
    log("[%d/4] %s: done before (%s), skipped" % (number, STAGES[number - 1], output))
    return {"skipped": True}


# ----------------------------------------------------------------------------- the stages

def structure_from_motion(image_dir, ws, options, log):
    """Stage 1: SfM (pycolmap) of the photos into ws.sparse, undistorted into ws.dense.
    Returns {registered, photos, sparse_points, seconds} (or {skipped})."""
    from mvsnet.colmap.model import model_format

    if model_format(ws.dense_model) and os.path.isdir(os.path.join(ws.dense, "images")):
        return _skipped(1, ws.dense, log)
    log("[1/4] %s (pycolmap, CPU) of %s" % (STAGES[0], image_dir))
    start = time.perf_counter()
    with _stage(1):
        try:
            result = sfm_stage.run_sfm(image_dir, ws.sparse, ws.database, options.sfm, log)
            sfm_stage.undistort(image_dir, ws.sparse, ws.dense, log=log)
        except InputError:
            raise
        except Exception as err:  # pycolmap's own failures: RuntimeError and friends
            raise InputError("pycolmap: %s" % str(err).strip().splitlines()[-1]) from None
    _remove(ws.mvsnet)  # later stages depend on this model
    return {"registered": result["registered"], "photos": result["photos"],
            "sparse_points": result["points"], "seconds": time.perf_counter() - start}


def colmap2mvsnet(ws, options, network, log):
    """Stage 2: colmap2mvsnet of the undistorted model into ws.mvsnet (written as ws.mvsnet +
    '.tmp', then renamed); with max_d 0 every view gets :func:`auto_planes` planes over its
    depth range. Returns {seconds} (or {skipped})."""
    if os.path.isfile(layout.pair_path(ws.mvsnet)):
        return _skipped(2, ws.mvsnet, log)
    log("[2/4] %s: cameras, depth ranges (%s) and view selection"
        % (STAGES[1], "%d planes" % options.max_d if options.max_d else "planes per view: auto"))
    start = time.perf_counter()
    tmp = ws.mvsnet + ".tmp"
    _remove(tmp)
    with _stage(2):
        conv_options = convert.Options(max_d=options.max_d, interval_scale=options.interval_scale,
                                       exclude_reference=True)
        conv = convert.compute(network.model, conv_options)
        conv.depth_ranges = [_range(depth, options, network.scale)
                             for depth in conv.depth_ranges]
        convert.write(conv, os.path.join(ws.dense, "images"), tmp, conv_options)
        if not conv.pairs:
            raise InputError("no view observes a sparse point")
    for k, depth in enumerate(conv.depth_ranges):
        if depth is None:
            log("  warning: view %d (%s) observes no sparse point: not a reference view"
                % (k, conv.model.views[k].name))
    _remove(ws.mvsnet)
    os.replace(tmp, ws.mvsnet)
    seconds = time.perf_counter() - start
    log("  %d views, %d reference views: %.1f s" % (len(conv.model.views), len(conv.pairs), seconds))
    return {"seconds": seconds}


def _range(depth, options, scale):
    """A view's (min, interval, planes, max) from colmap2mvsnet's: [min, max] widened by
    options.depth_margin; with max_d 0 :func:`auto_planes` planes (the inverse-depth estimate
    scales with 1 - min / max for the same pixel spacing), else max_d (None stays)."""
    if depth is None:
        return None
    dmin, _, estimate, dmax = depth
    low, high = dmin * (1 - options.depth_margin), dmax * (1 + options.depth_margin)
    if options.max_d == 0:
        planes = auto_planes(estimate * (1 - low / high) / (1 - dmin / dmax), scale)
    else:
        planes = options.max_d
    return (low, (high - low) / (planes - 1) / options.interval_scale, float(planes), high)


def depth_maps(ws, options, network, log):
    """Stage 3: R-MVSNet (GRU) depth maps of the views of ws.mvsnet that have none yet.
    Returns {views, seconds} (or {views, skipped})."""
    from mvsnet.inference import outputs, plan

    with _stage(3):
        net_options = plan.Options(view_num=options.view_num, max_d=options.max_d or AUTO_PLANES[1],
                                   max_w=network.net_w, max_h=network.net_h, interval_scale=1.0,
                                   regularization="GRU", inverse_depth=True,
                                   precision=options.precision)
        plans = plan.plan_dense_folder(ws.mvsnet, net_options)
        todo = [p for p in plans if not outputs.complete(ws.depths, p.ref_index)]
    if not todo:
        return dict(_skipped(3, ws.depths, log), views=len(plans))
    planes = sorted(int(p.depth_num) for p in todo)
    log("[3/4] %s: R-MVSNet GRU on %d of %d views, photos %dx%d -> network %dx%d, %s planes"
        % (STAGES[2], len(todo), len(plans), network.width, network.height, network.net_w,
           network.net_h, planes[0] if planes[0] == planes[-1] else "%d-%d" % (planes[0], planes[-1])))
    start = time.perf_counter()
    with _stage(3):
        checkpoint = _checkpoint(options)
        if options.cluster is not None:   # the view sets on a cluster's workers
            from mvsnet.inference import cluster

            cluster.run_folder(options.cluster, ws.mvsnet, todo, cluster.Job(checkpoint, None, net_options),
                               log=lambda line: log("  " + line))
        else:
            from mvsnet import quiet_tf

            quiet_tf.import_tensorflow()
            from mvsnet.inference import pipeline, process

            process.configure(network.net_w, network.net_h)   # this process's memory settings
            pipeline.run(ws.mvsnet, checkpoint, None, net_options, plans=todo,
                         log=lambda line: log("  " + line))
    _remove(ws.ply)
    _remove(ws.mesh)
    return {"views": len(plans), "seconds": time.perf_counter() - start}


def _checkpoint(options):
    """The checkpoint stage 3 reads (resolved once): --pretrained_model_ckpt_path-STEP, or
    the shipped GRU weights."""
    from mvsnet import weights

    if options.pretrained_model_ckpt_path:
        return weights.resolve_checkpoint(options.pretrained_model_ckpt_path, options.ckpt_step)
    return weights.released_gru_checkpoint()


def fusion(ws, options, log):
    """Stage 4: the fused cloud of ws.mvsnet's depth maps into ws.ply (``options.fusion_mode``
    tuned: :func:`mvsnet.pointcloud.cloud.tuned`; fusibile: fusibile's algorithm).
    Returns {points, seconds} (or {skipped})."""
    from mvsnet.pointcloud.cloud import FusionOptions, pointcloud, tuned

    if os.path.isfile(ws.ply):
        return _skipped(4, ws.ply, log)
    if options.fusion_mode == "tuned":
        fusion_options = tuned(prob_threshold=options.prob_threshold, output=ws.ply,
                               num_consistent=options.num_consistent)
        log("[4/4] %s: dynamic mode, probability >= %g with >= %d sources within %g px and "
            "%g %%, or >= %g with n >= %d sources within n x %g px and n x %g %%"
            % (STAGES[3], fusion_options.prob_threshold, fusion_options.num_consistent,
               fusion_options.geo_pixel_threshold, 100 * fusion_options.geo_depth_threshold,
               fusion_options.dynamic_prob_threshold, fusion_options.dynamic_min_views,
               fusion_options.dynamic_pixel_step, 100 * fusion_options.dynamic_depth_step))
    else:
        fusion_options = FusionOptions(prob_threshold=options.prob_threshold, output=ws.ply,
                                       disp_threshold=options.disp_threshold,
                                       num_consistent=options.num_consistent)
        log("[4/4] %s: probability >= %g, disparity < %g px, >= %d consistent views"
            % (STAGES[3], options.prob_threshold, options.disp_threshold, options.num_consistent))
    with _stage(4):
        cloud, _, seconds = pointcloud(ws.mvsnet, fusion_options, allow_empty=False,
                                       log=lambda line: log("  " + line),
                                       warn=lambda line: log("  warning: " + line))
    _remove(ws.mesh)  # of an older cloud
    return {"points": len(cloud.points), "seconds": seconds, "cloud": cloud}


def surface(ws, options, cloud, log):
    """With options.mesh, WS/mesh.ply: normals towards each point's reference view when the
    fusion ran now (``cloud``, a FusedCloud), else towards the nearest camera of WS/mvsnet/cams;
    kept when it exists and the cloud was not redone. Returns (Mesh or None, seconds)."""
    from mvsnet.pointcloud import mesh, ply, render

    if not options.mesh:
        return None, None
    start = time.perf_counter()
    if cloud is None and os.path.isfile(ws.mesh):
        log("mesh: done before (%s), kept" % ws.mesh)
        points, colors, triangles = ply.read_mesh(ws.mesh)
        return mesh.Mesh(points, triangles.astype("int32"), colors), None
    log("mesh: screened Poisson, depth %d, trim %g" % (options.mesh_depth, options.mesh_trim))
    indent = lambda line: log("  " + line)  # noqa: E731
    try:
        if cloud is not None:
            result = mesh.mesh_of_fused_cloud(ws.mvsnet, cloud, options.mesh_depth,
                                              options.mesh_trim, indent)
        else:
            points, colors, _ = ply.read_ply(ws.ply)
            centres = mesh.camera_centres(render.dense_folder_cameras(ws.mvsnet)[1])
            result = mesh.mesh_cloud(points, colors, None, centres, options.mesh_depth,
                                     options.mesh_trim, indent)
        mesh.write_mesh(ws.mesh, result)
    except InputError as err:
        raise InputError("mesh: %s" % err) from None
    log("mesh: %s" % ws.mesh)
    return result, time.perf_counter() - start


def picture(ws, cloud, result, log):
    """WS/preview.png (mvsnet.pointcloud.preview) of the cloud (``cloud`` or WS/points.ply)
    and the mesh; its path is logged."""
    from mvsnet.pointcloud import ply, preview

    try:
        if cloud is None:
            points, colors, _ = ply.read_ply(ws.ply)
        else:
            points, colors = cloud.points, cloud.colors
        preview.write_preview(ws.preview, ws.mvsnet, points, colors, result)
    except InputError as err:
        raise InputError("preview: %s" % err) from None
    log("preview: %s" % ws.preview)
    return ws.preview


def reconstruct(image_dir, workspace, options, log=print):
    """Run the four stages; returns a summary dict (seconds per stage, counts)."""
    options.check()
    image_dir = os.fspath(image_dir)
    sfm_stage.list_photos(image_dir)
    ws = Workspace(workspace)
    if os.path.realpath(ws.root).startswith(os.path.realpath(image_dir) + os.sep) or \
            os.path.realpath(ws.root) == os.path.realpath(image_dir):
        raise InputError("the workspace must not be inside the photo folder", ws.root)
    os.makedirs(ws.root, exist_ok=True)
    if options.force:
        for path in (ws.preview, ws.mesh, ws.ply, ws.mvsnet, ws.dense, ws.sparse, ws.database):
            _remove(path)
    summary = dict(seconds={}, skipped=[])
    total = time.perf_counter()

    def add(number, part):
        if part.pop("skipped", False):
            summary["skipped"].append(number)
        if "seconds" in part:
            summary["seconds"][STAGE_SECONDS[number - 1]] = part.pop("seconds")
        summary.update(part)

    add(1, structure_from_motion(image_dir, ws, options, log))
    with _stage(2):
        network = Network.of_workspace(ws, options)     # the model read once, for stages 2 and 3
    add(2, colmap2mvsnet(ws, options, network, log))
    add(3, depth_maps(ws, options, network, log))
    add(4, fusion(ws, options, log))
    cloud = summary.pop("cloud", None)
    result, seconds = surface(ws, options, cloud, log)
    if seconds is not None:
        summary["seconds"]["mesh"] = seconds
    if options.mesh:
        summary["mesh"] = ws.mesh
    summary["preview"] = picture(ws, cloud, result, log)
    summary["seconds"]["total"] = time.perf_counter() - total
    summary["ply"] = ws.ply
    seconds = ", ".join("%s %.1f s" % (k, v) for k, v in summary["seconds"].items())
    log("done: %s (%s points) from %d views; %s%s"
        % (ws.ply, summary.get("points", "existing"), summary["views"], seconds,
           "; skipped stage(s) %s" % ",".join(map(str, summary["skipped"])) if summary["skipped"] else ""))
    return summary
