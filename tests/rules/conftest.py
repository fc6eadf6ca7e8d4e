"""Helpers for the rules engine tests: seed a store with fixture-shaped records."""

from __future__ import annotations

import datetime as dt

import pytest

from rules.engine.fixtures import complete
from rules.engine.fixtures import expand_entries
from rules.engine.fixtures import insert_records

DAY = dt.datetime(2026, 11, 16, tzinfo=dt.timezone.utc)


def records(calls=(), reuse_findings=(), outputs=()) -> dict:
    """Fixture-style entries (with repeat/every/{i}) completed with store defaults."""
    from pathlib import Path

    raw = {
        "calls": expand_entries(list(calls), "calls", Path("<test>")),
        "reuse_findings": expand_entries(list(reuse_findings), "reuse_findings", Path("<test>")),
        "outputs": expand_entries(list(outputs), "outputs", Path("<test>")),
    }
    return complete(raw)


def seed(store, **tables) -> dict:
    data = records(**tables)
    with store.write_session() as session:
        insert_records(session, data)
    return data


@pytest.fixture
def day() -> dt.datetime:
    return DAY
