"""YAML reading for rule, override and fixture files, through the one loader
(agent.config.yamlfile) in collect-all mode: safe, duplicate keys reported, and every mapping and
sequence remembers the line of each of its entries.

Plain PyYAML keeps the last of two equal keys without a word — a classic way for a rule to lose
a selection unnoticed — so a duplicate is a problem here (reported, and the first value kept so
that the rest of the file can still be checked).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.config.yamlfile import MAX_CONFIG_BYTES
from agent.config.yamlfile import LineDict
from agent.config.yamlfile import LineList
from agent.config.yamlfile import load_documents
from rules.engine.model import Problem


def line_of(container: Any, key: Any, default: int = 0) -> int:
    if isinstance(container, (LineDict, LineList)):
        try:
            return container.line_of(key)
        except (IndexError, TypeError):
            return container.line
    return default


def read_documents(path: Path) -> tuple[list[Any], list[Problem]]:
    """All documents of one YAML file, and the problems found reading it (never raises for a bad
    file: a syntax error becomes a problem at its line). The shared loader in collect-all mode."""
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            return [], [Problem(path, 0, f"larger than the {MAX_CONFIG_BYTES}-byte limit for a rule file")]
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Problem(path, 0, f"cannot read: {exc}")]
    found: list[tuple[int, str]] = []
    documents = load_documents(text, str(path), found)
    return documents, [Problem(path, line, message) for line, message in found]
