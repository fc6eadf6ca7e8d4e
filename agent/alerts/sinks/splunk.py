"""Splunk HTTP Event Collector: one event per alert on /services/collector/event.

The token goes in `Authorization: Splunk <token>`; the idempotency key is an indexed field
(`fields.idempotency_key`) so a search can dedupe a retried delivery.
"""

from __future__ import annotations

import socket

from agent.alerts.sinks import SinkError
from agent.alerts.sinks.http import post_json

PATH = "/services/collector/event"


def event_url(base: str) -> str:
    base = base.rstrip("/")
    return base if base.endswith(PATH) else base + PATH


def hec_event(sink, document: dict, sent_at) -> dict:
    event = {"time": round(sent_at.timestamp(), 3), "host": socket.gethostname(), "source": "aiaudit",
             "sourcetype": sink.sourcetype, "event": {**document, "sent_at": sent_at.isoformat()},
             "fields": {"idempotency_key": document["idempotency_key"], "severity": document["finding"]["severity"],
                        "team": document["finding"]["team"]}}
    if sink.index:
        event["index"] = sink.index
    return event


def send(sink, document: dict, sent_at) -> None:
    token = sink.token()
    if not token:
        raise SinkError(f"sink {sink.name}: no HEC token")
    status = post_json(sink, event_url(sink.target_url()), hec_event(sink, document, sent_at),
                       {"Authorization": f"Splunk {token}", "X-Idempotency-Key": document["idempotency_key"]})
    if status != 200:
        raise SinkError(f"HTTP {status}")
