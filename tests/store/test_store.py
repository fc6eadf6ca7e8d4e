from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from agent.errors import UserError
from agent.ids import new_id
from agent.store.engine import open_store
from agent.store.migrate import current_revision
from agent.store.migrate import head_revision
from agent.store.models import Base
from agent.store.models import Call
from agent.store.models import Evidence
from agent.store.models import Finding
from agent.store.models import Output

T0 = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.timezone.utc)


def make_call(**overrides) -> Call:
    values = dict(
        id=new_id(), ts=T0, vendor="openai", host="api.openai.com", endpoint="chat.completions",
        model="gpt-4o", team="research", user="alice", client_ip="10.20.1.5", status=200,
        streamed=True, request_n=2, logprobs=True, prompt_tokens=12, completion_tokens=40,
        outputs=2, output_chars=180, parse_error=None, output_text="one\ntwo",
    )
    values.update(overrides)
    return Call(**values)


def test_migrations_create_exactly_the_models(store):
    assert current_revision(store) == head_revision()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_call_round_trip_keeps_every_field(store):
    call = make_call(ts=dt.datetime(2026, 11, 23, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))))
    with store.write_session() as s:
        s.add(call)
    with store.session() as s:
        got = s.get(Call, call.id)
    assert got.ts == T0 and got.ts.tzinfo is not None
    for field in ("vendor", "host", "endpoint", "model", "team", "user", "client_ip", "status", "streamed",
                  "request_n", "logprobs", "prompt_tokens", "completion_tokens", "outputs", "output_chars",
                  "output_text"):
        assert getattr(got, field) == getattr(call, field), field


def test_outputs_are_unique_per_call_kind_and_index(store):
    call = make_call()
    with store.write_session() as s:
        s.add(call)
        s.add(Output(call_id=call.id, idx=0, ts=T0, word_count=3, char_count=12, exact_hash=b"\x01" * 16,
                     fingerprint=b"\x00\x01"))
    with pytest.raises(IntegrityError):
        with store.write_session() as s:
            s.add(Output(call_id=call.id, idx=0, ts=T0, word_count=3, char_count=12, exact_hash=b"\x02" * 16,
                         fingerprint=b""))
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Output)) == 1
        assert s.scalar(select(Output.fingerprint)) == b"\x00\x01"


def test_findings_with_evidence_round_trip(store):
    finding = Finding(id=new_id(), dedupe_key="d" * 64, rule_id="r1", title="t", level="high", severity="high",
                      team="research", vendor="openai", group_key={"team": "research"}, window_start=T0,
                      window_end=T0 + dt.timedelta(hours=1), count=3, created_at=T0)
    with store.write_session() as s:
        s.add(finding)
        s.flush()
        s.add(Evidence(id=new_id(), finding_id=finding.id, kind="call", ref="c1", detail={"n": 1}, created_at=T0))
    with store.session() as s:
        ev = s.scalars(select(Evidence)).one()
    assert ev.detail == {"n": 1} and ev.finding_id == finding.id


def test_naive_datetimes_are_refused(store):
    with pytest.raises(Exception, match="naive datetime"):
        with store.write_session() as s:
            s.add(make_call(ts=dt.datetime(2026, 1, 1)))


def test_sqlite_runs_in_wal_with_busy_timeout(sqlite_url):
    store = open_store(sqlite_url)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_sqlite_writers_take_the_lock_up_front(sqlite_url):
    """Read-then-write transactions in parallel: with deferred BEGIN one of them fails with
    SQLITE_BUSY (snapshot out of date) whatever the busy timeout; with BEGIN IMMEDIATE none does."""
    store = open_store(sqlite_url)
    with store.write_session() as s:
        s.add(make_call(id="counter", outputs=0))
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def bump() -> None:
        try:
            barrier.wait()
            for _ in range(25):
                with store.write_session() as s:
                    row = s.get(Call, "counter")
                    row.outputs = row.outputs + 1
        except BaseException as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store.session() as s:
        assert s.get(Call, "counter").outputs == 100


def test_opening_twice_does_not_migrate_twice_and_upgrade_is_idempotent(db_url):
    from agent.store.migrate import upgrade

    first = open_store(db_url)
    upgrade(first)
    second = open_store(db_url)
    assert current_revision(second) == head_revision()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x/y", "only sqlite:/// and postgresql+psycopg:// are supported"),
        ("postgresql://u@h/db", "use the postgresql+psycopg:// driver"),
        ("sqlite:////nonexistent-dir/x.db", "does not exist"),
        ("not a url", "not a valid SQLAlchemy URL"),
    ],
)
def test_bad_database_urls_are_user_errors(url, message):
    with pytest.raises(UserError, match=re.escape(message)):
        open_store(url)


@pytest.mark.postgres
def test_postgres_is_really_postgres(pg_url):
    store = open_store(pg_url)
    with store.engine.connect() as conn:
        assert "PostgreSQL" in conn.execute(text("select version()")).scalar()
    assert store.dialect == "postgresql"
