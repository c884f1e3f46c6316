"""Splitting the reference views of a dense folder between processes, and resuming.

    k, n = shard.parse_shard("2/4")                   # this process: the 2nd of 4 shares
    first, todo = shard.select(plans, k, n, batch_size)   # a contiguous run of whole batches
    todo = shard.pending(todo, folder, options, batch_size)   # --resume: skip finished batches

A share is a contiguous run of view sets in pair.txt order, so the views a process reads
overlap from one view set to the next and the feature cache of
:mod:`mvsnet.inference.pipeline` keeps hitting. Shares are made of whole batches of
``batch_size`` view sets (the batches of one full run), and resuming drops whole batches
only: a GRU batch sweeps the planes of its first reference view (as the original), so the
same batches give the same files. The union of the N shares of a folder is then every
view set once, and their files are byte for byte those of one full run on the same
machine and settings.

A view is complete when its four files (``%08d_init.pfm``, ``%08d_prob.pfm``, ``%08d.jpg``,
``%08d.txt``, and ``%08d_refined.pfm`` with refinement) exist and the two maps have the
size this run writes. Each file is written to a temporary name and renamed
(:func:`cameras.atomic.write_bytes_atomic`), so a file that exists is whole; a process
killed between two renames leaves a view with some of its files, which is not complete
and is computed again. A process killed while writing leaves its temporary file
(``.NAME.PID.HEX.tmp``, hidden); :func:`stale_temporaries` lists those of the depth maps,
for a driver to remove once no process writes into the folder any more.

NumPy only.
"""

import os
import re

from cameras import layout
from cameras.atomic import temporary_of
from cameras.errors import InputError
from mvsnet.inference import outputs

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
# a depth-map file of a view (its temporaries: cameras.atomic.temporary_of)
_DEPTH_FILE = re.compile(r"^\d{8}(?:%s)$"
                         % "|".join(re.escape(suffix) for suffix in layout.DEPTH_FILES.values()))


def parse_shard(text, flag="--shard"):
    """(k, n) of ``"K/N"``, 1 <= K <= N; InputError in one line otherwise."""
    match = _SHARD.match(text or "")
    if not match:
        raise InputError("%s must be K/N, this process's share K of N (1-based, e.g. 1/4), got %r"
                         % (flag, text))
    k, n = int(match.group(1)), int(match.group(2))
    if n < 1:
        raise InputError("%s %s: N must be at least 1" % (flag, text.strip()))
    if not 1 <= k <= n:
        raise InputError("%s %s: K must be between 1 and N = %d (shares are numbered from 1)"
                         % (flag, text.strip(), n))
    return k, n


def batches(items, batch_size):
    """``items`` in consecutive lists of ``batch_size`` (the last one may be shorter)."""
    if batch_size < 1:
        raise InputError("--batch_size must be at least 1, got %d" % batch_size)
    return [items[i:i + batch_size] for i in range(0, len(items), batch_size)]


def share_bounds(count, k, n):
    """[start, stop) of share k (1-based) of n over ``count`` items: contiguous, in order,
    sizes differing by at most one, the n shares covering 0..count once."""
    if not 1 <= k <= n:
        raise ValueError("share %d of %d" % (k, n))
    return (k - 1) * count // n, k * count // n


def select(plans, k, n, batch_size=1):
    """(first, chosen): the view sets of share k of n, a contiguous run of whole batches of
    ``plans``, and the position of the first of them in ``plans``."""
    plans = list(plans)
    groups = batches(plans, batch_size)
    start, stop = share_bounds(len(groups), k, n)
    return min(start * batch_size, len(plans)), [p for group in groups[start:stop] for p in group]


def expected_map_size(options):
    """(h, w) of the depth and probability maps a run with ``options`` writes."""
    return int(options.max_h * options.sample_scale), int(options.max_w * options.sample_scale)


def _pfm_size(path):
    """(h, w) from a PFM header, None when the file is not a PFM of the right length."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            end = f.seek(0, os.SEEK_END)
    except OSError:
        return None
    lines = head.split(b"\n", 3)
    if len(lines) < 4 or lines[0] not in (b"Pf", b"PF"):
        return None
    try:
        w, h = (int(v) for v in lines[1].split())
    except ValueError:
        return None
    header = len(lines[0]) + len(lines[1]) + len(lines[2]) + 3
    channels = 1 if lines[0] == b"Pf" else 3
    return (h, w) if end == header + 4 * channels * w * h else None


def view_complete(folder, ref_index, options, refinement=False):
    """Whether the files of reference view ``ref_index`` in the output ``folder`` are all
    there, with maps of the size this run writes (see the module docstring)."""
    paths = outputs.output_paths(folder, ref_index)
    kinds = ["init", "prob", "image", "cam"]
    maps = ["init", "prob"]
    if refinement and options.regularization == "3DCNNs":
        kinds.append("refined")
        maps.append("refined")
    if not all(os.path.isfile(paths[k]) for k in kinds):
        return False
    size = expected_map_size(options)
    return all(_pfm_size(paths[k]) == size for k in maps)


def pending(plans, folder, options, batch_size=1, refinement=False):
    """``plans`` without the batches whose views are all complete in ``folder``; a batch
    with one incomplete view is kept whole (computed again, its files replaced)."""
    keep = []
    for group in batches(list(plans), batch_size):
        if not all(view_complete(folder, p.ref_index, options, refinement) for p in group):
            keep.extend(group)
    return keep


def stale_temporaries(folder):
    """Paths of the temporary files a killed writer of depth maps left in ``folder``
    (``.%08d_init.pfm.PID.HEX.tmp`` and the like): remove them only when no process writes
    there any more."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(os.path.join(folder, name) for name in names
                  if _DEPTH_FILE.match(temporary_of(name) or ""))


def describe(k, n, first, count, total):
    """The log line of a share whose ``count`` view sets start at position ``first``
    (0-based) of the ``total`` of pair.txt."""
    if not count:
        return "shard %d/%d: none of the %d view sets (more shares than batches)" % (k, n, total)
    return "shard %d/%d: view sets %d-%d of %d (pair.txt order)" % (k, n, first + 1, first + count, total)
