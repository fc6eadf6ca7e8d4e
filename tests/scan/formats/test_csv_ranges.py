"""CSV and TSV in byte ranges, with quoted fields that hold newlines: ranges read as a cluster
worker reads them (a guessed start) and accepted or read again as the client does, renumbered,
are exactly the records of a whole-file read."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.scan.cluster.task import UnitResult
from agent.scan.cluster.task import read_unit
from agent.scan.cluster.units import BYTES
from agent.scan.cluster.units import plan_units
from agent.scan.formats.csv_ranges import RangeRows
from agent.scan.formats.csv_ranges import read_csv_range
from agent.scan.formats.csv_ranges import start_is_known
from agent.scan.readers import read_records

# cells with newlines, quotes and delimiters in them (csv.writer quotes them), and raw lines the
# writer would never make: a quote inside an unquoted cell, an unclosed quote, blank lines
cell = st.text(alphabet='ab \n",\t\r', max_size=12)
raw_line = st.sampled_from(['5" screen,ok', '"open,quote', "", "a,b,c", '"x\n\ny",z'])


def _as_seen(items, shift=0):
    return [(i.number + shift, type(i).__name__, getattr(i, "sha256", None), i.end_offset,
             getattr(i, "fields", None), getattr(i, "message", None)) for i in items]


def _split(path, range_bytes):
    """(records of every range renumbered, ranges read again): the client's rule, run here."""
    out, before, previous_end, reruns = [], 0, 0, 0
    for unit in plan_units(path, path.stat().st_size, range_bytes):
        if unit.kind != BYTES:
            return _as_seen(read_records(path)), 0
        while True:
            result = UnitResult(str(path), unit.key, local_numbers=True)
            items = list(read_unit(unit, result))
            if start_is_known(result.start, previous_end, first=unit.start == 0):
                break
            unit, reruns = replace(unit, exact_start=previous_end), reruns + 1
        out += _as_seen(items, before)
        before += result.lines
        previous_end = max([result.max_end] + [i.end_offset for i in items])
    return out, reruns


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.one_of(st.lists(cell, min_size=2, max_size=2), raw_line), min_size=1, max_size=25),
       tsv=st.booleans(), range_bytes=st.integers(1, 120))
def test_ranges_with_quoted_newlines_renumbered_are_the_whole_file(tmp_path_factory, rows, tsv, range_bytes):
    delimiter = "\t" if tsv else ","
    text = io.StringIO()
    text.write(f"id{delimiter}text\n")
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\n")
    for row in rows:
        if isinstance(row, str):
            text.write(row.replace(",", delimiter) + "\n")
        else:
            writer.writerow(row)
    path = tmp_path_factory.mktemp("c") / ("d.tsv" if tsv else "d.csv")
    path.write_text(text.getvalue())
    whole = _as_seen(read_records(path))
    split, _ = _split(path, range_bytes)
    assert split == whole


def test_a_guess_inside_a_quoted_field_is_read_again_from_the_row_start(tmp_path):
    path = tmp_path / "q.csv"
    long_cell = "line\n" * 40  # newlines in a quoted field, across the cut at 64 bytes
    path.write_text(f'id,text\n1,"{long_cell}"\n2,after\n')
    whole = _as_seen(read_records(path))
    split, reruns = _split(path, 64)
    assert split == whole and reruns >= 1
    assert [r[0] for r in whole if r[1] == "Record"] == [1, 2]


def test_a_range_stops_before_the_first_row_starting_at_its_end(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("h\nr1\nr2\nr3\n")  # rows start at 2, 5, 8
    bounds = RangeRows()
    got = list(read_csv_range(path, 0, 6, bounds))
    assert [r.fields for r in got] == [[("h", "r1")], [("h", "r2")]]
    assert (bounds.start, bounds.end, bounds.rows) == (0, 8, 2)
    bounds = RangeRows()
    assert [r.number for r in read_csv_range(path, 8, 100, bounds)] == [1]
    assert (bounds.end, bounds.rows) == (path.stat().st_size, 1)


def test_the_first_range_is_always_accepted_and_an_unread_one_leaves_nothing_to_check():
    assert start_is_known(0, 0, first=True)
    assert start_is_known(17, 17, first=False) and not start_is_known(12, 17, first=False)
    assert start_is_known(12, 0, first=False)
