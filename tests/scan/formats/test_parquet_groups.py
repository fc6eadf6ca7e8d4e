"""Parquet row groups read alone give the rows (numbers, fields, sha256) a whole-file read gives."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.scan.formats.parquet_groups import plan_row_groups
from agent.scan.formats.parquet_groups import read_row_group
from agent.scan.readers import FileReadError
from agent.scan.readers import read_records

texts = st.lists(st.one_of(st.none(), st.text(max_size=30)), min_size=1, max_size=120)


@settings(max_examples=40, deadline=None)
@given(rows=texts, group=st.integers(1, 50), dup=st.booleans())
def test_row_groups_concatenated_equal_the_whole_file(tmp_path_factory, rows, group, dup):
    path = tmp_path_factory.mktemp("pq") / "t.parquet"
    if dup:
        rows = rows + rows  # duplicate rows keep their own numbers
    pq.write_table(pa.table({"text": rows, "n": list(range(len(rows)))}), path, row_group_size=group)
    groups = plan_row_groups(path)
    assert sum(g.rows for g in groups) == len(rows)
    alone = [r for g in groups for r in read_row_group(path, g)]
    whole = list(read_records(path))
    assert [(r.number, r.fields, r.sha256) for r in alone] == [(r.number, r.fields, r.sha256) for r in whole]


def test_a_file_without_string_columns_has_no_rows_to_read(tmp_path):
    path = tmp_path / "n.parquet"
    pq.write_table(pa.table({"n": [1, 2, 3]}), path)
    assert [list(read_row_group(path, g)) for g in plan_row_groups(path)] == [[]]


def test_a_file_that_is_not_parquet_is_a_read_error(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(FileReadError, match="not a readable Parquet file"):
        plan_row_groups(path)
