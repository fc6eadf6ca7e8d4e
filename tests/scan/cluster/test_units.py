"""Planning a cluster scan's work units: from file names, sizes and Parquet footers only."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.scan.cluster.units import BYTES
from agent.scan.cluster.units import ROWS
from agent.scan.cluster.units import WHOLE
from agent.scan.cluster.units import plan_units


@settings(max_examples=200, deadline=None)
@given(size=st.integers(0, 10**12), range_bytes=st.integers(1, 10**10))
def test_jsonl_ranges_cover_the_file_once_in_order(tmp_path_factory, size, range_bytes):
    path = tmp_path_factory.getbasetemp() / "big.jsonl"  # planning never opens a JSONL file
    if size // range_bytes > 5000:  # the plan is one unit per range: keep the examples small
        range_bytes = size // 5000 + 1
    units = plan_units(path, size, range_bytes)
    if size <= range_bytes:
        assert [u.kind for u in units] == [WHOLE]
        return
    assert all(u.kind == BYTES for u in units)
    assert units[0].start == 0 and units[-1].end == size
    assert all(a.end == b.start for a, b in zip(units, units[1:]))
    assert all(0 < u.end - u.start <= range_bytes for u in units)
    assert len({u.key for u in units}) == len(units)


@pytest.mark.parametrize("name", ["big.csv.gz", "big.jsonl.gz", "big.jsonl.zst", "big.json", "big.txt"])
def test_formats_that_cannot_be_entered_mid_file_are_one_unit(tmp_path, name):
    assert [u.kind for u in plan_units(tmp_path / name, 10**9, 1 << 20)] == [WHOLE]


def test_parquet_is_cut_at_its_row_groups(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"text": [f"row {i}" for i in range(1000)], "n": list(range(1000))}), path,
                   row_group_size=300)
    units = plan_units(path, path.stat().st_size, 1)
    assert [u.kind for u in units] == [ROWS] * 4
    assert [(u.start, u.first_row, u.end) for u in units] == [(0, 1, 300), (1, 301, 300), (2, 601, 300), (3, 901, 100)]
    assert plan_units(path, path.stat().st_size, 1 << 30)[0].kind == WHOLE  # small enough to stay whole


def test_a_parquet_file_with_an_unreadable_footer_is_one_unit(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 100)
    assert [u.kind for u in plan_units(path, 104, 1)] == [WHOLE]


def test_zero_range_bytes_is_refused(tmp_path):
    with pytest.raises(ValueError):
        plan_units(tmp_path / "a.jsonl", 10, 0)


@pytest.mark.parametrize("name", ["big.csv", "big.tsv"])
def test_tables_are_cut_at_nominal_offsets_like_jsonl(tmp_path, name):
    units = plan_units(tmp_path / name, 10 << 20, 4 << 20)
    assert [(u.kind, u.start, u.end) for u in units] == [(BYTES, 0, 4 << 20), (BYTES, 4 << 20, 8 << 20),
                                                         (BYTES, 8 << 20, 10 << 20)]
    assert all(u.exact_start is None for u in units)


names = st.sampled_from(["a.jsonl", "b.jsonl", "c.csv", "d.jsonl.gz", "e.parquet", "f.txt"])


@settings(max_examples=200, deadline=None)
@given(files=st.lists(st.tuples(names, st.integers(0, 10**9)), min_size=1, max_size=8),
       range_bytes=st.integers(1 << 20, 1 << 28), workers=st.integers(1, 6))
def test_the_tail_split_covers_each_file_once_in_order(files, range_bytes, workers):
    from agent.scan.cluster.units import TAIL_PIECES
    from agent.scan.cluster.units import TAIL_UNITS_PER_WORKER
    from agent.scan.cluster.units import split_tail

    units = [u for i, (name, size) in enumerate(files)
             for u in plan_units(f"/d/{i}-{name}", size, range_bytes) if not name.endswith(".parquet")]
    split = split_tail(units, workers)
    assert split == split_tail(units, workers)  # the same scan on the same cluster: the same keys
    assert split[: max(0, len(units) - TAIL_UNITS_PER_WORKER * workers)] == \
        units[: max(0, len(units) - TAIL_UNITS_PER_WORKER * workers)]
    for path in {u.path for u in units}:
        before = [u for u in units if u.path == path]
        after = [u for u in split if u.path == path]
        size = before[0].file_size
        if after == before:
            continue
        assert workers >= 2 and path.endswith(".jsonl")
        assert all(u.kind == BYTES and u.file_size == size and u.nbytes == u.end - u.start > 0 for u in after)
        assert after[0].start == (before[0].start if before[0].kind == BYTES else 0)
        assert after[-1].end == (before[-1].end if before[-1].kind == BYTES else size)
        assert all(a.end == b.start for a, b in zip(after, after[1:]))
        assert len({u.key for u in after}) == len(after) <= len(before) * TAIL_PIECES


def test_one_worker_gets_the_units_as_planned():
    from agent.scan.cluster.units import split_tail

    units = plan_units("/d/a.jsonl", 40 << 20, 8 << 20)
    assert split_tail(units, 1) == units and len(split_tail(units, 2)) == len(units) + 2 * 2 * 3
