"""One YAML document to a Rule or an Override, collecting every problem with its line.

Checks follow the rule format in rules/README.md: required and unknown fields, enums, UUID ids,
logsource categories and their fields (fields.py), selections and modifiers (modifiers.py), the
condition (conditions.py), the correlation with its baseline and threshold, and fixture paths.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from rules.engine import conditions
from rules.engine.fields import FIELDS
from rules.engine.fields import matchable
from rules.engine.loader import LineDict
from rules.engine.loader import LineList
from rules.engine.loader import line_of
from rules.engine.model import Baseline
from rules.engine.model import Correlation
from rules.engine.model import CorrelationType
from rules.engine.model import Detection
from rules.engine.model import FieldMatch
from rules.engine.model import Fixtures
from rules.engine.model import Level
from rules.engine.model import Location
from rules.engine.model import Logsource
from rules.engine.model import Override
from rules.engine.model import Problem
from rules.engine.model import Rule
from rules.engine.model import Selection
from rules.engine.model import Status
from rules.engine.model import Threshold
from rules.engine.modifiers import split_modifiers

RULE_KEYS = {
    "title", "id", "name", "status", "level", "description", "references", "author", "date",
    "modified", "logsource", "detection", "correlation", "falsepositives", "tags", "fixtures",
    "weigh_by_stance", "fields",
}
REQUIRED_RULE_KEYS = ("title", "id", "name", "status", "level", "description", "logsource", "detection")
LOGSOURCE_KEYS = {"category", "definition"}
CORRELATION_KEYS = {"type", "group-by", "timespan", "field", "condition", "baseline", "min_events"}
BOUND_KEYS = {"gt", "gte", "lt", "lte", "eq", "neq"}
BASELINE_KEYS = {"windows", "statistic"}
BASELINE_STATISTICS = {"median", "mean", "max"}
OVERRIDE_KEYS = {"rule", "disabled", "level", "exclude_teams", "reason"}
FIXTURE_KEYS = {"positive", "negative"}
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{2,127}$")
TIMESPAN_PATTERN = re.compile(r"^([1-9][0-9]*)([smhd])$")
TIMESPAN_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# Without a `correlation`, a rule reports each (team, vendor) with matching events once per day.
DEFAULT_GROUP_BY = ("team", "vendor")
DEFAULT_TIMESPAN = "1d"


def parse_timespan(text: Any) -> int | None:
    match = TIMESPAN_PATTERN.match(str(text)) if isinstance(text, str) else None
    return int(match.group(1)) * TIMESPAN_UNITS[match.group(2)] if match else None


class DocumentParser:
    """Turns one YAML document into a Rule or Override, appending problems as it goes."""

    def __init__(self, path: Path, doc: LineDict, problems: list[Problem]):
        self.path = path
        self.doc = doc
        self.problems = problems

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))

    def unknown_keys(self, mapping: LineDict, allowed: set[str], what: str) -> None:
        for key in mapping:
            if key not in allowed:
                self.problem(line_of(mapping, key), f"unknown field {key!r} in {what}")

    def string(self, mapping: LineDict, key: str, required: bool = True) -> str | None:
        if key not in mapping:
            if required:
                self.problem(mapping.line, f"missing required field {key!r}")
            return None
        value = mapping[key]
        if not isinstance(value, str) or not value.strip():
            self.problem(line_of(mapping, key), f"{key!r} must be a non-empty string")
            return None
        return value

    def string_list(self, mapping: LineDict, key: str) -> tuple[str, ...]:
        value = mapping.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(line_of(mapping, key), f"{key!r} must be a list of strings")
            return ()
        duplicates = sorted({v for v in value if value.count(v) > 1})
        if duplicates:
            self.problem(line_of(mapping, key), f"{key!r} repeats {', '.join(duplicates)}")
        return tuple(value)

    def enum(self, mapping: LineDict, key: str, enum_type, required: bool = True):
        if key not in mapping:
            if required:
                self.problem(mapping.line, f"missing required field {key!r}")
            return None
        try:
            return enum_type(mapping[key])
        except ValueError:
            allowed = ", ".join(m.value for m in enum_type)
            self.problem(line_of(mapping, key), f"invalid {key} {mapping[key]!r} (one of: {allowed})")
            return None

    # -- rule --------------------------------------------------------------------------------

    def rule(self) -> Rule | None:
        doc = self.doc
        self.unknown_keys(doc, RULE_KEYS, "rule")
        for key in REQUIRED_RULE_KEYS:
            if key not in doc:
                self.problem(doc.line, f"missing required field {key!r}")
        title = self.string(doc, "title", required=False)
        rule_id = self.string(doc, "id", required=False)
        if rule_id is not None:
            try:
                uuid.UUID(rule_id)
            except ValueError:
                self.problem(line_of(doc, "id"), f"id {rule_id!r} is not a UUID")
                rule_id = None
        name = self.string(doc, "name", required=False)
        if name is not None and not NAME_PATTERN.match(name):
            self.problem(line_of(doc, "name"), f"name {name!r} must be lowercase snake_case (3-128 characters)")
        description = self.string(doc, "description", required=False)
        status = self.enum(doc, "status", Status, required=False)
        level = self.enum(doc, "level", Level, required=False)
        references = self.string_list(doc, "references")
        falsepositives = self.string_list(doc, "falsepositives")
        tags = self.string_list(doc, "tags")
        for key in ("author", "date", "modified"):
            if key in doc and not isinstance(doc[key], (str, int)) and not hasattr(doc[key], "isoformat"):
                self.problem(line_of(doc, key), f"{key!r} must be a string or a date")
        weigh = doc.get("weigh_by_stance", True)
        if not isinstance(weigh, bool):
            self.problem(line_of(doc, "weigh_by_stance"), "'weigh_by_stance' must be true or false")
            weigh = True
        logsource = self.logsource()
        detection = self.detection(logsource)
        correlation = self.correlation(logsource)
        fixtures = self.fixtures()
        if status in (Status.TEST, Status.STABLE) and (fixtures.positive is None or fixtures.negative is None):
            self.problem(doc.line, f"a {status.value} rule needs positive and negative fixtures")
        if None in (title, rule_id, name, description, status, level, logsource, detection, correlation):
            return None
        return Rule(
            title=title, id=rule_id, name=name, status=status, level=level,
            description=description, logsource=logsource, detection=detection,
            correlation=correlation, references=references, falsepositives=falsepositives,
            tags=tags, fixtures=fixtures, weigh_by_stance=weigh,
            location=Location(self.path, doc.line),
        )

    def logsource(self) -> Logsource | None:
        value = self.doc.get("logsource")
        if value is None:
            return None
        if not isinstance(value, LineDict):
            self.problem(line_of(self.doc, "logsource"), "'logsource' must be a mapping with 'category'")
            return None
        self.unknown_keys(value, LOGSOURCE_KEYS, "logsource")
        if "category" not in value:
            self.problem(value.line, "logsource needs a 'category'")
            return None
        try:
            return Logsource(value["category"])
        except ValueError:
            allowed = ", ".join(m.value for m in Logsource)
            self.problem(line_of(value, "category"), f"unknown logsource {value['category']!r} (one of: {allowed})")
            return None

    def field_name(self, logsource: Logsource | None, name: Any, line: int, what: str) -> bool:
        if not isinstance(name, str) or not name:
            self.problem(line, f"{what} must be a field name")
            return False
        if logsource is None:
            return False
        if not matchable(logsource, name):
            known = ", ".join(sorted(f for f in FIELDS[logsource] if matchable(logsource, f)))
            self.problem(line, f"unknown field {name!r} for logsource {logsource.value} (known: {known})")
            return False
        return True

    def detection(self, logsource: Logsource | None) -> Detection | None:
        value = self.doc.get("detection")
        if value is None:
            return None
        if not isinstance(value, LineDict):
            self.problem(line_of(self.doc, "detection"), "'detection' must be a mapping")
            return None
        selections: dict[str, Selection] = {}
        ok = True
        for name, body in value.items():
            if name == "condition":
                continue
            line = line_of(value, name)
            if not isinstance(name, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_\-.]*$", name):
                self.problem(line, f"invalid selection name {name!r}")
                ok = False
                continue
            selection = self.selection(logsource, name, body, line)
            if selection is None:
                ok = False
            else:
                selections[name] = selection
        if "condition" not in value:
            self.problem(value.line, "detection needs a 'condition'")
            return None
        condition = value["condition"]
        condition_line = line_of(value, "condition")
        try:
            ast = conditions.parse_condition(condition)
        except conditions.ConditionError as exc:
            self.problem(condition_line, f"bad condition {condition!r}: {exc}")
            return None
        declared = [n for n in value if n != "condition"]
        for message in conditions.referenced_problems(ast, declared):
            self.problem(condition_line, message)
            ok = False
        if not ok:
            return None
        return Detection(selections=selections, condition=condition, condition_ast=ast)

    def selection(self, logsource, name: str, body: Any, line: int) -> Selection | None:
        alternatives = body if isinstance(body, LineList) else [body]
        parsed: list[tuple[FieldMatch, ...]] = []
        ok = True
        if isinstance(body, LineList) and not body:
            self.problem(line, f"selection {name!r} is empty")
            return None
        for index, alternative in enumerate(alternatives):
            alt_line = line_of(body, index, line) if isinstance(body, LineList) else line
            if not isinstance(alternative, LineDict) or not alternative:
                self.problem(alt_line, f"selection {name!r} must be a map of field: value (or a list of such maps)")
                ok = False
                continue
            matches = []
            for key, raw in alternative.items():
                match = self.field_match(logsource, key, raw, line_of(alternative, key))
                if match is None:
                    ok = False
                else:
                    matches.append(match)
            parsed.append(tuple(matches))
        return Selection(name, tuple(parsed)) if ok else None

    def field_match(self, logsource, key: Any, raw: Any, line: int) -> FieldMatch | None:
        if not isinstance(key, str):
            self.problem(line, f"invalid field key {key!r}")
            return None
        field_name, *modifiers = key.split("|")
        known = self.field_name(logsource, field_name, line, "a selection key")
        operator, flags, modifier_problems = split_modifiers(tuple(modifiers))
        for message in modifier_problems:
            self.problem(line, f"{key}: {message}")
        if isinstance(raw, LineList):
            if not raw:
                self.problem(line, f"{key}: empty list of values")
                return None
            values = tuple(raw)
        else:
            values = (raw,)
        ok = known and not modifier_problems
        if known and not modifier_problems:
            kind = FIELDS[logsource][field_name]
            for value in values:
                if isinstance(value, (LineDict, LineList)):
                    self.problem(line, f"{key}: values must be plain values, not {type(value).__name__}")
                    ok = False
                    continue
                message = operator.check(value, kind)
                if message:
                    self.problem(line, f"{key}: {operator.name} {message}")
                    ok = False
                elif operator.name == "fieldref":
                    ok = self.field_name(logsource, value, line, "fieldref target") and ok
            if "cased" in flags and kind != "str":
                self.problem(line, f"{key}: 'cased' applies to string fields only")
                ok = False
        return FieldMatch(field_name, tuple(modifiers), values, line) if ok else None

    def correlation(self, logsource: Logsource | None) -> Correlation | None:
        value = self.doc.get("correlation")
        if value is None:
            return Correlation(
                type=CorrelationType.EVENT_COUNT, group_by=DEFAULT_GROUP_BY,
                timespan_s=parse_timespan(DEFAULT_TIMESPAN), timespan=DEFAULT_TIMESPAN,
                threshold=Threshold({"gte": 1}),
            )
        if not isinstance(value, LineDict):
            self.problem(line_of(self.doc, "correlation"), "'correlation' must be a mapping")
            return None
        self.unknown_keys(value, CORRELATION_KEYS, "correlation")
        ok = True
        ctype = self.enum(value, "type", CorrelationType)
        ok = ok and ctype is not None
        group_by = value.get("group-by", list(DEFAULT_GROUP_BY))
        group_line = line_of(value, "group-by")
        if not isinstance(group_by, list) or not group_by:
            self.problem(group_line, "'group-by' must be a non-empty list of fields")
            ok = False
        else:
            for name in group_by:
                ok = self.field_name(logsource, name, group_line, "a group-by entry") and ok
            if "team" not in group_by:
                self.problem(group_line, "'group-by' must include 'team': every finding belongs to a team")
                ok = False
        timespan = value.get("timespan", DEFAULT_TIMESPAN)
        seconds = parse_timespan(timespan)
        if seconds is None:
            self.problem(line_of(value, "timespan"), f"invalid timespan {timespan!r} (e.g. 30m, 1h, 1d)")
            ok = False
        condition = value.get("condition")
        condition_line = line_of(value, "condition")
        field_name = value.get("field")
        if isinstance(condition, LineDict) and "field" in condition:
            if field_name is not None:
                self.problem(line_of(condition, "field"), "'field' given twice (correlation and condition)")
            field_name = condition["field"]
        if ctype in (CorrelationType.VALUE_COUNT, CorrelationType.VALUE_SUM):
            if field_name is None:
                self.problem(value.line, f"{ctype.value} needs a 'field'")
                ok = False
            else:
                ok = self.field_name(logsource, field_name, line_of(value, "field", condition_line), "'field'") and ok
                if ok and ctype is CorrelationType.VALUE_SUM and FIELDS[logsource][field_name] not in ("int", "float"):
                    self.problem(line_of(value, "field", condition_line), f"value_sum needs a numeric field, {field_name!r} is not")
                    ok = False
        elif field_name is not None:
            self.problem(line_of(value, "field", condition_line), "'field' is only for value_count and value_sum")
            ok = False
        baseline = self.baseline(value)
        if "baseline" in value and baseline is None:
            ok = False
        threshold = self.threshold(condition, condition_line, baseline, value.line)
        ok = ok and threshold is not None
        min_events = value.get("min_events", 0)
        if not isinstance(min_events, int) or isinstance(min_events, bool) or min_events < 0:
            self.problem(line_of(value, "min_events"), "'min_events' must be a whole number >= 0")
            ok = False
        if not ok:
            return None
        return Correlation(
            type=ctype, group_by=tuple(group_by), timespan_s=seconds, timespan=timespan,
            threshold=threshold, field=field_name, baseline=baseline, min_events=min_events,
        )

    def baseline(self, correlation: LineDict) -> Baseline | None:
        if "baseline" not in correlation:
            return None
        value = correlation["baseline"]
        line = line_of(correlation, "baseline")
        if not isinstance(value, LineDict):
            self.problem(line, "'baseline' must be a mapping with 'windows'")
            return None
        self.unknown_keys(value, BASELINE_KEYS, "baseline")
        windows = value.get("windows")
        if not isinstance(windows, int) or isinstance(windows, bool) or not 1 <= windows <= 10_000:
            self.problem(line_of(value, "windows"), "baseline 'windows' must be a whole number from 1 to 10000")
            return None
        statistic = value.get("statistic", "median")
        if statistic not in BASELINE_STATISTICS:
            self.problem(line_of(value, "statistic"), f"baseline statistic must be one of {', '.join(sorted(BASELINE_STATISTICS))}")
            return None
        return Baseline(windows=windows, statistic=statistic)

    def threshold(self, condition: Any, line: int, baseline: Baseline | None, fallback_line: int) -> Threshold | None:
        if condition is None:
            self.problem(fallback_line, "correlation needs a 'condition' (gt, gte, lt, lte, eq, neq)")
            return None
        if not isinstance(condition, LineDict):
            self.problem(line, "correlation 'condition' must be a mapping such as {gte: 100}")
            return None
        bounds: dict[str, float] = {}
        factor = floor = None
        ok = True
        for key, value in condition.items():
            key_line = line_of(condition, key)
            if key == "field":
                continue
            if key not in BOUND_KEYS:
                self.problem(key_line, f"unknown field {key!r} in correlation condition")
                ok = False
            elif isinstance(value, LineDict):
                if baseline is None or key not in ("gt", "gte"):
                    self.problem(key_line, f"{key}: {{factor, floor}} needs a 'baseline' and gt or gte")
                    ok = False
                    continue
                self.unknown_keys(value, {"factor", "floor"}, "baseline condition")
                factor, floor = value.get("factor"), value.get("floor", 0)
                if not isinstance(factor, (int, float)) or isinstance(factor, bool) or factor <= 0:
                    self.problem(key_line, f"{key}: 'factor' must be a number > 0")
                    ok = False
                if not isinstance(floor, (int, float)) or isinstance(floor, bool):
                    self.problem(key_line, f"{key}: 'floor' must be a number")
                    ok = False
                bounds[key] = 0.0
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                bounds[key] = float(value)
            else:
                self.problem(key_line, f"{key}: expects a number")
                ok = False
        if ok and not bounds:
            self.problem(line, "correlation condition needs at least one of gt, gte, lt, lte, eq, neq")
            ok = False
        if ok and baseline is not None and factor is None:
            self.problem(line, "a correlation with a 'baseline' needs gt: {factor: F, floor: N}")
            ok = False
        if not ok:
            return None
        return Threshold(bounds=bounds, factor=float(factor) if factor is not None else None,
                         floor=float(floor) if floor is not None else None)

    def fixtures(self) -> Fixtures:
        value = self.doc.get("fixtures")
        if value is None:
            return Fixtures(None, None)
        if not isinstance(value, LineDict):
            self.problem(line_of(self.doc, "fixtures"), "'fixtures' must be a mapping with positive and negative")
            return Fixtures(None, None)
        self.unknown_keys(value, FIXTURE_KEYS, "fixtures")
        found = {}
        for key in ("positive", "negative"):
            if key not in value:
                continue
            if not isinstance(value[key], str):
                self.problem(line_of(value, key), f"fixtures {key} must be a path")
                continue
            target = (self.path.parent / value[key]).resolve()
            if not target.is_file():
                self.problem(line_of(value, key), f"{key} fixture {value[key]!r} not found")
                continue
            found[key] = target
        return Fixtures(found.get("positive"), found.get("negative"))

    # -- override ----------------------------------------------------------------------------

    def override(self) -> Override | None:
        doc = self.doc
        self.unknown_keys(doc, {"override"}, "override document")
        body = doc["override"]
        line = line_of(doc, "override")
        if not isinstance(body, LineDict):
            self.problem(line, "'override' must be a mapping with 'rule'")
            return None
        self.unknown_keys(body, OVERRIDE_KEYS, "override")
        rule = self.string(body, "rule")
        disabled = body.get("disabled")
        if disabled is not None and not isinstance(disabled, bool):
            self.problem(line_of(body, "disabled"), "'disabled' must be true or false")
            return None
        level = self.enum(body, "level", Level, required=False)
        if "level" in body and level is None:
            return None
        teams = self.string_list(body, "exclude_teams")
        if "reason" in body and not isinstance(body["reason"], str):
            self.problem(line_of(body, "reason"), "'reason' must be a string")
        if disabled is None and level is None and not teams:
            self.problem(line, "an override needs disabled, level or exclude_teams")
            return None
        if rule is None:
            return None
        return Override(rule=rule, disabled=disabled, level=level, exclude_teams=teams,
                        location=Location(self.path, line))
