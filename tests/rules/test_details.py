"""Typed evidence details: any stored JSON object reads back and writes out unchanged (keys, nulls,
order), named keys become attributes, unknown ones stay in `extra`, and merging keeps the
engine's old precedence."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.store import chain
from rules.engine.details import AggregateDetails
from rules.engine.details import CallDetails
from rules.engine.details import OtherDetails
from rules.engine.details import ReuseDetails
from rules.engine.details import details_of

values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                      | st.text(max_size=12), lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
# keys: the named ones of every kind mixed with arbitrary text (a hostile dataset's field names)
keys = st.sampled_from(sorted(AggregateDetails.NAMED | CallDetails.NAMED | ReuseDetails.NAMED
                              | {"extra", "recorded", "NAMED"})) | st.text(max_size=10)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["aggregate", "call", "upload", "reuse", "later-kind"]), st.dictionaries(keys, values, max_size=8))
def test_any_stored_object_round_trips_exactly(kind, data):
    details = details_of(kind, data)
    assert details.to_json() == data and list(details.to_json()) == list(data)
    assert json.dumps(details.to_json()) == json.dumps(data)
    assert chain.canonical("evidence", {"detail": details.to_json()}) == chain.canonical("evidence", {"detail": data})
    for key, value in data.items():
        assert details.lookup(key) == value
        if key in type(details).NAMED:
            assert getattr(details, key) == value and key not in details.extra
        else:
            assert details.extra[key] == value


def test_named_keys_are_attributes_and_absent_ones_none():
    reuse = details_of("reuse", {"path": "/d/x.jsonl", "record": 3, "excerpt": "<b>"})
    assert isinstance(reuse, ReuseDetails) and reuse.path == "/d/x.jsonl" and reuse.record == 3
    assert reuse.tier is None and reuse.extra == {"excerpt": "<b>"} and reuse.names() == ("path", "record", "excerpt")
    assert isinstance(details_of("upload", {"call_id": "U1"}), CallDetails)
    assert isinstance(details_of("anything", {"a": 1}), OtherDetails)
    assert details_of("call", "not an object").to_json() == {}


def test_a_recorded_null_stays_and_an_absent_key_stays_absent():
    aggregate = details_of("aggregate", {"baseline": None, "value": 3})
    assert aggregate.to_json() == {"baseline": None, "value": 3} and "threshold" not in aggregate.to_json()


def test_merging_keeps_the_engines_precedence():
    event = CallDetails.from_json({"ts": "t1", "model": "m"})
    merged = event.under({"endpoint": "chat.completions", "model": "from-the-call", "user": "u"})
    assert merged.to_json() == {"endpoint": "chat.completions", "model": "m", "user": "u", "ts": "t1"}
    with_sources = AggregateDetails.from_json({"value": 1}).with_values(sources=[{"sha256": "ab"}])
    assert with_sources.sources == [{"sha256": "ab"}] and list(with_sources.to_json()) == ["value", "sources"]
