"""Depth maps shared between processes: test.py --shard / --resume (mvsnet.inference.shard)
and the Dask driver (mvsnet.inference.cluster, test.py --cluster, mvsnet/cluster.py).

On tests/fixtures/scene_tiny (5 reference views, network input 160x128, 32 planes, 3 views)
with the fixture GRU checkpoint. The reference is one process's run (the library, in this
process); shares, resumed runs and a local cluster of 2 worker processes (loopback only,
started here once for the module) must write the same bytes on this machine. The slow part
is each worker process importing TensorFlow and compiling the network once.
"""

import os
import shutil
import signal
import subprocess
import sys
import types

import numpy as np
import pytest

from cameras import layout
from cameras.errors import InputError
from cameras.pfm import write_pfm
from mvsnet.inference import outputs, plan, shard

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
SCENE = os.path.join(FIXTURES, "scene_tiny")
CKPT = os.path.join(FIXTURES, "ckpt_gru", "model.ckpt")
STEP = 100000
VIEWS = 5
KINDS = ("_init.pfm", "_prob.pfm", ".jpg", ".txt")
OPTIONS = plan.Options(view_num=3, max_d=32, max_w=160, max_h=128, interval_scale=0.8, regularization="GRU")
CLI = ["--regularization", "GRU", "--pretrained_model_ckpt_path", CKPT, "--ckpt_step", str(STEP),
       "--max_w", "160", "--max_h", "128", "--max_d", "32", "--view_num", "3", "--interval_scale", "0.8"]


def make_scene(parent, name):
    folder = os.path.join(str(parent), name)
    shutil.copytree(SCENE, folder, ignore=shutil.ignore_patterns("gt"))
    return folder


def depth_files(folder):
    """{name: bytes} of everything in folder/depths_mvsnet (temporary files included)."""
    out = layout.depth_folder(folder)
    return {name: open(os.path.join(out, name), "rb").read() for name in sorted(os.listdir(out))}


def expected_names(indices):
    return sorted("%08d%s" % (i, k) for i in indices for k in KINDS)


def run_script(script, args, env_code=None, timeout=600):
    if env_code is None:
        cmd = [sys.executable, os.path.join(ROOT, "mvsnet", script)] + args
    else:   # run the script after env_code (e.g. hiding a module)
        cmd = [sys.executable, "-c", "%s\nimport runpy, sys\nsys.argv = %r\nrunpy.run_path(%r, run_name='__main__')"
               % (env_code, [script] + args, os.path.join(ROOT, "mvsnet", script))]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def assert_one_error_line(proc, *fragments):
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ----------------------------------------------------------------------------- shares

def test_parse_shard():
    assert shard.parse_shard("1/1") == (1, 1)
    assert shard.parse_shard(" 3 / 4 ") == (3, 4)
    for text, message in [("0/3", "K must be between 1 and N = 3"), ("4/3", "K must be between 1 and N = 3"),
                          ("1/0", "N must be at least 1"), ("a/b", "must be K/N"), ("3", "must be K/N"),
                          ("", "must be K/N"), ("-1/2", "must be K/N"), ("1/2/3", "must be K/N")]:
        with pytest.raises(InputError, match=message):
            shard.parse_shard(text)


def test_shares_are_contiguous_whole_batches_covering_every_view_once():
    for count in range(0, 12):
        items = list(range(count))
        for batch in (1, 2, 3):
            groups = shard.batches(items, batch)
            for n in range(1, 7):
                union, sizes = [], []
                for k in range(1, n + 1):
                    first, chosen = shard.select(items, k, n, batch)
                    assert chosen == items[first:first + len(chosen)]      # contiguous
                    assert first % batch == 0                              # starts on a batch
                    assert len(chosen) % batch == 0 or chosen[-1:] == items[-1:]
                    union += chosen
                    sizes.append(sum(1 for g in groups if g[0] in chosen))
                assert union == items
                assert max(sizes) - min(sizes) <= 1     # balanced in batches
    # worked by hand: 5 views in 3 shares -> [0], [1, 2], [3, 4]
    assert [shard.select(list(range(5)), k, 3)[1] for k in (1, 2, 3)] == [[0], [1, 2], [3, 4]]
    assert [shard.select(list(range(5)), k, 2, batch_size=2)[1] for k in (1, 2)] == [[0, 1], [2, 3, 4]]


