"""Delta Lake tables (a directory, local or in an object store, holding `_delta_log/`), read with
the `deltalake` package at their current version.

A table is one dataset unit: its rows are numbered from 1 through the version's data files in
commit order (each file's modification time in the log, then its path), so rows appended by a
later commit come after the rows already there, whatever order the log or a listing gives; and its findings are stored under `TABLE@vN`, so each finding says which table version
held the record. The version is the table's identity in the scan state: a new commit (append,
overwrite, delete) makes it a changed table, read again; the same version is not reread.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.scan.formats.rows import row_records
from agent.scan.formats.rows import text_columns
from agent.scan.readers import FileReadError
from agent.scan.readers import Record
from agent.scan.readers import RecordError

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


def add_actions(table: Any) -> list[dict]:
    """The version's live data files as the log lists them: path, size_bytes, modification_time."""
    import pyarrow as pa

    actions = pa.table(table.get_add_actions(flatten=True))  # deltalake 1.x hands an arro3 table
    keep = [c for c in ("path", "size_bytes", "modification_time") if c in actions.column_names]
    return actions.select(keep).to_pylist()


def in_commit_order(fragments: list, actions: list[dict]) -> list:
    """`fragments` (of the table's pyarrow dataset) sorted by their add action's modification time,
    then path. A fragment's path may carry the table's own prefix: its tail is matched."""
    from urllib.parse import unquote

    order = {unquote(a["path"]): (a.get("modification_time") or 0, unquote(a["path"])) for a in actions}

    def key(fragment) -> tuple:
        parts = fragment.path.split("/")
        for i in range(len(parts)):
            found = order.get("/".join(parts[i:]))
            if found is not None:
                return found
        return (0, fragment.path)

    return sorted(fragments, key=key)


def read_table(table: Any, name: str, start_record: int = 0) -> Iterator[Record | RecordError]:
    """The rows of `table` (an opened DeltaTable) at its loaded version, in commit order."""
    try:
        dataset = table.to_pyarrow_dataset()
        columns = text_columns(dataset.schema)
        if not columns:
            return
        fragments = in_commit_order(list(dataset.get_fragments()), add_actions(table))
        batches = (batch for fragment in fragments for batch in
                   fragment.to_batches(columns=columns, schema=dataset.schema, batch_size=512, use_threads=False))
        yield from row_records(batches, start_record)
    except FileReadError:
        raise
    except Exception as error:
        raise FileReadError(name, f"cannot read the Delta table: {' '.join(str(error).split())[:300]}") from None
