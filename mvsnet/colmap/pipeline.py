"""Photos to a coloured point cloud: pycolmap SfM, colmap2mvsnet, R-MVSNet, depth fusion.

Workspace layout (every stage writes its own part; a stage whose output exists is skipped,
``force`` redoes every stage)::

    WS/database.db, WS/sparse/      1. SfM: COLMAP database and the largest model (binary)
    WS/dense/                       1. undistorted photos and model (COLMAP dense workspace)
    WS/mvsnet/                      2. colmap2mvsnet: images/, cams/, pair.txt
    WS/mvsnet/depths_mvsnet/        3. R-MVSNet depth and probability maps
    WS/points.ply                   4. fused coloured point cloud

A stage failure is an InputError ``stage N (name): why``.
"""

import dataclasses
import os
import shutil
import time

from cameras import layout
from cameras.errors import InputError
from mvsnet.colmap import convert
from mvsnet.colmap import sfm as sfm_stage
from mvsnet.options import option

NETWORK_MULTIPLE = 32
AUTO_PLANES = (32, 256)  # bounds of the automatic number of depth planes
STAGES = ("structure from motion", "colmap2mvsnet", "depth inference", "fusion")


@dataclasses.dataclass
class PipelineOptions:
    """reconstruct.py's options (its flags are generated from the flag fields)."""

    max_w: int = option(1600, "Largest network input width (a multiple of 32 is used).")
    max_h: int = option(1200, "Largest network input height (a multiple of 32 is used).")
    max_d: int = option(0, "Depth planes per view, spread over the view's sparse depth range; 0 "
                        "(default): per view, about one pixel apart in the network's 1/4-scale "
                        "cost volume, 32 to 256 (see docs/own-photos.md).")
    view_num: int = option(5, "Views per depth map: the reference and view_num - 1 sources.")
    interval_scale: float = option(1.0, "colmap2mvsnet's: the depth interval is divided by it "
                                   "(above 1: a narrower range around the near end).")
    pretrained_model_ckpt_path: str = option(None, "Checkpoint path without the step "
                                             "(default: the shipped released GRU weights).")
    ckpt_step: int = option(100000, "Step of --pretrained_model_ckpt_path.")
    prob_threshold: float = option(0.3, "Fusion: least probability of a depth (0.3: the original "
                                   "README's value for R-MVSNet).")
    disp_threshold: float = option(0.25, "Fusion: largest reprojection disparity (pixels).")
    num_consistent: int = option(3, "Fusion: least number of agreeing source views.")
    force: bool = option(False, "Redo every stage even when its output exists.")
    sfm: sfm_stage.SfmOptions = dataclasses.field(default_factory=sfm_stage.SfmOptions,
                                                  metadata={"flag": False})

    def check(self):
        if self.max_w < NETWORK_MULTIPLE or self.max_h < NETWORK_MULTIPLE:
            raise InputError("--max_w and --max_h must be at least %d" % NETWORK_MULTIPLE)
        if self.max_d < 0 or self.max_d == 1:
            raise InputError("--max_d must be 0 (automatic) or at least 2, got %d" % self.max_d)
        if self.view_num < 2:
            raise InputError("--view_num must be at least 2, got %d" % self.view_num)
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


class Workspace:
    def __init__(self, root):
        self.root = os.path.abspath(os.fspath(root))
        self.database = os.path.join(self.root, "database.db")
        self.sparse = os.path.join(self.root, "sparse")
        self.dense = os.path.join(self.root, "dense")
        self.mvsnet = os.path.join(self.root, "mvsnet")
        self.depths = layout.depth_folder(self.mvsnet)
        self.ply = os.path.join(self.root, "points.ply")


def _stage_error(number, err):
    problem = str(err)
    return InputError("stage %d (%s): %s" % (number, STAGES[number - 1], problem))


def _remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def _resolve_checkpoint(options):
    if options.pretrained_model_ckpt_path:
        return options.pretrained_model_ckpt_path, options.ckpt_step
    from mvsnet import weights

    return weights.released_gru_path_and_step()