def _write_view(folder, index, size=(32, 40), skip=()):
    paths = outputs.output_paths(folder, index)
    for kind in ("init", "prob"):
        if kind not in skip:
            write_pfm(paths[kind], np.zeros(size, np.float32))
    for kind in ("image", "cam"):
        if kind not in skip:
            open(paths[kind], "wb").write(b"x")


def test_pending_keeps_incomplete_views_in_whole_batches(tmp_path):
    folder = str(tmp_path)
    plans = [types.SimpleNamespace(ref_index=i) for i in range(7)]
    _write_view(folder, 0)
    _write_view(folder, 1)
    _write_view(folder, 2, skip=("cam",))            # killed between two renames
    _write_view(folder, 3, size=(64, 80))            # a run at another size
    _write_view(folder, 4)
    with open(outputs.output_paths(folder, 4)["prob"], "r+b") as f:   # cut short
        f.truncate(100)
    _write_view(folder, 5)
    assert [shard.view_complete(folder, i, OPTIONS) for i in range(7)] == [True, True, False, False,
                                                                           False, True, False]
    assert [p.ref_index for p in shard.pending(plans, folder, OPTIONS)] == [2, 3, 4, 6]
    # batches of 2: (0, 1) complete; (2, 3), (4, 5) and (6) have an incomplete view
    assert [p.ref_index for p in shard.pending(plans, folder, OPTIONS, batch_size=2)] == [2, 3, 4, 5, 6]
    # refinement (3DCNNs) needs the refined map too
    cnn = plan.Options(view_num=3, max_d=32, max_w=160, max_h=128, regularization="3DCNNs")
    assert not shard.view_complete(folder, 0, cnn, refinement=True)
    write_pfm(outputs.output_paths(folder, 0)["refined"], np.zeros((32, 40), np.float32))
    assert shard.view_complete(folder, 0, cnn, refinement=True)


def test_stale_temporaries_are_those_of_the_depth_maps_only(tmp_path):
    names = [".00000003_init.pfm.4242.0a1b2c3d.tmp", ".00000012.jpg.17.ffffffff.tmp", "00000003_init.pfm",
             ".fused.ply.12.abcd0123.tmp", ".00000003_init.pfm.tmp", "notes.txt"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    assert [os.path.basename(p) for p in shard.stale_temporaries(str(tmp_path))] == names[:2]


@pytest.fixture(scope="module")
def model():
    from mvsnet.inference import network

    return network.load_model("GRU", CKPT + "-%d" % STEP)[0]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, model):
    """One process's run of the 5 view sets: (folder, {name: bytes})."""
    from mvsnet.inference import pipeline

    folder = make_scene(tmp_path_factory.mktemp("reference"), "scene")
    pipeline.run(folder, None, None, OPTIONS, model=model, log=lambda line: None)
    files = depth_files(folder)
    assert sorted(files) == expected_names(range(VIEWS))
    return folder, files


def test_the_shares_together_write_the_bytes_of_one_run(tmp_path, model, reference):
    from mvsnet.inference import pipeline

    for n in (2, 3):
        folder = make_scene(tmp_path, "shares%d" % n)
        plans = plan.plan_dense_folder(folder, OPTIONS)
        for k in range(1, n + 1):
            chosen = shard.select(plans, k, n)[1]
            before = set(os.listdir(outputs.make_output_folder(folder)))
            pipeline.run(folder, None, None, OPTIONS, model=model, log=lambda line: None, plans=chosen)
            new = set(os.listdir(layout.depth_folder(folder))) - before
            assert sorted(new) == expected_names(p.ref_index for p in chosen)   # exactly its views
        assert depth_files(folder) == reference[1]


