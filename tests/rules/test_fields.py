"""The fields rules may use: uploads offer the call fields, lists are evidence only, and every
field a rule can name has a kind frames.py knows how to load."""

from __future__ import annotations

from rules.engine.fields import CALL_FIELDS
from rules.engine.fields import FIELDS
from rules.engine.fields import LIST
from rules.engine.fields import matchable
from rules.engine.model import Logsource

KINDS = {"str", "int", "float", "bool", "time", "list"}


def test_every_log_source_lists_typed_fields_with_an_id_and_a_time():
    assert set(FIELDS) == set(Logsource) and FIELDS[Logsource.UPLOADS] is CALL_FIELDS
    for source, fields in FIELDS.items():
        assert {"id", "ts"} <= set(fields) and set(fields.values()) <= KINDS, source


def test_list_fields_and_unknown_names_are_not_matchable():
    assert matchable(Logsource.CALLS, "model") and matchable(Logsource.REUSE_FINDINGS, "upload_vendor")
    assert not matchable(Logsource.REUSE_FINDINGS, "call_ids") and not matchable(Logsource.CALLS, "no_such_field")
    assert all(not matchable(s, n) for s, f in FIELDS.items() for n, k in f.items() if k == LIST)
