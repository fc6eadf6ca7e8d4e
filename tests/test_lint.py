"""The import contracts (pyproject.toml [tool.importlinter], docs/architecture.md) and ruff's
lint rules, run with the suite so the README's test command (what CI runs) checks them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.fail(f"{name} is not installed beside {sys.executable}: run ./install.sh --dev")
    return str(path)


def run(*argv: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, env=env, timeout=600)


def test_import_contracts_are_kept():
    result = run(tool("lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_ruff_finds_nothing():
    result = run(tool("ruff"), "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_a_contract_catches_the_store_importing_the_rules(tmp_path):
    """The contracts are live: a store module importing the rules breaks one (checked on a copy
    of the tree, so the real one is never edited)."""
    import shutil

    copy = tmp_path / "tree"
    for part in ("agent", "rules", "dashboard"):
        shutil.copytree(REPO / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", copy / "pyproject.toml")
    (copy / "agent" / "store" / "leak.py").write_text("from rules.engine import evaluate  # noqa: F401\n")
    env = dict(os.environ, PYTHONPATH=str(copy))
    result = subprocess.run([tool("lint-imports"), "--no-cache"], cwd=copy, capture_output=True, text=True,
                            env=env, timeout=600)
    assert result.returncode != 0
    assert "agent.store.leak -> rules.engine.evaluate" in result.stdout
