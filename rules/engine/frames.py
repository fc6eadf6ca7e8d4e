"""pandas DataFrames of the log sources (fields.py) for a period, from the store or from plain
records (fixtures, benchmarks) — both go through the same normalisation, so a fixture exercises
exactly what the store path produces.

Column types after normalisation: strings `str` (missing = NaN), whole numbers and floats
`float64` (missing = NaN), booleans `boolean`, times `datetime64[ns, UTC]`; every frame has an
int64 `_ts_ns` column (nanoseconds since the epoch) that windows are cut from.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from typing import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import and_
from sqlalchemy import select

from agent.store.models import Call
from agent.store.models import Output
from agent.store.models import ReuseFinding
from rules.engine.fields import BOOL
from rules.engine.fields import FIELDS
from rules.engine.fields import FLOAT
from rules.engine.fields import INT
from rules.engine.fields import LIST
from rules.engine.fields import STR
from rules.engine.fields import TIME
from rules.engine.model import Logsource

TS = "_ts_ns"

# Always loaded: what every finding and its evidence needs besides the fields rules use.
BASE_FIELDS: dict[Logsource, tuple[str, ...]] = {
    # evidence-only call columns (endpoint, user, client_ip ...) are read afterwards for the few
    # calls a finding lists (evaluate.enrich_call_evidence), not for every call of the period
    Logsource.CALLS: ("id", "ts", "team", "vendor", "model", "kind", "outputs"),
    Logsource.UPLOADS: ("id", "ts", "team", "vendor", "model", "kind", "upload_purpose"),
    Logsource.OUTPUTS: ("id", "call_id", "ts", "team", "vendor", "model", "kind", "word_count"),
    Logsource.REUSE_FINDINGS: tuple(FIELDS[Logsource.REUSE_FINDINGS]),  # small table: everything
}

_CALL_JOIN = ("team", "vendor", "model", "endpoint", "user", "api_key_sha256")


def utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def to_ns(value: dt.datetime) -> int:
    return int(pd.Timestamp(utc(value)).as_unit("ns").value)


def _time_column(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.as_unit("ns")
    parsed = pd.to_datetime(values, utc=True, format="ISO8601") if len(values) else pd.to_datetime(values, utc=True)
    return parsed.dt.as_unit("ns")


def normalise(frame: pd.DataFrame, logsource: Logsource, columns: Iterable[str]) -> pd.DataFrame:
    """Give `frame` exactly `columns` (adding missing ones empty) with the catalogue's types."""
    kinds = FIELDS[logsource]
    out: dict[str, Any] = {}
    n = len(frame)
    for name in dict.fromkeys(columns):
        kind = kinds[name]
        values = frame[name] if name in frame.columns else pd.Series([None] * n, index=frame.index, dtype=object)
        if kind == STR:
            out[name] = values.astype("str") if n else pd.Series([], dtype="str")
            if n and values.isna().any():  # astype keeps missing as NaN; make sure nothing became "None"
                out[name] = out[name].where(values.notna(), np.nan)
        elif kind in (INT, FLOAT):
            out[name] = pd.to_numeric(values, errors="coerce").astype("float64")
        elif kind == BOOL:
            out[name] = values.astype("boolean") if n else pd.Series([], dtype="boolean")
        elif kind == TIME:
            out[name] = _time_column(values) if n else pd.Series([], dtype="datetime64[ns, UTC]")
        elif kind == LIST:
            out[name] = values.map(lambda v: list(v) if isinstance(v, (list, tuple)) else [])
    result = pd.DataFrame(out, index=frame.index).reset_index(drop=True)
    if "ts" in result.columns:
        result[TS] = np.asarray(result["ts"].array.asi8, dtype="int64") if len(result) else np.array([], dtype="int64")
    return result


# -- from the store ---------------------------------------------------------------------------
#
# A million calls are tens of millions of Python objects built by the database driver; letting
# pandas infer types from them costs more than the query. The raw DBAPI rows are handed to Arrow
# with the expected type of every column instead (one C++ conversion), which is several times
# faster; if the database holds something unexpected (SQLite is dynamically typed), the rows go
# through pandas' ordinary inference.


def _arrow_type(kind: str, dialect: str) -> pa.DataType:
    if kind in (INT, FLOAT):
        return pa.float64()
    if kind == BOOL:
        return pa.int64() if dialect == "sqlite" else pa.bool_()  # SQLite stores 0/1
    if kind == TIME and dialect != "sqlite":
        return pa.timestamp("us", tz="UTC")
    return pa.string()  # strings, and SQLite's text timestamps (parsed by normalise)


