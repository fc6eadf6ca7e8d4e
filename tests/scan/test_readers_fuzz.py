"""Property-based: no dataset file, however malformed, makes a reader raise anything but a
FileReadError, and what it yields is always a record or a one-line record error."""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.scan.readers import FileReadError
from agent.scan.readers import Record
from agent.scan.readers import RecordError
from agent.scan.readers import read_records

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40)),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children,
                                                                               max_size=4)),
    max_leaves=12,
)
lines = st.lists(st.one_of(json_values.map(json.dumps), st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
                           st.sampled_from(["{", "[1,", '"unterminated', "", "  ", "\x00\x01"])), max_size=12)


def read_all(path: Path) -> list:
    items = []
    try:
        for item in read_records(path):
            assert isinstance(item, (Record, RecordError))
            if isinstance(item, RecordError):
                assert "\n" not in item.message and item.message
            items.append(item)
    except FileReadError as e:
        assert "\n" not in str(e)
    return items


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=lines, suffix=st.sampled_from([".jsonl", ".json", ".csv", ".tsv", ".txt", ".md", ".jsonl.gz"]),
       newline=st.sampled_from(["\n", "\r\n"]))
def test_any_text_file_is_read_without_crashing(content, suffix, newline):
    data = newline.join(content).encode("utf-8", "surrogatepass")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"data{suffix}"
        path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
        items = read_all(path)
    numbers = [i.number for i in items if isinstance(i, Record)]
    assert numbers == sorted(numbers)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=2048), suffix=st.sampled_from([".jsonl", ".parquet", ".csv.zst", ".json.gz", ".txt"]))
def test_any_bytes_are_read_without_crashing(data, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"blob{suffix}"
        path.write_bytes(data)
        read_all(path)