def auto_planes(estimate, scale, low=AUTO_PLANES[0], high=AUTO_PLANES[1]):
    """Depth planes about one pixel apart in the network's 1/4-scale cost volume:
    colmap2mvsnet's inverse-depth estimate (planes one photo pixel apart) times the network
    scale / 4, rounded, within [low, high]."""
    return int(min(high, max(low, round(estimate * scale / 4.0))))


def convert_with_planes(ws, options):
    """colmap2mvsnet of ws.dense into ws.mvsnet + '.tmp'; with max_d 0 every view gets
    :func:`auto_planes` planes over its depth range."""
    from mvsnet.colmap.model import read_model

    model = read_model(os.path.join(ws.dense, "sparse"))
    conv_options = convert.Options(max_d=options.max_d, interval_scale=options.interval_scale,
                                   exclude_reference=True)
    conv = convert.compute(model, conv_options)
    if options.max_d == 0:
        width = min(v.width for v in model.views)
        height = min(v.height for v in model.views)
        net_w, net_h = network_size(width, height, options.max_w, options.max_h)
        scale = max(net_w / width, net_h / height)  # test.py's adaptive scaling
        ranges = []
        for depth in conv.depth_ranges:
            if depth is not None:
                dmin, _, estimate, dmax = depth
                planes = auto_planes(estimate, scale)
                depth = (dmin, (dmax - dmin) / (planes - 1) / options.interval_scale, float(planes), dmax)
            ranges.append(depth)
        conv.depth_ranges = ranges
    convert.write(conv, os.path.join(ws.dense, "images"), ws.mvsnet + ".tmp", conv_options)
    return conv


def _missing_depth_maps(ws, plans):
    from mvsnet.inference import outputs

    return [p for p in plans if not outputs.complete(ws.depths, p.ref_index)]


