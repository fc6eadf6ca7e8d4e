from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.reuse.scoring import COVERAGE
from agent.reuse.scoring import COVERAGE_SPARSE
from agent.reuse.scoring import DRIFT_ALONE_WORDS
from agent.reuse.scoring import DRIFT_HEAVY
from agent.reuse.scoring import DRIFT_SPACED
from agent.reuse.scoring import EXPLAINED
from agent.reuse.scoring import LONG_HOLE
from agent.reuse.scoring import LONG_HOLES_SPACED
from agent.reuse.scoring import MIN_CHAIN
from agent.reuse.scoring import MIN_CHAIN_SPARSE
from agent.reuse.scoring import MIN_EVIDENCE_WORDS
from agent.reuse.scoring import MIN_RUN_WORDS
from agent.reuse.scoring import NEAR_VERBATIM
from agent.reuse.scoring import REUSE_CLASSES
from agent.reuse.scoring import RUN_ISLAND
from agent.reuse.scoring import SHORT
from agent.reuse.scoring import SHORT_WORDS
from agent.reuse.scoring import SIMILAR
from agent.reuse.scoring import SPREAD_HEAVY
from agent.reuse.scoring import SPREAD_LIGHT
from agent.reuse.scoring import SPREAD_SPARSE
from agent.reuse.scoring import TIERS
from agent.reuse.scoring import VERBATIM
from agent.reuse.scoring import Alignment
from agent.reuse.scoring import Score
from agent.reuse.scoring import bridge_boilerplate
from agent.reuse.scoring import bridge_echoes
from agent.reuse.scoring import classify
from agent.reuse.scoring import explained
from agent.reuse.scoring import is_reuse
from agent.reuse.scoring import longest_chain
from agent.reuse.scoring import score
from agent.reuse.scoring import score_many
from agent.reuse.scoring import tier


def brute_force_chain(pairs):
    best = 0
    for size in range(len(pairs), 0, -1):
        for combo in itertools.combinations(sorted(pairs, key=lambda p: (p[1], p[0])), size):
            if all(a[0] < b[0] and a[1] < b[1] for a, b in zip(combo, combo[1:])):
                return size
    return best


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), max_size=9, unique=True))
def test_longest_chain_is_longest_and_increasing(pairs):
    rec = np.array([p[0] for p in pairs], dtype=np.int64)
    out = np.array([p[1] for p in pairs], dtype=np.int64)
    chain = longest_chain(rec, out)
    assert len(chain.record_pos) == brute_force_chain(pairs)
    assert np.all(np.diff(chain.record_pos) > 0) and np.all(np.diff(chain.output_pos) > 0)
    assert set(zip(chain.record_pos.tolist(), chain.output_pos.tolist())) <= set(pairs)


def _score(rec, out, output_words, record_words, hot=None):
    rec, out = np.array(rec), np.array(out)
    output_hot = np.zeros(output_words - 4, dtype=bool) if hot is None else hot
    return score(Alignment(rec, out), output_hot, record_words)


def test_whole_verbatim_copy_scores_full():
    result = _score(range(100), range(100), 104, 104)
    assert result.output_coverage == 1.0 and result.record_coverage == 1.0
    assert result.longest_run == 104 and result.run_at_start and result.span == 1.0
    assert is_reuse(result, 104)
    assert classify(result, 104) == "reformatted"
    assert classify(result, 400) == "embedded"


def test_scattered_hits_out_of_order_are_not_reuse():
    rng = np.random.default_rng(3)
    rec = rng.permutation(200)[:30]
    out = rng.permutation(200)[:30]
    result = _score(rec, out, 204, 204)
    assert result.chain < 30
    assert not is_reuse(result, 204)


def test_boilerplate_alone_makes_no_run():
    hot = np.zeros(196, dtype=bool)
    hot[180:196] = True  # the closing sentence is boilerplate
    result = _score(range(50, 66), range(180, 196), 200, 300, hot=hot)
    assert result.longest_run == 0


