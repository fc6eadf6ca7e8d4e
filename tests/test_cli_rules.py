"""`rules check`, `evaluate` and `verify` as a user runs them."""

from __future__ import annotations

import datetime as dt
import sqlite3

from agent.ids import new_id
from agent.store.engine import open_store
from agent.store.models import Call


def seed_harvest(url: str) -> None:
    """A day on which one team pulls 3,000 outputs from one vendor (the bulk-harvesting rule)."""
    store = open_store(url)
    day = dt.datetime(2026, 11, 18, tzinfo=dt.timezone.utc)
    with store.write_session() as s:
        for i in range(600):
            s.add(Call(id=new_id(), ts=day + dt.timedelta(seconds=60 * i), vendor="anthropic",
                       host="api.anthropic.com", endpoint="messages", team="harvesters", status=200,
                       outputs=5, output_chars=500, completion_tokens=100, prompt_sha256=f"{i:064x}",
                       template_signature="a" * 64))


def test_rules_check_reports_every_problem_with_its_line(run_cli, tmp_path):
    bad = tmp_path / "site.yml"
    bad.write_text("title: Broken\nid: 1\ntitle: twice\n")
    result = run_cli("rules", "check", str(bad))
    assert result.returncode == 1
    assert f"{bad}:3: " in result.stdout and "duplicate key" in result.stdout
    ok = run_cli("rules", "check")
    assert ok.returncode == 0, ok.stdout


def test_evaluate_is_idempotent_and_verify_catches_tampering(run_cli, tmp_path):
    db = tmp_path / "a.db"
    url = f"sqlite:///{db}"
    seed_harvest(url)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"database_url: {url}\nscanner:\n  index_dir: {tmp_path / 'index'}\n")
    first = run_cli("--config", str(cfg), "evaluate", "--since", "2026-11-16", "--until", "2026-11-23")
    assert first.returncode == 0, first.stderr
    assert " 0 new findings" not in first.stdout
    again = run_cli("--config", str(cfg), "evaluate", "--since", "2026-11-16", "--until", "2026-11-23")
    assert " 0 new findings" in again.stdout
    exported = run_cli("--config", str(cfg), "export", "findings")
    assert "harvesters" in exported.stdout and "bulk" in exported.stdout
    assert run_cli("--config", str(cfg), "verify").returncode == 0

    conn = sqlite3.connect(db)
    conn.execute("UPDATE findings SET count = count + 1 WHERE rowid = (SELECT min(rowid) FROM findings)")
    conn.commit()
    conn.close()
    broken = run_cli("--config", str(cfg), "verify")
    assert broken.returncode == 1 and "evidence chain BROKEN at seq" in broken.stderr
