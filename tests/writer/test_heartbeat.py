"""A proxy's identity, its journal backlog and its error history: the parts of a heartbeat."""

from __future__ import annotations

import json
import threading

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.proxy.journal import _FRAME
from agent.proxy.journal import Journal
from agent.proxy.record import encode_parts
from agent.writer.backlog import Backlog
from agent.writer.fleet import journal_pending
from agent.writer.heartbeat import ErrorHistory
from agent.writer.heartbeat import read_local
from agent.writer.proxy_identity import NAME
from agent.writer.proxy_identity import is_identity
from agent.writer.proxy_identity import proxy_identity
from agent.writer.proxy_identity import read_identity
from tests.writer.test_drain import exchange

FRAME_HEADER = _FRAME.size
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def test_identity_is_created_once_and_kept(tmp_path):
    first = proxy_identity(tmp_path / "j")
    again = proxy_identity(tmp_path / "j")
    other = proxy_identity(tmp_path / "k")
    assert is_identity(first.id) and first == again
    assert other.id != first.id and other.host == first.host  # same host, two proxies
    assert (tmp_path / "j" / NAME).read_text().strip() == first.id


def test_racing_first_starts_agree_on_one_identity(tmp_path):
    ids, barrier = [], threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        ids.append(proxy_identity(tmp_path / "j").id)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1 and len(ids) == 8
    assert sorted(p.name for p in (tmp_path / "j").iterdir()) == [NAME]  # no temporary files left


@FUZZ
@given(content=st.binary(max_size=80))
def test_a_damaged_identity_file_is_set_aside_and_replaced(tmp_path, content):
    d = tmp_path / "j"
    d.mkdir(exist_ok=True)
    (d / f"{NAME}.damaged").unlink(missing_ok=True)
    (d / NAME).write_bytes(content)
    kept = read_identity(d)
    ident = proxy_identity(d)
    assert is_identity(ident.id)
    if kept is not None:  # a valid file (with or without surrounding blanks) is kept as it is
        assert ident.id == kept
    else:
        assert (d / f"{NAME}.damaged").read_bytes() == content


def _append(journal: Journal, n: int, size: int = 0) -> None:
    for i in range(n):
        ex, req, resp = exchange(f"backlog record {i}" + "x" * size)
        assert journal.append(encode_parts(ex, [req], [resp]))


@FUZZ
@given(steps=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 40), st.booleans()), max_size=12),
       segment=st.sampled_from([600, 4096, 1 << 20]))
def test_backlog_counts_what_the_journal_holds_past_the_writer(tmp_path_factory, steps, segment):
    """Any interleaving of appends, counts and writer progress, over tiny and large segments."""
    d = tmp_path_factory.mktemp("j")
    appender = Journal(d, 1 << 30, segment_bytes=segment)
    reader = Journal(d, 1 << 30, readonly=True)
    position = reader.acked()
    backlog = Backlog(reader, position)
    for appended, taken, count_first in steps:
        _append(appender, appended, size=appended * 7)
        if count_first:
            backlog.records()
        payloads, end = reader.read(position, max_records=taken) if taken else ([], position)
        if payloads or end != position:
            reader.ack(end)
            position = end
            backlog.consumed(len(payloads), end)
        records, size = journal_pending(d)
        assert backlog.records() == records
        assert backlog.bytes_after(position) == size + FRAME_HEADER * records
        assert (backlog.oldest_captured_at(position) is None) == (records == 0)
    appender.close()


def test_empty_journal_has_no_backlog(tmp_path):
    journal = Journal(tmp_path / "j", 1 << 30)
    backlog = Backlog(journal, journal.acked())
    assert backlog.records() == 0 and backlog.bytes_after(journal.acked()) == 0
    assert backlog.oldest_captured_at(journal.acked()) is None and backlog.complete


@given(events=st.lists(st.one_of(st.tuples(st.just("fail"), st.text(max_size=600)),
                                 st.tuples(st.just("clear"), st.none())), max_size=30))
def test_error_history_keeps_the_current_episode_and_the_last_cleared_one(events):
    history, t = ErrorHistory(), 1000.0
    episode_start, failures, last_episode = None, 0, None
    for kind, message in events:
        t += 1.5
        if kind == "fail":
            history.failed(message, t)
            episode_start = episode_start or t
            failures += 1
            assert history.current.since == episode_start and history.current.seen_at == t
            assert history.current.count == failures and history.current.message == message[:500]
        else:
            if episode_start is not None:
                last_episode = (episode_start, failures, t)
            history.cleared(t)
            episode_start, failures = None, 0
            assert history.current is None
        if last_episode:
            assert (history.last.since, history.last.count, history.last.cleared_at) == last_episode
        else:
            assert history.last is None


@given(state=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                          lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                    max_size=5), max_leaves=20))
def test_restoring_errors_from_any_state_file_never_fails(state):
    history = ErrorHistory.restore(state if isinstance(state, dict) else None)
    assert history.current is None or history.current.cleared_at is None


def test_restore_keeps_an_error_current_across_a_writer_restart(tmp_path):
    state = {"error": {"message": "OperationalError: down", "since": "2026-12-02T10:00:00+00:00",
                       "seen_at": "2026-12-02T10:00:30+00:00", "count": 4},
             "last_error": {"message": "OperationalError: earlier", "since": "2026-12-01T09:00:00+00:00",
                            "seen_at": "2026-12-01T09:00:10+00:00", "count": 2,
                            "cleared_at": "2026-12-01T09:01:00+00:00"}}
    (tmp_path / "writer-state.json").write_text(json.dumps(state))
    history = ErrorHistory.restore(read_local(tmp_path))
    assert history.current.message == "OperationalError: down" and history.current.count == 4
    assert history.last.message == "OperationalError: earlier" and history.last.cleared_at is not None
    (tmp_path / "writer-state.json").write_text("{not json")
    assert read_local(tmp_path) is None


def test_backlog_counts_records_larger_than_its_read_sizes(tmp_path):
    journal = Journal(tmp_path / "j", 1 << 30)
    ex, req, resp = exchange("a huge answer")
    huge = resp + b" " * (12 << 20)  # larger than one counting read and than the oldest-record read
    assert journal.append(encode_parts(ex, [req], [huge]))
    _append(journal, 3)
    backlog = Backlog(Journal(tmp_path / "j", 1 << 30, readonly=True), journal.acked())
    assert backlog.records() == 4 and backlog.complete
    assert backlog.bytes_after(journal.acked()) > 12 << 20
    assert backlog.oldest_captured_at(journal.acked()) == ex.finished


def test_a_long_backlog_is_counted_over_several_beats(tmp_path, monkeypatch):
    import agent.writer.backlog as backlog_module

    monkeypatch.setattr(backlog_module, "COUNT_MAX_BYTES_PER_CALL", 2000)  # a beat reads ~2 records
    monkeypatch.setattr(backlog_module, "COUNT_BATCH_RECORDS", 1)
    journal = Journal(tmp_path / "j", 1 << 30)
    _append(journal, 9)
    backlog = Backlog(Journal(tmp_path / "j", 1 << 30, readonly=True), journal.acked())
    seen = [backlog.records()]
    assert 0 < seen[0] < 9 and not backlog.complete  # a lower bound, and said to be one
    while not backlog.complete:
        seen.append(backlog.records())
    assert seen == sorted(seen) and seen[-1] == 9 == journal_pending(tmp_path / "j")[0]
