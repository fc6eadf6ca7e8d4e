"""Index segments: merging segments (late ids in later ones included) gives the segment built
from all outputs at once, short outputs get no postings, a repeated text is an alias."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.reuse import fingerprint
from agent.reuse.segment import ALIAS
from agent.reuse.segment import SHORT
from agent.reuse.segment import build
from agent.reuse.segment import merge

WORDS = "river mountain cloud stone field lantern orbit copper meadow signal harbor willow".split()


def text(seed: int, n: int) -> str:
    rng = np.random.default_rng(seed)
    return " ".join(rng.choice(WORDS, n)) + f" marker{seed}"


def per_output(segment) -> dict[int, tuple]:
    out = {}
    for ordinal, output_id in enumerate(segment.ids.tolist()):
        out[output_id] = (int(segment.words[ordinal]), int(segment.flags[ordinal]), segment.exact[ordinal].tolist(),
                          segment.shingles_of(ordinal).tolist())
    return out


def postings(segment) -> list[tuple[int, int]]:
    return sorted(zip(segment.post_hash.tolist(), segment.ids[segment.post_ord].tolist()))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 10_000), min_size=2, max_size=12, unique=True), st.integers(1, 4),
       st.booleans(), st.booleans())
def test_merged_segments_equal_one_built_at_once(ids, parts, winnowed, same_mode):
    entries = [(i, fingerprint(text(i, 5 + i % 30))) for i in ids]  # arrival order: late ids come later
    cut = np.array_split(np.arange(len(entries)), parts)
    # ids ascend within a segment; a later segment may hold lower ids (outputs that committed late)
    segments = [build(sorted(entries[k] for k in chunk), np.zeros(len(chunk), bool), winnowed)
                for chunk in cut if len(chunk)]
    merged = merge(segments, winnowed, same_mode)
    whole = build(sorted(entries), np.zeros(len(entries), bool), winnowed)
    assert merged.ids.tolist() == sorted(ids)
    assert per_output(merged) == per_output(whole) and postings(merged) == postings(whole)


def test_short_outputs_have_no_postings_and_a_repeat_is_an_alias():
    long_text = text(1, 40)
    entries = [(1, fingerprint("too short")), (2, fingerprint(long_text)), (3, fingerprint(long_text))]
    segment = build(entries, np.array([False, False, False]), winnowed=False)
    assert segment.flags.tolist() == [SHORT, 0, ALIAS]
    assert set(segment.ids[segment.post_ord].tolist()) == {2}
    assert build(entries[1:2], np.array([True]), winnowed=False).flags.tolist() == [ALIAS]  # indexed before