@pytest.mark.parametrize(("fields", "expected"), [
    (dict(chain=120, output_coverage=0.6, longest_run=20, span=0.9, steady=1.0, spread=0.95), True),  # light edits
    (dict(chain=120, output_coverage=0.6, longest_run=20, span=0.9, steady=1.0, spread=0.45), False),  # half of it
    # 45-word excerpt: the run is all the record shares with the output
    (dict(chain=36, output_coverage=0.2, longest_run=45, span=0.2, steady=1.0, spread=0.2, run_share=1.0), True),
    # the same run inside an alignment going on around it (another answer to the same question)
    (dict(chain=60, output_coverage=0.3, longest_run=45, span=0.8, steady=1.0, spread=0.5, run_share=0.45), False),
    (dict(chain=30, output_coverage=0.2, longest_run=39, span=0.2, steady=1.0, spread=0.2), False),  # too short
    (dict(chain=40, output_coverage=0.25, longest_run=12, span=0.95, steady=0.95, spread=0.9), True),  # heavy edits
    # three quarters of the stretches are enough from COVERAGE_SPARSE on, not below
    (dict(chain=40, output_coverage=0.35, longest_run=12, span=0.95, steady=0.95, spread=0.75), True),
    (dict(chain=40, output_coverage=0.25, longest_run=12, span=0.95, steady=0.95, spread=0.75), False),
    (dict(chain=40, output_coverage=0.25, longest_run=12, span=0.95, steady=0.6, spread=0.9), False),  # jumpy: chance
    # phrases two answers to one prompt share, in order but in a few places only
    (dict(chain=40, output_coverage=0.25, longest_run=12, span=0.95, steady=0.95, spread=0.5), False),
    # sparse steady hits: the old STEADY rule flagged these; same-prompt answers look the same
    (dict(chain=14, output_coverage=0.1, longest_run=10, span=0.8, steady=1.0, spread=0.9), False),
    (dict(chain=7, output_coverage=0.07, longest_run=20, span=0.9, steady=1.0, spread=1.0), False),  # few hits
])
def test_decision_rule(fields, expected):
    base = dict(chain=0, output_coverage=0.0, record_coverage=0.5, matched_words=100, longest_run=0,
                run_at_start=False, run_share=0.5, span=0.0, steady=0.0, run_record_start=0)
    assert is_reuse(Score(**{**base, **fields}), 200) is expected


@pytest.mark.parametrize(("words", "coverage", "expected"), [(20, 1.0, False), (30, 0.7, False), (30, 0.9, True)])
def test_short_outputs_need_near_complete_copies(words, coverage, expected):
    result = Score(chain=20, output_coverage=coverage, record_coverage=1.0, matched_words=words,
                   longest_run=words, run_at_start=True, run_share=1.0, span=1.0, steady=1.0,
                   run_record_start=0)
    assert is_reuse(result, words) is expected


def test_seams_between_boilerplate_count_as_boilerplate():
    hot = np.array([0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0] + [1, 0, 0, 1], dtype=bool)
    starts = np.array([0, 15, 19])
    bridged = bridge_boilerplate(hot, starts)
    # seam of 2 between hot stretches: bridged; run of 5 (>= K): content; leading/trailing cold: kept;
    # the cold pair at 13..14 / 15 is not bounded within its own output
    assert bridged.tolist() == [0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0] + [1, 1, 1, 1]


def test_echoes_are_bridged_across_one_word_of_their_own():
    # "...first space is red. 2. A blue car...": the K 5-grams holding the "2" join two restated
    # stretches; a seam of K + 1 (two words of the answer's own) stays its own
    echo = np.array([1, 1] + [0] * 5 + [1, 1] + [0] * 6 + [1], dtype=bool)
    bridged = bridge_echoes(echo, np.array([0, len(echo)]))
    assert bridged.tolist() == [1] * 9 + [0] * 6 + [1]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.booleans(), max_size=60), st.integers(0, 7))
def test_bridging_only_fills_bounded_seams(flags, widest):
    """Marks are only ever added, inside an output, and only in seams of at most `widest`."""
    mask = np.array(flags, dtype=bool)
    bridged = bridge_boilerplate(mask, np.array([0, len(mask)]), widest)
    assert np.all(bridged[mask])
    added = np.flatnonzero(bridged & ~mask)
    for at in added.tolist():
        left = mask[:at][::-1].argmax() if mask[:at].any() else None
        right = mask[at:].argmax() if mask[at:].any() else None
        assert left is not None and right is not None
        assert left + right <= widest  # cold 5-grams around `at`: left + right - 1 + 1


