"""cameras.pair: pair.txt read / write."""

import pytest

from cameras.errors import InputError
from cameras.pair import format_pair, parse_pair, read_pair, write_pair

TEXT = "3\n0\n2 1 2346.410000 2 2036.530000 \n1\n1 0 1243.000000 \n2\n0 \n"
PAIRS = [(0, [(1, 2346.41), (2, 2036.53)]), (1, [(0, 1243.0)]), (2, [])]


def test_format_pair_layout():
    # the layout of the original colmap2mvsnet.py
    assert format_pair(PAIRS) == TEXT
    assert format_pair([]) == "0\n"


def test_pair_round_trip(tmp_path):
    path = str(tmp_path / "pair.txt")
    write_pair(path, PAIRS)
    with open(path) as f:
        assert f.read() == TEXT
    assert read_pair(path) == PAIRS


def test_read_pair_dtu_style(tmp_path):
    # DTU's pair.txt: one space-separated line per view, scores with few decimals
    path = tmp_path / "pair.txt"
    path.write_text("2\n0\n10 10 2346.41 1 2036.53 9 1243.89 12 1052.87 11 1000.84 "
                    "13 703.583 2 604.456 8 439.759 14 327.419 27 249.278 \n"
                    "1\n2 9 2336.35 2 1911.3\n")
    pairs = read_pair(str(path))
    assert [r for r, _ in pairs] == [0, 1]
    assert pairs[0][1][:2] == [(10, 2346.41), (1, 2036.53)] and len(pairs[0][1]) == 10
    assert pairs[1][1] == [(9, 2336.35), (2, 1911.3)]


@pytest.mark.parametrize("text, problem", [
    ("", "file ends early: expected the number of views (word 1)"),
    ("two\n", "the number of views (word 1) must be an integer, found 'two'"),
    ("-1\n", "the number of views is negative (-1)"),
    ("2\n0\n1 1 5.0\n", "file ends early: expected reference view id of entry 1 (word 6)"),
    ("1\n0\n2 1 5.0\n", "file ends early: expected source view 1 of view 0 (word 6)"),
    ("1\n0\n1 1\n", "file ends early: expected score of source view 0 of view 0 (word 5)"),
    ("1\n0\n1 1.5 5.0\n", "source view 0 of view 0 (word 4) must be an integer, found '1.5'"),
    ("1\n0\n1 1 high\n", "score of source view 0 of view 0 (word 5) must be a number, found 'high'"),
    ("1\n0\n-2\n", "view 0 has a negative number of source views (-2)"),
    ("1\n0\n1 1 5.0\n1\n", "unexpected data after the 1 views the file announces: '1' (word 6)"),
])
def test_read_pair_malformed(tmp_path, text, problem):
    path = tmp_path / "pair.txt"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_pair(str(path))
    assert str(info.value) == "%s: %s" % (path, problem)
    with pytest.raises(InputError) as info:
        parse_pair(text)
    assert str(info.value) == "<pair.txt>: " + problem


def test_read_pair_missing(tmp_path):
    path = str(tmp_path / "pair.txt")
    with pytest.raises(InputError) as info:
        read_pair(path)
    assert str(info.value) == path + ": pair file does not exist"
