"""Drops handed from the proxy to the writer: counted once, kept until the writer says stored."""

from __future__ import annotations

from agent.proxy.droplog import forget_taken
from agent.proxy.droplog import record_drop
from agent.proxy.droplog import take_drops


def test_drops_are_counted_by_reason_and_not_twice(tmp_path):
    assert take_drops(tmp_path) == {}
    for reason in ("journal_full", "journal_full", "hook_exception"):
        record_drop(tmp_path, reason)
    assert take_drops(tmp_path) == {"journal_full": 2, "hook_exception": 1}
    record_drop(tmp_path, "journal_full")  # after the take: waits for the next one
    assert take_drops(tmp_path) == {"journal_full": 2, "hook_exception": 1}  # not stored yet: the same counts
    forget_taken(tmp_path)
    assert take_drops(tmp_path) == {"journal_full": 1}
    forget_taken(tmp_path)
    assert take_drops(tmp_path) == {}


def test_a_reason_that_is_not_ascii_is_still_one_line(tmp_path):
    record_drop(tmp_path, "jöurnal\u2028")
    assert sum(take_drops(tmp_path).values()) == 1
