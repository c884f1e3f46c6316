"""The sample-list machinery shared by the dataset layouts (dtu.py, blendedmvs.py, eth3d.py):
:class:`SampleList`, pair.txt view sets, and the filtering of samples with missing files.
A sample is ``[image0, cam0, image1, cam1, ..., depth]`` (view 0 the reference, its sources
in pair.txt order), as the original.
"""

import dataclasses
import os

from cameras.errors import InputError
from cameras.pair import read_pair


@dataclasses.dataclass
class SampleList:
    """The samples of a dataset and what was skipped building them."""

    dataset: str
    root: str
    samples: list
    groups: int = 0                     # scans / projects / scenes looked for
    missing_groups: list = dataclasses.field(default_factory=list)
    missing_files: list = dataclasses.field(default_factory=list)   # unique paths
    skipped_samples: int = 0            # samples dropped for a missing file
    few_sources: int = 0                # reference views with < view_num - 1 sources

    def __len__(self):
        return len(self.samples)

    def warning(self):
        """One line listing what was skipped, or None."""
        parts = []
        if self.missing_groups:
            parts.append("%d of %d %s missing under %s, skipped: %s"
                         % (len(self.missing_groups), self.groups, _group_word(self.dataset),
                            self.root, ", ".join(self.missing_groups)))
        if self.missing_files:
            parts.append("%d samples skipped for %d missing files (e.g. %s)"
                         % (self.skipped_samples, len(self.missing_files), self.missing_files[0]))
        if self.few_sources:
            parts.append("%d reference views skipped: fewer than view_num - 1 source views"
                         % self.few_sources)
        return "; ".join(parts) or None


def _group_word(dataset):
    return {"dtu": "scans", "eth3d": "scenes"}.get(dataset, "projects")


def no_samples_error(samples):
    """The InputError of a sample list with no sample, saying what is missing."""
    what = _group_word(samples.dataset)
    detail = ""
    if samples.groups and len(samples.missing_groups) == samples.groups:
        detail = ": none of the %d %s is there (e.g. %s)" % (samples.groups, what,
                                                          samples.missing_groups[0])
    elif samples.missing_files:
        detail = ": %d files missing (e.g. %s)" % (len(samples.missing_files), samples.missing_files[0])
    elif samples.few_sources:
        detail = ": no reference view has view_num - 1 source views"
    return InputError("no %s sample found%s" % (samples.dataset, detail), samples.root)


def read_pair_file(path):
    """The entries of a pair.txt (:func:`cameras.pair.read_pair`); InputError when it is missing."""
    if not os.path.isfile(path):
        raise InputError("pair file does not exist", path)
    return read_pair(path)


def filter_existing(groups):
    """Drop samples whose files are missing; groups: [(name, [sample, ...])] of the
    groups whose folder exists.  Returns (kept samples, missing unique paths, dropped count)."""
    exists = {}
    kept, missing, dropped = [], [], 0
    for _, group in groups:
        for sample in group:
            ok = True
            for path in sample:
                if path not in exists:
                    exists[path] = os.path.isfile(path)
                    if not exists[path]:
                        missing.append(path)
                ok = ok and exists[path]
            if ok:
                kept.append(sample)
            else:
                dropped += 1
    return kept, missing, dropped


def select_view_sets(pairs, view_num):
    """[(ref, [src, ...])] with view_num - 1 sources, and the count of shorter entries."""
    out, few = [], 0
    for ref, sources in pairs:
        if len(sources) < view_num - 1:
            few += 1
            continue
        out.append((ref, [s for s, _ in sources[:view_num - 1]]))
    return out, few
