"""A worker's part of a cluster scan, run here without a cluster: nominal byte ranges aligned to
lines by the worker give, once renumbered, exactly the records and matches of a whole-file read."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.scan.cluster.task import aligned_range
from agent.scan.cluster.task import scan_unit
from agent.scan.cluster.units import BYTES
from agent.scan.cluster.units import WHOLE
from agent.scan.cluster.units import WorkUnit
from agent.scan.cluster.units import plan_units
from agent.scan.formats.jsonl_ranges import read_range
from agent.scan.readers import read_records
from tests.scan.conftest import answer

line = st.one_of(
    st.builds(lambda t: json.dumps({"text": t}), st.text(max_size=40)),
    st.just(""), st.just("   "),  # blank lines are numbered, not records
    st.just("{not json"),  # a malformed record
    st.builds(lambda n: json.dumps({"text": "x" * n}), st.integers(100, 3000)),  # longer than a range
)


def _renumbered(path, size, range_bytes):
    """Records and errors of every range, numbered in the file as the client numbers them."""
    out, before = [], 0
    for unit in plan_units(path, size, range_bytes):
        if unit.kind != BYTES:
            return [(getattr(i, "number"), type(i).__name__, getattr(i, "sha256", None)) for i in read_records(path)]
        byte_range, lines = aligned_range(path, unit)
        for item in read_range(path, byte_range):
            out.append((item.number + before, type(item).__name__, getattr(item, "sha256", None)))
        before += lines
    return out


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(line, min_size=1, max_size=40), newline_at_end=st.booleans(), crlf=st.booleans(),
       range_bytes=st.integers(1, 400))
def test_aligned_ranges_renumbered_are_the_whole_file(tmp_path_factory, lines, newline_at_end, crlf, range_bytes):
    sep = "\r\n" if crlf else "\n"
    data = sep.join(lines) + (sep if newline_at_end else "")
    if not data.strip():
        data = '{"text": "only"}\n'
    path = tmp_path_factory.mktemp("r") / "d.jsonl"
    path.write_text(data)
    size = path.stat().st_size
    whole = [(i.number, type(i).__name__, getattr(i, "sha256", None)) for i in read_records(path)]
    assert _renumbered(path, size, range_bytes) == whole


def test_a_range_inside_one_long_line_holds_no_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"text": "y" * 500}) + "\n" + '{"text": "b"}\n')
    byte_range, lines = aligned_range(path, WorkUnit(str(path), BYTES, 100, 200))
    assert byte_range.start == byte_range.end and lines == 0


def test_matches_of_ranges_renumbered_equal_the_whole_file(captured, tmp_path):
    store, output_index, texts, _ = captured
    output_index.sync()
    detector = output_index.detector()
    path = tmp_path / "reuse.jsonl"
    with path.open("w") as f:
        for i in range(300):
            f.write(json.dumps({"text": texts[i % len(texts)] if i % 7 == 0 else answer(1000 + i)}) + "\n")
            if i % 50 == 0:
                f.write("\n{broken\n")
    size = path.stat().st_size
    whole = scan_unit(WorkUnit(str(path), WHOLE, nbytes=size), detector)
    assert whole.matches and whole.bad_records
    parts, before = [], 0
    units = plan_units(path, size, 4096)
    assert len(units) > 5
    for unit in units:
        got = scan_unit(unit, detector)
        assert got.fatal is None and got.local_numbers
        parts += [(n + before, sha, end, [m.output_id for m in ms]) for n, sha, end, ms, _ in got.matches]
        before += got.lines
    assert parts == [(n, sha, end, [m.output_id for m in ms]) for n, sha, end, ms, _ in whole.matches]
    assert sum(scan_unit(u, detector).records for u in units) == whole.records


def test_an_unreadable_file_is_the_units_fatal_reason_not_an_exception(captured, tmp_path):
    _, output_index, _, _ = captured
    output_index.sync()
    path = tmp_path / "gone.jsonl"
    got = scan_unit(WorkUnit(str(path), WHOLE), output_index.detector())
    assert "no such file" in got.fatal and got.records == 0
