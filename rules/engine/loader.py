"""YAML reading for rule, override and fixture files: safe, duplicate keys rejected, and every
mapping and sequence remembers the line of each of its entries.

Plain PyYAML keeps the last of two equal keys without a word — a classic way for a rule to lose
a selection unnoticed — so a duplicate is a problem here (reported, and the first value kept so
that the rest of the file can still be checked).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from agent.config.yamlfile import MAX_CONFIG_BYTES
from agent.config.yamlfile import MAX_NODES
from agent.config.yamlfile import LineDict
from agent.config.yamlfile import LineList
from agent.config.yamlfile import construct_sequence
from agent.config.yamlfile import expanded_size
from rules.engine.model import Problem

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def line_of(container: Any, key: Any, default: int = 0) -> int:
    if isinstance(container, (LineDict, LineList)):
        try:
            return container.line_of(key)
        except (IndexError, TypeError):
            return container.line
    return default


class _LineLoader(_BaseLoader):
    """Safe loader building LineDict/LineList and collecting duplicate keys in `problems`."""

    def __init__(self, stream, path: Path):
        super().__init__(stream)
        self.path = path
        self.problems: list[Problem] = []

    def construct_document(self, node):
        # aliases can expand a small file into a huge tree ("billion laughs"); the config
        # loader's limit applies to rule files too
        if expanded_size(node, {}) > MAX_NODES:
            raise _TooLarge(node.start_mark.line + 1, f"document expands to more than {MAX_NODES} nodes")
        return super().construct_document(node)


class _TooLarge(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)  # resolves `<<` merge keys
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            loader.problems.append(Problem(loader.path, line, "a mapping key must be a plain value"))
            continue
        if key in result:
            loader.problems.append(Problem(
                loader.path, line,
                f"duplicate key {key!r} (first at line {result.key_lines[key]}); the first one is kept",
            ))
            continue
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)


def read_documents(path: Path) -> tuple[list[Any], list[Problem]]:
    """All documents of one YAML file, and the problems found reading it (never raises for a bad
    file: a syntax error becomes a problem at its line)."""
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            return [], [Problem(path, 0, f"larger than the {MAX_CONFIG_BYTES}-byte limit for a rule file")]
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Problem(path, 0, f"cannot read: {exc}")]
    loader = _LineLoader(text, path)
    documents: list[Any] = []
    try:
        while loader.check_data():
            documents.append(loader.get_data())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        reason = exc.problem or exc.context or "invalid YAML"
        loader.problems.append(Problem(path, line, f"invalid YAML: {reason}"))
    except yaml.YAMLError as exc:
        loader.problems.append(Problem(path, 0, f"invalid YAML: {exc}"))
    except _TooLarge as exc:
        loader.problems.append(Problem(path, exc.line, str(exc)))
    finally:
        loader.dispose()
    return [doc for doc in documents if doc is not None], loader.problems
