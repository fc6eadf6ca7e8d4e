"""Parquet read one row group at a time, so one large file can be split across workers.

Rows are numbered across the whole file as agent.scan.readers numbers them (1-based, in row
group order) and each row's sha256 is the one a whole-file read gives it, so findings from a row
group read alone are the findings of a whole-file read. Only uncompressed `.parquet` files are
split: a `.parquet.gz` needs a full decompression before any row group can be found.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agent.scan.readers import FileReadError
from agent.scan.readers import Record
from agent.scan.readers.common import _one_line
from agent.scan.readers.common import string_fields
from agent.scan.readers.parquet import has_strings


@dataclass(frozen=True, slots=True)
class RowGroup:
    index: int  # position of the row group in the file
    first_row: int  # 1-based number of its first row in the whole file
    rows: int
    nbytes: int  # compressed bytes of its column chunks (what a reader fetches)


def open_parquet(path: Path, source=None):
    """The file as a pyarrow ParquetFile (`source`: an open file, or a ParquetFile already made)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(source, pq.ParquetFile):  # opened once for many row groups: one footer read
        return source
    try:
        return pq.ParquetFile(path if source is None else source)
    except (pa.ArrowException, OSError) as error:
        raise FileReadError(path, f"not a readable Parquet file: {_one_line(error)}") from None


def plan_row_groups(path: Path, source=None) -> list[RowGroup]:
    """The file's row groups, from its footer alone (no data pages are read). `source`: the file
    already open (an object store's file), read instead of `path`."""
    meta = open_parquet(path, source).metadata
    groups, first = [], 1
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        nbytes = sum(group.column(c).total_compressed_size for c in range(group.num_columns))
        groups.append(RowGroup(i, first, group.num_rows, nbytes))
        first += group.num_rows
    return groups


def read_row_group(path: Path, group: RowGroup, source=None) -> Iterator[Record]:
    """The rows of one row group, numbered and hashed as in a whole-file read (`source`: as for
    plan_row_groups)."""
    import pyarrow as pa

    parquet = open_parquet(path, source)
    columns = [field.name for field in parquet.schema_arrow if has_strings(field.type)]
    if not columns:
        return
    number = group.first_row - 1
    try:
        for batch in parquet.iter_batches(batch_size=512, row_groups=[group.index], columns=columns):
            for row in batch.to_pylist():
                number += 1
                raw = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
                yield Record(number, string_fields(row), 0, hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest())
    except (pa.ArrowException, OSError) as error:
        raise FileReadError(path, f"corrupt Parquet data after row {number}: {_one_line(error)}") from None
