"""An executemany of many rows of one insert, with SQLAlchemy's work per row cut to the bind
processors.

`conn.execute(stmt, rows)` builds the parameters of every row through the compiled statement
(construct_params, then a processor lookup per column): about 20 us of the writer's CPU per call
(bench/writer_capacity.py, 200-call batches of the issue-#12 mix into SQLite), a twentieth of it.
Here the statement is compiled once per dialect and set of row keys, each column's bind processor
is taken once, and the rows go to the driver's executemany through `exec_driver_sql`: the same
SQL, the same values as the processors make them, the same summed row count. Rows missing a
column the statement binds (a default SQLAlchemy would fill in) and statements with RETURNING
take `conn.execute` as before, so nothing changes meaning (tests/store/test_bulk.py compares the
stored rows both ways, on SQLite and on PostgreSQL).
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import Insert


@dataclass(frozen=True, slots=True)
class _Prepared:
    sql: str
    positional: bool
    names: tuple[str, ...]  # the bind names, in the order of the statement's placeholders
    values: Callable[[dict], tuple]  # a row's values in that order (an itemgetter: one C call)
    # (position, processor) of the columns that have one: a few of 40 (times, booleans, JSON)
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]


_PREPARED: dict[tuple, _Prepared | None] = {}
_PREPARED_MAX = 64
_lock = threading.Lock()


def _prepare(conn: Connection, stmt: Insert, keys: tuple[str, ...]) -> _Prepared | None:
    compiled = stmt.compile(dialect=conn.dialect, column_keys=list(keys), for_executemany=True)
    if compiled.returning or compiled.effective_returning:
        return None
    names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
    keys_in_order, processors = [], []
    for position, name in enumerate(names):
        param = compiled.binds[name]
        if param.key not in keys:  # a value SQLAlchemy would supply (a column default)
            return None
        keys_in_order.append(param.key)
        process = param.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if process is not None:
            processors.append((position, process))
    if not keys_in_order:
        return None
    getter = operator.itemgetter(*keys_in_order)
    values = getter if len(keys_in_order) > 1 else lambda row: (getter(row),)
    return _Prepared(compiled.string, compiled.positional, tuple(names), values, tuple(processors))


def insert_rows(conn: Connection, stmt: Insert, rows: Sequence[dict[str, Any]]) -> int | None:
    """Insert `rows` (dicts with the same keys) with `stmt`; the driver's summed row count (None
    when it gives none)."""
    if not rows:
        return 0
    keys = tuple(rows[0])
    # the dialect itself, not its name: what it compiles to can depend on the server it met
    cache_key = (conn.dialect, stmt, keys)
    prepared = _PREPARED.get(cache_key, False)
    if prepared is False:
        with _lock:
            if len(_PREPARED) >= _PREPARED_MAX:  # statements are built once by their callers
                _PREPARED.clear()
            prepared = _PREPARED[cache_key] = _prepare(conn, stmt, keys)
    params = None if prepared is None else _parameters(prepared, rows, len(keys))
    if params is None:  # SQLAlchemy's own path, and its own errors for rows that do not fit
        result = conn.execute(stmt, rows, execution_options={"preserve_rowcount": True})
    else:
        result = conn.exec_driver_sql(prepared.sql, params, execution_options={"preserve_rowcount": True})
    return result.rowcount if result.rowcount is not None and result.rowcount >= 0 else None


def _parameters(prepared: _Prepared, rows: Sequence[dict[str, Any]], width: int) -> list | None:
    """Each row's values as the driver takes them; None when a row's keys are not the first's."""
    values, processors = prepared.values, prepared.processors
    params: list = []
    try:
        for row in rows:
            if len(row) != width:
                return None
            row_values = values(row)
            if processors:
                row_values = list(row_values)
                for position, process in processors:
                    row_values[position] = process(row_values[position])
                row_values = tuple(row_values)  # SQLAlchemy takes a list of tuples or of dicts
            params.append(row_values)
    except Exception:  # a missing key, a value a processor refuses: SQLAlchemy raises its own error
        return None
    if not prepared.positional:
        names = prepared.names
        params = [dict(zip(names, row_values)) for row_values in params]
    return params
