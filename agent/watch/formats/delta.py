"""Delta Lake tables (a directory, local or in an object store, holding `_delta_log/`), read with
the `deltalake` package at their current version.

A table is one dataset unit: its rows are numbered from 1 in the order of the version's data
files, and its findings are stored under `TABLE@vN`, so each finding says which table version
held the record. The version is the table's identity in the scan state: a new commit (append,
overwrite, delete) makes it a changed table, read again; the same version is not reread.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.watch.formats.rows import row_records
from agent.watch.formats.rows import text_columns
from agent.watch.readers import FileReadError
from agent.watch.readers import Record
from agent.watch.readers import RecordError

LOG_DIR = "_delta_log"


def table_of(path: Path, root: Path) -> Path | None:
    """The Delta table `path` is (or lies inside), not above `root`; None when it is in none."""
    for candidate in (path, *path.parents):
        if (candidate / LOG_DIR).is_dir():
            return candidate
        if candidate == root or candidate == candidate.parent:
            return None
    return None


def versioned_name(table: str, version: int) -> str:
    return f"{table}@v{version}"


def open_table(uri: str, storage_options: dict | None = None) -> Any:
    try:
        from deltalake import DeltaTable
    except ImportError:
        raise FileReadError(uri, "reading Delta tables needs deltalake: pip install 'aiaudit[lake]'") from None
    try:
        return DeltaTable(uri, storage_options=storage_options)
    except Exception as error:  # deltalake raises its own (TableNotFoundError, DeltaError, OSError ...)
        raise FileReadError(uri, f"not a readable Delta table: {' '.join(str(error).split())[:300]}") from None


def read_table(table: Any, name: str, start_record: int = 0) -> Iterator[Record | RecordError]:
    """The rows of `table` (an opened DeltaTable) at its loaded version."""
    try:
        dataset = table.to_pyarrow_dataset()
        columns = text_columns(dataset.schema)
        if not columns:
            return
        batches = dataset.to_batches(columns=columns, batch_size=512, use_threads=False)  # row order stable
        yield from row_records(batches, start_record)
    except FileReadError:
        raise
    except Exception as error:
        raise FileReadError(name, f"cannot read the Delta table: {' '.join(str(error).split())[:300]}") from None