def test_run_share_counts_the_run_as_the_chain_counts_it():
    # a 60-word excerpt of an answer whose middle restates its prompt: the run is not credited
    # with the echoed words and the chain skips them, so the run is still all of the alignment
    hot = np.zeros(196, dtype=bool)
    hot[20:40] = True
    echo = hot.copy()
    rec, out = np.arange(100, 156), np.arange(0, 56)
    result = score_many(np.zeros(len(rec), np.int64), rec, out, hot, np.array([0, 196]), np.array([400]), echo)[0]
    assert result.longest_run == 60 - 20 and result.run_share == 1.0
    # the same run inside a copy of the rest of the output: the run is a part of the alignment
    rec2, out2 = np.concatenate((rec, np.arange(160, 260))), np.concatenate((out, np.arange(60, 160)))
    wider = score_many(np.zeros(len(rec2), np.int64), rec2, out2, hot, np.array([0, 196]), np.array([400]), echo)[0]
    assert wider.run_share < RUN_ISLAND


def test_run_share_follows_the_run_in_the_record_when_the_output_repeats_itself():
    # output 5-grams 0..49 and 100..149 are the same text; the record holds it once, at 300..349:
    # the chain may go through either copy, the share is of the record's stretch
    rec = np.concatenate((np.arange(300, 350), np.arange(300, 350)))
    out = np.concatenate((np.arange(0, 50), np.arange(100, 150)))
    result = _score(rec, out, 204, 600)
    assert result.longest_run == 54 and result.run_share == 1.0


def test_score_many_matches_one_by_one_scoring():
    rng = np.random.default_rng(11)
    pairs, hots, single = [], [], []
    for candidate in range(6):
        length = int(rng.integers(30, 80))
        hot = rng.random(length) < 0.1
        count = 0 if candidate == 2 else int(rng.integers(1, 40))  # candidate 2 has no pairs
        rec = rng.integers(0, 200, count)
        out = rng.integers(0, length, count)
        pairs.append((np.full(count, candidate), rec, out))
        hots.append(hot)
        single.append(score(Alignment(rec, out), hot, 250))
    starts = np.concatenate(([0], np.cumsum([len(h) for h in hots])))
    many = score_many(np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs]),
                      np.concatenate([p[2] for p in pairs]), np.concatenate(hots), starts, np.full(6, 250))
    assert many == single
    assert many[2].chain == 0 and many[2].span == 0.0


# ---- spread, echoes, tiers ---------------------------------------------------------------------

PAIRS = st.lists(st.tuples(st.integers(0, 400), st.integers(0, 299)), max_size=120)


@settings(max_examples=150, deadline=None)
@given(PAIRS, st.integers(0, 2**32 - 1), st.floats(0, 1), st.booleans())
def test_scores_stay_in_range_for_any_pairs(pairs, seed, hot_share, duplicate):
    """Empty, sparse, duplicate and out-of-order pairs; any boilerplate and echo masks."""
    if duplicate:
        pairs = pairs + pairs
    rng = np.random.default_rng(seed)
    hot = rng.random(300) < hot_share
    echo = hot & (rng.random(300) < 0.5)
    rec = np.array([p[0] for p in pairs], dtype=np.int64)
    out = np.array([p[1] for p in pairs], dtype=np.int64)
    result = score_many(np.zeros(len(pairs), np.int64), rec, out, hot, np.array([0, 300]), np.array([404]), echo)[0]
    for share in (result.output_coverage, result.record_coverage, result.span, result.steady, result.spread,
                  result.run_share):
        assert 0.0 <= share <= 1.0
    assert 0 <= result.longest_run <= 304 and result.chain <= len(set(pairs))
    assert tier(result, classify(result, 404), 300) in TIERS


def test_spread_tells_hits_all_along_the_output_from_one_shared_block():
    along = _score(range(0, 296, 4), range(0, 296, 4), 300, 300)  # every 4th 5-gram, as edits leave them
    block = _score(range(100, 160), range(0, 60), 300, 300)  # 64 words in one place
    assert along.spread == 1.0 and block.spread == pytest.approx(4 / 19, abs=0.01)


def test_echoed_words_are_not_credited_to_a_verbatim_run():
    hot = np.zeros(196, dtype=bool)
    hot[0:30] = True  # the answer starts by repeating the question's code
    plain = score_many(np.zeros(60, np.int64), np.arange(60), np.arange(60), hot, np.array([0, 196]),
                       np.array([300]))[0]
    echoed = score_many(np.zeros(60, np.int64), np.arange(60), np.arange(60), hot, np.array([0, 196]),
                        np.array([300]), hot)[0]
    assert plain.longest_run == 64 and echoed.longest_run == 34
    assert is_reuse(plain, 200) and not is_reuse(echoed, 200)


