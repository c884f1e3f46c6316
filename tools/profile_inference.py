#!/usr/bin/env python
"""Where the time of one GRU depth map goes: per-piece timings of the winner-take-all sweep.

    python tools/profile_inference.py --scene SCENE --ckpt CKPT_PREFIX-STEP \\
        --max_w 800 --max_h 592 --max_d 64 --reps 3

Reads the first reference view set of SCENE (a dense folder) as test.py does, then times,
each compiled on its own (median of ``--reps`` calls after one untimed call; wall and
process CPU seconds), the pieces of one view: the feature towers of all views, and per
depth plane the homography warps, the variance, the first GRU layer's convolutions (gates,
output), its layer norms and activations, the second and third GRU layers with prob_conv,
and the winner-take-all update. A per-plane piece runs inside one compiled loop over
``--loop_planes`` planes and is scaled to the number of planes. It also times the whole
compiled network of mvsnet.inference.network, the original formulation (``exact``) and,
with ``--fast``, the fast sweep (over ``--net_planes`` planes). Prints a markdown table.
Not part of the test suite; the machine load is printed with the numbers.
"""

import argparse
import dataclasses
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def timed(fn, *args, reps=3):
    """(wall, CPU) median seconds of ``reps`` calls of fn(*args) after one untimed call; CPU
    is this process's user + system time (all threads), less sensitive to other jobs."""
    out = fn(*args)
    _block(out)
    walls, cpus = [], []
    for _ in range(reps):
        start, cpu = time.perf_counter(), time.process_time()
        _block(fn(*args))
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def _looped(piece, planes):
    """A compiled function running piece(d) for d = 0 .. planes - 1 and summing one value."""
    import tensorflow as tf

    @tf.function
    def run():
        def body(d, acc):
            return d + 1, acc + tf.reduce_sum(tf.nest.flatten(piece(d))[0][..., :1, :1, :1])

        return tf.while_loop(lambda d, _: d < planes, body, [tf.constant(0), tf.constant(0.0)],
                             parallel_iterations=1)[1]

    return run


