"""Delivers the outbox: due alerts to their sinks, retried with backoff until they are taken.

One pass claims the due alerts and sends each sink's in order, sinks side by side (a sink that
hangs until its timeout holds back only its own alerts). After a sink fails, its other alerts
wait until that failed alert's next attempt, so a sink that is down costs one attempt per retry
interval, not one per alert; the others keep being served. Alerts for a sink no longer in the
config stay in the outbox (and in `aiaudit status`) until it is configured again.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from agent.alerts import outbox
from agent.alerts.sinks import SinkError
from agent.alerts.sinks import send

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, store, settings, *, on_line=None, poll_seconds: float = 1.0) -> None:
        self.store, self.settings = store, settings
        self.say = on_line or log.info
        self.poll_seconds = poll_seconds
        self.paused_until: dict[str, dt.datetime] = {}
        self.stats: Counter[tuple[str, str]] = Counter()  # (sink, delivered | failed)
        self._lock = threading.Lock()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, now: dt.datetime | None = None) -> int:
        """One pass over the due alerts; each sink's are sent in a thread of their own, so a sink
        that hangs until its timeout does not hold back the others."""
        now = now or dt.datetime.now(dt.timezone.utc)
        configured = {s.name for s in self.settings.sinks}
        paused = {name for name, until in self.paused_until.items() if until > now}
        by_sink: dict[str, list] = {}
        for row in outbox.claim_due(self.store, now, skip_sinks=paused | self._unconfigured(configured)):
            by_sink.setdefault(row.sink, []).append(row)
        if not by_sink:
            return 0
        if len(by_sink) == 1:
            return self._send_all(*next(iter(by_sink.items())))
        with ThreadPoolExecutor(max_workers=len(by_sink), thread_name_prefix="aiaudit-alerts-sink") as pool:
            return sum(pool.map(lambda item: self._send_all(*item), by_sink.items()))

    def _send_all(self, name: str, rows: list) -> int:
        """Send one sink's claimed alerts in order; after a failure give the rest back."""
        sink = self.settings.sink(name)
        delivered = 0
        for i, row in enumerate(rows):
            if sink is None or self.stopping.is_set():
                for rest in rows[i:]:
                    outbox.release(self.store, rest.id)
                break
            attempt_at = dt.datetime.now(dt.timezone.utc)
            try:
                send(sink, row.payload, attempt_at)
            except SinkError as e:
                retry_at = outbox.mark_failed(self.store, row, str(e), attempt_at, self.settings)
                with self._lock:
                    self.paused_until[name] = retry_at
                    self.stats[(name, "failed")] += 1
                self.say(f"aiaudit alerts: sink {name}: delivery failed ({e}); attempt {row.attempts + 1}, "
                         f"next at {retry_at.strftime('%H:%M:%S')}")
                for rest in rows[i + 1:]:
                    outbox.release(self.store, rest.id)
                break
            outbox.mark_delivered(self.store, row.id, dt.datetime.now(dt.timezone.utc))
            with self._lock:
                self.paused_until.pop(name, None)
                self.stats[(name, "delivered")] += 1
            delivered += 1
        return delivered

    def _unconfigured(self, configured: set[str]) -> set[str]:
        return {name for name in outbox.pending_sinks(self.store) if name not in configured}

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.run_once()
            except Exception as e:  # the store is down: the alerts wait in it; try again
                self.say(f"aiaudit alerts: cannot read the outbox ({type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}); retrying")
                self.stopping.wait(min(30.0, self.settings.retry_seconds))
            self.wake.wait(self.poll_seconds)
            self.wake.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="aiaudit-alerts-dispatch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
