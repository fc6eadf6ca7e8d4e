"""Prometheus exposition: the capture writer's and the watcher's health, and `aiaudit status
--format prometheus` for node_exporter's textfile collector.

Metrics are read when scraped, from what each component already keeps (collectors, not
instruments scattered through the code): the store's capture counters for captured, stored and
dropped (the same numbers as `aiaudit status`, so they survive restarts), the journal for
pending and its size, the writer for store errors and lag, the watcher and the alert service
for scanning and delivery counts. Endpoints are off unless `metrics.writer_port` /
`metrics.watch_port` is set, and listen on `metrics.host` (127.0.0.1 by default).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

from prometheus_client import CollectorRegistry
from prometheus_client import generate_latest
from prometheus_client import start_http_server
from prometheus_client.core import CounterMetricFamily
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

STATUS_CACHE_SECONDS = 10.0  # reading the journal for pending costs I/O: not more than this often


def _ts(iso: str | None) -> float | None:
    return dt.datetime.fromisoformat(iso).timestamp() if iso else None


def status_metrics(report: dict) -> list:
    """Metric families from `aiaudit status`'s report (agent.commands.status.collect)."""
    captured = CounterMetricFamily("aiaudit_calls_captured", "Vendor calls captured (stored + pending + dropped).")
    captured.add_metric([], report["captured"])
    stored = CounterMetricFamily("aiaudit_calls_stored", "Captured calls stored.")
    stored.add_metric([], report["stored"])
    pending = GaugeMetricFamily("aiaudit_calls_pending", "Captured calls still in the journal.")
    pending.add_metric([], report["pending"])
    dropped = CounterMetricFamily("aiaudit_calls_dropped", "Captured calls dropped, by reason.", labels=["reason"])
    for reason, n in sorted(report["dropped"].items()):
        dropped.add_metric([reason], n)
    journal = GaugeMetricFamily("aiaudit_journal_pending_bytes", "Bytes in the journal not yet stored.")
    journal.add_metric([], report["journal"]["bytes"])
    families = [captured, stored, pending, dropped, journal]
    # Proxies are told apart by their identity: two may share a host name (issue 19).
    seen = GaugeMetricFamily("aiaudit_component_last_seen_timestamp_seconds",
                             "When a proxy writer or watcher last reported.", labels=["component", "host", "id"])
    store_error = GaugeMetricFamily("aiaudit_proxy_store_error", "1 while the proxy's writer cannot reach "
                                    "the store (a cleared error is 0).", labels=["host", "id"])
    for p in report["proxies"]:
        host, pid = p["host"] or "", p.get("id") or p["host"] or ""
        if p["updated_at"]:
            seen.add_metric(["proxy", host, pid], _ts(p["updated_at"]))
        store_error.add_metric([host, pid], 1 if p.get("current_error", p["last_error"]) else 0)
    for w in report["watchers"]:
        seen.add_metric(["watch", w["host"], w["host"]], _ts(w["updated_at"]))
    families += [seen, store_error]
    alerts = report.get("alerts") or {}
    if alerts.get("findings_by_severity") is not None:
        findings = GaugeMetricFamily("aiaudit_findings", "Stored findings, by severity.", labels=["severity"])
        for severity, n in sorted(alerts["findings_by_severity"].items()):
            findings.add_metric([severity], n)
        families.append(findings)
    families += sink_metrics(alerts.get("sinks") or [])
    return families


def sink_metrics(sinks: list[dict]) -> list:
    up = GaugeMetricFamily("aiaudit_alert_sink_up", "0 when a sink is down (failed alerts.down_after_attempts "
                           "times in a row).", labels=["sink"])
    pending = GaugeMetricFamily("aiaudit_alert_outbox_pending", "Alerts waiting for their sink.", labels=["sink"])
    delivered = CounterMetricFamily("aiaudit_alert_outbox_delivered", "Alerts their sink took.", labels=["sink"])
    for s in sinks:
        up.add_metric([s["name"]], 0 if s["state"] == "down" else 1)
        pending.add_metric([s["name"]], s["pending"])
        delivered.add_metric([s["name"]], s["delivered"])
    return [up, pending, delivered]


def exposition(families: list) -> str:
    class _Fixed:
        def collect(self):
            return families

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed())
    return generate_latest(registry).decode()


class _Cached:
    def __init__(self, compute, seconds: float) -> None:
        self.compute, self.seconds = compute, seconds
        self.value, self.at, self.lock = None, 0.0, threading.Lock()

    def get(self):
        with self.lock:
            if self.value is None or time.monotonic() - self.at > self.seconds:
                self.value, self.at = self.compute(), time.monotonic()
            return self.value


