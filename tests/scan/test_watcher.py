"""`aiaudit watch` with real watchdog observers on real directories."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
from sqlalchemy import select

from agent.scan.observer import ChangeHandler
from agent.scan.observer import Root
from agent.scan.observer import Watcher
from agent.store.models import DatasetFile
from agent.store.models import ReuseFinding


def records_found(store) -> set[tuple[str, int]]:
    with store.session() as s:
        return {(os.path.basename(p), r) for p, r in s.execute(select(ReuseFinding.path, ReuseFinding.record))}


def calls_of(store, name: str) -> list[list[str]]:
    with store.session() as s:
        return [c for p, c in s.execute(select(ReuseFinding.path, ReuseFinding.call_ids)) if p.endswith(name)]


def states(store) -> dict[str, str]:
    with store.session() as s:
        return {os.path.basename(p): st for p, st in s.execute(select(DatasetFile.path, DatasetFile.state))}


def wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


class Running:
    def __init__(self, store, output_index, root, *, poll=False, rescan=3600.0) -> None:
        self.lines: list[str] = []
        self.watcher = Watcher(store, output_index, [Root(root, poll)], quiet_seconds=0.5, rescan_seconds=rescan,
                               on_line=self.lines.append)
        self.thread = threading.Thread(target=self.watcher.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        assert wait_for(lambda: self.watcher.stats["rescans"] >= 1 and self.watcher.observers)
        return self

    def __exit__(self, *exc):
        self.watcher.stop()
        self.thread.join(20)
        assert not self.thread.is_alive()


def line(text: str) -> str:
    return json.dumps({"output": text}) + "\n"


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "datasets"
    path.mkdir()
    return path


def test_created_appended_renamed_and_truncated_files(captured, root):
    store, output_index, texts, call_ids = captured
    with Running(store, output_index, root) as running:
        (root / "a.jsonl").write_text(line(texts[0]))
        assert wait_for(lambda: ("a.jsonl", 1) in records_found(store))

        with open(root / "a.jsonl", "a") as f:
            f.write(line("nothing to see") + line(texts[1]))
        assert wait_for(lambda: ("a.jsonl", 3) in records_found(store))

        tmp = root / ".b.jsonl.tmp"  # an editor's save: temp file, then rename
        tmp.write_text(line(texts[2]))
        os.replace(tmp, root / "b.jsonl")
        assert wait_for(lambda: ("b.jsonl", 1) in records_found(store))

        (root / "a.jsonl").write_text(line(texts[3]))  # truncated and rewritten
        assert wait_for(lambda: [call_ids[3]] in calls_of(store, "a.jsonl"))
        (root / "sub").mkdir()
        (root / "sub" / "c.csv").write_text("prompt,completion\nq," + texts[4].replace(",", " ") + "\n")
        assert wait_for(lambda: ("c.csv", 1) in records_found(store))
    assert not any("Traceback" in x for x in running.lines)


def test_a_slowly_written_file_is_read_when_complete(captured, root):
    store, output_index, texts, _ = captured
    with Running(store, output_index, root) as running:
        with open(root / "slow.jsonl", "w") as f:
            payload = line(texts[5])
            for i in range(0, len(payload), 40):
                f.write(payload[i:i + 40])
                f.flush()
                time.sleep(0.05)
            time.sleep(1.2)  # quiet longer than quiet_seconds while still open, mid-file
            f.write(line(texts[6]))
        assert wait_for(lambda: {("slow.jsonl", 1), ("slow.jsonl", 2)} <= records_found(store))
    assert not [x for x in running.lines if "slow.jsonl" in x and "invalid" in x]


def test_a_file_moved_in_from_outside(captured, root, tmp_path):
    store, output_index, texts, _ = captured
    outside = tmp_path / "incoming.jsonl"
    outside.write_text(line(texts[7]))
    with Running(store, output_index, root):
        os.replace(outside, root / "moved.jsonl")
        assert wait_for(lambda: ("moved.jsonl", 1) in records_found(store))


def test_restart_picks_up_what_changed_while_down_and_rereads_nothing_else(captured, root):
    store, output_index, texts, _ = captured
    (root / "old.jsonl").write_text(line(texts[0]))
    with Running(store, output_index, root) as first:
        assert wait_for(lambda: ("old.jsonl", 1) in records_found(store))
    assert first.watcher.stats["files_read"] == 1
    (root / "new.jsonl").write_text(line(texts[1]))  # while the watcher is down
    with Running(store, output_index, root) as second:
        assert wait_for(lambda: ("new.jsonl", 1) in records_found(store))
    assert second.watcher.stats["files_read"] == 1  # old.jsonl was not read again


def test_lost_events_are_caught_by_the_periodic_rescan(captured, root, monkeypatch):
    store, output_index, texts, _ = captured
    monkeypatch.setattr(ChangeHandler, "on_any_event", lambda self, event: None)  # every event lost
    with Running(store, output_index, root, rescan=1.0):
        (root / "quiet.jsonl").write_text(line(texts[8]))
        assert wait_for(lambda: ("quiet.jsonl", 1) in records_found(store), timeout=10)
        (root / "quiet.jsonl").unlink()  # its delete event is lost too
        assert wait_for(lambda: states(store) == {"quiet.jsonl": "gone"}, timeout=10)
    assert ("quiet.jsonl", 1) in records_found(store)  # the finding stays, as evidence


def test_a_deleted_directory_marks_every_file_in_it_gone(captured, root):
    store, output_index, texts, _ = captured
    (root / "sub").mkdir()
    (root / "sub" / "a.jsonl").write_text(line(texts[0]))
    (root / "sub" / "b.jsonl").write_text(line(texts[1]))
    (root / "c.jsonl").write_text(line(texts[2]))
    with Running(store, output_index, root):
        assert wait_for(lambda: len(states(store)) == 3)
        for name in ("a.jsonl", "b.jsonl"):
            (root / "sub" / name).unlink()
        (root / "sub").rmdir()
        assert wait_for(lambda: states(store) == {"a.jsonl": "gone", "b.jsonl": "gone", "c.jsonl": "ok"})


def test_polling_observer_for_network_filesystems(captured, root):
    store, output_index, texts, _ = captured
    with Running(store, output_index, root, poll=True) as running:
        assert running.watcher.polling == [str(root)]
        (root / "p.jsonl").write_text(line(texts[9]))
        assert wait_for(lambda: ("p.jsonl", 1) in records_found(store))
    assert any("polling" in x for x in running.lines)


def test_handler_never_raises_into_the_observer():
    handler = ChangeHandler({}, threading.Lock(), threading.Event())
    handler.on_any_event(object())  # not an event at all
    assert handler.errors == 1


def test_a_store_outage_makes_files_wait_and_the_watcher_go_on(tmp_path, captured, monkeypatch):
    """The index cannot be brought up to date (the store is unreachable: simulated, since the
    shared PostgreSQL server may not be stopped here): files wait, one line says so, and they are
    read once the store answers again."""
    store, output_index, texts, _ = captured
    root = tmp_path / "data"
    root.mkdir()
    real_sync, outage = output_index.sync, threading.Event()

    def sync():
        if outage.is_set():
            raise ConnectionError("the store is down")
        return real_sync()

    output_index.sync = sync
    monkeypatch.setenv("AIAUDIT_ERROR_LOG", str(tmp_path / "errors.log"))
    with Running(store, output_index, root) as running:
        assert wait_for(lambda: running.watcher._last_beat > 0)  # the first rescan is over
        outage.set()
        (root / "a.jsonl").write_text(line(texts[4]))
        assert wait_for(lambda: any("files wait" in x for x in running.lines))
        time.sleep(1.5)  # several retries meanwhile: still one line for the outage
        assert sum("files wait" in x for x in running.lines) == 1
        assert records_found(store) == set()
        outage.clear()
        assert wait_for(lambda: ("a.jsonl", 1) in records_found(store))
        assert any("up to date with the store again" in x for x in running.lines)
    assert "ConnectionError: the store is down" in (tmp_path / "errors.log").read_text()
