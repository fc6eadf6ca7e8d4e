"""Rule files to Rule objects: the one code path behind both the linter and the runtime loader.

`parse_paths(paths)` reads every `*.yml` / `*.yaml` under the given files and directories and
returns the rules (site overrides applied) together with **all** the problems found;
`load_rules()` fails fast on the first of those problems with a `RuleError`, and
`rules.engine.lint.check_paths()` returns them all.

A YAML file holds one or more documents (`---`). A document is either a rule (see
rules/README.md for the format) or a site override:

    override:
      rule: bulk_outputs_harvesting        # the rule's id or name
      disabled: true                       # optional: do not run it here
      level: low                           # optional: replace its level
      exclude_teams: [ml-eval]             # optional: never report these teams
      reason: scheduled evaluation runs    # optional: why (kept for the auditor)

Overrides live in the extra paths (config `rules.paths`), so shipped rules are never edited;
several overrides of one rule apply in file order (later ones win for `disabled`/`level`,
`exclude_teams` accumulate).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from rules.engine.document import DocumentParser
from rules.engine.loader import LineDict
from rules.engine.loader import read_documents
from rules.engine.model import Override
from rules.engine.model import Problem
from rules.engine.model import Rule
from rules.engine.model import RuleError

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "builtin"


@dataclass
class ParseResult:
    rules: list[Rule] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def rule_files(paths: list[Path]) -> tuple[list[Path], list[Problem]]:
    files: list[Path] = []
    problems: list[Problem] = []
    seen: set[Path] = set()
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
        elif path.is_file():
            found = [path]
        else:
            problems.append(Problem(path, 0, "no such file or directory"))
            continue
        for file in found:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                files.append(file)
    return files, problems


def parse_paths(paths: list[Path], include_builtin: bool = True) -> ParseResult:
    """Rules and overrides from the shipped rules (unless excluded) and `paths`, overrides
    applied, and every problem found."""
    all_paths = ([BUILTIN_DIR] if include_builtin else []) + [Path(p) for p in paths]
    files, problems = rule_files(all_paths)
    result = ParseResult(problems=problems)
    for path in files:
        documents, read_problems = read_documents(path)
        result.problems.extend(read_problems)
        for doc in documents:
            if not isinstance(doc, LineDict):
                line = getattr(doc, "line", 1)
                result.problems.append(Problem(path, line, "a document must be a mapping (a rule or an override)"))
                continue
            parser = DocumentParser(path, doc, result.problems)
            if "override" in doc:
                override = parser.override()
                if override is not None:
                    result.overrides.append(override)
            else:
                rule = parser.rule()
                if rule is not None:
                    result.rules.append(rule)
    _check_unique(result)
    _apply_overrides(result)
    return result


def _check_unique(result: ParseResult) -> None:
    for attribute in ("id", "name"):
        first: dict[str, Rule] = {}
        for rule in result.rules:
            value = getattr(rule, attribute)
            if value in first:
                other = first[value].location
                result.problems.append(Problem(rule.location.path, rule.location.line,
                                               f"rule {attribute} {value!r} already used at {other}"))
            else:
                first[value] = rule


def _apply_overrides(result: ParseResult) -> None:
    by_key: dict[str, Rule] = {}
    for rule in result.rules:
        by_key.setdefault(rule.id, rule)
        by_key.setdefault(rule.name, rule)
    for override in result.overrides:
        rule = by_key.get(override.rule)
        if rule is None:
            result.problems.append(Problem(override.location.path, override.location.line,
                                           f"override names unknown rule {override.rule!r}"))
            continue
        if override.disabled is not None:
            rule.disabled = override.disabled
        if override.level is not None:
            rule.level = override.level
        rule.exclude_teams = tuple(dict.fromkeys(rule.exclude_teams + override.exclude_teams))
        rule.overridden_by.append(override.location)


def load_rules(extra_paths: list[Path] = (), include_builtin: bool = True) -> list[Rule]:
    """The rules to run: shipped ones plus site files, overrides applied. Raises RuleError with
    the first problem (`path:line: message`, the same text `check_paths` reports)."""
    result = parse_paths(list(extra_paths), include_builtin=include_builtin)
    if result.problems:
        raise RuleError(result.problems[0])
    return result.rules