def test_cli_shard_computes_exactly_its_views_and_resume_skips_them(tmp_path, reference):
    folder = make_scene(tmp_path, "scene")
    proc = run_script("test.py", ["--dense_folder", folder, "--shard", "2/3"] + CLI)
    assert proc.returncode == 0, proc.stderr
    assert "shard 2/3: view sets 2-3 of 5 (pair.txt order)" in proc.stdout
    assert [line.split(":")[0] for line in proc.stdout.splitlines() if line.startswith("view ")] == \
        ["view 1/2 (00000001)", "view 2/2 (00000002)"]
    files = depth_files(folder)
    assert sorted(files) == expected_names([1, 2])
    assert files == {name: reference[1][name] for name in files}      # the bytes of one run
    # a finished share: nothing to do (before TensorFlow loads); a damaged view is redone
    proc = run_script("test.py", ["--dense_folder", folder, "--shard", "2/3", "--resume"] + CLI)
    assert proc.returncode == 0, proc.stderr
    assert "--resume: 2 of 2 view set(s) complete already, 0 to compute" in proc.stdout
    assert "nothing to do" in proc.stdout and "checkpoint:" not in proc.stdout


def test_cli_bad_shard_values(tmp_path):
    folder = make_scene(tmp_path, "scene")
    for value, message in [("0/2", "--shard 0/2: K must be between 1 and N = 2"),
                           ("3", "--shard must be K/N")]:
        assert_one_error_line(run_script("test.py", ["--dense_folder", folder, "--shard", value] + CLI),
                              message)
    assert_one_error_line(run_script("test.py", ["--dense_folder", folder, "--shard", "1/2",
                                                 "--cluster", "local:2"] + CLI),
                          "--shard and --cluster do not go together")
    assert not os.path.exists(layout.depth_folder(folder))


# ----------------------------------------------------------------------------- cluster

def test_cluster_addresses():
    from mvsnet.inference import cluster

    assert cluster.parse_address("local:2") == ("local", 2)
    assert cluster.parse_address("tcp://10.0.0.5:8786") == ("remote", "tcp://10.0.0.5:8786")
    assert cluster.parse_address("head-node:8786") == ("remote", "head-node:8786")
    for text, message in [("local:0", "at least 1 worker"), ("local", "write local:N"),
                          ("local:two", "write local:N"), ("tcp://a b", "must be local:N")]:
        with pytest.raises(InputError, match=message):
            cluster.parse_address(text)


def test_an_unreachable_scheduler_is_one_error(monkeypatch):
    import distributed  # noqa: F401  (the optional extra "cluster", part of the "test" extra)
    from mvsnet.inference import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(InputError, match="tcp://127.0.0.1:1: cannot reach the Dask scheduler: Timed out"):
        with cluster.connect("tcp://127.0.0.1:1", log=lambda line: None):
            pass


def test_reconstruct_checks_its_cluster_option_first():
    from mvsnet import reconstruction

    with pytest.raises(InputError, match="--cluster must be local:N"):
        reconstruction.PipelineOptions(cluster="nowhere at all").check()
    reconstruction.PipelineOptions(cluster="local:2").check()


def test_cli_without_the_engine_says_how_to_install_it(tmp_path):
    folder = make_scene(tmp_path, "scene")
    hide = "import sys; sys.modules['distributed'] = None"
    proc = run_script("test.py", ["--dense_folder", folder, "--cluster", "local:2"] + CLI, env_code=hide)
    assert_one_error_line(proc, "--cluster needs Dask distributed", "pip install -e .[cluster]")
    proc = run_script("cluster.py", ["--dense_folder", folder, "--cluster", "local:2"] + CLI,
                      env_code=hide)
    assert_one_error_line(proc, "pip install -e .[cluster]")
    proc = run_script("reconstruct.py", ["--images", folder + "/images", "--workspace", str(tmp_path / "ws"),
                                         "--cluster", "local:2"], env_code=hide)
    assert_one_error_line(proc, "pip install -e .[cluster]")
    assert not (tmp_path / "ws").exists()


