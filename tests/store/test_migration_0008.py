"""Revision 0008 adds reuse_findings.spans to a store that already holds reuse findings (#17)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from agent.store.engine import open_store
from agent.store.migrate import alembic_config
from agent.store.migrate import current_revision
from agent.store.migrate import head_revision
from agent.store.migrate import upgrade
from agent.store.models import ReuseFinding

OLD = "01JOLDREUSE000000000000000"


def test_upgrade_from_0007_keeps_findings_with_no_spans(db_url):
    store = open_store(db_url, migrate=False)
    upgrade(store, "0007")
    with store.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO reuse_findings (id, found_at, source, path, record, record_sha256, call_ids, output_ids,"
            " vendors, teams, output_coverage, record_coverage, matched_words, longest_run, reuse_class)"
            " VALUES (:id, :ts, 'dataset', '/d/a.jsonl', 3, :sha, '[]', '[1]', '[\"openai\"]', '[\"ops\"]',"
            " 1.0, 1.0, 90, 90, 'exact')"),
            {"id": OLD, "ts": dt.datetime(2026, 11, 1), "sha": "ab" * 32})
    upgrade(store)
    assert current_revision(store) == head_revision()
    span = {"field": "text", "field_index": 0, "start": 0, "end": 5, "outputs": [1], "words": 1,
            "text_sha256": "cd" * 32}
    with store.session() as s:
        old = s.get(ReuseFinding, OLD)
        assert old.spans == [] and old.matched_words == 90
        old.spans = [span]
        s.commit()
    with store.session() as s:
        assert s.get(ReuseFinding, OLD).spans == [span]


def test_downgrade_to_0007_drops_the_column(sqlite_url):
    from alembic import command

    store = open_store(sqlite_url)
    command.downgrade(alembic_config(store), "0007")
    assert current_revision(store) == "0007"
    with store.engine.connect() as conn:
        columns = [row[1] for row in conn.execute(text("PRAGMA table_info(reuse_findings)"))]
    assert "spans" not in columns and "tier" in columns