@pytest.mark.parametrize(("reuse_class", "coverage", "expected"), [
    ("exact", 1.0, VERBATIM), ("excerpt", 0.2, VERBATIM), ("truncated", 0.6, VERBATIM),
    ("edited", 0.6, NEAR_VERBATIM), ("edited", 0.3, SIMILAR),
])
def test_tiers(reuse_class, coverage, expected):
    result = Score(chain=50, output_coverage=coverage, record_coverage=0.5, matched_words=100, longest_run=20,
                   run_at_start=False, run_share=0.5, span=1.0, steady=1.0, run_record_start=0, spread=1.0)
    assert tier(result, reuse_class, MIN_EVIDENCE_WORDS) == expected


@given(run=st.integers(MIN_RUN_WORDS, 400), share=st.floats(0.0, 1.0), words=st.integers(SHORT_WORDS, 2000),
       chain=st.integers(2, 400))
def test_a_long_run_is_reuse_on_its_own_only_as_an_island(run, share, words, chain):
    """A verbatim run of MIN_RUN_WORDS+ words decides alone exactly when it is most of the alignment;
    otherwise (coverage and spread too low for the coverage rules) it is not reuse."""
    result = Score(chain=chain, output_coverage=0.1, record_coverage=0.1, matched_words=run, longest_run=run,
                   run_at_start=False, run_share=share, span=0.5, steady=1.0, run_record_start=0, spread=0.3,
                   echoed_run=run)
    words = max(words, 2 * run + 1)  # keep the echoed-majority rule out of it
    assert is_reuse(result, words) is (share >= RUN_ISLAND)


@given(words=st.integers(0, 4000), reuse_class=st.sampled_from(REUSE_CLASSES), coverage=st.floats(0.0, 1.0),
       run=st.integers(0, 4000))
def test_an_output_under_the_evidence_length_is_short_whatever_matched(words, reuse_class, coverage, run):
    """The tier policy: under MIN_EVIDENCE_WORDS words always SHORT (no high rule takes it), from
    there on never SHORT."""
    result = Score(chain=50, output_coverage=coverage, record_coverage=0.5, matched_words=run, longest_run=run,
                   run_at_start=True, run_share=1.0, span=1.0, steady=1.0, run_record_start=0, spread=1.0)
    assert (tier(result, reuse_class, words) == SHORT) is (words < MIN_EVIDENCE_WORDS)


@given(spread=st.floats(0.0, 1.0), coverage=st.floats(0.15, 1.0), words=st.integers(MIN_EVIDENCE_WORDS, 3000))
def test_aligned_hits_in_one_part_of_the_output_are_not_an_edited_copy(spread, coverage, words):
    """Without a long verbatim island, an alignment is reuse only when it runs all along the
    output (spread at SPREAD_LIGHT / SPREAD_HEAVY or more), however much it covers."""
    result = Score(chain=200, output_coverage=coverage, record_coverage=0.5, matched_words=30, longest_run=30,
                   run_at_start=False, run_share=0.2, span=1.0, steady=1.0, run_record_start=0, spread=spread,
                   echoed_run=30)
    needed = (min(SPREAD_LIGHT, SPREAD_HEAVY) if coverage >= COVERAGE
              else SPREAD_HEAVY if coverage >= COVERAGE_SPARSE else SPREAD_SPARSE)
    assert is_reuse(result, max(words, 61)) is (spread >= needed)


def _cold_chain(record_pos, output_pos, hot):
    """The chain the score is taken over: the longest one through the non-boilerplate pairs."""
    pairs = [(r, o) for r, o in zip(record_pos, output_pos) if not hot[o]]
    chain = longest_chain(np.array([r for r, _ in pairs], dtype=np.int64), np.array([o for _, o in pairs], dtype=np.int64))
    return list(zip(chain.record_pos.tolist(), chain.output_pos.tolist()))


def _drift_by_hand(record_pos, output_pos, hot):
    chain = _cold_chain(record_pos, output_pos, hot)
    return sum(abs((r2 - r1) - (o2 - o1)) for (r1, o1), (r2, o2) in zip(chain, chain[1:])) / max(1, sum(not h for h in hot))


