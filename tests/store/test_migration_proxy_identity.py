"""Migration 0004 keeps the counts of a store that counted proxies by host name."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import select
from sqlalchemy import text

from agent.config import load_config_text
from agent.store.engine import open_store
from agent.store.migrate import alembic_config
from agent.store.migrate import upgrade
from agent.store.models import CaptureCounter
from agent.store.models import ProxyHeartbeat
from agent.writer.fleet import collect

T = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.timezone.utc)


def test_host_counters_survive_the_move_to_proxy_identities(tmp_path, db_url):
    store = open_store(db_url, migrate=False)
    upgrade(store, "0001")
    with store.engine.begin() as conn:
        for host, name, value in [("proxy-a", "captured", 7), ("proxy-a", "stored", 6),
                                  ("proxy-a", "dropped:journal_full", 1), ("proxy-b", "captured", 2),
                                  ("proxy-b", "stored", 2)]:
            conn.execute(text("INSERT INTO capture_counters (proxy_host, name, value, updated_at) "
                              "VALUES (:h, :n, :v, :t)"), {"h": host, "n": name, "v": value, "t": T})
        conn.execute(text("INSERT INTO heartbeats (component, host, state, updated_at) VALUES "
                          "('proxy', 'proxy-a', '{\"last_error\": \"old news\"}', :t), "
                          "('watch', 'data-1', '{\"summary\": \"ok\"}', :t)"), {"t": T})
    upgrade(store)
    with store.session() as s:
        rows = {(c.proxy_id, c.name): (c.proxy_host, c.value) for c in s.scalars(select(CaptureCounter))}
        assert s.scalars(select(ProxyHeartbeat)).all() == []
        assert s.execute(text("SELECT component FROM heartbeats")).scalars().all() == ["watch"]
    assert rows[("proxy-a", "captured")] == ("proxy-a", 7) and rows[("proxy-b", "stored")] == ("proxy-b", 2)
    assert len(rows) == 5

    config = load_config_text(f"database_url: {db_url}\ncapture:\n  journal_dir: {tmp_path / 'j'}\n")
    report = collect(config, store)
    assert (report["captured"], report["stored"], report["dropped"]) == (9, 8, {"journal_full": 1})
    legacy = {p["id"]: p for p in report["proxies"]}
    assert legacy["proxy-a"]["legacy"] and legacy["proxy-a"]["health"] == "unknown"
    assert legacy["proxy-a"]["last_error"] is None  # the old heartbeat's stale error is not carried over

    with store.write_session() as s:  # a proxy with an identity on the same host name as proxy-a
        s.add(CaptureCounter(proxy_id="f" * 32, name="captured", proxy_host="proxy-a", value=3, updated_at=T))
    command.downgrade(alembic_config(store), "0004-1")
    with store.engine.connect() as conn:
        merged = dict(conn.execute(text("SELECT proxy_host, value FROM capture_counters WHERE name = 'captured'")).all())
    assert merged == {"proxy-a": 10, "proxy-b": 2}
    store.dispose()
