"""``pair.txt``: the view selection of a dense folder.

Layout (whitespace-separated; the original reads it as one stream of words)::

    NUM_VIEWS
    REF_ID
    N SRC_ID SCORE SRC_ID SCORE ...      (N pairs, best first)
    REF_ID
    ...
"""

import math

from cameras.atomic import read_bytes, write_bytes_atomic
from cameras.errors import InputError


def parse_pair(text, path="<pair.txt>"):
    """Parse the text of a pair file; see :func:`read_pair`."""
    words = text.split()
    pos = 0

    def take(kind, what, view_id=False):
        nonlocal pos
        if pos >= len(words):
            raise InputError("file ends early: expected %s (word %d)" % (what, pos + 1), path)
        word = words[pos]
        try:
            value = kind(word)
        except ValueError:
            raise InputError("%s (word %d) must be %s, found %r"
                             % (what, pos + 1, "an integer" if kind is int else "a number",
                                word[:24]), path) from None
        if kind is float and not math.isfinite(value):
            raise InputError("%s (word %d) must be a finite number, found %r" % (what, pos + 1, word[:24]),
                             path)
        if view_id and value < 0:
            raise InputError("%s (word %d) must be a view id (0 or more), found %d" % (what, pos + 1, value),
                             path)
        pos += 1
        return value

    count = take(int, "the number of views")
    if count < 0:
        raise InputError("the number of views is negative (%d)" % count, path)
    pairs = []
    for entry in range(count):
        ref_id = take(int, "reference view id of entry %d" % entry, True)
        num = take(int, "number of source views of view %d" % ref_id)
        if num < 0:
            raise InputError("view %d has a negative number of source views (%d)" % (ref_id, num), path)
        sources = []
        for k in range(num):
            src_id = take(int, "source view %d of view %d" % (k, ref_id), True)
            score = take(float, "score of source view %d of view %d" % (k, ref_id))
            sources.append((src_id, score))
        pairs.append((ref_id, sources))
    if pos != len(words):
        raise InputError("unexpected data after the %d views the file announces: %r (word %d)"
                         % (count, words[pos][:24], pos + 1), path)
    return pairs


def read_pair(path):
    """Read ``pair.txt``: a list of ``(ref_id, [(src_id, score), ...])`` in file order.
    Raises InputError naming the file when it is missing or malformed (non-integers,
    negative view ids, scores that are not finite numbers, truncated, or more data than
    the view count announces)."""
    text = read_bytes(path, "pair file").decode("utf-8-sig", errors="replace")
    return parse_pair(text, str(path))


def format_pair(pairs, score_format="%f"):
    """The text :func:`write_pair` writes. ``score_format`` formats the scores: ``%f`` as
    the original colmap2mvsnet.py; DTU's own Cameras/pair.txt has ``%g``-like scores."""
    out = ["%d\n" % len(pairs)]
    item = "%d " + score_format + " "
    for ref_id, sources in pairs:
        out.append("%d\n%d " % (ref_id, len(sources)))
        out.append("".join(item % (src_id, score) for src_id, score in sources))
        out.append("\n")
    return "".join(out)


def write_pair(path, pairs):
    """Write ``pair.txt`` (atomically) in the layout of the original colmap2mvsnet.py:
    ``"%d\\n"`` count, then per view ``"%d\\n%d "`` (id, N) and ``"%d %f "`` per source,
    then a newline. Scores are written with 6 decimals (``%f``)."""
    write_bytes_atomic(path, format_pair(pairs).encode("ascii"))
