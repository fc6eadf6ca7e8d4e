"""Which side of a record a field is on, from speaker labels and field names."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.reuse.roles import PROMPT
from agent.reuse.roles import RESPONSE
from agent.reuse.roles import ROLES
from agent.reuse.roles import UNKNOWN
from agent.reuse.roles import FieldPath
from agent.reuse.roles import role_of
from agent.reuse.roles import role_of_fields
from agent.scan.readers import string_fields


@pytest.mark.parametrize(("record", "expected"), [
    ({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
                   {"role": "assistant", "content": "a"}]},
     {"messages[0].content": PROMPT, "messages[1].content": PROMPT, "messages[2].content": RESPONSE}),
    ({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]},
     {"conversations[0].value": PROMPT, "conversations[1].value": RESPONSE}),
    ({"instruction": "i", "input": "x", "output": "o"}, {"instruction": PROMPT, "input": PROMPT, "output": RESPONSE}),
    ({"prompt": "p", "completion": "c", "text": "t"}, {"prompt": PROMPT, "completion": RESPONSE, "text": UNKNOWN}),
    ({"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
     {"chosen[0].content": PROMPT, "chosen[1].content": RESPONSE}),  # the speaker wins over the name
    ({"messages": [{"role": "assistant", "content": [{"type": "text", "text": "a"}]}]},
     {"messages[0].content[0].type": RESPONSE, "messages[0].content[0].text": RESPONSE}),  # inherited
    ({"meta": {"model_answer": "m", "question_text": "q", "prompt_response": "both"}},
     {"meta.model_answer": RESPONSE, "meta.question_text": PROMPT, "meta.prompt_response": UNKNOWN}),
    ({"messages": [{"role": "narrator", "content": "n"}]}, {"messages[0].content": UNKNOWN}),
])
def test_roles_of_training_formats(record, expected):
    assert {str(path): role_of(path) for path, _ in string_fields(record)} == expected


def test_csv_columns_are_named_sides():
    assert [role_of(c) for c in ("prompt", "Response", "model_output", "userQuery", "notes")] == [
        PROMPT, RESPONSE, RESPONSE, PROMPT, UNKNOWN]


def test_a_match_is_on_the_prompt_side_only_when_all_its_fields_are():
    assert role_of_fields(["instruction", "input"]) == PROMPT
    assert role_of_fields(["instruction", "output"]) == RESPONSE
    assert role_of_fields(["instruction", "text"]) == UNKNOWN
    assert role_of_fields([]) == UNKNOWN


@given(st.text(max_size=60), st.one_of(st.none(), st.text(max_size=40)))
def test_any_path_and_speaker_give_one_role_and_stay_a_plain_string(path, speaker):
    field = FieldPath(path, speaker)
    assert role_of(field) in ROLES and role_of(path) in ROLES
    assert field == path and json.dumps({"fields": [field]}) == json.dumps({"fields": [path]})


@given(st.recursive(st.one_of(st.text(max_size=8), st.integers()),
                    lambda inner: st.one_of(st.lists(inner, max_size=4),
                                            st.dictionaries(st.sampled_from(["role", "from", "content", "value",
                                                                             "output", "text", "messages"]),
                                                            inner, max_size=4)),
                    max_leaves=20))
def test_arbitrary_records_give_a_role_for_every_field(value):
    for path, text in string_fields(value):
        assert role_of(path) in ROLES and isinstance(text, str)
