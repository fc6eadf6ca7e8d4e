"""The finding row of one record's matches: pruned outputs dropped, the strongest class and tier
kept, coverage bounded, the fields and role of every match."""

from __future__ import annotations

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.reuse.findings import CLASS_STRENGTH
from agent.reuse.findings import TIER_STRENGTH
from agent.reuse.findings import finding_row
from agent.reuse.matching import OutputMatch
from agent.reuse.outputs import OutputInfo
from agent.reuse.uploads import UploadedRecord


def match(output_id: int, *, reuse_class="exact", tier="verbatim", record_coverage=0.5, fields=("text",),
          role="response") -> OutputMatch:
    return OutputMatch(output_id, output_coverage=0.9, record_coverage=record_coverage, matched_words=40,
                       longest_run=30, span=1.0, reuse_class=reuse_class, fields=fields, role=role, tier=tier)


INFOS = {1: OutputInfo(1, "call-a", "openai", "search"), 2: OutputInfo(2, "call-b", "anthropic", "ml")}
RECORD = UploadedRecord(number=7, sha256="ab" * 32)


def test_a_record_whose_outputs_were_all_pruned_is_no_finding():
    assert finding_row("d.jsonl", RECORD, [match(99)], INFOS) is None


def test_one_match_keeps_its_class_and_names_its_call():
    row = finding_row("d.jsonl", RECORD, [match(1, reuse_class="truncated", tier="near-verbatim"), match(99)], INFOS)
    assert row["record"] == 7 and row["record_sha256"] == "ab" * 32
    assert row["call_ids"] == ["call-a"] and row["output_ids"] == [1]  # output 99 was pruned
    assert row["reuse_class"] == "truncated" and row["tier"] == "near-verbatim"
    assert row["vendors"] == ["openai"] and row["teams"] == ["search"]


def test_two_matches_are_multiple_with_the_strongest_tier_and_every_field():
    row = finding_row("d.jsonl", RECORD, [match(1, tier="similar", fields=("messages.1.content",)),
                                          match(2, tier="verbatim", fields=("answer",))], INFOS)
    assert row["reuse_class"] == "multiple" and row["tier"] == "verbatim"
    assert row["fields"] == ["messages.1.content", "answer"]
    assert row["call_ids"] == ["call-a", "call-b"] and row["vendors"] == ["anthropic", "openai"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([1, 2]), st.sampled_from(CLASS_STRENGTH), st.sampled_from(TIER_STRENGTH),
                          st.floats(0, 1)), min_size=1, max_size=5))
def test_record_coverage_is_bounded_and_the_tier_is_the_strongest_seen(specs):
    matches = [match(i, reuse_class=c, tier=t, record_coverage=cov) for i, c, t, cov in specs]
    row = finding_row("d.jsonl", RECORD, matches, INFOS)
    assert 0.0 <= row["record_coverage"] <= 1.0
    assert row["tier"] == max((t for _, _, t, _ in specs), key=TIER_STRENGTH.index)
    if len(specs) == 1:
        assert row["reuse_class"] == specs[0][1]
