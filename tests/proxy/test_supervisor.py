"""The supervised writer process: a stop that arrives while it is still starting is not lost."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import func
from sqlalchemy import select

from agent.proxy.journal import Journal
from agent.proxy.supervisor import WriterSupervisor
from agent.store.engine import open_store
from agent.store.models import Call
from tests.writer.test_drain import fill

REPO = Path(__file__).resolve().parents[2]


def test_a_stop_during_start_up_still_drains_the_journal(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    journal_dir = tmp_path / "journal"
    config = tmp_path / "aiaudit.yaml"
    config.write_text(f"database_url: {url}\ncapture:\n  journal_dir: {journal_dir}\n")
    fill(Journal(journal_dir, 1 << 30), 3)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIAUDIT_")}
    env.update(AIAUDIT_CONFIG=str(config), PYTHONPATH=str(REPO))
    supervisor = WriterSupervisor(journal_dir, env, drain_timeout=30).start()
    supervisor.stop()  # SIGTERM at once: the child has not even finished importing
    assert supervisor.proc.returncode == 0
    with open_store(url).session() as s:
        assert s.scalar(select(func.count()).select_from(Call)) == 3
