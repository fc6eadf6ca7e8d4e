"""The one YAML loader (configuration, rule files, the vendor host list): safe types only,
duplicate keys rejected, every node's line kept, alias bombs refused.

Two modes. Raise-first (`load_text`, `load_file`): the first problem is a UserError saying
`source:line: what`. Collect-all (`load_documents`): every problem is appended to a list as
(line, message) and reading goes on, keeping the first of two equal keys, so that a rule file's
every mistake is reported at once.


Plain PyYAML keeps the last of two equal keys without a word, which is how a setting silently
disappears; here it is an error naming both lines. Mappings and lists come back as `LineDict` and
`LineList`, which remember the line of each key and item so that validation can say where.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from agent.errors import UserError

MAX_CONFIG_BYTES = 1 << 20  # a config is a page of text; anything larger is a mistake or an attack
MAX_NODES = 50_000  # aliases can expand a small file into a huge tree ("billion laughs")


class LineDict(dict):
    """A mapping with `line` (where it starts) and `key_lines[key]` (where each key is)."""

    line: int = 0
    key_lines: dict

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A sequence with `line` and `item_lines[i]`."""

    line: int = 0
    item_lines: list

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _Loader(yaml.SafeLoader):
    def __init__(self, stream, source: str, problems: list[tuple[int, str]] | None = None) -> None:
        super().__init__(stream)
        self.source = source
        self.problems = problems  # None: raise-first; a list: collect-all

    def construct_document(self, node):
        if expanded_size(node, {}) > MAX_NODES:
            raise _TooLarge(node.start_mark.line + 1, f"document expands to more than {MAX_NODES} nodes")
        return super().construct_document(node)


class _TooLarge(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def expanded_size(node, memo: dict) -> int:
    """Node count with every alias expanded, computed once per distinct node."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a recursive alias counts once instead of looping
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(expanded_size(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(expanded_size(k, memo) + expanded_size(v, memo) for k, v in node.value)
    else:
        size = 1
    memo[key] = size
    return size


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if loader.problems is not None:  # collect-all: say it, keep the first, read on
            try:
                hash(key)
            except TypeError:
                loader.problems.append((line, "a mapping key must be a plain value"))
                continue
            if key in result:
                loader.problems.append((line, f"duplicate key {key!r} (first at line {result.key_lines[key]}); "
                                              "the first one is kept"))
                continue
        elif not isinstance(key, (str, int, float, bool)) and key is not None:
            raise UserError(f"{loader.source}:{line}: mapping keys must be plain scalars")
        elif key in result:
            first = result.key_lines[key]
            raise UserError(f"{loader.source}:{line}: duplicate key {key!r} (first defined on line {first})")
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)


def _one_line(error: yaml.YAMLError) -> str:
    return " ".join(str(error).split())


def load_text(text: str, source: str):
    try:
        loader = _Loader(text, source)  # the reader refuses control characters right here
    except yaml.YAMLError as e:
        raise UserError(f"{source}: not valid YAML: {_one_line(e)}") from e
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 0
        raise UserError(f"{source}:{line}: not valid YAML: {e.problem or e.context}") from e
    except yaml.YAMLError as e:
        raise UserError(f"{source}: not valid YAML: {_one_line(e)}") from e
    except _TooLarge as e:
        raise UserError(f"{source}:{e.line}: {e}") from e
    finally:
        loader.dispose()


def load_documents(text: str, source: str, problems: list[tuple[int, str]]) -> list:
    """Every document of `text` (None documents left out), collecting each problem found into
    `problems` as (line, message) instead of raising; a syntax error ends the reading there."""
    try:
        loader = _Loader(text, source, problems)
    except yaml.YAMLError as e:
        problems.append((0, f"invalid YAML: {_one_line(e)}"))
        return []
    documents: list = []
    try:
        while loader.check_data():
            documents.append(loader.get_data())
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problems.append((mark.line + 1 if mark else 0, f"invalid YAML: {e.problem or e.context or 'invalid YAML'}"))
    except yaml.YAMLError as e:
        problems.append((0, f"invalid YAML: {_one_line(e)}"))
    except _TooLarge as e:
        problems.append((e.line, str(e)))
    finally:
        loader.dispose()
    return [doc for doc in documents if doc is not None]


def load_file(path: Path):
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise UserError(f"{path}: {size} bytes is larger than the {MAX_CONFIG_BYTES}-byte limit for a config file")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise UserError(f"{path}: no such file") from e
    except IsADirectoryError as e:
        raise UserError(f"{path}: is a directory, expected a YAML file") from e
    except PermissionError as e:
        raise UserError(f"{path}: permission denied") from e
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text (byte {e.start})") from e
    return load_text(text, str(path))
