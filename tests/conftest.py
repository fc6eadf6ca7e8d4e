"""Shared fixtures: stores on real SQLite files and on a real PostgreSQL server, and the CLI as a
user runs it (a subprocess of the installed console script)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("AIAUDIT_TEST_PG_URL")
REQUIRE_PG = os.environ.get("AIAUDIT_REQUIRE_PG") == "1"


def pytest_report_header(config):
    if PG_URL:
        return f"PostgreSQL tests: against {PG_URL.split('@')[-1]}"
    return "PostgreSQL tests: SKIPPED (set AIAUDIT_TEST_PG_URL=postgresql+psycopg://... to run them)"


def pytest_collection_modifyitems(config, items):
    if REQUIRE_PG and not PG_URL:
        raise pytest.UsageError("AIAUDIT_REQUIRE_PG=1 but AIAUDIT_TEST_PG_URL is not set")
    for item in items:
        if item.get_closest_marker("e2e") or _uses_mitmproxy(item.module):
            item.add_marker(pytest.mark.mitmproxy)


def _uses_mitmproxy(module) -> bool:
    """True for a test module that imports mitmproxy's own code (the addon tests under taddons):
    with the e2e tests, what the second supported line (another mitmproxy) has to run."""
    for value in vars(module).values():
        name = getattr(value, "__module__", None) or getattr(value, "__name__", "")
        if isinstance(name, str) and (name == "mitmproxy" or name.startswith("mitmproxy.")):
            return True
    return False


def reset_postgres(url: str) -> None:
    """An empty public schema, so every test starts from a fresh database."""
    from sqlalchemy import create_engine
    from sqlalchemy import text

    from agent.store import engine as store_engine

    eng = create_engine(url)
    with eng.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    eng.dispose()
    store_engine._migrated.discard(url)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'audit.db'}"


@pytest.fixture
def pg_url() -> str:
    if not PG_URL:
        pytest.skip("no PostgreSQL server configured (AIAUDIT_TEST_PG_URL)")
    reset_postgres(PG_URL)
    return PG_URL


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(db_url):
    from agent.store.engine import open_store

    s = open_store(db_url)
    yield s
    s.dispose()


def aiaudit_command() -> list[str]:
    script = Path(sys.executable).parent / "aiaudit"
    return [str(script)] if script.exists() else [sys.executable, "-m", "agent.cli"]


@pytest.fixture
def run_cli(tmp_path):
    """Run `aiaudit ARGS...` as a subprocess with a clean, test-local environment."""
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AIAUDIT_")}
    base_env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    base_env["PYTHONPATH"] = str(REPO)

    def run(*args: str, env: dict | None = None, input: str | None = None, timeout: float = 120):
        full_env = dict(base_env, **(env or {}))
        return subprocess.run(
            [*aiaudit_command(), *args], capture_output=True, text=True, env=full_env, input=input,
            timeout=timeout, cwd=tmp_path,
        )

    return run


def pytest_sessionfinish(session, exitstatus):
    from tests.support.client_side import stop_runner

    stop_runner()  # the SDK clients' worker process, if a test started it