def _block(out):
    import tensorflow as tf

    for t in tf.nest.flatten(out):
        if hasattr(t, "numpy"):
            t.numpy()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scene", required=True)
    p.add_argument("--ckpt", required=True, help="checkpoint PATH-STEP")
    p.add_argument("--max_w", type=int, default=800)
    p.add_argument("--max_h", type=int, default=600)
    p.add_argument("--max_d", type=int, default=64)
    p.add_argument("--view_num", type=int, default=5)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--loop_planes", type=int, default=0,
                   help="planes each per-plane piece loops over (default: all)")
    p.add_argument("--net_planes", type=int, default=0,
                   help="planes the whole network sweeps (default: the camera's, as test.py)")
    p.add_argument("--fast", action="store_true", help="also time the whole network's fast sweep")
    p.add_argument("--skip_exact", action="store_true", help="do not time the exact network and pieces")
    args = p.parse_args(argv)

    from mvsnet import quiet_tf

    quiet_tf.import_tensorflow()
    import tensorflow as tf

    from mvsnet.inference import network as net, prepare
    from mvsnet.inference.plan import Options, plan_dense_folder
    from mvsnet.network import homography as hg
    from mvsnet.network.cost_volume import variance_cost
    from mvsnet.network.model import depth_range

    options = Options(view_num=args.view_num, max_w=args.max_w, max_h=args.max_h, max_d=args.max_d,
                      exact=True)
    plans = plan_dense_folder(args.scene, options)
    item = prepare.prepare_view_set(plans[0], options)
    images = tf.constant(item.centered_images[None])
    raw_images, image_stats = tf.constant(item.images[None]), tf.constant(item.image_stats[None])
    cams_np = item.scaled_cams[None].copy()
    if args.net_planes:
        # the whole network sweeps only this many planes (per-plane pieces scale to depth_num)
        cams_np[:, 0, 1, 3, 2] = args.net_planes
    cams = tf.constant(cams_np)
    prefix, step = args.ckpt.rsplit("-", 1)
    model, _ = net.load_model("GRU", "%s-%s" % (prefix, step))
    depth_num = plans[0].depth_num
    load = os.getloadavg()
    print("scene %s, input %dx%d, %d views, %d planes, load average %.2f %.2f %.2f, %d CPUs"
          % (args.scene, args.max_w, args.max_h, args.view_num, depth_num, *load, os.cpu_count()),
          flush=True)

    rows = []
    net_planes = args.net_planes or depth_num
    if not args.skip_exact:
        network = net.network_function(model, options)
        total = timed(network, raw_images, image_stats, cams, reps=args.reps)
        rows.append(("whole network (exact, compiled, %d planes)" % net_planes, total, 1))

        towers = tf.function(lambda im: model.extract_features(im))
        ref, srcs = towers(images)
        rows.append(("feature towers (%d views)" % args.view_num, timed(towers, images, reps=args.reps), 1))

        planes = depth_range(cams)
        depth_start = planes.start
        depth_end = depth_start + (depth_num - 1) * planes.interval
        depths = hg.depth_samples(depth_start, depth_num, depth_end=depth_end, inverse=True)
        homs = tf.function(lambda c, dd: model.sweep_homographies(c, dd))
        homographies = homs(cams, depths)
        rows.append(("homographies (all planes)", timed(homs, cams, depths, reps=args.reps), 1))

        # per-plane pieces: each runs over every plane in one compiled while loop (the input
        # of a step depends on the plane index, so nothing is hoisted out of the loop)
        cell1 = model.gru.cells[0]
        warp4 = lambda d: [hg.warp_transform(f, h[:, d]) for f, h in zip(srcs, homographies)]
        warped = warp4(depth_num // 2)
        cost = variance_cost(ref, warped)
        states = [tf.random.normal(tf.concat([tf.shape(cost)[:3], [f]], 0), seed=i) * 0.5
                  for i, f in enumerate(model.gru.FILTERS)]
        h1 = states[0]
        gates = cell1.gates_conv(tf.concat([-cost, h1], -1))
        r_gate, u_gate = [tf.sigmoid(g) for g in tf.split(gates, 2, axis=-1)]
        cand = cell1.output_conv(tf.concat([-cost, r_gate * h1], -1))
        reg = model.gru.prob_conv(states[2])

        def eps(d):
            return tf.cast(d, tf.float32) * 1e-30

        def gate_norms(d):
            r, u = tf.split(gates + eps(d), 2, axis=-1)
            return tf.sigmoid(cell1.reset_norm(r)) + tf.sigmoid(cell1.update_norm(u))

        def rest(d):
            x = model.gru.cells[1](h1 + eps(d), states[1])
            return model.gru.prob_conv(model.gru.cells[2](x, states[2]))

        def wta(d):
            prob = tf.exp(reg + eps(d))
            better = tf.cast(reg < prob, tf.float32)
            return (better * prob + (1 - better) * reg) + (better * 3.0 + (1 - better) * reg) + prob

        pieces = [
            ("warps (%d source views)" % (args.view_num - 1), lambda d: tf.add_n(warp4(d))),
            ("variance", lambda d: variance_cost(ref + eps(d), warped)),
            ("warps + variance", lambda d: variance_cost(ref, warp4(d))),
            ("GRU layer 1: gates conv (48->32)", lambda d: cell1.gates_conv(tf.concat([-cost - eps(d), h1], -1))),
            ("GRU layer 1: gate layer norms + sigmoid", gate_norms),
            ("GRU layer 1: output conv (48->16)", lambda d: cell1.output_conv(tf.concat([-cost - eps(d), r_gate * h1], -1))),
            ("GRU layer 1: output layer norm + tanh + update",
             lambda d: u_gate * h1 + (1 - u_gate) * tf.tanh(cell1.output_norm(cand + eps(d)))),
            ("GRU layers 2, 3 + prob_conv", rest),
            ("winner-take-all update", wta),
            ("whole GRU step", lambda d: model.gru(cost + eps(d), tuple(states))[0]),
        ]
        loop_planes = args.loop_planes or depth_num
        for name, piece in pieces:
            wall, cpu = timed(_looped(piece, loop_planes), reps=args.reps)
            rows.append((name, (wall / loop_planes, cpu / loop_planes), depth_num))

    if args.fast:
        fast = net.network_function(model, dataclasses.replace(options, exact=False))
        rows.append(("whole network (fast, chunk %d, compiled, %d planes)" % (net.PLANE_CHUNK, net_planes),
                     timed(fast, raw_images, image_stats, cams, reps=args.reps), 1))

    print("\n| piece | wall s per call | calls per view | wall s per view | CPU s per view | "
          "share of the sum of pieces (CPU) |")
    print("|---|---|---|---|---|---|")
    pieces_cpu = sum(c * n for name, (w, c), n in rows
                     if not name.startswith("whole") and name != "warps + variance")
    for name, (wall, cpu), calls in rows:
        share = "-" if name.startswith("whole") or name == "warps + variance" else \
            "%.1f %%" % (100.0 * cpu * calls / max(pieces_cpu, 1e-12))
        print("| %s | %.4f | %d | %.2f | %.2f | %s |" % (name, wall, calls, wall * calls, cpu * calls, share))
    print("| sum of the pieces | | | | %.2f | 100 %% |" % pieces_cpu)
    print("\nload average after: %.2f %.2f %.2f" % os.getloadavg())
    return 0


if __name__ == "__main__":
    sys.exit(main())
