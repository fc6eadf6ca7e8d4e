"""`aiaudit status` accounts for every record: captured = stored + pending + dropped."""

from __future__ import annotations

import json

from tests.capture.test_writer import fill
from tests.capture.test_writer import run_writer

from agent.capture.counters import CaptureCounters
from agent.capture.journal import Journal


def test_status_balances_stored_pending_and_dropped(run_cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    journal_dir = tmp_path / "journal"
    cfg = tmp_path / "aiaudit.yaml"
    cfg.write_text(f"database_url: {url}\ncapture:\n  journal_dir: {journal_dir}\n")

    journal = Journal(journal_dir, 1 << 30)
    fill(journal, 6)
    counters = CaptureCounters()
    counters.drop("journal_full", 2)  # two calls the hook could not journal
    run_writer(journal, url, counters)  # stores the 6, persists the 2 drops
    fill(Journal(journal_dir, 1 << 30), 3)  # three more waiting for a writer

    result = run_cli("--config", str(cfg), "status", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["stored"] == 6 and report["pending"] == 3
    assert report["dropped"] == {"journal_full": 2}
    assert report["captured"] == 11 == report["stored"] + report["pending"] + sum(report["dropped"].values())
    assert report["journal"]["records"] == 3 and report["journal"]["bytes"] > 0
    assert report["proxies"] and report["proxies"][0]["last_error"] is None

    text = run_cli("--config", str(cfg), "status")
    assert text.returncode == 0
    assert "captured 11 = stored 6 + pending 3 + dropped 2" in text.stdout
    assert "dropped:journal_full 2" in text.stdout


def test_status_on_a_fresh_install(run_cli, tmp_path):
    result = run_cli("--db", f"sqlite:///{tmp_path / 'a.db'}", "status")
    assert result.returncode == 0
    assert "captured 0 = stored 0 + pending 0 + dropped 0" in result.stdout
    assert "no proxy or watcher has reported yet" in result.stdout
