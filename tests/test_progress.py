"""mvsnet/progress.py: plain lines when the output is not a terminal, a tqdm bar with rate and
time left on a terminal (forced with a tty stream or MVSNET_PROGRESS=bar), and the same in a
real command (depthfusion.py)."""

import io
import os
import re
import subprocess
import sys

import pytest

from mvsnet import progress
from scenes import fused_scene

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(autouse=True)
def no_forced_mode(monkeypatch):
    monkeypatch.delenv(progress.ENVIRONMENT, raising=False)


def test_lines_when_not_a_terminal():
    stream, lines = io.StringIO(), []
    with progress.Progress(3, "views", unit="view", log=lines.append, stream=stream) as bar:
        assert bar.bar is None
        for k in range(3):
            bar.update(line="view %d/3" % (k + 1))
    assert lines == ["view 1/3", "view 2/3", "view 3/3"]
    assert stream.getvalue() == ""
    # a quiet job (no log): nothing at all, even on a terminal
    terminal = Terminal()
    with progress.Progress(3, "views", log=None, stream=terminal) as bar:
        bar.update()
    assert terminal.getvalue() == "" and bar.done == 1


def test_bar_with_rate_and_time_left_on_a_terminal():
    stream, lines = Terminal(), []
    with progress.Progress(4, "depth maps", unit="view", log=lines.append, stream=stream) as bar:
        assert bar.bar is not None
        for k in range(4):
            bar.update(line="view %d/4" % (k + 1))
    assert lines == ["view 1/4", "view 2/4", "view 3/4", "view 4/4"]
    text = stream.getvalue().replace("\r", "\n")
    final = [line for line in text.splitlines() if "4/4" in line][-1]
    # "depth maps: 100%|##########| 4/4 [00:00<00:00, 1234.5view/s]": elapsed<left, rate
    assert final.startswith("depth maps: 100%")
    assert re.search(r"4/4 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+(view/s|s/view)\]", final), final
    # an earlier state shows the time left of the remaining items
    assert re.search(r"[123]/4 \[\d\d:\d\d<\d\d:\d\d", text), text


def test_environment_forces_either_mode(monkeypatch):
    monkeypatch.setenv(progress.ENVIRONMENT, "lines")
    assert not progress.bar_mode(Terminal())
    monkeypatch.setenv(progress.ENVIRONMENT, "bar")
    assert progress.bar_mode(io.StringIO())
    monkeypatch.delenv(progress.ENVIRONMENT)
    assert progress.bar_mode(Terminal()) and not progress.bar_mode(io.StringIO())


def test_poller_follows_a_count():
    stream = Terminal()
    counts = iter([1, 0, 3, 5])  # a count that goes back is ignored
    with progress.Progress(5, "features", unit="photo", log=print, stream=stream) as bar:
        with progress.Poller(bar, lambda: next(counts), interval=0.01):
            while bar.done < 3:
                pass
        assert bar.done == 5  # the last count when the work ends
    assert "5/5" in stream.getvalue()


def test_depthfusion_lines_in_a_log_and_a_bar_on_a_terminal(tmp_path):
    scene = fused_scene(tmp_path)
    command = [sys.executable, os.path.join(ROOT, "mvsnet", "depthfusion.py"), "--dense_folder",
               str(scene), "--prob_threshold", "0.043", "--num_consistent", "1"]
    env = dict(os.environ)
    env.pop(progress.ENVIRONMENT, None)
    plain = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert plain.returncode == 0, plain.stderr
    views = len(os.listdir(scene / "images"))
    lines = plain.stdout.splitlines()
    assert [line.split(" (")[0] for line in lines[:views]] == ["view %d/%d" % (k + 1, views)
                                                              for k in range(views)]
    assert "fusion:" not in plain.stderr and "\r" not in plain.stdout + plain.stderr
    env[progress.ENVIRONMENT] = "bar"
    bar = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert bar.returncode == 0, bar.stderr
    # the same lines (their seconds aside), and the bar on stderr
    assert [line.rsplit(",", 1)[0] for line in bar.stdout.splitlines()] == \
        [line.rsplit(",", 1)[0] for line in lines[:views]] + bar.stdout.splitlines()[views:]
    assert re.search(r"fusion: 100%%.*%d/%d \[\d\d:\d\d<\d\d:\d\d" % (views, views), bar.stderr), bar.stderr
