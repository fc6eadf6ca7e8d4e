"""`aiaudit status`: what was captured, stored, pending and dropped, per proxy host.

captured = stored + pending + dropped{reason}. Stored and dropped come from the store, written
in the same transactions as the rows; pending is what the local journal still holds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json", "prometheus"), default="text",
                        help="prometheus: the text exposition format, for node_exporter's textfile collector")


def journal_pending(journal_dir) -> tuple[int, int]:
    """(records, bytes) in the journal that the writer has not acknowledged."""
    from agent.capture.journal import Journal

    if not journal_dir.is_dir():
        return 0, 0
    journal = Journal(journal_dir, 0, readonly=True)
    pos, records, size = journal.acked(), 0, 0
    while True:
        got, end = journal.read(pos, max_records=10_000)
        if not got:
            break
        records += len(got)
        size += sum(len(g) for g in got)
        pos = end
    return records, size


def collect(config, store) -> dict:
    from sqlalchemy import select

    from agent.store.models import CaptureCounter
    from agent.store.models import Heartbeat

    hosts: dict[str, dict] = {}
    with store.session() as s:
        for row in s.scalars(select(CaptureCounter)):
            hosts.setdefault(row.proxy_host, {})[row.name] = row.value
        beats = {(b.component, b.host): (b.state, b.updated_at) for b in s.scalars(select(Heartbeat))}
    try:
        pending, pending_bytes = journal_pending(config.journal_dir)
        journal_error = None
    except OSError as e:  # e.g. run as a user who may not read the service's journal
        pending, pending_bytes, journal_error = 0, 0, e.strerror or str(e)
    totals = {"captured": 0, "stored": 0, "dropped": {}}
    for counts in hosts.values():
        totals["captured"] += counts.get("captured", 0)
        totals["stored"] += counts.get("stored", 0)
        for name, value in counts.items():
            if name.startswith("dropped:"):
                reason = name.split(":", 1)[1]
                totals["dropped"][reason] = totals["dropped"].get(reason, 0) + value
    totals["captured"] += pending
    proxy_beats = {h: (st, t) for (c, h), (st, t) in beats.items() if c == "proxy"}
    proxy = []
    for host in sorted(set(proxy_beats) | set(hosts)):
        st, t = proxy_beats.get(host, ({}, None))
        proxy.append({"host": host, "updated_at": t.isoformat() if t else None, "last_error": st.get("last_error"),
                      "journal_bytes": st.get("journal_bytes"), "counts": hosts.get(host, {})})
    watcher = [{"host": h, "updated_at": t.isoformat(), **st} for (c, h), (st, t) in beats.items() if c == "watch"]
    return {"captured": totals["captured"], "stored": totals["stored"], "pending": pending,
            "dropped": totals["dropped"], "journal": {"dir": str(config.journal_dir), "error": journal_error, "records": pending,
                                                       "bytes": pending_bytes},
            "proxies": proxy, "watchers": watcher,
            "generated_at": dt.datetime.now(dt.timezone.utc).isoformat()}


def run(args: argparse.Namespace) -> int:
    from agent.commands.common import config_from
    from agent.commands.common import store_from

    config = config_from(args)
    store = store_from(config)
    report = collect(config, store)
    report["alerts"] = alerts_section(config, store)
    if args.format == "prometheus":
        from agent.metrics import exposition
        from agent.metrics import status_metrics

        print(exposition(status_metrics(report)), end="")
        return 0
    if args.format == "json":
        print(json.dumps(report, indent=2))
        return 0
    dropped = sum(report["dropped"].values())
    print(f"captured {report['captured']} = stored {report['stored']} + pending {report['pending']} "
          f"+ dropped {dropped}")
    for reason, n in sorted(report["dropped"].items()):
        print(f"  dropped:{reason} {n}")
    if report["journal"]["error"]:
        print(f"journal {report['journal']['dir']}: cannot read it ({report['journal']['error']}); "
              "pending calls are not counted above")
    else:
        print(f"journal {report['journal']['dir']}: {report['journal']['records']} records, "
              f"{report['journal']['bytes']} bytes pending")
    for p in report["proxies"]:
        err = p["last_error"] or "none"
        print(f"proxy {p['host']}: last seen {p['updated_at']}, last store error: {err}")
    for w in report["watchers"]:
        print(f"watcher {w['host']}: last seen {w['updated_at']}, {w.get('summary', '')}")
    if not report["proxies"] and not report["watchers"]:
        print("no proxy or watcher has reported yet")
    print_alerts_section(report["alerts"])
    return 0


def alerts_section(config, store) -> dict:
    """Alert sinks (delivered, pending, down) and the scheduler's last run, from the store."""
    from sqlalchemy import select

    from agent.alerts.outbox import sink_health
    from agent.alerts.settings import load_alert_settings
    from agent.metrics import findings_by_severity
    from agent.store.models import AlertState

    settings = load_alert_settings(config)
    with store.session() as s:
        runs = [{"host": r.name.split(":", 1)[1], "updated_at": r.updated_at.isoformat(), **r.value}
                for r in s.scalars(select(AlertState).where(AlertState.name.like("scheduler:%")))]
    return {"sinks": sink_health(store, settings), "scheduler": runs, "findings_by_severity": findings_by_severity(store)}


def print_alerts_section(section: dict) -> None:
    for run in section["scheduler"]:
        problem = f", last error: {run['error']}" if run.get("error") else ""
        print(f"alerts {run['host']}: evaluated up to {run.get('last_until')} (every {run.get('evaluate_minutes')} min)"
              f"{problem}")
    for sink in section["sinks"]:
        line = (f"sink {sink['name']}: {sink['state'].upper() if sink['state'] == 'down' else sink['state']}, "
                f"{sink['delivered']} delivered, {sink['pending']} pending")
        if sink["pending"]:
            line += f" (oldest {sink['oldest_pending']})"
        if sink["failed_attempts"]:
            line += f", {sink['failed_attempts']} failed attempts, last error: {sink['last_error']}"
        print(line)
    if not section["sinks"]:
        print("no alert sink configured")