def reconstruct(image_dir, workspace, options, log=print):
    """Run the four stages; returns a summary dict (seconds per stage, counts)."""
    from mvsnet.colmap.model import model_format, read_model

    options.check()
    image_dir = os.fspath(image_dir)
    sfm_stage.list_photos(image_dir)
    ws = Workspace(workspace)
    if os.path.realpath(ws.root).startswith(os.path.realpath(image_dir) + os.sep) or \
            os.path.realpath(ws.root) == os.path.realpath(image_dir):
        raise InputError("the workspace must not be inside the photo folder", ws.root)
    os.makedirs(ws.root, exist_ok=True)
    if options.force:
        for path in (ws.ply, ws.mvsnet, ws.dense, ws.sparse, ws.database):
            _remove(path)
    summary = dict(seconds={}, skipped=[])
    total = time.perf_counter()

    # 1. structure from motion and undistortion
    number = 1
    if model_format(os.path.join(ws.dense, "sparse")) and os.path.isdir(os.path.join(ws.dense, "images")):
        log("[1/4] %s: done before (%s), skipped" % (STAGES[0], ws.dense))
        summary["skipped"].append(1)
    else:
        log("[1/4] %s (pycolmap, CPU) of %s" % (STAGES[0], image_dir))
        start = time.perf_counter()
        try:
            result = sfm_stage.run_sfm(image_dir, ws.sparse, ws.database, options.sfm, log)
            sfm_stage.undistort(image_dir, ws.sparse, ws.dense, log=log)
        except InputError as err:
            raise _stage_error(number, err) from None
        except Exception as err:  # pycolmap's own failures: RuntimeError and friends
            raise _stage_error(number, "pycolmap: %s" % str(err).strip().splitlines()[-1]) from None
        summary.update(registered=result["registered"], photos=result["photos"], sparse_points=result["points"])
        summary["seconds"]["sfm"] = time.perf_counter() - start
        _remove(ws.mvsnet)  # later stages depend on this model

    # 2. colmap2mvsnet
    number = 2
    if os.path.isfile(layout.pair_path(ws.mvsnet)):
        log("[2/4] %s: done before (%s), skipped" % (STAGES[1], ws.mvsnet))
        summary["skipped"].append(2)
    else:
        log("[2/4] %s: cameras, depth ranges (%s) and view selection"
            % (STAGES[1], "%d planes" % options.max_d if options.max_d else "planes per view: auto"))
        start = time.perf_counter()
        tmp = ws.mvsnet + ".tmp"
        _remove(tmp)
        try:
            conv = convert_with_planes(ws, options)
        except InputError as err:
            raise _stage_error(number, err) from None
        if not conv.pairs:
            raise _stage_error(number, "no view observes a sparse point")
        for k, depth in enumerate(conv.depth_ranges):
            if depth is None:
                log("  warning: view %d (%s) observes no sparse point: not a reference view"
                    % (k, conv.model.views[k].name))
        _remove(ws.mvsnet)
        os.replace(tmp, ws.mvsnet)
        summary["seconds"]["colmap2mvsnet"] = time.perf_counter() - start
        log("  %d views, %d reference views: %.1f s" % (len(conv.model.views), len(conv.pairs),
                                                        summary["seconds"]["colmap2mvsnet"]))

    # 3. R-MVSNet depth maps
    number = 3
    from mvsnet.inference import plan
    from mvsnet import weights

    try:
        model = read_model(os.path.join(ws.dense, "sparse"))
        width = min(v.width for v in model.views)
        height = min(v.height for v in model.views)
        net_w, net_h = network_size(width, height, options.max_w, options.max_h)
        net_options = plan.Options(view_num=options.view_num, max_d=options.max_d or AUTO_PLANES[1], max_w=net_w,
                                          max_h=net_h, interval_scale=1.0, regularization="GRU",
                                          inverse_depth=True)
        plans = plan.plan_dense_folder(ws.mvsnet, net_options)
        todo = _missing_depth_maps(ws, plans)
    except InputError as err:
        raise _stage_error(number, err) from None
    summary["views"] = len(plans)
    if not todo:
        log("[3/4] %s: done before (%s), skipped" % (STAGES[2], ws.depths))
        summary["skipped"].append(3)
    else:
        planes = sorted(int(p.depth_num) for p in todo)
        log("[3/4] %s: R-MVSNet GRU on %d of %d views, photos %dx%d -> network %dx%d, %s planes"
            % (STAGES[2], len(todo), len(plans), width, height, net_w, net_h,
               planes[0] if planes[0] == planes[-1] else "%d-%d" % (planes[0], planes[-1])))
        start = time.perf_counter()
        try:
            ckpt_path, ckpt_step = _resolve_checkpoint(options)
            weights.resolve_checkpoint(ckpt_path, ckpt_step)
            from mvsnet import quiet_tf

            quiet_tf.import_tensorflow()
            from mvsnet.inference import pipeline, process

            process.configure(net_w, net_h)   # this process's memory settings
            pipeline.run(ws.mvsnet, ckpt_path, ckpt_step, net_options, plans=todo,
                          log=lambda line: log("  " + line))
        except InputError as err:
            raise _stage_error(number, err) from None
        summary["seconds"]["inference"] = time.perf_counter() - start
        _remove(ws.ply)

    # 4. fusion
    number = 4
    if os.path.isfile(ws.ply):
        log("[4/4] %s: done before (%s), skipped" % (STAGES[3], ws.ply))
        summary["skipped"].append(4)
    else:
        log("[4/4] %s: probability >= %g, disparity < %g px, >= %d consistent views"
            % (STAGES[3], options.prob_threshold, options.disp_threshold, options.num_consistent))
        start = time.perf_counter()
        try:
            from mvsnet.pointcloud import fusion, ply

            cloud = fusion.fuse_dense_folder(ws.mvsnet, options.prob_threshold, options.disp_threshold,
                                             options.num_consistent)
            if len(cloud.points) == 0:
                raise InputError("no point passed the thresholds (lower --prob_threshold or "
                                 "--num_consistent)")
            ply.write_ply(ws.ply, cloud.points, cloud.colors)
        except InputError as err:
            raise _stage_error(number, err) from None
        summary["points"] = len(cloud.points)
        summary["seconds"]["fusion"] = time.perf_counter() - start
    summary["seconds"]["total"] = time.perf_counter() - total
    summary["ply"] = ws.ply
    seconds = ", ".join("%s %.1f s" % (k, v) for k, v in summary["seconds"].items())
    log("done: %s (%s points) from %d views; %s%s"
        % (ws.ply, summary.get("points", "existing"), summary["views"], seconds,
           "; skipped stage(s) %s" % ",".join(map(str, summary["skipped"])) if summary["skipped"] else ""))
    return summary
