#!/usr/bin/env python
"""Seconds per training step: this port (mvsnet/step.py, what train.py runs) vs the
ORIGINAL TF1 training graph, on the same inputs and the same initial weights, in one run.

    python tools/benchmark_training.py --regularization GRU --width 320 --height 256 --max_d 32

1. A synthetic DTU-layout sample (tools/synthetic, 3 views) is read through the training
   data pipeline (mvsnet.training.data: forced range [425, 937], max_d planes, masked
   ground truth, per-image standardisation).
2. Ours: RMVSNet + TF1RMSProp in a compiled TrainStep; its initial state (weights, RMSProp
   slots, global_step 0) is written as a TF1 checkpoint.
3. Original: tools/original/run_train_steps.py, a subprocess in the environment of the
   harness for the original code (tools/original/README.md: the original model.py / loss.py
   under tf.compat.v1), builds the graph of the original train.py --
   inference_prob_recurrent + classification loss (GRU) or inference (+ depth_refine) +
   regression loss (3DCNNs), exponential_decay, RMSPropOptimizer, compute_gradients /
   apply_gradients with global_step -- restores that checkpoint and runs the same steps.

Both sides run --warmup steps (graph building / tracing / first-run optimisation, not timed)
then --steps timed steps on the same batch, one after the other (never concurrently).
The per-step losses of both sides are printed too: from the same state they must agree.
Not part of the test suite (it needs the harness's environment):

    tools/original/make_venv.sh VENV && git clone https://github.com/YoYo000/MVSNet ORIG_REPO
    python tools/benchmark_training.py --oracle_python VENV/bin/python --orig_repo ORIG_REPO
    # or set ORACLE_PY and ORIG_REPO instead of the two flags
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:   # tools/ is a folder of the repository, not an installed package
    sys.path.insert(0, ROOT)


def make_inputs(folder, regularization, width, height, max_d, seed):
    """One GRU / 3DCNNs training item of a synthetic DTU-layout scan, as train.py feeds it."""
    import tensorflow as tf

    from mvsnet.training import data
    from tools import synthetic

    root = os.path.join(folder, "dtu")
    synthetic.write_dtu(root, scans=[2], views=3, width=width, height=height, seed=seed)
    samples = data.sample_list("dtu", root, 3, "training")
    opts = data.DataOptions(dataset="dtu", view_num=3, max_d=max_d)
    images, cams, depth = data.load_training_sample(samples.samples[0], opts)
    images = data.prepare_images(tf.constant(images.astype(np.float32))).numpy()
    return {"images": images[None], "cams": cams[None].astype(np.float32),
            "depth": depth[None].astype(np.float32)}


def run_ours(inputs, args, ckpt_prefix, final_prefix):
    import tensorflow as tf

    from mvsnet.network.model import build_model
    from mvsnet.training import step as train_step

    model = build_model(args.regularization, args.refinement)
    optimizer = train_step.make_optimizer(args.base_lr, args.stepvalue, args.gamma)
    step = train_step.TrainStep(model, optimizer, args.max_d)
    train_step.save_snapshot(model, optimizer, ckpt_prefix)      # the shared initial state
    batch = [tf.constant(inputs[k]) for k in ("images", "cams", "depth")]
    times, losses = [], []
    for _ in range(args.warmup + args.steps):
        start = time.time()
        out = step(*batch)
        loss = float(out["loss"])                               # waits for the step
        times.append(time.time() - start)
        losses.append(loss)
    train_step.save_snapshot(model, optimizer, final_prefix)
    return {"times": times, "losses": losses, "tf": tf.__version__}


def run_original(inputs_path, args, ckpt_prefix, final_prefix, folder):
    job = {"inputs": inputs_path, "ckpt": ckpt_prefix, "final": final_prefix,
           "regularization": args.regularization, "refinement": args.refinement,
           "max_d": args.max_d, "base_lr": args.base_lr, "stepvalue": args.stepvalue,
           "gamma": args.gamma, "warmup": args.warmup, "steps": args.steps}
    job_path = os.path.join(folder, "original_job.json")
    with open(job_path, "w") as fh:
        json.dump(job, fh)
    script = os.path.join(args.oracle_dir, "run_train_steps.py")
    run = subprocess.run([args.oracle_python, script, "--orig_repo", args.orig_repo, job_path],
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), capture_output=True, text=True)
    for line in run.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    sys.exit("error: %s: the original side failed: %s" % (script, lines[-1] if lines else "exit %d" % run.returncode))


def compare_states(ours_prefix, original_prefix):
    """Largest difference between the two final checkpoints, relative to each tensor's
    largest magnitude; the names must be the same."""
    from mvsnet import checkpoint as ck

    ours = ck.read_tf1_checkpoint(ours_prefix, with_slots=True)
    theirs = ck.read_tf1_checkpoint(original_prefix, with_slots=True)
    if set(ours) != set(theirs):
        return {"tensors": len(ours), "text": "DIFFERENT NAMES: %s" % sorted(set(ours) ^ set(theirs))[:8]}
    rows = []
    for name in ours:
        a, b = np.asarray(ours[name], np.float64), np.asarray(theirs[name], np.float64)
        rows.append((float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)), name))
    rows.sort()
    worst = rows[-1]
    weights = [r for r in rows if "/RMSProp" not in r[1]]
    return {"tensors": len(rows), "worst": worst, "worst_weight": weights[-1],
            "median": rows[len(rows) // 2][0],
            "text": "worst %s rel %.3g (weights: %s rel %.3g), median rel %.3g"
                    % (worst[1], worst[0], weights[-1][1], weights[-1][0], rows[len(rows) // 2][0])}


def summarise(name, result, warmup):
    timed = result["times"][warmup:]
    return {"side": name, "tf": result["tf"], "first_step_s": result["times"][0],
            "mean_s": statistics.mean(timed), "median_s": statistics.median(timed),
            "min_s": min(timed), "steps": len(timed), "losses": result["losses"]}


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--regularization", default="GRU", choices=("GRU", "3DCNNs"))
    ap.add_argument("--refinement", action="store_true", help="3DCNNs with depth refinement")
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--max_d", type=int, default=32)
    ap.add_argument("--steps", type=int, default=5, help="timed steps per side")
    ap.add_argument("--warmup", type=int, default=2, help="untimed first steps per side")
    ap.add_argument("--base_lr", type=float, default=0.001)
    ap.add_argument("--stepvalue", type=int, default=10000)
    ap.add_argument("--gamma", type=float, default=0.9)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--oracle_python", default=os.environ.get("ORACLE_PY"),
                    help="python of the venv made by tools/original/make_venv.sh (default: env ORACLE_PY)")
    ap.add_argument("--oracle_dir", default=os.path.join(here, "original"),
                    help="the harness for the original code (default: tools/original)")
    ap.add_argument("--orig_repo", default=os.environ.get("ORIG_REPO"),
                    help="clone of github.com/YoYo000/MVSNet (default: env ORIG_REPO)")
    ap.add_argument("--output", help="write the results as JSON here")
    args = ap.parse_args(argv)
    args.oracle_dir = os.path.abspath(args.oracle_dir)
    if args.refinement and args.regularization != "3DCNNs":
        ap.error("--refinement needs --regularization 3DCNNs")
    if args.warmup < 1 or args.steps < 1:
        ap.error("--warmup and --steps must be at least 1")
    if not args.oracle_python:
        ap.error("--oracle_python: give the python of tools/original/make_venv.sh's venv (or set ORACLE_PY)")
    if not args.orig_repo:
        ap.error("--orig_repo: give a clone of github.com/YoYo000/MVSNet (or set ORIG_REPO)")
    for path, what in ((args.oracle_python, "--oracle_python"), (os.path.join(args.oracle_dir, "run_train_steps.py"), "--oracle_dir"),
                       (args.orig_repo, "--orig_repo")):
        if not os.path.exists(path):
            ap.error("%s: %s not found" % (what, path))

    with tempfile.TemporaryDirectory(prefix="bench_train_") as folder:
        inputs = make_inputs(folder, args.regularization, args.width, args.height, args.max_d, args.seed)
        inputs_path = os.path.join(folder, "inputs.npz")
        np.savez(inputs_path, **inputs)
        prefix = os.path.join(folder, "init", "model.ckpt-0")
        finals = [os.path.join(folder, side, "model.ckpt-%d" % (args.warmup + args.steps))
                  for side in ("port", "original")]
        ours = summarise("port (TF2/Keras 3, tf.function)", run_ours(inputs, args, prefix, finals[0]),
                         args.warmup)
        original = summarise("original (TF1 graph, tf.compat.v1)",
                             run_original(inputs_path, args, prefix, finals[1], folder), args.warmup)
        state = compare_states(*finals)
    config = "%s%s, batch 1, 3 views, %dx%d images, max_d %d, CPU threads: TF default, nproc %d" % (
        args.regularization, " + refinement" if args.refinement else "", args.width, args.height,
        args.max_d, os.cpu_count())
    print(config)
    for side in (ours, original):
        print("%-36s first %.2f s, then mean %.3f s/step, median %.3f, min %.3f over %d steps"
              % (side["side"], side["first_step_s"], side["mean_s"], side["median_s"], side["min_s"],
                 side["steps"]))
    print("port / original (mean s/step): %.3f" % (ours["mean_s"] / original["mean_s"]))
    diffs = [abs(a - b) / max(abs(b), 1e-12) for a, b in zip(ours["losses"], original["losses"])]
    print("per-step loss, port vs original (same initial state): %s"
          % ", ".join("%.6g/%.6g" % (a, b) for a, b in zip(ours["losses"], original["losses"])))
    print("max relative loss difference over %d steps: %.3g" % (len(diffs), max(diffs)))
    print("state after %d steps (weights, RMSProp slots, global_step): %d tensors, %s"
          % (args.warmup + args.steps, state["tensors"], state["text"]))
    if args.output:
        with open(args.output, "w") as fh:
            json.dump({"config": config, "port": ours, "original": original, "state": state}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