class WriterCollector:
    """The writer process: status counts (from the store and journal) plus its own state."""

    def __init__(self, writer, config) -> None:
        self.writer, self.config = writer, config
        self.report = _Cached(self._report, STATUS_CACHE_SECONDS)
        self._store = None  # its own: the writer disposes and reopens its store during an outage

    def _report(self):
        from agent.commands.status import collect
        from agent.store.engine import open_store

        if self._store is None:
            self._store = open_store(self.config.database_url, migrate=False)
        try:
            return collect(self.config, self._store)
        except Exception:
            self._store.dispose()
            self._store = None
            raise

    def collect(self):
        up = GaugeMetricFamily("aiaudit_store_up", "1 when the last read of the store worked.")
        try:
            families = status_metrics(self.report.get())
            up.add_metric([], 1)
        except Exception as e:  # the store is down: what the journal holds is what matters now
            log.debug("metrics: status not read: %s", e)
            families = self._journal_only()
            up.add_metric([], 0)
        errors = CounterMetricFamily("aiaudit_writer_store_errors", "Times the writer could not write to the store.")
        errors.add_metric([], getattr(self.writer, "store_errors", 0))
        lag = GaugeMetricFamily("aiaudit_writer_lag_seconds", "Seconds since the writer last had the journal "
                                "drained (0 when it keeps up).")
        caught_up = getattr(self.writer, "caught_up_at", None)
        lag.add_metric([], max(0.0, time.time() - caught_up) if caught_up else 0.0)
        # (caught_up_at is updated each time the writer finds the journal empty, ~5 times a second)
        journal = GaugeMetricFamily("aiaudit_journal_bytes", "Size of the journal on disk.")
        journal.add_metric([], self.writer.journal.size)
        return families + [up, errors, lag, journal]


    def _journal_only(self) -> list:
        from agent.writer.fleet import journal_pending

        try:
            records, size = journal_pending(self.config.journal_dir)
        except OSError:
            return []
        pending = GaugeMetricFamily("aiaudit_calls_pending", "Captured calls still in the journal.")
        pending.add_metric([], records)
        journal = GaugeMetricFamily("aiaudit_journal_pending_bytes", "Bytes in the journal not yet stored.")
        journal.add_metric([], size)
        return [pending, journal]


class WatchCollector:
    """`aiaudit watch`: files and records scanned, scan errors, findings, alert deliveries."""

    def __init__(self, watcher, service, store) -> None:
        self.watcher, self.service, self.store = watcher, service, store
        self.stored = _Cached(self._stored, STATUS_CACHE_SECONDS)

    def _stored(self):
        from agent.alerts.outbox import sink_health

        return findings_by_severity(self.store), sink_health(self.store, self.service.settings) if self.service else []

    def collect(self):
        stats = self.watcher.stats
        files = CounterMetricFamily("aiaudit_watch_files_scanned", "Dataset files read by the watcher.")
        files.add_metric([], stats.get("files_read", 0))
        records = CounterMetricFamily("aiaudit_watch_records_scanned", "Dataset records read by the watcher.")
        records.add_metric([], stats.get("records", 0))
        errors = CounterMetricFamily("aiaudit_watch_scan_errors", "Files the watcher could not scan.")
        errors.add_metric([], stats.get("errors", 0))
        reuse = CounterMetricFamily("aiaudit_watch_reuse_findings", "Dataset records found reusing outputs.")
        reuse.add_metric([], stats.get("findings", 0))
        families = [files, records, errors, reuse]
        if self.service is not None:
            deliveries = CounterMetricFamily("aiaudit_alert_deliveries", "Alert deliveries, by sink and outcome "
                                             "(delivered, failed).", labels=["sink", "outcome"])
            for (sink, outcome), n in sorted(self.service.dispatcher.stats.items()):
                deliveries.add_metric([sink, outcome], n)
            evaluations = CounterMetricFamily("aiaudit_alert_evaluations", "Scheduled rule evaluations, by outcome.",
                                              labels=["outcome"])
            evaluations.add_metric(["ok"], self.service.scheduler.stats.get("evaluations", 0))
            evaluations.add_metric(["error"], self.service.scheduler.stats.get("errors", 0))
            families += [deliveries, evaluations]
        up = GaugeMetricFamily("aiaudit_store_up", "1 when the last read of the store worked.")
        try:
            by_severity, sinks = self.stored.get()
            findings = GaugeMetricFamily("aiaudit_findings", "Stored findings, by severity.", labels=["severity"])
            for severity, n in sorted(by_severity.items()):
                findings.add_metric([severity], n)
            families += [findings, *sink_metrics(sinks)]
            up.add_metric([], 1)
        except Exception as e:
            log.debug("metrics: store not read: %s", e)
            up.add_metric([], 0)
        return families + [up]


def findings_by_severity(store) -> dict[str, int]:
    from sqlalchemy import func
    from sqlalchemy import select

    from agent.config.schema import SEVERITIES
    from agent.store.models import Finding

    with store.session() as session:
        counts = dict(session.execute(select(Finding.severity, func.count()).group_by(Finding.severity)).all())
    return {severity: counts.get(severity, 0) for severity in SEVERITIES}


def serve(collector, host: str, port: int, what: str):
    """Start the endpoint in a daemon thread; a port in use is one line in the log, not a crash."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as e:
        log.error("aiaudit: %s metrics not served on %s:%d: %s", what, host, port, e.strerror or e)
        return None
    log.info("aiaudit: %s metrics on http://%s:%d/metrics", what, host, port)
    return server


def serve_writer(config, writer):
    metrics = (config.raw or {}).get("metrics") or {}
    if metrics.get("writer_port"):
        return serve(WriterCollector(writer, config), metrics["host"], metrics["writer_port"], "writer")
    return None


def serve_watch(config, watcher, service, store):
    metrics = (config.raw or {}).get("metrics") or {}
    if metrics.get("watch_port"):
        return serve(WatchCollector(watcher, service, store), metrics["host"], metrics["watch_port"], "watch")
    return None
