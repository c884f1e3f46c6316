#!/usr/bin/env python
"""Per-op profile of one GRU depth map as test.py computes it: the compiled network of
mvsnet.inference.pipeline (fast sweep by default, ``--exact`` the original formulation)
run once under TensorFlow's profiler, its op executions summed by piece.

    python tools/profile_ops.py --scene SCENE --ckpt CKPT_PREFIX-STEP \\
        --max_w 800 --max_h 592 --max_d 64

Reads the first reference view set of SCENE (a dense folder) as test.py does, sweeps
``--max_d`` planes (the camera's DEPTH_NUM is overridden), runs the network ``--warmup``
times untimed (tracing, graph optimisation, XLA compilation), then once under
``tf.profiler``. Ops run one at a time (as in test.py), so the op times add up to the wall
time of the call but for the executor's own overhead (the last row). Each op is assigned to
a piece by its name scope (``tf.name_scope`` labels in the fast sweep, Keras layer names)
and its type. Prints a markdown table and the machine load. Not part of the test suite.
"""

import argparse
import collections
import glob
import os
import re
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:   # tools/ is a folder of the repository, not an installed package
    sys.path.insert(0, ROOT)

TF_OP = re.compile(r"^([^:]+):([A-Za-z0-9_]+)$")
CONV_TYPES = ("Conv2D", "_FusedConv2D", "Conv2DBackpropInput", "DepthwiseConv2dNative")
LOOP_TYPES = ("Enter", "Exit", "Merge", "Switch", "NextIteration", "LoopCond", "Identity",
              "Less", "Minimum", "Maximum", "Const", "ReadVariableOp", "Pack", "Range")
XLA_EXECUTION = "CpuExecutable::ExecuteAsyncOnStream"


def piece_of(name, op_type):
    """The table row of one op execution (op name with its scopes, op type)."""
    if name.startswith("feature_tower") or "/feature_tower" in name:
        if op_type in CONV_TYPES:
            return "feature towers: convolutions"
        if "/gn" in name:
            return "feature towers: group norms (with their NCHW transposes)"
        return "feature towers: other (ReLU, concat, centring)"
    if "cost_volume/" in name or op_type == "ImageProjectiveTransformV3":
        return "warps + variance"
    if "gru1_cost_part/" in name:
        return "GRU layer 1: batched convolution on the cost (chunk)"
    if "plane_slice/" in name:
        return "GRU layer 1: slicing the plane out of the chunk"
    if "winner_take_all/" in name:
        return "winner-take-all update"
    for layer, label in (("conv_gru1", "GRU layer 1 (16 ch)"), ("conv_gru2", "GRU layer 2 (4 ch)"),
                         ("conv_gru3", "GRU layer 3 (2 ch)")):
        if "/%s" % layer in name or name.startswith(layer):
            if "input_part/" in name:
                return label + ": convolution on the input, both convolutions' share"
            if op_type in CONV_TYPES:
                return label + ": convolutions on the hidden state"
            if "_norm" in name:
                return label + ": layer norms"
            return label + ": gates, activations, update"
    if "prob_conv" in name:
        return "prob_conv"
    if op_type in LOOP_TYPES:
        return "loop control, constants, variable reads"
    return "other"


def xla_piece(last):
    """The row of an XLA execution (the profiler does not name it), from the piece of the TF
    op before it: the warps follow their homography gathers, the third GRU layer's fused
    function follows that layer's input convolution."""
    if last.startswith("warps"):
        return "warps + variance (XLA-compiled)"
    if last.startswith("GRU layer 3"):
        return "GRU layer 3 (2 ch) + prob_conv: hidden-state convolutions, norms, gates (XLA-compiled)"
    return "other (XLA-compiled)"


def op_times(logdir):
    """{piece: [seconds, executions]} from the profile written to ``logdir``."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    path = sorted(glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb")))[-1]
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    pieces = collections.defaultdict(lambda: [0.0, 0])
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            last = "other"   # the piece of the last TF op on this line: names the XLA runs
            for event in sorted(line.events, key=lambda e: e.offset_ps):
                name = plane.event_metadata[event.metadata_id].name
                if name == XLA_EXECUTION:
                    piece = xla_piece(last)
                else:
                    match = TF_OP.match(name)
                    if not match or "::" in name:
                        continue   # executor bookkeeping and XLA's own nested events
                    piece = last = piece_of(*match.groups())
                pieces[piece][0] += event.duration_ps * 1e-12
                pieces[piece][1] += 1
    return pieces


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scene", required=True)
    p.add_argument("--ckpt", required=True, help="checkpoint PATH-STEP")
    p.add_argument("--max_w", type=int, default=800)
    p.add_argument("--max_h", type=int, default=592)
    p.add_argument("--max_d", type=int, default=64)
    p.add_argument("--view_num", type=int, default=5)
    p.add_argument("--exact", action="store_true", help="the original formulation (test.py --exact)")
    p.add_argument("--precision", default="float32", help="test.py --precision; bfloat16 is run even "
                   "without bfloat16 units (TensorFlow then emulates it: its times say nothing of "
                   "real bfloat16 hardware)")
    p.add_argument("--warmup", type=int, default=1, help="untimed calls before the profiled one")
    args = p.parse_args(argv)

    from mvsnet import quiet_tf

    tf = quiet_tf.import_tensorflow()
    from mvsnet.inference import network as net, prepare, process
    from mvsnet.inference.plan import Options, plan_dense_folder

    process.run_ops_one_at_a_time()
    options = Options(view_num=args.view_num, max_w=args.max_w, max_h=args.max_h, max_d=args.max_d,
                      exact=args.exact, precision=args.precision)
    item = prepare.prepare_view_set(plan_dense_folder(args.scene, options)[0], options)
    images, image_stats, cams = item.network_inputs()
    cams = cams.copy()
    cams[:, 0, 1, 3, 2] = args.max_d
    model, _ = net.load_model("GRU", args.ckpt)
    network = net.network_function(model, options)
    for _ in range(args.warmup):
        network(images, image_stats, cams)["depth"].numpy()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        network(images, image_stats, cams)["depth"].numpy()
        wall = time.perf_counter() - start
        tf.profiler.experimental.stop()
        pieces = op_times(logdir)
    total = sum(seconds for seconds, _ in pieces.values())
    print("scene %s, input %dx%d, %d views, %d planes, %s sweep, %s; wall %.2f s for one view (towers of "
          "all %d views included); load average before %.2f, after %.2f; %d CPUs"
          % (args.scene, args.max_w, args.max_h, args.view_num, args.max_d,
             "exact" if args.exact else "fast", args.precision, wall, args.view_num, load_before[0],
             os.getloadavg()[0], os.cpu_count()))
    print("\n| piece | op executions | s | share of op time |")
    print("|---|---|---|---|")
    for piece, (seconds, count) in sorted(pieces.items(), key=lambda kv: -kv[1][0]):
        print("| %s | %d | %.3f | %.1f %% |" % (piece, count, seconds, 100.0 * seconds / total))
    print("| sum of the ops | | %.3f | 100 %% |" % total)
    print("| executor overhead (wall - sum) | | %.3f | |" % (wall - total))
    return 0


if __name__ == "__main__":
    from cameras.errors import InputError

    try:
        sys.exit(main())
    except InputError as err:   # one line, no traceback
        print("error: %s" % err, file=sys.stderr)
        sys.exit(1)
