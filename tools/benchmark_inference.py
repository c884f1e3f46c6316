#!/usr/bin/env python
"""Peak memory and speed of dense-folder depth inference: this port's mvsnet/test.py and,
optionally, the ORIGINAL test.py (run by tools/original/run_test.py in the harness's own
Python, see tools/original/README.md), each in a
fresh process on a private copy of the same scene.

    # GRU memory does not grow with the number of depth planes
    python tools/benchmark_inference.py --scene SCENE --ckpt_gru CKPT_PREFIX \\
        --runs ours:GRU:64,ours:GRU:256 --max_w 1600 --max_h 1200 --refs 1

    # the paper's size, ours beside the original graph
    python tools/benchmark_inference.py --scene SCENE --ckpt_gru CKPT_PREFIX \\
        --runs ours:GRU:256,oracle:GRU:256 --max_w 1600 --max_h 1200 --refs 2 \\
        --oracle_python VENV/bin/python --orig_repo ORIG_REPO
    # VENV from tools/original/make_venv.sh, ORIG_REPO a clone of github.com/YoYo000/MVSNet
    # (defaults: env ORACLE_PY and ORIG_REPO; --oracle_script defaults to tools/original/run_test.py)

    # a synthetic scene of the right size first (python -m tools.synthetic)
    python tools/benchmark_inference.py --make_scene 1600x1200 --scene SCENE ...

Each run is ``IMPL:REGULARIZATION:MAX_D`` (IMPL ``ours``: test.py as it runs by default, the
fast GRU sweep; ``exact``: test.py ``--exact``, the original formulation; ``oracle``: the
original test.py). Runs execute in the order given: list them interleaved (e.g.
``oracle:GRU:256,ours:GRU:256,oracle:GRU:256,ours:GRU:256``) so that both see the same load;
the load average is recorded before and after every run. A run reads only the
first ``--refs`` reference views of pair.txt (its copy links images/ and cams/ and trims
pair.txt; the scene itself is never written). Peak RSS is the child's ru_maxrss from
wait4(2) (the same number ``/usr/bin/time -v`` prints as "Maximum resident set size").
Seconds per view are the times each program prints per view (ours: "view i/n ... S s";
the original: "depth inference i finished. (S sec/step)"); the first view includes
building / compiling the graph. The time to the first map is counted from the process start
(importing TensorFlow, reading the checkpoint, building / compiling the graph and the first
view): the modification time of the first view's depth and probability files; every output
line is also timed (``LOG.times``), which shows where the start-up goes. When several runs
share regularization and max_d, their depth and probability maps are compared. Results: a markdown table on stdout and
``OUT/benchmark.json``. Not part of the test suite.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np

from cameras import layout

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

OURS_VIEW = re.compile(r"^view \d+/\d+ \((\d+)\):.*, ([0-9.]+) s$")
ORACLE_VIEW = re.compile(r"depth inference (\d+) finished\. \(([0-9.]+) sec/step\)")


class BenchmarkError(Exception):
    pass


def parse_runs(text):
    runs = []
    for item in text.split(","):
        parts = item.strip().split(":")
        if len(parts) != 3 or parts[0] not in ("ours", "exact", "oracle") or parts[1] not in ("GRU", "3DCNNs"):
            raise BenchmarkError("--runs: %r is not IMPL:REGULARIZATION:MAX_D (IMPL ours|exact|oracle, "
                                 "REGULARIZATION GRU|3DCNNs)" % item)
        runs.append((parts[0], parts[1], int(parts[2])))
    return runs


def make_scene(scene, size, views, max_d, interval_scale):
    width, height = (int(v) for v in size.lower().split("x"))
    if os.path.isfile(os.path.join(scene, "pair.txt")):
        print("scene %s exists; not regenerated" % scene, flush=True)
        return
    cmd = [sys.executable, "-m", "tools.synthetic", "dense", os.path.abspath(scene),
           "--views", str(views), "--width", str(width), "--height", str(height),
           "--depth_line", "2", "--max_d", str(max_d), "--interval_scale", str(interval_scale)]
    print("generating %s: %s" % (scene, " ".join(cmd)), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)   # tools/ is run from the repository root


def private_copy(scene, dest, refs):
    """DEST with links to SCENE/images and SCENE/cams and pair.txt cut to its first REFS
    reference views (so a run writes only DEST/depths_mvsnet)."""
    if os.path.exists(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    for sub in ("images", "cams"):
        os.symlink(os.path.abspath(os.path.join(scene, sub)), os.path.join(dest, sub))
    from cameras.pair import read_pair, write_pair

    entries = read_pair(os.path.join(scene, "pair.txt"))
    entries = entries[:refs] if refs > 0 else entries
    write_pair(os.path.join(dest, "pair.txt"), entries)
    return len(entries)


def run_child(cmd, log_path, env=None):
    """(exit code, wall seconds, peak RSS in MiB, start) of CMD run with its output in LOG_PATH;
    ``start`` is the wall-clock time (time.time()) just before the process was started. Every
    output line is also written to LOG_PATH.times as "SECONDS_SINCE_START<TAB>LINE" (the
    child runs with PYTHONUNBUFFERED=1, so a line is timed when it is printed)."""
    env = dict(os.environ if env is None else env, PYTHONUNBUFFERED="1")
    with open(log_path, "w") as log, open(log_path + ".times", "w") as times:
        start_epoch = time.time()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        for raw in proc.stdout:
            line = raw.decode(errors="replace")
            log.write(line)
            times.write("%.2f\t%s" % (time.perf_counter() - start, line))
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, wall, usage.ru_maxrss / 1024.0, start_epoch  # Linux: KiB


def first_map_seconds(folder, start_epoch):
    """Seconds from the process start to the first complete depth map: the earliest, over
    the reference views, of the later modification time of its depth and probability files
    (both programs write them when the view is done). None when none was written."""
    if not os.path.isdir(folder):
        return None
    done = []
    for name in os.listdir(folder):
        if name.endswith(layout.DEPTH_FILES["init"]):
            prob = os.path.join(folder, name[:-len(layout.DEPTH_FILES["init"])] + layout.DEPTH_FILES["prob"])
            if os.path.isfile(prob):
                done.append(max(os.path.getmtime(os.path.join(folder, name)), os.path.getmtime(prob)))
    return round(min(done) - start_epoch, 1) if done else None


def per_view_seconds(log_path, impl):
    pattern = ORACLE_VIEW if impl == "oracle" else OURS_VIEW
    out = []
    for line in open(log_path, errors="replace"):
        m = pattern.search(line.strip())
        if m:
            out.append(float(m.group(2)))
    return out


def command(impl, reg, max_d, folder, args):
    common = ["--dense_folder", folder, "--regularization", reg, "--max_d", str(max_d),
              "--max_w", str(args.max_w), "--max_h", str(args.max_h), "--view_num", str(args.view_num),
              "--interval_scale", str(args.interval_scale)]
    ckpt = args.ckpt_gru if reg == "GRU" else args.ckpt_3dcnns
    if not ckpt:
        raise BenchmarkError("no checkpoint for %s: give --ckpt_%s" % (reg, reg.lower()))
    prefix, step = ckpt.rsplit("-", 1)
    common += ["--pretrained_model_ckpt_path", prefix, "--ckpt_step", step]
    if impl in ("ours", "exact"):
        extra = ["--exact"] if impl == "exact" else []
        return [sys.executable, os.path.join(ROOT, "mvsnet", "test.py")] + common + extra, None
    if not (args.oracle_python and args.oracle_script and args.orig_repo):
        raise BenchmarkError("oracle runs need --oracle_python (or env ORACLE_PY: the python of "
                             "tools/original/make_venv.sh's venv) and --orig_repo (or env ORIG_REPO: "
                             "a clone of github.com/YoYo000/MVSNet)")
    env = dict(os.environ, ORIG_REPO=args.orig_repo)
    return [args.oracle_python, args.oracle_script] + common, env


def compare_outputs(folder_a, folder_b):
    """Share of equal depth pixels and max |prob difference| over the common views."""
    from cameras.pfm import read_pfm

    equal = total = 0
    prob_err = 0.0
    for name in sorted(os.listdir(folder_a)):
        other = os.path.join(folder_b, name)
        if not os.path.isfile(other):
            continue
        if name.endswith(layout.DEPTH_FILES["init"]):
            a, b = read_pfm(os.path.join(folder_a, name)), read_pfm(other)
            equal += int((a == b).sum())
            total += a.size
        elif name.endswith(layout.DEPTH_FILES["prob"]):
            a, b = read_pfm(os.path.join(folder_a, name)), read_pfm(other)
            prob_err = max(prob_err, float(np.abs(a - b).max()))
    identical = all(open(os.path.join(folder_a, n), "rb").read() == open(os.path.join(folder_b, n), "rb").read()
                    for n in os.listdir(folder_a) if os.path.isfile(os.path.join(folder_b, n)))
    return {"depth_equal_share": equal / float(total) if total else None, "prob_max_abs": prob_err,
            "files_identical": identical}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scene", required=True, help="dense folder (images/, cams/, pair.txt)")
    p.add_argument("--make_scene", metavar="WxH", help="first generate a synthetic scene of this size")
    p.add_argument("--scene_views", type=int, default=5)
    p.add_argument("--out", default=None, help="work folder (default SCENE_bench)")
    p.add_argument("--runs", default="ours:GRU:64,ours:GRU:256")
    p.add_argument("--refs", type=int, default=1, help="reference views per run (0 = all)")
    p.add_argument("--max_w", type=int, default=1600)
    p.add_argument("--max_h", type=int, default=1200)
    p.add_argument("--view_num", type=int, default=5)
    p.add_argument("--interval_scale", type=float, default=0.8)
    p.add_argument("--ckpt_gru", help="GRU checkpoint prefix PATH-STEP")
    p.add_argument("--ckpt_3dcnns", help="3DCNNs checkpoint prefix PATH-STEP")
    p.add_argument("--oracle_python", default=os.environ.get("ORACLE_PY"),
                   help="python of the venv made by tools/original/make_venv.sh (default: env ORACLE_PY)")
    p.add_argument("--oracle_script", default=os.path.join(ROOT, "tools", "original", "run_test.py"),
                   help="runs the original test.py (default: tools/original/run_test.py)")
    p.add_argument("--orig_repo", default=os.environ.get("ORIG_REPO"),
                   help="clone of github.com/YoYo000/MVSNet (default: env ORIG_REPO)")
    args = p.parse_args(argv)
    try:
        runs = parse_runs(args.runs)
        if args.make_scene:
            make_scene(args.scene, args.make_scene, args.scene_views, max(r[2] for r in runs),
                       args.interval_scale)
        if not os.path.isfile(os.path.join(args.scene, "pair.txt")):
            raise BenchmarkError("%s: not a dense folder (no pair.txt)" % args.scene)
        out = args.out or args.scene.rstrip("/") + "_bench"
        os.makedirs(out, exist_ok=True)
        results = []
        for number, (impl, reg, max_d) in enumerate(runs, 1):
            label = "%d_%s_%s_d%d" % (number, impl, reg, max_d)
            folder = os.path.join(out, label)
            refs = private_copy(args.scene, folder, args.refs)
            cmd, env = command(impl, reg, max_d, folder, args)
            log_path = os.path.join(out, label + ".log")
            print("run %s (%d reference views): %s" % (label, refs, " ".join(cmd)), flush=True)
            load_before = os.getloadavg()
            code, wall, rss, start_epoch = run_child(cmd, log_path, env)
            views = per_view_seconds(log_path, impl)
            first_map = first_map_seconds(layout.depth_folder(folder), start_epoch)
            rec = {"run": label, "impl": impl, "regularization": reg, "max_d": max_d, "refs": refs,
                   "exit_code": code, "wall_seconds": round(wall, 1), "peak_rss_mib": round(rss, 1),
                   "seconds_per_view": views, "first_map_seconds": first_map, "log": log_path,
                   "load_before": [round(v, 2) for v in load_before],
                   "load_after": [round(v, 2) for v in os.getloadavg()],
                   "outputs": layout.depth_folder(folder)}
            results.append(rec)
            print("  exit %d, wall %.1f s, first map %s s after the start, peak RSS %.1f MiB, per view %s"
                  % (code, wall, first_map, rss, ", ".join("%.2f s" % s for s in views)), flush=True)
        # every run against the first run of the same setting (the original's when listed first)
        comparisons = []
        for i, b in enumerate(results):
            firsts = [a for a in results[:i] if (a["regularization"], a["max_d"]) == (b["regularization"], b["max_d"])]
            if firsts and os.path.isdir(firsts[0]["outputs"]) and os.path.isdir(b["outputs"]):
                a = firsts[0]
                comparisons.append(dict(a=a["run"], b=b["run"], **compare_outputs(a["outputs"], b["outputs"])))
        info = {"scene": os.path.abspath(args.scene), "max_w": args.max_w, "max_h": args.max_h,
                "view_num": args.view_num, "interval_scale": args.interval_scale, "cpus": os.cpu_count(),
                "runs": results, "comparisons": comparisons}
        with open(os.path.join(out, "benchmark.json"), "w") as f:
            json.dump(info, f, indent=1)
        print("\n| run | planes | ref views | s/view (first) | s/view (median after the first) "
              "| first map, s from the start | wall s | peak RSS MiB | load average before / after |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in results:
            v = r["seconds_per_view"]
            later = "%.1f" % np.median(v[1:]) if len(v) > 1 else "-"
            first_map = "-" if r["first_map_seconds"] is None else "%.1f" % r["first_map_seconds"]
            print("| %s %s | %d | %d | %s | %s | %s | %.0f | %.0f | %.2f / %.2f |"
                  % (r["run"], r["regularization"], r["max_d"], r["refs"], "%.1f" % v[0] if v else "-",
                     later, first_map, r["wall_seconds"], r["peak_rss_mib"], r["load_before"][0],
                     r["load_after"][0]))
        for impl in ("ours", "exact"):
            for setting in sorted({(r["regularization"], r["max_d"]) for r in results if r["impl"] == impl}):
                def later(kind):
                    return [np.median(r["seconds_per_view"][1:]) for r in results
                            if r["impl"] == kind and (r["regularization"], r["max_d"]) == setting
                            and len(r["seconds_per_view"]) > 1]
                mine, theirs = later(impl), later("oracle")
                if mine and theirs:   # only runs of the same network and planes are compared
                    print("\n%s / original, %s %d planes, s/view (median after the first): %.3f"
                          % (impl, setting[0], setting[1], np.median(mine) / np.median(theirs)))
        for c in comparisons:
            print("\n%s vs %s: depth pixels equal %s, prob max |diff| %g, files identical %s"
                  % (c["a"], c["b"], c["depth_equal_share"], c["prob_max_abs"], c["files_identical"]))
        return 0 if all(r["exit_code"] == 0 for r in results) else 1
    except BenchmarkError as err:
        print("error: %s" % err, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
