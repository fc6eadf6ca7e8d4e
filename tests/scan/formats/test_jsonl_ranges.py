"""JSONL byte ranges (agent/scan/formats/jsonl_ranges.py): ranges read alone give exactly what a
whole-file read gives, numbered as in it. read_spans is tested through the sketch check
(tests/scan/test_sketch.py), which is what reads records back by span."""

from __future__ import annotations

import json

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.scan.formats.jsonl_ranges import plan_ranges
from agent.scan.formats.jsonl_ranges import read_range
from agent.scan.readers import Record
from agent.scan.readers import read_records
from tests.scan.conftest import answer

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def as_tuples(items):
    return [(i.number, i.fields, i.sha256, i.end_offset) if isinstance(i, Record) else (i.number, i.message)
            for i in items]


# ---- byte ranges --------------------------------------------------------------------------

jsonl_lines = st.lists(st.one_of(
    st.builds(lambda t: json.dumps({"t": t}), st.text(max_size=30)),
    st.just(""), st.just("   "), st.just("{broken"), st.just(json.dumps({"t": "dup"})),
    st.just(json.dumps({"t": "w " * 3000}))), max_size=40)


@FAST
@given(lines=jsonl_lines, target=st.integers(1, 20000), crlf=st.booleans(), tail=st.booleans())
def test_ranges_read_alone_give_exactly_the_whole_file_read(tmp_path_factory, lines, target, crlf, tail):
    path = tmp_path_factory.mktemp("r") / "d.jsonl"
    sep = "\r\n" if crlf else "\n"
    path.write_bytes((sep.join(lines) + (sep if tail and lines else "")).encode())
    ranges = plan_ranges(path, target)
    assert ranges[0].start == 0 and ranges[-1].end == path.stat().st_size
    assert all(a.end == b.start for a, b in zip(ranges, ranges[1:]))  # no gap, no overlap
    if path.stat().st_size == 0:
        return  # an empty file: one empty range, nothing to read
    whole = as_tuples(read_records(path))
    pieces = [item for r in ranges for item in as_tuples(read_range(path, r))]
    assert pieces == whole


def test_ranges_of_a_big_file_split_it_evenly_and_number_records_as_a_whole_read(tmp_path):
    path = tmp_path / "big.jsonl"
    with open(path, "w") as f:
        for i in range(60000):
            f.write(json.dumps({"i": i, "t": answer(i % 97, 20)}) + "\n" + ("\n" if i % 1000 == 0 else ""))
    ranges = plan_ranges(path, 1 << 20)
    assert len(ranges) == -(-path.stat().st_size // (1 << 20))
    numbers = [r.number for rng in ranges[3:5] for r in read_range(path, rng)]
    whole = [r.number for r in read_records(path)]
    start = whole.index(numbers[0])
    assert numbers == whole[start:start + len(numbers)]