def _fetch_columns(connection, columns: list, names: list[str], kinds: list[str], where,
                   from_clause=None) -> pd.DataFrame:
    """SELECT `columns` (SQLAlchemy column expressions) WHERE `where` as a DataFrame."""
    statement = select(*columns)
    if from_clause is not None:
        statement = statement.select_from(from_clause)
    if where is not None:
        statement = statement.where(where)
    rows = connection.execute(statement).cursor.fetchall()  # raw DBAPI tuples, no per-row processing
    dialect = connection.dialect.name
    struct = pa.struct([(name, _arrow_type(kind, dialect)) for name, kind in zip(names, kinds)])
    try:
        table = pa.Table.from_struct_array(pa.array(rows, type=struct))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        return pd.DataFrame.from_records(rows, columns=names)
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype(na_value=np.nan)}.get)
    for name, kind in zip(names, kinds):
        if kind == BOOL and dialect == "sqlite":
            frame[name] = frame[name].astype("Int64").astype("boolean")
    return frame


def _range(column, start: dt.datetime | None, until: dt.datetime | None):
    clauses = []
    if start is not None:
        clauses.append(column >= utc(start))
    if until is not None:
        clauses.append(column < utc(until))
    return and_(*clauses) if clauses else None


def _fetch(connection, statement) -> pd.DataFrame:
    result = connection.execute(statement)
    return pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))


def load_store_frames(store, needs: dict[Logsource, tuple[dt.datetime | None, dt.datetime | None, set[str]]]) -> dict[Logsource, pd.DataFrame]:
    """Frames for the log sources in `needs`: {logsource: (start, until, fields)}."""
    frames: dict[Logsource, pd.DataFrame] = {}
    calls = Call.__table__.c
    outputs = Output.__table__.c
    with store.session() as session:
        connection = session.connection()
        for logsource, (start, until, fields) in needs.items():
            names = list(dict.fromkeys(["id", *BASE_FIELDS[logsource], *sorted(fields)]))
            kinds = [FIELDS[logsource][n] for n in names]
            if logsource in (Logsource.CALLS, Logsource.UPLOADS):
                where = _range(calls.ts, start, until)
                if logsource is Logsource.UPLOADS:
                    where = and_(calls.kind == "upload", *([where] if where is not None else []))
                raw = _fetch_columns(connection, [calls[n] for n in names], names, kinds, where)
            elif logsource is Logsource.OUTPUTS:
                columns = [calls[n] if n in _CALL_JOIN else outputs[n] for n in names]
                where = _range(outputs.ts, start, until)
                on = Call.__table__.join(Output.__table__, calls.id == outputs.call_id)
                raw = _fetch_columns(connection, columns, names, kinds, where, from_clause=on)
            else:
                frames[logsource] = _load_reuse(connection, start, until)
                continue
            frames[logsource] = normalise(raw, logsource, names)
    return frames


def _load_reuse(connection, start, until) -> pd.DataFrame:
    names = ["id", "found_at", "source", "upload_call_id", "path", "record", "record_sha256", "call_ids",
             "vendors", "teams", "output_coverage", "record_coverage", "matched_words", "longest_run", "reuse_class",
             "fields", "role", "tier"]
    table = ReuseFinding.__table__.c
    statement = select(*[table[n] for n in names])
    where = _range(table.found_at, start, until)
    if where is not None:
        statement = statement.where(where)
    reuse = _fetch(connection, statement)
    call_ids = {c for ids in reuse["call_ids"] for c in (ids or [])} | set(reuse["upload_call_id"].dropna())
    calls = []
    ids = sorted(call_ids)
    for offset in range(0, len(ids), 500):  # stay under bound-parameter limits
        chunk = ids[offset:offset + 500]
        statement = select(Call.id, Call.team, Call.vendor, Call.model, Call.endpoint, Call.upload_purpose)
        calls.append(_fetch(connection, statement.where(Call.id.in_(chunk))))
    call_frame = pd.concat(calls) if calls else pd.DataFrame(columns=["id", "team", "vendor", "model", "endpoint", "upload_purpose"])
    return prepare_reuse(reuse, call_frame)


# -- reuse findings: one row per (record, team, vendor) -----------------------------------------

