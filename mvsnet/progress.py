"""Progress of long jobs: a bar with rate and time left on a terminal, plain lines in logs.

    with progress.Progress(len(views), "depth maps", unit="view", log=log) as bar:
        for ...:
            bar.update(line="view %d/%d ...")     # one item done, with its log line

On a terminal (the bar's stream, stderr, is a tty) a tqdm bar shows the items done, the rate
and the time left; the log lines still appear, above the bar. When stderr is not a terminal
(CI, a file, a pipe) there is no bar: the log lines are all that is written, exactly as
before, so logs stay readable. ``MVSNET_PROGRESS=bar`` or ``=lines`` forces either mode.

:class:`Poller` follows work that reports nothing itself (pycolmap's feature extraction and
matching): it asks a count function once a second, in a thread, and moves the bar.
"""

import os
import sys
import threading

ENVIRONMENT = "MVSNET_PROGRESS"
MODES = ("bar", "lines")


def bar_mode(stream=None):
    """True when a bar is drawn on ``stream`` (default stderr): ``MVSNET_PROGRESS`` says
    ``bar`` or ``lines``, else whether the stream is a terminal."""
    forced = os.environ.get(ENVIRONMENT, "").strip().lower()
    if forced in MODES:
        return forced == "bar"
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Progress:
    """Progress of ``total`` items (None: unknown, the bar then shows the count and rate).

    Args:
        total: number of items, or None.
        desc: what is counted, shown before the bar ("depth maps").
        unit: the name of one item ("view"); the rate is shown in s/unit or unit/s.
        log: the function the job's lines go to (one per item, as without a bar); None: a
            quiet job, no lines and no bar.
        stream: where the bar is drawn (default sys.stderr); bar: force the mode (default
            :func:`bar_mode`).
        initial: items already done (a resumed job).
    """

    def __init__(self, total, desc, unit="item", log=print, stream=None, bar=None, initial=0):
        self.total = total
        self.done = initial
        self.log_function = log
        self.stream = sys.stderr if stream is None else stream
        self.bar = None
        self._lock = threading.Lock()
        if log is not None and (bar if bar is not None else bar_mode(self.stream)):
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit=unit, file=self.stream, initial=initial,
                            dynamic_ncols=True, smoothing=0.1, mininterval=0.2, leave=True)

    def log(self, line):
        """Write a line (above the bar when there is one)."""
        if line is None or self.log_function is None:
            return
        if self.bar is None:
            self.log_function(line)
        else:
            with self.bar.external_write_mode(file=self.stream):
                self.log_function(line)

    def update(self, n=1, line=None):
        """``n`` more items done; ``line``: their log line."""
        with self._lock:
            self.done += n
            if self.bar is not None:
                self.bar.update(n)
        self.log(line)

    def set(self, done):
        """The number of items done so far (from a count: :class:`Poller`); never goes back."""
        with self._lock:
            if done > self.done:
                if self.bar is not None:
                    self.bar.update(done - self.done)
                self.done = done

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class Poller:
    """Moves ``progress`` to ``count()`` every ``interval`` seconds in a daemon thread while
    the ``with`` block runs (count errors are ignored: the work it watches may not have
    created what it counts yet); a last count when the block ends."""

    def __init__(self, progress, count, interval=1.0):
        self.progress = progress
        self.count = count
        self.interval = interval
        self._stop = threading.Event()
        self._thread = None

    def _poll(self):
        try:
            self.progress.set(self.count())
        except Exception:  # noqa: BLE001 -- the watched work owns its errors
            pass

    def _run(self):
        while not self._stop.wait(self.interval):
            self._poll()

    def __enter__(self):
        if self.progress.bar is not None:  # nothing to show without a bar
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            if exc[0] is None:
                self._poll()
        return False