def _holes_by_hand(record_pos, output_pos, hot):
    """Long-hole share from the definition: per step of the chain, the non-boilerplate 5-grams
    strictly between the two chained ones, counted when more than LONG_HOLE."""
    cold = [o for _, o in _cold_chain(record_pos, output_pos, hot)]
    missed = [sum(not hot[i] for i in range(a + 1, b)) for a, b in zip(cold, cold[1:])]
    return sum(m for m in missed if m > LONG_HOLE) / max(1, sum(not h for h in hot))


def _hole_count_by_hand(record_pos, output_pos, hot):
    cold = [o for _, o in _cold_chain(record_pos, output_pos, hot)]
    return sum(any(not hot[i] for i in range(a + 1, b)) for a, b in zip(cold, cold[1:]))


def _draw_output(data, largest):
    """An output of 6 to `largest` 5-grams: its boilerplate flags and the positions a record hits."""
    size = data.draw(st.integers(6, largest))
    hot = np.array(data.draw(st.lists(st.booleans(), min_size=size, max_size=size)))
    return size, hot, sorted(data.draw(st.sets(st.integers(0, size - 1), max_size=size)))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_long_holes_counts_the_output_missed_in_long_gaps_of_the_chain(data):
    size, hot, kept = _draw_output(data, 120)
    shift = data.draw(st.integers(0, 30))
    record_pos = [p + shift for p in kept]  # one diagonal: the chain is every non-boilerplate hit
    result = score(Alignment(np.array(record_pos, dtype=np.int64), np.array(kept, dtype=np.int64)), hot, size + 40)
    assert 0.0 <= result.long_holes <= 1.0
    assert result.long_holes == pytest.approx(_holes_by_hand(record_pos, kept, hot.tolist()))
    assert result.holes == _hole_count_by_hand(record_pos, kept, hot.tolist())
    assert result.drift == 0.0  # one diagonal: record and output advance alike


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_drift_sums_how_far_the_sides_get_out_of_step(data):
    size, hot, kept = _draw_output(data, 80)
    record_pos = list(itertools.accumulate(data.draw(st.lists(st.integers(1, 6), min_size=len(kept),
                                                                max_size=len(kept)))))
    result = score(Alignment(np.array(record_pos, dtype=np.int64), np.array(kept, dtype=np.int64)), hot, 500)
    assert result.drift == pytest.approx(_drift_by_hand(record_pos, kept, hot.tolist()))


def _sparse(chain, long_holes, drift=0.5):
    return Score(chain=chain, output_coverage=COVERAGE_SPARSE, record_coverage=0.3, matched_words=100,
                 longest_run=12, run_at_start=False, run_share=0.2, span=1.0, steady=1.0, run_record_start=0,
                 spread=1.0, echoed_run=12, long_holes=long_holes, drift=drift)


@given(holes=st.floats(0.0, 1.0), drift=st.floats(0.0, 2.0), words=st.integers(100, 3000), spaced=st.booleans())
def test_long_holes_with_drift_refuse_a_heavy_edit_match_of_spaced_text_only(holes, drift, words, spaced):
    """An aligned sparse match that misses most of what it misses in long holes, and drifts out
    of step across them, is what an independent answer looks like in space-delimited text; in
    CJK text a re-cut edit makes both."""
    refused = spaced and drift > DRIFT_SPACED and (holes > LONG_HOLES_SPACED * (1 - COVERAGE_SPARSE)
                                                   or drift > DRIFT_HEAVY)
    assert is_reuse(_sparse(60, holes, drift), words, spaced) is not refused


def test_long_holes_leave_light_edits_alone():
    light = replace(_sparse(60, 0.6), output_coverage=COVERAGE)
    assert is_reuse(light, 200, spaced=True)
    assert not is_reuse(_sparse(60, 0.6), 200, spaced=True) and is_reuse(_sparse(60, 0.6), 200)


@given(chain=st.integers(MIN_CHAIN, 40), words=st.integers(100, 3000))
def test_a_heavy_edit_match_needs_min_chain_sparse_aligned_five_grams(chain, words):
    assert is_reuse(_sparse(chain, 0.0), words) is (chain >= MIN_CHAIN_SPARSE)
    assert is_reuse(replace(_sparse(chain, 0.0), output_coverage=COVERAGE), words)  # light: MIN_CHAIN