def prepare_reuse(reuse: pd.DataFrame, calls: pd.DataFrame) -> pd.DataFrame:
    """Explode reuse findings into one row per (finding, team, vendor) of the reused calls, and
    attach the upload call. A call no longer in the store (pruned) falls back to the finding's
    own `teams` x `vendors` lists."""
    columns = list(FIELDS[Logsource.REUSE_FINDINGS])
    if reuse.empty:
        return normalise(pd.DataFrame(columns=columns), Logsource.REUSE_FINDINGS, columns)
    reuse = reuse.reset_index(drop=True).copy()
    reuse["ts"] = reuse["found_at"]
    info = calls.drop_duplicates("id").set_index("id") if len(calls) else pd.DataFrame(
        columns=["team", "vendor", "model", "endpoint", "upload_purpose"])
    pairs = reuse[["id", "call_ids"]].explode("call_ids").dropna(subset=["call_ids"])
    pairs = pairs.join(info[["team", "vendor", "model"]], on="call_ids", how="inner")
    known = pairs.groupby(["id", "team", "vendor"], sort=False).agg(
        call_ids=("call_ids", lambda s: sorted(set(s))),
        models=("model", lambda s: sorted({m for m in s if isinstance(m, str)})),
    ).reset_index()
    orphans = reuse.loc[~reuse["id"].isin(known["id"]), ["id", "teams", "vendors", "call_ids"]]
    fallback = []
    for row in orphans.itertuples(index=False):  # rare: only findings whose calls were pruned
        for team in (row.teams or ["unattributed"]):
            for vendor in (row.vendors or [None]):
                fallback.append({"id": row.id, "team": team, "vendor": vendor,
                                 "call_ids": list(row.call_ids or []), "models": []})
    groups = pd.concat([known, pd.DataFrame(fallback, columns=known.columns)], ignore_index=True) if fallback else known
    base = reuse.drop(columns=["call_ids", "teams", "vendors"], errors="ignore")
    merged = base.merge(groups, on="id", how="inner")
    merged["reused_calls"] = merged["call_ids"].map(len)
    upload = info.rename(columns={"team": "upload_team", "vendor": "upload_vendor", "endpoint": "upload_endpoint",
                                  "model": "upload_model"})
    merged = merged.join(upload[["upload_team", "upload_vendor", "upload_endpoint", "upload_purpose", "upload_model"]],
                         on="upload_call_id")
    merged = merged.sort_values(["ts", "id", "team", "vendor"], kind="stable")
    return normalise(merged, Logsource.REUSE_FINDINGS, columns)


# -- from plain records (fixtures, benchmarks) -------------------------------------------------

def frames_from_records(records: dict[str, list[dict]]) -> dict[Logsource, pd.DataFrame]:
    """Frames from `{"calls": [...], "outputs": [...], "reuse_findings": [...]}` records shaped
    like the store's rows (outputs may carry their call's fields or get them from `calls`)."""
    calls = pd.DataFrame.from_records(records.get("calls", []))
    frames: dict[Logsource, pd.DataFrame] = {}
    call_fields = list(FIELDS[Logsource.CALLS])
    frames[Logsource.CALLS] = normalise(calls, Logsource.CALLS, call_fields)
    uploads = calls[calls["kind"] == "upload"] if "kind" in calls.columns else calls.iloc[0:0]
    frames[Logsource.UPLOADS] = normalise(uploads, Logsource.UPLOADS, call_fields)
    outputs = pd.DataFrame.from_records(records.get("outputs", []))
    if len(outputs) and len(calls) and "call_id" in outputs.columns:
        missing = [c for c in _CALL_JOIN if c not in outputs.columns and c in calls.columns]
        if missing:
            outputs = outputs.join(calls.set_index("id")[missing], on="call_id")
    frames[Logsource.OUTPUTS] = normalise(outputs, Logsource.OUTPUTS, list(FIELDS[Logsource.OUTPUTS]))
    reuse = pd.DataFrame.from_records(records.get("reuse_findings", []))
    if len(reuse):
        for name, default in (("upload_call_id", None), ("teams", []), ("vendors", []), ("call_ids", [])):
            if name not in reuse.columns:
                reuse[name] = [default] * len(reuse)
    call_info = calls[[c for c in ("id", "team", "vendor", "model", "endpoint", "upload_purpose") if c in calls.columns]] \
        if len(calls) else pd.DataFrame(columns=["id"])
    for name in ("team", "vendor", "model", "endpoint", "upload_purpose"):
        if name not in call_info.columns:
            call_info = call_info.assign(**{name: None})
    frames[Logsource.REUSE_FINDINGS] = prepare_reuse(reuse, call_info)
    return frames
