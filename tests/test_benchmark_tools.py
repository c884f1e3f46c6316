"""tools/benchmark_inference.py's own bookkeeping: the time to the first depth map from the
file times, and the timed copy of a child's output (no timing asserted: only what the
script computes from the times it is given)."""

import os
import sys

from tools import benchmark_inference as bench


def _touch(path, mtime):
    with open(path, "wb") as f:
        f.write(b"x")
    os.utime(path, (mtime, mtime))


def test_first_map_is_the_earliest_view_with_both_maps(tmp_path):
    _touch(tmp_path / "00000000_init.pfm", 1010.0)
    _touch(tmp_path / "00000000_prob.pfm", 1012.0)      # view 0 complete at 1012
    _touch(tmp_path / "00000001_init.pfm", 1005.0)      # no probability map: not complete
    _touch(tmp_path / "00000002_init.pfm", 1030.0)
    _touch(tmp_path / "00000002_prob.pfm", 1020.0)      # complete at 1030
    _touch(tmp_path / "00000003_prob.pfm", 1001.0)      # no depth map
    assert bench.first_map_seconds(str(tmp_path), 1000.0) == 12.0


def test_no_map_written_gives_none(tmp_path):
    assert bench.first_map_seconds(str(tmp_path), 1000.0) is None
    assert bench.first_map_seconds(str(tmp_path / "missing"), 1000.0) is None


def test_child_output_is_logged_and_every_line_timed(tmp_path):
    log = str(tmp_path / "run.log")
    code, wall, rss, start = bench.run_child(
        [sys.executable, "-c", "import os, sys; print(os.environ['PYTHONUNBUFFERED']); "
                               "print('second', file=sys.stderr); sys.exit(3)"], log)
    assert code == 3 and rss > 0 and wall > 0
    assert open(log).read() == "1\nsecond\n"
    timed = [line.rstrip("\n").split("\t") for line in open(log + ".times")]
    assert [text for _, text in timed] == ["1", "second"]
    seconds = [float(s) for s, _ in timed]
    assert 0 <= seconds[0] <= seconds[1] <= wall
