"""The README documents every command and every setting (datasette's docs test, our way)."""

from __future__ import annotations

from pathlib import Path

from agent.cli import COMMANDS
from agent.config.schema import documented_settings

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_every_command_is_in_the_command_reference():
    reference = README.split("## Command reference", 1)[1].split("\n## ", 1)[0]
    for name in COMMANDS:
        assert f"`aiaudit {name}" in reference, f"aiaudit {name} is not documented"


def test_every_setting_is_in_the_configuration_reference():
    reference = README.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    for name, _help in documented_settings():
        assert f"| `{name}` |" in reference, f"setting {name} is not documented"


def quick_start_commands() -> list[str]:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("\n", 1)[1].strip() for b in quick.split("```sh")[1:]]
    return [b.split("```")[0].strip() for b in blocks]


def test_quick_start_is_exactly_the_demo_and_one_test_command_per_line():
    assert quick_start_commands() == [
        "./install.sh && .venv/bin/aiaudit demo",
        "./install.sh --dev && .venv/bin/pytest",
        "./install.sh --dev --python python3.12 --venv .venv-312 --clients .venv-clients && .venv-312/bin/pytest -m mitmproxy",
    ]


def test_ci_runs_the_readme_test_commands_verbatim():
    ci = (REPO / ".ci" / "run").read_text()
    for command in quick_start_commands()[1:]:
        assert f"'{command}'" in ci, command
