"""`aiaudit status` accounts for every record of every proxy: captured = stored + pending + dropped,
per proxy identity, with each one's backlog, heartbeat age and store errors."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import socket
import threading
import time

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from agent.commands.status import _seconds
from agent.commands.status_text import _age
from agent.config import load_config_text
from agent.proxy.counters import CaptureCounters
from agent.proxy.journal import Journal
from agent.store.engine import open_store
from agent.store.models import ProxyHeartbeat
from agent.writer.attribution import Attributor
from agent.writer.drain import CaptureWriter
from agent.writer.fleet import _health
from agent.writer.fleet import collect
from agent.writer.heartbeat import STATE_FILE
from agent.writer.heartbeat import read_local
from agent.writer.proxy_identity import read_identity
from tests.writer.test_drain import fill
from tests.writer.test_drain import run_writer


def write_config(path, url, journal_dir):
    path.write_text(f"database_url: {url}\ncapture:\n  journal_dir: {journal_dir}\n")
    return path


def status(run_cli, cfg, *extra):
    result = run_cli("--config", str(cfg), "status", "--format", "json", *extra)
    assert result.returncode in (0, 3), result.stderr
    return json.loads(result.stdout), result


def peek(cfg, stale_after=60.0):
    """What `status --format json` reports, computed in this process (cheap enough to poll)."""
    config = load_config_text(cfg.read_text())
    try:
        store = open_store(config.database_url)
    except Exception:  # the store is away: what this host knows
        return collect(config, None, stale_after=stale_after)
    try:
        return collect(config, store, stale_after=stale_after)
    finally:
        store.dispose()


def new_writer(journal, url, batch_size=200):
    return CaptureWriter(journal, CaptureCounters(), url, Attributor((), None), store_text="none",
                         excerpt_chars=10, max_body_bytes=1 << 20, batch_size=batch_size)


def test_status_balances_stored_pending_and_dropped(run_cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    journal_dir = tmp_path / "journal"
    cfg = write_config(tmp_path / "aiaudit.yaml", url, journal_dir)

    journal = Journal(journal_dir, 1 << 30)
    fill(journal, 6)
    counters = CaptureCounters()
    counters.drop("journal_full", 2)  # two calls the hook could not journal
    run_writer(journal, url, counters)  # stores the 6, persists the 2 drops
    fill(Journal(journal_dir, 1 << 30), 3)  # three more waiting for a writer

    report, _ = status(run_cli, cfg)
    assert report["stored"] == 6 and report["pending"] == 3
    assert report["dropped"] == {"journal_full": 2}
    assert report["captured"] == 11 == report["stored"] + report["pending"] + sum(report["dropped"].values())
    assert report["journal"]["records"] == 3 and report["journal"]["bytes"] > 0
    [proxy] = report["proxies"]
    assert proxy["id"] == read_identity(journal_dir) == report["journal"]["proxy_id"]
    assert proxy["host"] == socket.gethostname() and proxy["this_host"]
    assert (proxy["captured"], proxy["stored"], proxy["pending"], proxy["dropped"]) == (11, 6, 3, {"journal_full": 2})
    assert proxy["pending_from"] == "journal" and proxy["health"] == "stopped"
    assert proxy["current_error"] is None and proxy["previous_error"] is None and proxy["last_error"] is None

    text = run_cli("--config", str(cfg), "status")
    assert text.returncode == 0
    assert "captured 11 = stored 6 + pending 3 + dropped 2" in text.stdout
    assert "dropped:journal_full 2" in text.stdout
    assert f"proxy {socket.gethostname()} [{proxy['id']}], this host: stopped at" in text.stdout


def test_status_on_a_fresh_install(run_cli, tmp_path):
    result = run_cli("--db", f"sqlite:///{tmp_path / 'a.db'}", "status")
    assert result.returncode == 0
    assert "captured 0 = stored 0 + pending 0 + dropped 0" in result.stdout
    assert "no proxy or watcher has reported yet" in result.stdout


def test_two_proxies_on_one_host_are_counted_apart_with_their_backlogs(run_cli, tmp_path, db_url):
    """Same host name, one store: each proxy has its own line, and another host sees both
    backlogs through their heartbeats."""
    ja, jb = Journal(tmp_path / "a", 1 << 30), Journal(tmp_path / "b", 1 << 30)
    fill(ja, 4)
    run_writer(ja, db_url)
    fill(jb, 9)
    b = new_writer(Journal(tmp_path / "b", 1 << 30, readonly=True), db_url, batch_size=2)
    assert b._step()  # two stored, seven still waiting
    b._beat_if_due()
    b._reset_store()

    elsewhere = write_config(tmp_path / "elsewhere.yaml", db_url, tmp_path / "empty-journal")
    report, _ = status(run_cli, elsewhere)
    by_id = {p["id"]: p for p in report["proxies"]}
    ida, idb = read_identity(tmp_path / "a"), read_identity(tmp_path / "b")
    assert set(by_id) == {ida, idb} and ida != idb
    assert by_id[ida]["host"] == by_id[idb]["host"] == socket.gethostname()
    assert (by_id[ida]["stored"], by_id[ida]["pending"], by_id[ida]["health"]) == (4, 0, "stopped")
    assert (by_id[idb]["stored"], by_id[idb]["pending"], by_id[idb]["pending_from"]) == (2, 7, "heartbeat")
    assert by_id[idb]["health"] == "running" and by_id[idb]["lag_s"] >= 0 and by_id[idb]["pending_bytes"] > 0
    assert not any(p["this_host"] for p in report["proxies"])
    assert (report["captured"], report["stored"], report["pending"]) == (13, 6, 7)

    text = run_cli("--config", str(elsewhere), "status").stdout
    assert f"proxy {socket.gethostname()} [{ida}]: stopped at" in text
    assert f"proxy {socket.gethostname()} [{idb}]: running" in text
    assert "backlog 7 calls" in text


def test_a_proxy_that_stopped_reporting_is_shown_stale(run_cli, tmp_path, sqlite_url):
    journal = Journal(tmp_path / "j", 1 << 30)
    fill(journal, 2)
    w = new_writer(Journal(tmp_path / "j", 1 << 30, readonly=True), sqlite_url)
    w._step()
    w._beat_if_due()  # running... and then it is never heard of again (as after kill -9)
    w._reset_store()
    cfg = write_config(tmp_path / "elsewhere.yaml", sqlite_url, tmp_path / "other")
    assert peek(cfg)["proxies"][0]["health"] == "running"
    store = open_store(sqlite_url)
    with store.write_session() as s:  # ten minutes pass
        beat = s.get(ProxyHeartbeat, read_identity(tmp_path / "j"))
        beat.seen_at -= dt.timedelta(minutes=10)
    report, _ = status(run_cli, cfg)
    assert report["proxies"][0]["health"] == "stale" and report["proxies"][0]["heartbeat_age_s"] >= 600
    text = run_cli("--config", str(cfg), "status").stdout
    assert "STALE: no heartbeat for 10 min (down, or cut off from the store)" in text
    assert peek(cfg, stale_after=3600)["proxies"][0]["health"] == "running"


@pytest.mark.parametrize("bad", ["0", "-5", "soon", "nan", "inf", ""])
def test_stale_after_must_be_seconds(run_cli, tmp_path, bad):
    result = run_cli("--db", f"sqlite:///{tmp_path / 'a.db'}", "status", "--stale-after", bad)
    assert result.returncode == 2 and "--stale-after" in result.stderr and "Traceback" not in result.stderr


@given(st.text(max_size=20))
def test_stale_after_parsing_accepts_only_positive_finite_seconds(value):
    try:
        seconds = _seconds(value)
    except argparse.ArgumentTypeError as e:
        assert repr(value) in str(e)
    else:
        assert 0 < seconds < 1e9 and seconds == float(value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                              st.sampled_from(["store", "at", "error", "last_error", "backlog", "host", "message",
                                               "since", "count", "records", "started_at", "stopped_at", "x"]),
                              inner, max_size=6), max_leaves=25))
def test_any_local_state_file_gives_a_report(tmp_path, state):
    """The local state file is the writer's, but status must survive whatever is in it."""
    d = tmp_path / "j"
    d.mkdir(exist_ok=True)
    (d / "proxy-id").write_text("0" * 32)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    if isinstance(state, dict) and "store" in state:
        state["store"] = url
    (d / STATE_FILE).write_text(json.dumps(state))
    config = load_config_text(f"database_url: {url}\ncapture:\n  journal_dir: {d}\n")
    report = collect(config, None)
    ours = not isinstance(state, dict) or state.get("store") == url  # else the file names another store
    assert len(report["proxies"]) == (1 if ours else 0)
    for proxy in report["proxies"]:
        assert proxy["id"] == "0" * 32 and proxy["health"] in {"running", "stale", "stopped", "unknown", "cut_off"}
    assert (report["journal"]["other_store"] is None) == ours
    json.dumps(report)


