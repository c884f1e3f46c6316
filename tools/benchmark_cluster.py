#!/usr/bin/env python
"""Throughput of depth inference in one process and on local Dask clusters, side by side.

    python tools/benchmark_cluster.py --make_scene --scene SCENE --views 12 \\
        --configs process,local:1,local:2,local:2:1 --max_w 640 --max_h 512 --max_d 128 \\
        --out OUT

Each config runs in the order given, on its own copy of the scene (images/ and cams/
linked, pair.txt cut to the first --views reference views), with the shipped GRU weights
unless --ckpt:

    process      mvsnet/test.py in a fresh process; seconds per view from its log lines,
                 steady = the views after the first (which compiles the graph)
    local:N[:T]  N worker processes (mvsnet.inference.cluster, T TensorFlow threads each,
                 default TensorFlow's own: every core). Start-up = the cluster started and
                 every worker warmed (model loaded, graph compiled, one view set run: one
                 task pinned to each worker); then the --views view sets run on the warm
                 workers, timed from submission to the last file (--views_per_task)

The load average is recorded before and after every config (the machine may be shared:
interleave configs, e.g. local:1,local:2,local:1,local:2). The files of every config are
compared byte for byte with those of the first. Results: a markdown table on stdout and
OUT/benchmark_cluster.json. Needs the optional extra ``cluster``. Not part of the test suite.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

VIEW_LINE = re.compile(r"^view \d+/\d+ \((\d+)\):.*, ([0-9.]+) s$")


def copy_scene(scene, folder, views):
    from cameras.pair import read_pair, write_pair

    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    for sub in ("images", "cams"):
        os.symlink(os.path.abspath(os.path.join(scene, sub)), os.path.join(folder, sub))
    pairs = read_pair(os.path.join(scene, "pair.txt"))
    if len(pairs) < views:
        raise SystemExit("error: %s lists %d reference views, fewer than --views %d" % (scene, len(pairs), views))
    write_pair(os.path.join(folder, "pair.txt"), pairs[:views])
    return folder


def network_flags(args):
    flags = ["--max_w", str(args.max_w), "--max_h", str(args.max_h), "--max_d", str(args.max_d),
             "--view_num", str(args.view_num), "--interval_scale", str(args.interval_scale)]
    if args.ckpt:
        flags += ["--pretrained_model_ckpt_path", args.ckpt, "--ckpt_step", str(args.ckpt_step)]
    return flags


def options_of(args):
    from mvsnet.inference import plan

    return plan.Options(view_num=args.view_num, max_d=args.max_d, max_w=args.max_w, max_h=args.max_h,
                        interval_scale=args.interval_scale)


def checkpoint_of(args):
    if args.ckpt:
        return args.ckpt, args.ckpt_step
    from mvsnet import weights

    return weights.released_gru_path_and_step()


def run_process(args, folder):
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "mvsnet", "test.py"), "--dense_folder", folder]
                          + network_flags(args), capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit("test.py failed: %s" % proc.stderr.strip().splitlines()[-1:])
    seconds = [float(m.group(2)) for m in map(VIEW_LINE.match, proc.stdout.splitlines()) if m]
    steady = seconds[1:]
    return {"workers": 1, "threads": "default", "startup_s": wall - sum(steady),
            "views_timed": len(steady), "timed_s": sum(steady), "wall_s": wall}


def warm_task(job, one_plan, folder):
    """On one worker: load the model, compile, run one view set (into a scratch folder)."""
    from mvsnet.inference import cluster, pipeline

    model = cluster.worker_model(job)
    os.makedirs(folder, exist_ok=True)
    pipeline.run(folder, None, None, job.options, plans=[one_plan], model=model, log=lambda line: None)
    return os.getpid()


def run_cluster(args, folder, spec):
    from mvsnet.inference import cluster, plan

    parts = spec.split(":")
    address, threads = ":".join(parts[:2]), int(parts[2]) if len(parts) > 2 else 0
    options = options_of(args)
    ckpt_path, ckpt_step = checkpoint_of(args)
    job = cluster.Job(ckpt_path, ckpt_step, options, views_per_task=args.views_per_task, threads=threads)
    plans = plan.plan_dense_folder(folder, options)
    start = time.perf_counter()
    with cluster.connect(address, log=lambda line: None) as client:
        workers = sorted(client.scheduler_info()["workers"])
        warm = [client.submit(warm_task, job, plans[0], os.path.join(folder, "warm%d" % i), workers=[w],
                              pure=False) for i, w in enumerate(workers)]
        client.gather(warm)
        startup = time.perf_counter() - start
        t = time.perf_counter()
        cluster.run(client, [cluster.Scene(folder, plans)], job, log=lambda line: None)
        timed = time.perf_counter() - t
    return {"workers": len(workers), "threads": threads or "default", "startup_s": startup,
            "views_timed": len(plans), "timed_s": timed, "wall_s": time.perf_counter() - start}


def depth_bytes(folder):
    from cameras import layout

    out = layout.depth_folder(folder)
    return {n: open(os.path.join(out, n), "rb").read() for n in sorted(os.listdir(out))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scene", required=True)
    parser.add_argument("--make_scene", action="store_true", help="render a synthetic scene at --scene first")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--views", type=int, default=12)
    parser.add_argument("--configs", default="process,local:1,local:2")
    parser.add_argument("--views_per_task", type=int, default=2)
    parser.add_argument("--max_w", type=int, default=640)
    parser.add_argument("--max_h", type=int, default=512)
    parser.add_argument("--max_d", type=int, default=128)
    parser.add_argument("--view_num", type=int, default=5)
    parser.add_argument("--interval_scale", type=float, default=0.8)
    parser.add_argument("--ckpt", default=None, help="checkpoint path without the step (default: shipped weights)")
    parser.add_argument("--ckpt_step", type=int, default=100000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    # the subprocesses run from the repository root (python -m tools.synthetic): absolute paths
    args.scene, args.out = os.path.abspath(args.scene), os.path.abspath(args.out)
    if args.ckpt:
        args.ckpt = os.path.abspath(args.ckpt)

    if args.make_scene:
        subprocess.run([sys.executable, "-m", "tools.synthetic", "dense", args.scene, "--views", str(args.views),
                        "--width", str(args.max_w), "--height", str(args.max_h), "--seed", str(args.seed),
                        "--depth_line", "2", "--max_d", str(args.max_d), "--interval_scale",
                        str(args.interval_scale), "--overwrite"], check=True, cwd=ROOT)
    os.makedirs(args.out, exist_ok=True)
    rows, first = [], None
    for k, spec in enumerate(args.configs.split(",")):
        folder = copy_scene(args.scene, os.path.join(args.out, "run%d" % k), args.views)
        load_before = os.getloadavg()[0]
        row = run_process(args, folder) if spec == "process" else run_cluster(args, folder, spec)
        row.update(config=spec, load_before=load_before, load_after=os.getloadavg()[0])
        files = depth_bytes(folder)
        first = first or files
        row["identical_to_first"] = files == first
        row["s_per_view"] = row["timed_s"] / row["views_timed"]
        rows.append(row)
        print("%s: %s" % (spec, json.dumps(row)), file=sys.stderr, flush=True)
    base = next((r for r in rows if r["config"] == "local:1"), rows[0])
    print("| config | workers | TF threads / worker | start-up s | views timed | s/view | views/min | "
          "vs %s | files = first | load before / after |" % base["config"])
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %d | %s | %.1f | %d | %.2f | %.1f | %.2fx | %s | %.1f / %.1f |"
              % (r["config"], r["workers"], r["threads"], r["startup_s"], r["views_timed"], r["s_per_view"],
                 60.0 / r["s_per_view"], base["s_per_view"] / r["s_per_view"],
                 "yes" if r["identical_to_first"] else "no", r["load_before"], r["load_after"]))
    with open(os.path.join(args.out, "benchmark_cluster.json"), "w") as f:
        json.dump({"args": vars(args), "rows": rows, "cpus": os.cpu_count()}, f, indent=1)


if __name__ == "__main__":
    main()
