"""A journal belongs to the store it was first drained into: a writer pointed at another store
refuses, counts it and loses nothing; the right store still gets every call."""

from __future__ import annotations

import time

from sqlalchemy import select

from agent.commands.status import collect
from agent.config import database_key
from agent.config import load_config
from agent.proxy.counters import CaptureCounters
from agent.proxy.journal import Journal
from agent.proxy.journal import JournalStoreMismatch
from agent.proxy.journal import bind_journal
from agent.proxy.journal import journal_refusals
from agent.proxy.journal import journal_store
from agent.store.engine import open_store
from agent.store.identity import read_identity
from agent.store.models import Call
from agent.writer.attribution import Attributor
from agent.writer.drain import CaptureWriter
from agent.writer.fleet import journal_pending
from tests.writer.test_drain import fill
from tests.writer.test_drain import run_writer


def calls_in(url: str) -> set[str]:
    store = open_store(url)
    with store.session() as s:
        return set(s.scalars(select(Call.id)))


def test_a_journal_is_never_drained_into_another_store(tmp_path):
    url_a, url_b = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    journal = Journal(tmp_path / "journal", 1 << 30)
    first = fill(journal, 5)
    run_writer(journal, url_a)
    assert calls_in(url_a) == set(first)
    assert journal_store(journal.dir) == read_identity(open_store(url_a)).store_id
    later = fill(journal, 4)  # captured while the proxy was (wrongly) pointed at store B
    refused = CaptureWriter(journal, CaptureCounters(), url_b, Attributor((), None), store_text="none",
                            excerpt_chars=10, max_body_bytes=1 << 20)
    refused.start()
    time.sleep(2)  # the first attempt and one retry after the backoff
    refused.stop(timeout=1)
    assert "JournalStoreMismatch" in refused.last_error
    assert calls_in(url_b) == set()
    assert journal_refusals(journal.dir)["count"] >= 1
    assert journal_refusals(journal.dir)["store_id"] == read_identity(open_store(url_b)).store_id
    assert journal_pending(journal.dir)[0] == 4  # nothing lost, nothing acknowledged
    # status on store B says whose records they are, and does not count them as B's
    config = load_config(None, url_b)
    config = type(config)(**{**config.__dict__, "journal_dir": journal.dir})
    report = collect(config, open_store(url_b))
    assert report["pending"] == 0 and report["captured"] == 0
    assert report["journal"]["other_store"] and report["journal"]["records"] == 4
    assert report["journal"]["refused"] >= 1 and report["store_id"] == read_identity(open_store(url_b)).store_id
    run_writer(journal, url_a)
    assert calls_in(url_a) == set(first) | set(later)
    assert journal_pending(journal.dir)[0] == 0


def test_binding_is_first_come_and_checked(tmp_path):
    directory = tmp_path / "j"
    directory.mkdir()
    assert journal_store(directory) is None
    bind_journal(directory, "store-one")
    bind_journal(directory, "store-one")
    try:
        bind_journal(directory, "store-two")
    except JournalStoreMismatch as e:
        assert "belongs to store store-one, not to this one (store-two)" in str(e)
    else:
        raise AssertionError("a second store was accepted")
    assert journal_store(directory) == "store-one" and journal_refusals(directory)["count"] == 1


def test_default_journals_are_per_database(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    a = load_config(None, f"sqlite:///{tmp_path / 'a.db'}").journal_dir
    b = load_config(None, f"sqlite:///{tmp_path / 'b.db'}").journal_dir
    assert a != b and a.parent == b.parent == tmp_path / "xdg" / "aiaudit" / "journals"
    # the same database however it is spelled: relative path, or another password
    assert load_config(None, "sqlite:///a.db").journal_dir == a
    assert database_key("postgresql+psycopg://u:one@db.example/audit") == \
        database_key("postgresql+psycopg://u:two@db.example/audit")
    assert database_key("postgresql+psycopg://u:p@db.example/audit") != \
        database_key("postgresql+psycopg://u:p@db.example/other")


def test_an_empty_journal_follows_a_database_recreated_under_its_url(tmp_path):
    """`rm audit.db` (or DROP DATABASE) with everything stored: the journal holds nothing of the
    old store, so it is rebound to the new one instead of blocking capture into it for ever."""
    path = tmp_path / "audit.db"
    url = f"sqlite:///{path}"
    journal = Journal(tmp_path / "journal", 1 << 30)
    run_writer(journal, url) if fill(journal, 2) else None
    old_id = journal_store(journal.dir)
    for leftover in tmp_path.glob("audit.db*"):
        leftover.unlink()
    later = fill(journal, 3)
    # pending records: they may be the old store's, so the new store is refused
    refused = CaptureWriter(journal, CaptureCounters(), url, Attributor((), None), store_text="none",
                            excerpt_chars=10, max_body_bytes=1 << 20)
    refused.start()
    time.sleep(1)
    refused.stop(timeout=1)
    assert calls_in(url) == set() and journal_store(journal.dir) == old_id
    # once nothing is pending (here: the three are stored where they belong) it is rebound
    bind_journal(journal.dir, old_id)
    assert journal_pending(journal.dir)[0] == 3 and later
    new_id = read_identity(open_store(url)).store_id
    bind_journal(journal.dir, new_id, empty=True)
    assert journal_store(journal.dir) == new_id
    run_writer(journal, url)
    assert calls_in(url) == set(later)
