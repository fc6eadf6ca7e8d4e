"""One module per kind of receiver; each has `send(sink, document, sent_at)` and raises
SinkError with a message safe to store and log (never a URL, token or response body)."""

from __future__ import annotations

import datetime as dt
import importlib

MODULES = {"webhook": "agent.alerts.sinks.webhook", "syslog": "agent.alerts.sinks.syslog",
           "splunk_hec": "agent.alerts.sinks.splunk", "ocsf_file": "agent.alerts.sinks.ocsf_file"}


class SinkError(Exception):
    pass


def send(sink, document: dict, sent_at: dt.datetime | None = None) -> None:
    from agent.alerts.settings import SecretMissing

    sent_at = sent_at or dt.datetime.now(dt.timezone.utc)
    try:
        importlib.import_module(MODULES[sink.type]).send(sink, document, sent_at)
    except SinkError:
        raise
    except SecretMissing as e:
        raise SinkError(str(e)) from None
    except Exception as e:  # a bug or an unexpected library error: its class only, never its text
        raise SinkError(f"unexpected {type(e).__name__}") from None
