"""The README documents every command and every setting (datasette's docs test, our way)."""

from __future__ import annotations

from pathlib import Path

from agent.cli import COMMANDS
from agent.config.schema import documented_settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_command_is_in_the_command_reference():
    reference = README.split("## Command reference", 1)[1].split("\n## ", 1)[0]
    for name in COMMANDS:
        assert f"`aiaudit {name}" in reference, f"aiaudit {name} is not documented"


def test_every_setting_is_in_the_configuration_reference():
    reference = README.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    for name, _help in documented_settings():
        assert f"| `{name}` |" in reference, f"setting {name} is not documented"


def test_quick_start_is_exactly_the_two_commands():
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("\n", 1)[1].strip() for b in quick.split("```sh")[1:]]
    assert [b.split("```")[0].strip() for b in blocks] == [
        "./install.sh && .venv/bin/aiaudit demo",
        "./install.sh --dev && .venv/bin/pytest",
    ]