def _light(holes, long_holes, drift, longest_run=29):
    """A light-edit match of a 59-word output (as gpt-4-0613's vega-lite spec against gpt-4-0314's)."""
    return Score(chain=38, output_coverage=0.78, record_coverage=0.78, matched_words=46, longest_run=longest_run,
                 run_at_start=True, run_share=0.6, span=1.0, steady=1.0, run_record_start=0, spread=1.0,
                 echoed_run=longest_run, long_holes=long_holes, drift=drift, holes=holes)


@given(holes=st.integers(0, 8), long_holes=st.sampled_from([0.0, 0.22]), drift=st.floats(0.0, 0.5),
       run=st.integers(10, 29), spaced=st.booleans())
def test_one_rewritten_passage_is_no_light_edit_of_spaced_text(holes, long_holes, drift, run, spaced):
    """All the misses in one long hole, the record as long there, the pieces around it under
    MIN_RUN_WORDS: one passage written differently, not edits spread at random. (A piece of 30
    words or more is over half of this 59-word output word for word, reuse by the MOST rule.)"""
    refused = spaced and holes == 1 and long_holes > 0 and drift <= DRIFT_SPACED
    assert is_reuse(_light(holes, long_holes, drift, run), 59, spaced) is not refused


def test_a_rewritten_passage_next_to_a_long_verbatim_piece_is_still_reuse():
    assert not is_reuse(_light(1, 0.22, 0.04), 59, spaced=True)
    assert is_reuse(_light(1, 0.22, 0.04, longest_run=MIN_RUN_WORDS), 59, spaced=True)
    assert is_reuse(_light(1, 0.22, 0.3), 59, spaced=True)  # a passage cut out: the record skips it


@given(drift=st.floats(0.0, 1.0), words=st.integers(MIN_EVIDENCE_WORDS, 400), spaced=st.booleans())
def test_a_short_heavy_edit_match_of_spaced_text_is_refused_on_drift_alone(drift, words, spaced):
    """Under DRIFT_ALONE_WORDS no long holes are needed: an answer written at its own length drifts."""
    refused = spaced and (words < DRIFT_ALONE_WORDS and drift > DRIFT_SPACED or drift > DRIFT_HEAVY)
    assert is_reuse(_sparse(40, 0.0, drift), words, spaced) is not refused


@given(drift=st.floats(0.0, 3.0), run=st.integers(0, 120), words=st.integers(DRIFT_ALONE_WORDS, 3000),
       spaced=st.booleans())
def test_a_heavy_edit_match_of_spaced_text_drifting_over_drift_heavy_is_refused(drift, run, words, spaced):
    """Without holes long enough for the rule above, drift alone over DRIFT_HEAVY refuses a heavy-edit
    match (an independent answer writes its passages at their own lengths; edits keep a copy in
    step), unless a verbatim piece of MIN_RUN_WORDS is in it. CJK text is exempt."""
    sparse = replace(_sparse(40, 0.0, drift), longest_run=run, echoed_run=run)
    refused = spaced and drift > DRIFT_HEAVY and run < MIN_RUN_WORDS
    assert is_reuse(sparse, words, spaced) is not refused


def _stretch(first: int, last: int, words: int) -> Score:
    return Score(chain=max(0, last - first + 1), output_coverage=0.3, record_coverage=0.3, matched_words=words,
                 longest_run=0, run_at_start=False, run_share=0.0, span=0.3, steady=0.5, run_record_start=first,
                 record_first=first, record_last=last)


@given(st.integers(0, 500), st.integers(-1, 300), st.integers(0, 500), st.integers(-1, 300),
       st.integers(0, 400), st.integers(0, 400))
def test_explained_only_inside_a_match_covering_more(weak_first, weak_length, strong_first, strong_length,
                                                     weak_words, strong_words):
    weak = _stretch(weak_first, weak_first + weak_length, weak_words)
    strong = _stretch(strong_first, strong_first + strong_length, strong_words)
    result = explained(weak, strong)
    if result:
        assert strong_words > weak_words and weak_length >= 0 and strong_length >= 0
        inside = min(weak.record_last, strong.record_last) - max(weak_first, strong_first) + 1
        assert inside >= EXPLAINED * (weak_length + 1)
        assert not explained(strong, weak)  # never both ways: one of them is kept
    assert not explained(weak, weak)
    if weak_length >= 0 and strong_words > weak_words and strong_first <= weak_first \
            and strong.record_last >= weak.record_last:
        assert result  # wholly inside
