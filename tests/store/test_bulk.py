"""agent.store.bulk.insert_rows stores what `conn.execute(stmt, rows)` stores, column by column, and
counts what it inserted, on SQLite and on PostgreSQL; rows it cannot take go SQLAlchemy's way."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import StatementError

from agent.store.bulk import insert_rows
from agent.store.models import Call
from agent.store.models import Output


def _ignore(store, model, conflict):
    insert = postgresql.insert if store.dialect == "postgresql" else sqlite.insert
    return insert(model).on_conflict_do_nothing(index_elements=list(conflict))


_TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=20)
_WHEN = st.datetimes(min_value=dt.datetime(1971, 1, 2), max_value=dt.datetime(2999, 1, 1),
                     timezones=st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=5, minutes=30)),
                                                dt.timezone(-dt.timedelta(hours=8))]))
_INT = st.none() | st.integers(min_value=-(2 ** 31), max_value=2 ** 31 - 1)
_JSON = st.none() | st.lists(st.lists(st.sampled_from(["text", "refusal", "tool_arguments", "é"]), max_size=3), max_size=3)


@st.composite
def call_rows(draw) -> dict:
    """A calls row with every column the writer fills, of any value the column takes."""
    return {
        "id": uuid.uuid4().hex[:26], "ts": draw(_WHEN), "vendor": draw(_TEXT), "host": draw(_TEXT),
        "endpoint": draw(_TEXT), "kind": "generation", "method": "POST", "path": draw(_TEXT),
        "model": draw(st.none() | _TEXT), "served_model": draw(st.none() | _TEXT), "team": draw(_TEXT),
        "attributed_by": "none", "user": draw(st.none() | _TEXT), "client_ip": draw(st.none() | _TEXT),
        "api_key_sha256": draw(st.none() | st.just("ab" * 32)), "status": draw(_INT), "streamed": draw(st.booleans()),
        "request_n": draw(_INT), "logprobs": draw(st.booleans()), "top_logprobs": draw(_INT), "max_tokens": draw(_INT),
        "temperature": draw(st.none() | st.floats(allow_nan=False, allow_infinity=False, width=32)),
        "template_signature": draw(st.none() | st.just("cd" * 32)), "prompt_sha256": None,
        "upload_purpose": draw(st.none() | _TEXT), "prompt_tokens": draw(_INT), "completion_tokens": draw(_INT),
        "outputs": draw(st.integers(0, 9)), "output_chars": draw(st.integers(0, 10 ** 6)), "output_parts": draw(_JSON),
        "parse_error": draw(st.none() | _TEXT), "output_text": draw(st.none() | _TEXT),
        "request_bytes": draw(st.integers(0, 2 ** 40)), "response_bytes": draw(st.integers(0, 2 ** 40)),
        "duration_ms": draw(st.none() | st.floats(0, 1e7)), "proxy_host": draw(st.none() | _TEXT),
    }


def _plain_row() -> dict:
    return {"id": uuid.uuid4().hex[:26], "ts": dt.datetime(2026, 12, 3, 12, tzinfo=dt.timezone.utc), "vendor": "openai",
            "host": "api.openai.com", "endpoint": "chat.completions", "kind": "generation", "method": "POST",
            "path": "/v1/chat/completions", "model": "gpt-4o", "served_model": None, "team": "research",
            "attributed_by": "api_key", "user": None, "client_ip": "10.0.0.1", "api_key_sha256": None, "status": 200,
            "streamed": False, "request_n": None, "logprobs": False, "top_logprobs": None, "max_tokens": None,
            "temperature": 0.5, "template_signature": None, "prompt_sha256": None, "upload_purpose": None,
            "prompt_tokens": 9, "completion_tokens": 3, "outputs": 1, "output_chars": 5, "output_parts": [["text"]],
            "parse_error": None, "output_text": "Hello", "request_bytes": 100, "response_bytes": 200,
            "duration_ms": 12.5, "proxy_host": "gw"}


def _stored(store, model, where, by: str):
    """The stored rows by `by` (a call's id), every other column but the row id."""
    with store.session() as s:
        rows = s.execute(select(model).where(where)).scalars().all()
        return {getattr(r, by): {c.key: getattr(r, c.key) for c in model.__table__.columns if c.key not in ("id", "call_id")}
                for r in rows}


@contextlib.contextmanager
def _bypasses(store):
    """Whether each INSERT went to the driver as SQL text, not through a compiled statement."""
    seen: list[bool] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT"):
            seen.append(context.compiled is None)

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", note)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(call_rows(), min_size=1, max_size=6), st.binary(max_size=40), _TEXT)
def test_rows_are_stored_as_sqlalchemy_stores_them(store, calls, blob, text):
    twins = [dict(row, id=uuid.uuid4().hex[:26]) for row in calls]
    outputs = [{"call_id": row["id"], "idx": 0, "kind": "generated", "ts": row["ts"], "word_count": 3,
                "char_count": len(text), "exact_hash": blob[:16], "fingerprint": blob, "text": text or None}
               for row in calls]
    twin_outputs = [dict(out, call_id=twin["id"]) for out, twin in zip(outputs, twins)]
    with _bypasses(store) as bypassed, store.write_session() as s:
        conn = s.connection()
        assert insert_rows(conn, _ignore(store, Call, ("id",)), calls) == len(calls)
        insert_rows(conn, _ignore(store, Output, ("call_id", "kind", "idx")), outputs)
        conn.execute(_ignore(store, Call, ("id",)), twins)
        conn.execute(_ignore(store, Output, ("call_id", "kind", "idx")), twin_outputs)
    assert bypassed[:2] == [True, True] and bypassed[2:] == [False, False]
    twin_of = {row["id"]: twin["id"] for row, twin in zip(calls, twins)}
    for model, column in ((Call, Call.id), (Output, Output.call_id)):
        ours = _stored(store, model, column.in_(list(twin_of)), column.key)
        theirs = _stored(store, model, column.in_(list(twin_of.values())), column.key)
        assert len(ours) == len(calls) and {twin_of[k]: v for k, v in ours.items()} == theirs


def test_no_rows_insert_nothing(store):
    with store.write_session() as s:
        assert insert_rows(s.connection(), _ignore(store, Call, ("id",)), []) == 0


def test_rows_already_stored_are_skipped_and_not_counted(store):
    rows = [_plain_row() for _ in range(5)]
    with store.write_session() as s:
        assert insert_rows(s.connection(), _ignore(store, Call, ("id",)), rows[:2]) == 2
    with store.write_session() as s:
        assert insert_rows(s.connection(), _ignore(store, Call, ("id",)), rows) == 3


def test_a_column_left_to_its_default_or_returning_takes_sqlalchemys_path(store):
    row = _plain_row()
    del row["kind"]  # the model's default fills it in
    with _bypasses(store) as bypassed, store.write_session() as s:
        assert insert_rows(s.connection(), _ignore(store, Call, ("id",)), [row]) == 1
        returning = _ignore(store, Call, ("id",)).returning(Call.id)
        insert_rows(s.connection(), returning, [_plain_row()])
    assert bypassed == [False, False]
    assert _stored(store, Call, Call.id == row["id"], "id")[row["id"]]["kind"] == "generation"


def test_rows_of_other_keys_than_the_first_fail_as_sqlalchemy_fails(store):
    first, second = _plain_row(), _plain_row()
    del second["model"]
    second["unknown"] = 1
    with pytest.raises(StatementError):
        with store.write_session() as s:
            insert_rows(s.connection(), _ignore(store, Call, ("id",)), [first, second])


def test_a_value_a_processor_refuses_fails_as_sqlalchemy_fails(store):
    """A naive time is refused by the column's type, with SQLAlchemy's error, whichever path."""
    row = dict(_plain_row(), ts=dt.datetime(2026, 1, 1))
    with pytest.raises(StatementError, match="naive datetime"):
        with store.write_session() as s:
            insert_rows(s.connection(), _ignore(store, Call, ("id",)), [row])
