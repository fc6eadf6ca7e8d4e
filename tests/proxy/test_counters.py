"""Capture accounting: drops count as captured, live counts are never flushed, a failed flush is
restored, and pending is what was journaled and not yet settled."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agent.proxy.counters import CaptureCounters


def test_a_drop_is_captured_and_dropped_for_its_reason():
    counters = CaptureCounters()
    counters.drop("journal_full", 2)
    counters.live("journaled")
    assert counters.totals() == {"captured": 2, "dropped:journal_full": 2, "journaled": 1}
    assert counters.take_unflushed() == {"captured": 2, "dropped:journal_full": 2}  # journaled is live only
    assert counters.take_unflushed() == {}


def test_a_flush_that_did_not_commit_goes_back():
    counters = CaptureCounters()
    counters.add("stored", 3)
    taken = counters.take_unflushed()
    counters.restore_unflushed(taken)
    counters.add("stored")
    assert counters.take_unflushed() == {"stored": 4} and counters.totals() == {"stored": 4}


@given(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50), st.integers(0, 50))
def test_pending_is_journaled_less_settled_and_never_negative(journaled, stored, poison, replayed):
    counters = CaptureCounters()
    counters.live("journaled", journaled)
    counters.add_committed({"stored": stored, "dropped:poison": poison, "replayed": replayed})
    assert counters.pending() == max(0, journaled - stored - poison - replayed)
