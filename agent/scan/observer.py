"""`aiaudit watch`: dataset directories followed with watchdog, reconciled by periodic rescans.

One observer for all roots. Handlers only note "this path changed" in a dict (they never raise: an
exception would kill watchdog's thread and every later event with it); a worker thread reads a
file once it was closed after writing or has been quiet for `quiet_seconds`, so half-written files
are not read. Moves count for their destination (editors save by temp file + rename), deletions
mark the file (or every file of a deleted directory) gone and remove its sketch. Events can be
lost (inotify queue overflow, limits, network filesystems), so every `rescan_seconds` each root is
walked: anything whose size, mtime or inode differ from the stored state is read, and files
deleted since are marked gone. A lost event costs latency, never a finding. On network
filesystems (`poll: true`) or when inotify limits are hit, a polling observer takes over, and
says so.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent
from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from agent.errors import internal_reason
from agent.reuse.outputs import SyncedOutputIndex
from agent.scan.scan import Scanner
from agent.scan.walk import iter_files
from agent.scan.walk import supported
from agent.store.engine import Store

log = logging.getLogger(__name__)


def shown(path: Path | str) -> str:
    """A root as it may be said or stored: a URL without its userinfo or query (secrets)."""
    from agent.scan.sources import public_url

    return public_url(path) if isinstance(path, str) else str(path)


@dataclass
class Root:
    path: Path | str  # str: an object store's URL, followed by listing it every rescan (no events)
    poll: bool = False


class ChangeHandler(FileSystemEventHandler):
    """Notes changed paths for the worker; never raises into the observer thread."""

    def __init__(self, pending: dict[str, tuple[float, bool]], lock: threading.Lock, wake: threading.Event) -> None:
        self.pending, self.lock, self.wake = pending, lock, wake
        self.errors = 0

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            if event.is_directory:
                if event.event_type in ("created", "moved"):  # a tree moved in: walk it
                    self._note(str(getattr(event, "dest_path", "") or event.src_path), ready=False, tree=True)
                return
            kind = event.event_type
            if kind == "moved":
                self._note(str(event.src_path), ready=True, gone=True)
                self._note(str(event.dest_path), ready=True)
            elif kind == "deleted":
                self._note(str(event.src_path), ready=True, gone=True)
            elif kind == "closed":  # closed after writing (inotify): complete now
                self._note(str(event.src_path), ready=True)
            elif kind in ("created", "modified"):
                self._note(str(event.src_path), ready=False)
        except Exception:
            self.errors += 1
            log.exception("aiaudit watch: could not handle %r; the next rescan covers it", event)

    def _note(self, path: str, *, ready: bool, gone: bool = False, tree: bool = False) -> None:
        if not tree and not gone and not supported(Path(path)):
            return
        with self.lock:
            _, was_ready = self.pending.get(path, (0.0, False))
            self.pending[path] = (time.monotonic(), ready or was_ready)
        self.wake.set()


class Watcher:
    def __init__(self, store: Store, output_index: SyncedOutputIndex, roots: list[Root], *, quiet_seconds: float,
                 rescan_seconds: float, on_line=print) -> None:
        self.store, self.output_index, self.roots = store, output_index, roots
        self.quiet, self.rescan_every = quiet_seconds, rescan_seconds
        self.say = on_line
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.pending: dict[str, tuple[float, bool]] = {}
        self.handler = ChangeHandler(self.pending, self.lock, self.wake)
        self.scanner = Scanner(store, output_index, on_error=lambda line: self.say(line))
        self.observers: list[BaseObserver] = []
        self.polling: list[str] = []
        self.stats = {"files_read": 0, "records": 0, "findings": 0, "rescans": 0, "errors": 0}

    # -- observers --

    def start_observers(self) -> None:
        local = [r for r in self.roots if isinstance(r.path, Path)]
        native = [r for r in local if not r.poll]
        polled = [r for r in local if r.poll]
        if native:
            observer = Observer()
            try:
                for root in native:
                    observer.schedule(self.handler, str(root.path), recursive=True)
                observer.start()
                self.observers.append(observer)
            except OSError as e:  # ENOSPC / EMFILE: inotify watch or instance limit reached
                self.say(f"aiaudit watch: inotify unavailable ({e.strerror or e}; see fs.inotify.max_user_watches); "
                         "polling instead")
                try:
                    observer.stop()
                except Exception:
                    pass
                polled += native
        if polled:
            observer = PollingObserver(timeout=max(1.0, self.quiet))
            for root in polled:
                observer.schedule(self.handler, str(root.path), recursive=True)
                self.polling.append(str(root.path))
            observer.start()
            self.observers.append(observer)
            self.say(f"aiaudit watch: polling {', '.join(self.polling)}")

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    # -- the worker --

    def run(self) -> None:
        self.start_observers()
        for root in self.roots:
            self.say(f"aiaudit watch: watching {shown(root.path)}")
        next_rescan = 0.0  # reconcile at start: catches what changed while we were down
        try:
            while not self.stopping.is_set():
                now = time.monotonic()
                if now >= next_rescan:
                    done = self.reconcile()
                    # a rescan missed for a store outage (the one at start-up catches up on
                    # what changed while we were down) is tried again soon, not in rescan_seconds
                    next_rescan = time.monotonic() + (self.rescan_every if done else min(self.rescan_every, 10))
                self.process_ready()
                self.supervise()
                self.heartbeat()
                self.wake.wait(min(0.5, self.quiet / 2))
                self.wake.clear()
        finally:
            for observer in self.observers:
                observer.stop()
            for observer in self.observers:
                observer.join(5)
            self.heartbeat(force=True)

    def supervise(self) -> None:
        """An observer thread that died (it should not) is replaced, and a rescan covers the gap."""
        for i, observer in enumerate(self.observers):
            if not observer.is_alive() and not self.stopping.is_set():
                self.say("aiaudit watch: the observer stopped; restarting it and rescanning")
                self.observers.pop(i)
                self.start_observers()
                self.reconcile()
                return

    def process_ready(self) -> None:
        now = time.monotonic()
        with self.lock:
            ready = [p for p, (t, closed) in self.pending.items() if closed or now - t >= self.quiet]
            for p in ready:
                del self.pending[p]
        if ready and not self._sync():
            with self.lock:  # read them once the index can be brought up to date
                for p in ready:
                    self.pending.setdefault(p, (now, False))
            return
        for path_text in sorted(ready):
            path = Path(path_text)
            root = self._root_of(path)
            if root is None:
                continue
            try:
                if path.is_dir():
                    for file in iter_files(path):
                        self._scan(file, root)
                elif path.exists() or path.is_symlink():
                    self._scan(path, root)
                else:
                    self.scanner.forget(path)
            except Exception as e:  # one bad file must not stop the watcher
                self.stats["errors"] += 1
                self.say(f"{path}: {internal_reason(e, f'aiaudit watch: {path}')}")

    def reconcile(self) -> bool:
        """Rescan every root; False when the store could not be read (retried sooner)."""
        self.stats["rescans"] += 1
        if not self._sync():
            return False
        for root in self.roots:
            if isinstance(root.path, str):
                self._list_remote(root.path)
                continue
            unlisted: list[str] = []
            seen: set[str] = set()
            for path in iter_files(root.path, unlisted):
                if self.stopping.is_set():
                    return True
                seen.add(str(path))
                try:
                    self._scan(path, root.path)
                except Exception as e:
                    self.stats["errors"] += 1
                    self.say(f"{path}: {internal_reason(e, f'aiaudit watch: {path}')}")
            # deletions whose events were lost: the rescan is what catches them
            for result in self.scanner.forget_missing_reported(root.path, seen):
                self._counted(result, root.path)
            for line in unlisted:  # the files in there are not watched either
                self.stats["errors"] += 1
                self.say(line)
        try:
            from agent.reuse.uploads import match_uploads

            match_uploads(self.store, self.output_index)
        except Exception as e:
            self.say(f"aiaudit watch: matching training uploads failed: {e}")
        return True

    def _sync(self) -> bool:
        """Bring the index up to date with the store; False (said once per failure) if the
        store cannot be read now: files wait rather than being matched against a stale index."""
        try:
            self.output_index.sync()
        except Exception as e:
            if not self._sync_failing:  # retried every half second: one line per outage
                self.stats["errors"] += 1
                self.say(f"aiaudit watch: the index cannot be updated from the store, files wait: "
                         f"{internal_reason(e, 'aiaudit watch: index sync')}")
            self._sync_failing = True
            return False
        if self._sync_failing:
            self.say("aiaudit watch: the index is up to date with the store again")
        self._sync_failing = False
        return True

    def _list_remote(self, url: str) -> None:
        """An object store: list it and read what is new or changed. A listing that fails is said
        (one line, counted) and tried again at the next rescan; it never stops the watcher."""
        from agent.scan.remote import scan_url

        for result in scan_url(self.scanner, url):
            if self.stopping.is_set():
                return
            self._counted(result, result.path)

    def _scan(self, path: Path, root: Path) -> None:
        self._counted(self.scanner.scan_file(path, root), path)

    def _counted(self, result, path) -> None:
        if result.state == "error":
            self.stats["errors"] += 1
        if result.state in ("scanned", "resumed"):
            self.stats["files_read"] += 1
            self.stats["records"] += result.records
            self.stats["findings"] += result.new_findings
            if result.new_findings:
                self.say(f"{path}: {result.new_findings} records reuse captured outputs")

    def _root_of(self, path: Path) -> Path | None:
        for root in self.roots:
            if isinstance(root.path, str):
                continue
            if path == root.path or path.is_relative_to(root.path):
                return root.path
        return None

    _last_beat = 0.0
    _sync_failing = False

    def heartbeat(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._last_beat < 10:
            return
        self._last_beat = time.monotonic()
        from sqlalchemy.dialects import postgresql
        from sqlalchemy.dialects import sqlite

        from agent.store.models import Heartbeat

        with self.lock:
            backlog = len(self.pending)
        state = {**self.stats, "pending": backlog, "polling": self.polling, "roots": [shown(r.path) for r in self.roots],
                 "summary": f"{self.stats['files_read']} files read, {self.stats['findings']} new findings, "
                            f"{backlog} waiting, {'polling' if self.polling else 'inotify'}"}
        now = dt.datetime.now(dt.timezone.utc)
        try:
            ins = (postgresql.insert if self.store.dialect == "postgresql" else sqlite.insert)(Heartbeat)
            stmt = ins.values(component="watch", host=socket.gethostname(), state=state, updated_at=now)
            with self.store.write_session() as s:
                s.execute(stmt.on_conflict_do_update(index_elements=["component", "host"],
                                                     set_={"state": state, "updated_at": now}))
        except Exception as e:
            log.warning("aiaudit watch: heartbeat not written: %s", e)
