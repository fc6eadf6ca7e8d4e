"""The command line as a user runs it: a subprocess of the installed `aiaudit` script."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from agent.cli import COMMANDS
from agent.ids import new_id
from agent.store.engine import open_store
from agent.store.models import Call


def test_help_lists_every_design_command(run_cli):
    result = run_cli("--help")
    assert result.returncode == 0
    for name in ("proxy", "watch", "scan", "evaluate", "report", "export", "rules", "verify", "status",
                 "prune", "db", "demo"):
        assert name in COMMANDS
        assert f"    {name} " in result.stdout, name


def test_misspelt_config_key_exits_2_naming_file_and_line(run_cli, tmp_path):
    cfg = tmp_path / "aiaudit.yaml"
    cfg.write_text("privacy:\n  store_text: none\nteams:\n  - name: research\n    cidr: [10.0.0.0/8]\n")
    result = run_cli("--config", str(cfg), "export", "calls")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"aiaudit: {cfg}:5: unknown setting teams[0].cidr (expected one of: api_key_sha256, cidrs, name, proxy_users)"
    )
    assert "Traceback" not in result.stderr


def test_config_from_environment_is_used(run_cli, tmp_path):
    cfg = tmp_path / "env.yaml"
    cfg.write_text("privacy:\n  store_text: sometimes\n")
    result = run_cli("export", "calls", env={"AIAUDIT_CONFIG": str(cfg)})
    assert result.returncode == 2 and f"{cfg}:2:" in result.stderr


def test_export_on_an_empty_store_prints_nothing(run_cli, tmp_path):
    result = run_cli("export", "calls", env={"AIAUDIT_DB": f"sqlite:///{tmp_path / 'a.db'}"})
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    result = run_cli("export", "findings", "--db", f"sqlite:///{tmp_path / 'a.db'}")
    assert (result.returncode, result.stdout) == (0, "")


def _seed(url: str) -> list[str]:
    store = open_store(url)
    ids = []
    with store.write_session() as s:
        for day in (20, 23, 26):
            call = Call(id=new_id(), ts=dt.datetime(2026, 11, day, 12, tzinfo=dt.timezone.utc), vendor="anthropic",
                        host="api.anthropic.com", endpoint="messages", model="claude-x", team="support",
                        user=None, client_ip="10.1.1.1", status=200, streamed=day == 23, request_n=None,
                        logprobs=False, prompt_tokens=10, completion_tokens=20 + day, outputs=1, output_chars=99,
                        output_text=f"text of day {day}, with \"quotes\"")
            s.add(call)
            ids.append(call.id)
    store.dispose()
    return ids


@pytest.mark.parametrize("store_text", ["none", "full"])
def test_export_calls_jsonl_with_period(run_cli, tmp_path, store_text):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    ids = _seed(url)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"privacy:\n  store_text: {store_text}\n")
    result = run_cli("--config", str(cfg), "--db", url, "export", "calls", "--since", "2026-11-21",
                     "--until", "2026-11-26T12:00:00Z")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == [ids[1]]
    row = rows[0]
    assert row["ts"] == "2026-11-23T12:00:00Z"
    assert row["vendor"] == "anthropic" and row["streamed"] is True and row["completion_tokens"] == 43
    assert row["request_n"] is None and row["parse_error"] is None
    if store_text == "full":
        assert row["output_text"] == 'text of day 23, with "quotes"'
    else:
        assert "output_text" not in row


def test_export_calls_csv(run_cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    ids = _seed(url)
    result = run_cli("--db", url, "export", "calls", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["id"] for r in rows] == ids
    assert rows[1]["streamed"] == "true" and rows[0]["streamed"] == "false"
    assert "output_text" not in rows[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "calls", "--since", "last tuesday"], "--since: expected an ISO 8601 date or time"),
        (["export", "calls", "--since", "2026-11-02", "--until", "2026-11-01"], "is not before --until"),
        (["export", "everything"], "invalid choice: 'everything'"),
        (["export", "calls", "--format", "xml"], "invalid choice: 'xml'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["export", "calls", "--", "-x"], "arguments after -- are only for `aiaudit proxy`"),
        (["--db", "mysql://x/y", "export", "calls"], "only sqlite:/// and postgresql+psycopg:// are supported"),
    ],
)
def test_user_mistakes_are_one_line_exit_2(run_cli, args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_reports_the_revision(run_cli, tmp_path):
    from agent.store.migrate import head_revision

    result = run_cli("--db", f"sqlite:///{tmp_path / 'a.db'}", "db", "upgrade")
    assert result.returncode == 0
    assert result.stdout.strip() == f"schema at revision {head_revision()}"


@pytest.mark.postgres
def test_export_against_postgres(run_cli, pg_url):
    ids = _seed(pg_url)
    result = run_cli("--db", pg_url, "export", "calls")
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ids


def test_unreachable_postgres_is_one_line(run_cli):
    result = run_cli("--db", "postgresql+psycopg://u:p@127.0.0.1:1/db", "export", "calls", timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("aiaudit: cannot open the store postgresql+psycopg://u:***@127.0.0.1:1/db")
    assert len(result.stderr.strip().splitlines()) == 1
