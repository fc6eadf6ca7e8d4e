"""The writer thread against real stores: journal to rows, idempotent replay, honest counts."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func
from sqlalchemy import select

from agent.config import Team
from agent.ids import new_id
from agent.proxy.counters import CaptureCounters
from agent.proxy.exchange import RequestSnapshot
from agent.proxy.exchange import ResponseSnapshot
from agent.proxy.hosts import HostList
from agent.proxy.journal import Journal
from agent.proxy.record import CapturedExchange
from agent.proxy.record import encode_parts
from agent.store.engine import open_store
from agent.store.models import Call
from agent.store.models import CaptureCounter
from agent.store.models import Output
from agent.writer.attribution import Attributor
from agent.writer.drain import CaptureWriter

HOST_LIST = HostList.load()


def exchange(text: str, *, team_key: str | None = None) -> tuple[CapturedExchange, bytes, bytes]:
    route = HOST_LIST.match("api.openai.com", "/v1/chat/completions", "POST")
    req_body = json.dumps({"model": "gpt-4o", "n": 1, "messages": [{"role": "user", "content": text}]}).encode()
    resp_body = json.dumps({"id": "x", "object": "chat.completion", "model": "gpt-4o-2024",
                            "choices": [{"index": 0, "message": {"role": "assistant", "content": f"Answer: {text}"},
                                         "finish_reason": "stop"}],
                            "usage": {"prompt_tokens": 4, "completion_tokens": 6}}).encode()
    now = time.time()
    ex = CapturedExchange(
        call_id=new_id(), route=route,
        request=RequestSnapshot("POST", "https", "api.openai.com", 443, "/v1/chat/completions",
                                (("content-type", "application/json"),), b"", now),
        response=ResponseSnapshot(200, (("content-type", "application/json"),), b"", False, False, None),
        key_sha256=team_key, proxy_user=None, client_ip="10.9.9.9", header_team=None, finished=now + 0.1,
        request_bytes=len(req_body), response_bytes=len(resp_body),
    )
    return ex, req_body, resp_body


def fill(journal: Journal, n: int, team_key: str | None = None) -> list[str]:
    ids = []
    for i in range(n):
        ex, req, resp = exchange(f"question number {i} about rivers and mountains", team_key=team_key)
        assert journal.append(encode_parts(ex, [req], [resp]))
        ids.append(ex.call_id)
    return ids


def run_writer(journal, url, counters=None, store_text="full") -> CaptureCounters:
    counters = counters or CaptureCounters()
    teams = (Team("research", api_key_sha256=("a" * 64,)),)
    writer = CaptureWriter(journal, counters, url, Attributor(teams, None), store_text=store_text,
                           excerpt_chars=10, max_body_bytes=1 << 20, batch_size=7)
    writer.start()
    writer.stop(timeout=30)
    return counters


def test_journaled_calls_reach_the_store_with_outputs(tmp_path, db_url):
    journal = Journal(tmp_path / "j", 1 << 30)
    ids = fill(journal, 20, team_key="a" * 64)
    counters = run_writer(journal, db_url)
    store = open_store(db_url)
    with store.session() as s:
        calls = s.scalars(select(Call).order_by(Call.id)).all()
        outputs = s.scalars(select(Output)).all()
    assert [c.id for c in calls] == ids
    assert {c.team for c in calls} == {"research"} and calls[0].attributed_by == "api_key"
    assert calls[0].output_text == "Answer: question number 0 about rivers and mountains"
    assert calls[0].prompt_tokens == 4 and calls[0].completion_tokens == 6
    assert len(outputs) == 20 and all(o.kind == "generated" and o.fingerprint for o in outputs)
    assert counters.totals()["stored"] == 20


def test_replay_after_a_crash_stores_each_call_once_and_counts_stay_honest(tmp_path, db_url):
    journal = Journal(tmp_path / "j", 1 << 30)
    fill(journal, 15)
    run_writer(journal, db_url)
    (tmp_path / "j" / "ack").unlink()  # as if the process died before acknowledging
    journal2 = Journal(tmp_path / "j", 1 << 30)
    counters = run_writer(journal2, db_url)
    store = open_store(db_url)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Call)) == 15
        assert s.scalar(select(func.count()).select_from(Output)) == 15
        persisted = {c.name: c.value for c in s.scalars(select(CaptureCounter))}
    assert counters.totals().get("replayed") == 15
    assert persisted["captured"] == persisted["stored"] == 15


@pytest.mark.parametrize("store_text", ["none", "excerpt"])
def test_privacy_setting_controls_raw_text(tmp_path, sqlite_url, store_text):
    journal = Journal(tmp_path / "j", 1 << 30)
    fill(journal, 1)
    run_writer(journal, sqlite_url, store_text=store_text)
    store = open_store(sqlite_url)
    with store.session() as s:
        call = s.scalars(select(Call)).one()
        out = s.scalars(select(Output)).one()
    if store_text == "none":
        assert call.output_text is None and out.text is None
    else:
        assert call.output_text == "Answer: qu" and out.text == "Answer: qu"
    assert out.word_count > 0 and out.fingerprint


def test_unreachable_store_keeps_calls_in_the_journal_then_drains(tmp_path, sqlite_url):
    journal = Journal(tmp_path / "j", 1 << 30)
    ids = fill(journal, 5)
    counters = CaptureCounters()
    bad = CaptureWriter(journal, counters, "postgresql+psycopg://x:y@127.0.0.1:1/none", Attributor((), None),
                        store_text="none", excerpt_chars=10, max_body_bytes=1 << 20)
    bad.start()
    time.sleep(1.5)
    bad.stop(timeout=1)
    assert bad.last_error and "OperationalError" in bad.last_error
    assert journal.acked().offset == 0  # nothing acknowledged
    run_writer(Journal(tmp_path / "j", 1 << 30), sqlite_url)
    store = open_store(sqlite_url)
    with store.session() as s:
        assert sorted(s.scalars(select(Call.id))) == ids


def test_nul_bytes_do_not_poison_a_batch(tmp_path, db_url):
    journal = Journal(tmp_path / "j", 1 << 30)
    ex, req, resp = exchange("with a \x00 nul byte")
    journal.append(encode_parts(ex, [req], [resp]))
    fill(journal, 3)
    run_writer(journal, db_url)
    store = open_store(db_url)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Call)) == 4
        text = s.scalar(select(Call.output_text).where(Call.id == ex.call_id))
    assert "\x00" not in text and "nul byte" in text


def _steps_for_a_trickle(tmp_path, db_url, monkeypatch, linger: float) -> tuple[list[tuple[float, int]], float]:
    """(start time, records read) of each step of the writer thread while 40 calls arrive, one
    every 20 ms, and when it was asked to stop (it then stores what is left without waiting)."""
    import agent.writer.drain as drain

    monkeypatch.setattr(drain, "GATHER_S", linger)
    journal = Journal(tmp_path / f"j{linger}", 1 << 30)
    writer = CaptureWriter(journal, CaptureCounters(), db_url, Attributor((), None), store_text="full",
                           excerpt_chars=10, max_body_bytes=1 << 20)
    writer._get_store()
    steps = []
    original = writer._step

    def step():
        at = time.monotonic()
        progressed = original()
        steps.append((at, writer.last_batch))
        return progressed

    monkeypatch.setattr(writer, "_step", step)
    writer.start()
    for ex, req, resp in [exchange(f"trickle {i} of calls arriving one by one") for i in range(40)]:
        journal.append(encode_parts(ex, [req], [resp]))
        time.sleep(0.02)
    stop_at = time.monotonic()
    writer.stop(timeout=30)
    assert sum(n for _, n in steps) == 40
    return steps, stop_at


def test_after_a_small_batch_the_writer_lingers_so_calls_gather(tmp_path, db_url, monkeypatch):
    # each batch costs a transaction and an ack whatever its size: reading again at once after a
    # batch of a few calls stored a trickle almost one call per batch
    steps, stop_at = _steps_for_a_trickle(tmp_path, db_url, monkeypatch, linger=0.25)
    gaps = [later - at for (at, n), (later, _) in zip(steps, steps[1:]) if n and later < stop_at]
    assert gaps and min(gaps) >= 0.2


def _stored(url: str) -> int:
    with open_store(url).session() as s:
        return s.scalar(select(func.count()).select_from(Call))


def _wait_stored(url: str, n: int, timeout: float) -> float:
    """Seconds until `n` calls are in the store (fails after `timeout`)."""
    t0 = time.monotonic()
    while _stored(url) < n:
        assert time.monotonic() - t0 < timeout, f"{_stored(url)} of {n} calls stored after {timeout} s"
        time.sleep(0.02)
    return time.monotonic() - t0


def _gathering_writer(tmp_path, url, batch_size: int) -> tuple[Journal, CaptureWriter]:
    journal = Journal(tmp_path / "j", 1 << 30)
    writer = CaptureWriter(journal, CaptureCounters(), url, Attributor((), None), store_text="full",
                           excerpt_chars=10, max_body_bytes=1 << 20, batch_size=batch_size)
    writer._get_store()
    writer.start()
    return journal, writer


def test_a_call_waits_for_the_gathering_window_at_most(tmp_path, sqlite_url):
    """The window after a short batch is bounded: a lone call behind it is stored GATHER_S later
    at the latest (plus the batch's own time), not when more calls happen to come."""
    from agent.writer import drain

    journal, writer = _gathering_writer(tmp_path, sqlite_url, batch_size=200)
    try:
        fill(journal, 1)
        _wait_stored(sqlite_url, 1, timeout=10)  # the writer now gathers behind a batch of one
        fill(journal, 1)
        waited = _wait_stored(sqlite_url, 2, timeout=10)
    finally:
        writer.stop(timeout=10)
    assert waited < drain.GATHER_S + 1.0


def test_the_gathering_window_ends_once_a_full_batch_is_journaled(tmp_path, sqlite_url, monkeypatch):
    """A window far longer than the test: calls that make a full batch are read at once."""
    from agent.writer import drain

    monkeypatch.setattr(drain, "GATHER_S", 60.0)
    journal, writer = _gathering_writer(tmp_path, sqlite_url, batch_size=5)
    try:
        fill(journal, 1)
        _wait_stored(sqlite_url, 1, timeout=10)
        fill(journal, 5)
        waited = _wait_stored(sqlite_url, 6, timeout=10)
    finally:
        writer.stop(timeout=10)
    assert waited < 2.0


def test_a_stop_during_the_gathering_window_stores_every_call_at_once(tmp_path, sqlite_url, monkeypatch):
    """Draining does not sit out the window, and no call read or unread is lost or doubled."""
    from agent.writer import drain

    monkeypatch.setattr(drain, "GATHER_S", 60.0)
    journal, writer = _gathering_writer(tmp_path, sqlite_url, batch_size=50)
    ids = fill(journal, 3)
    _wait_stored(sqlite_url, 3, timeout=10)
    ids += fill(journal, 4)  # behind the window: not read yet
    t0 = time.monotonic()
    writer.stop(timeout=10)
    assert time.monotonic() - t0 < 2.0 and not writer.is_alive()
    with open_store(sqlite_url).session() as s:
        assert sorted(s.scalars(select(Call.id))) == sorted(ids)
    assert writer.counters.totals()["stored"] == 7


@pytest.mark.parametrize("batch_pass", ["works", "fails", "fails-gathering"])
def test_a_batch_is_fingerprinted_as_each_call_alone(tmp_path, sqlite_url, monkeypatch, batch_pass):
    """The writer fingerprints a batch in one pass (agent.reuse.fingerprint_batch); the stored
    blobs are those of fingerprint() with each call's own prompt, and a failing batch pass falls
    back to one call at a time without losing a call."""
    from agent.reuse import fingerprint
    from agent.writer import drain

    if batch_pass == "fails":
        def broken(items):
            raise MemoryError("batch pass")
        monkeypatch.setattr(drain, "fingerprint_many", broken)
    if batch_pass == "fails-gathering":  # what to fingerprint could not be listed: the same fallback
        def unlisted(parsed, prompts=None):
            raise ValueError("no outputs to list")
        monkeypatch.setattr(drain, "fingerprint_items", unlisted)
    journal = Journal(tmp_path / "j", 1 << 30)
    fill(journal, 12)
    run_writer(journal, sqlite_url)
    with open_store(sqlite_url).session() as s:
        rows = s.execute(select(Output.fingerprint, Output.text)).all()
    assert len(rows) == 12
    for blob, text in rows:
        question = text.removeprefix("Answer: ")
        assert blob == fingerprint(text, [question]).to_blob()
        assert blob != fingerprint(text).to_blob()  # the prompt's echo marks are there


def test_replays_are_counted_by_returning_where_the_driver_gives_no_row_count(tmp_path, sqlite_url, monkeypatch):
    """The call rows are counted by the driver's executemany row count; a driver that reports
    none is counted through RETURNING instead, with the same honest totals."""
    from agent.writer import drain

    monkeypatch.setattr(drain, "_NO_ROWCOUNT", {"pysqlite"})
    journal = Journal(tmp_path / "j", 1 << 30)
    fill(journal, 9)
    first = run_writer(journal, sqlite_url)
    (tmp_path / "j" / "ack").unlink()  # as if the process died before acknowledging
    again = run_writer(Journal(tmp_path / "j", 1 << 30), sqlite_url)
    assert first.totals()["stored"] == 9 and again.totals().get("replayed") == 9
    assert not again.totals().get("stored")


def test_the_writer_s_collector_settings_still_collect_cycles():
    """tune_gc freezes what startup made and collects the young less often, never not at all: a
    reference cycle made afterwards is freed once enough objects were allocated."""
    import gc
    import weakref

    from agent.writer import drain

    before = gc.get_threshold()
    try:
        drain.tune_gc()
        assert gc.isenabled() and gc.get_threshold() == drain.GC_THRESHOLDS

        class Node:
            pass

        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        assert gone() is not None  # only a collection frees a cycle
        keep = [[] for _ in range(3 * drain.GC_THRESHOLDS[0])]  # allocations drive the young collections
        assert gone() is None
        del keep
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