def test_cli_cluster_finds_the_engine_and_checks_the_input_first(tmp_path):
    """Run as scripts (their folder first on sys.path), the engine is found; bad input is
    reported before any cluster starts."""
    import distributed  # noqa: F401  (the optional extra "cluster", part of the "test" extra)
    nowhere = str(tmp_path / "nowhere")
    for script in ("test.py", "cluster.py"):
        proc = run_script(script, ["--dense_folder", nowhere, "--cluster", "local:2"] + CLI)
        assert_one_error_line(proc, nowhere, "dense folder does not exist")
    folder = make_scene(tmp_path, "scene")
    proc = run_script("cluster.py", ["--dense_folder", folder, "--dense_folder", folder + "/",
                                     "--cluster", "local:2"] + CLI)
    assert_one_error_line(proc, "given twice")
    proc = run_script("cluster.py", ["--dense_folder", folder, "--cluster", "local:0"] + CLI)
    assert_one_error_line(proc, "at least 1 worker")


@pytest.fixture(scope="module")
def client():
    import distributed  # noqa: F401  (the optional extra "cluster", part of the "test" extra)
    from mvsnet.inference import cluster

    with cluster.connect("local:2", log=lambda line: None) as c:
        yield c


def _job(**kw):
    from mvsnet.inference import cluster

    return cluster.Job(CKPT, STEP, OPTIONS, **kw)


def test_cluster_writes_the_bytes_of_one_process_and_fuses_each_scene(tmp_path, client, reference):
    from mvsnet.inference import cluster
    from mvsnet.pointcloud import consistency, fusion, ply
    from mvsnet.pointcloud.cloud import FusionOptions

    fuse = [FusionOptions(prob_threshold=0.0, num_consistent=1),
            FusionOptions(prob_threshold=0.0, num_consistent=1, fusion_mode="consistency",
                          geo_depth_threshold=0.05)]
    folders = [make_scene(tmp_path, "a"), make_scene(tmp_path, "b")]
    scenes = [cluster.Scene(f, plan.plan_dense_folder(f, OPTIONS), fu) for f, fu in zip(folders, fuse)]
    lines = []
    summary = cluster.run(client, scenes, _job(views_per_task=2), log=lines.append)
    assert summary["views"] == 2 * VIEWS
    for folder in folders:
        assert depth_files(folder) == reference[1]
        assert summary["scenes"][folder]["tasks"] == 3
    # tasks of contiguous view sets: 0-1, 2-3, 4
    done = sorted((r["dense_folder"], tuple(r["ref_indices"])) for r in summary["results"] if "ref_indices" in r)
    assert done == sorted((f, refs) for f in folders for refs in [(0, 1), (2, 3), (4,)])
    assert len({r["pid"] for r in summary["results"]}) == 2        # both workers took tasks
    # the fusion of each scene: the library's (either mode), run here on the reference maps
    local = [fusion.fuse_dense_folder(reference[0], 0.0, fuse[0].disp_threshold, 1),
             consistency.fuse_dense_folder(reference[0], fuse[1])]
    for folder, cloud in zip(folders, local):
        assert len(cloud.points) > 100
        points, colors, _ = ply.read_ply(layout.fused_ply(folder))
        np.testing.assert_array_equal(points, cloud.points)
        np.testing.assert_array_equal(colors, cloud.colors)
    assert len(local[0].points) != len(local[1].points)
    assert any(line.startswith("views 10/10: ") and line.endswith("left") for line in lines)
    assert sum("fused" in line for line in lines) == 2


def test_a_worker_killed_mid_run_still_gives_every_depth_map_once(tmp_path, client, reference):
    from mvsnet.inference import cluster

    folder = make_scene(tmp_path, "scene")
    killed = []

    def log(line):
        # at the first progress line where a worker holds a task (at the first line the
        # scheduler may not have handed the next tasks out yet)
        if line.startswith("views ") and not line.startswith("views %d/" % VIEWS) and not killed:
            pids = client.run(os.getpid)
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(pids[busy[0]])

    summary = cluster.run(client, [cluster.Scene(folder, plan.plan_dense_folder(folder, OPTIONS))],
                          _job(views_per_task=1), log=log)
    assert killed, "no worker held a task at any progress line before the last"
    refs = sorted(i for r in summary["results"] for i in r["ref_indices"])
    assert refs == list(range(VIEWS))                       # every view set once
    assert depth_files(folder) == reference[1]              # none missing, no partial or temporary file
    client.wait_for_workers(2, timeout=120)                 # the nanny restarted the dead worker