class Forwarder:
    """A TCP relay to the database that can be cut and restored: the network between a proxy
    and its store going away, without stopping a server others use."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def open(self) -> Forwarder:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        if self._listener is not None:
            try:  # wakes the accept() blocked in another thread; close() alone would not
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.postgres
def test_store_cut_off_and_back_current_error_then_history(run_cli, tmp_path, pg_url):
    real = make_url(pg_url)
    relay = Forwarder((real.host, real.port or 5432)).open()
    url = real.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    journal_dir = tmp_path / "journal"
    here = write_config(tmp_path / "here.yaml", url, journal_dir)
    elsewhere = write_config(tmp_path / "elsewhere.yaml", pg_url, tmp_path / "other")
    journal = Journal(journal_dir, 1 << 30)
    fill(journal, 3)
    writer = new_writer(Journal(journal_dir, 1 << 30, readonly=True), url)
    writer.start()
    try:
        _wait(lambda: peek(here)["stored"] == 3, 30, "the first calls to be stored")
        relay.cut()
        t_cut = dt.datetime.now(dt.timezone.utc)
        fill(journal, 5)  # captured while the store is away
        state = _wait(lambda: (s := read_local(journal_dir)) and s["error"] and s, 60, "the writer to notice")
        assert state["error"]["message"].startswith("OperationalError")

        report, result = status(run_cli, here)  # on the proxy's host, the store unreachable
        assert result.returncode == 3 and "cannot open the store" in result.stderr
        [proxy] = report["proxies"]
        assert proxy["pending"] == 5 and proxy["pending_from"] == "journal"
        assert proxy["health"] == "cut_off"
        assert proxy["current_error"]["current"] and proxy["current_error"]["message"].startswith("OperationalError")
        assert dt.datetime.fromisoformat(proxy["current_error"]["since"]) >= t_cut - dt.timedelta(seconds=1)
        text = run_cli("--config", str(here), "status").stdout
        assert "store error NOW: OperationalError" in text

        report = peek(elsewhere)  # another host still reaches the store
        [remote] = report["proxies"]
        assert remote["stored"] == 3 and remote["current_error"] is None

        relay.open()
        _wait(lambda: peek(here)["stored"] == 8, 90, "the backlog to drain")
        report, result = status(run_cli, here)
        assert result.returncode == 0
        [proxy] = report["proxies"]
        assert proxy["pending"] == 0 and proxy["current_error"] is None
        previous = proxy["previous_error"]
        assert previous["message"].startswith("OperationalError") and not previous["current"]
        assert previous["since"] == state["error"]["since"]
        assert dt.datetime.fromisoformat(previous["cleared_at"]) > dt.datetime.fromisoformat(previous["since"])
        report = peek(elsewhere)
        assert report["proxies"][0]["previous_error"]["since"] == previous["since"]
        assert report["proxies"][0]["current_error"] is None and report["proxies"][0]["health"] == "running"
        text = run_cli("--config", str(here), "status").stdout
        assert "store error NOW" not in text and "last store error (cleared" in text
    finally:
        writer.stop(timeout=10)
        relay.cut()


@given(age=st.floats(0, 1e7), stale_after=st.floats(0.001, 1e6), interval=st.floats(0, 1e4),
       stopped=st.booleans())
def test_health_is_stale_exactly_past_the_threshold(age, stale_after, interval, stopped):
    now = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.timezone.utc)
    seen = now - dt.timedelta(seconds=age)
    beat = {"seen_at": seen, "stopped_at": seen if stopped else None, "interval_s": interval}
    health, measured = _health(beat, now, stale_after)
    assert measured == pytest.approx((now - seen).total_seconds())
    limit = max(stale_after, 3 * interval)
    if stopped:
        assert health == "stopped"
    elif measured > limit:
        assert health == "stale"
    else:
        assert health == "running"
    assert _health(None, now, stale_after) == ("unknown", None)


@given(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)))
def test_ages_read_well_for_any_number_of_seconds(seconds):
    text = _age(seconds)
    if seconds is None or seconds != seconds or seconds == float("inf"):
        assert text == "an unknown time"
    else:  # a clock behind the proxy's gives a negative age: shown as 0, never as "-3 s"
        number, unit = text.split()
        assert unit in {"s", "min", "h"} and float(number) >= 0


def test_a_journal_written_for_another_store_is_not_counted_here(run_cli, tmp_path):
    first, second = f"sqlite:///{tmp_path / 'first.db'}", f"sqlite:///{tmp_path / 'second.db'}"
    journal = Journal(tmp_path / "j", 1 << 30)
    fill(journal, 2)
    run_writer(journal, first)
    fill(journal, 3)  # waiting for the first store
    report, _ = status(run_cli, write_config(tmp_path / "second.yaml", second, tmp_path / "j"))
    assert (report["captured"], report["pending"], report["proxies"]) == (0, 0, [])
    assert report["journal"]["other_store"] == first and report["journal"]["records"] == 3
    report, _ = status(run_cli, write_config(tmp_path / "first.yaml", first, tmp_path / "j"))
    assert (report["captured"], report["pending"], report["journal"]["other_store"]) == (5, 3, None)


def test_an_unreachable_store_still_shows_this_host_and_exits_3(run_cli, tmp_path):
    journal = Journal(tmp_path / "j", 1 << 30)
    fill(journal, 2)
    cfg = write_config(tmp_path / "a.yaml", "postgresql+psycopg://u:secret@127.0.0.1:1/db", tmp_path / "j")
    result = run_cli("--config", str(cfg), "status", timeout=60)
    assert result.returncode == 3
    assert "journal" in result.stdout and "2 records" in result.stdout
    assert result.stderr.count("\n") == 1 and "cannot open the store" in result.stderr
    assert "secret" not in result.stdout + result.stderr


@pytest.mark.parametrize("url", ["mysql://u:p@h/db", "not a url", "sqlite:////no/such/dir/a.db"])
def test_a_wrong_store_url_is_a_usage_error(run_cli, url):
    result = run_cli("--db", url, "status")
    assert result.returncode == 2 and result.stderr.startswith("aiaudit: ") and result.stderr.count("\n") == 1


def test_sqlite_store_locked_past_its_busy_timeout_then_released(run_cli, tmp_path, sqlite_url):
    """SQLite waits 30 s for a lock before it fails: only then is there an error to report."""
    import sqlite3

    journal_dir = tmp_path / "journal"
    cfg = write_config(tmp_path / "here.yaml", sqlite_url, journal_dir)
    config = load_config_text(cfg.read_text())
    journal = Journal(journal_dir, 1 << 30)
    fill(journal, 2)
    writer = new_writer(Journal(journal_dir, 1 << 30, readonly=True), sqlite_url)
    writer.start()
    store = open_store(sqlite_url)
    locked, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        conn = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=30, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        release.wait(120)
        conn.execute("ROLLBACK")
        conn.close()

    holder = threading.Thread(target=hold_the_lock)
    try:
        _wait(lambda: collect(config, store)["stored"] == 2, 30, "the first calls")
        holder.start()
        assert locked.wait(30)
        t_lock = time.time()
        fill(journal, 3)
        state = _wait(lambda: (s := read_local(journal_dir)) and s["error"] and s, 90, "the lock to time out")
        assert "database is locked" in state["error"]["message"]
        assert dt.datetime.fromisoformat(state["error"]["since"]).timestamp() >= t_lock + 25  # the busy wait
        [proxy] = collect(config, store)["proxies"]  # readers are not blocked (WAL)
        assert proxy["current_error"]["current"] and "database is locked" in proxy["current_error"]["message"]
        assert proxy["pending"] == 3 and proxy["stored"] == 2
        assert "store error NOW: OperationalError" in run_cli("--config", str(cfg), "status").stdout
        release.set()
        holder.join(30)
        _wait(lambda: (r := collect(config, store)) and r["stored"] == 5 and not r["proxies"][0]["current_error"],
              60, "the writer to recover")
        [proxy] = collect(config, store)["proxies"]
        assert "database is locked" in proxy["previous_error"]["message"] and proxy["pending"] == 0
        assert proxy["previous_error"]["since"] == state["error"]["since"] and proxy["previous_error"]["cleared_at"]
    finally:
        release.set()
        if holder.is_alive():
            holder.join(30)
        writer.stop(timeout=10)
        store.dispose()
