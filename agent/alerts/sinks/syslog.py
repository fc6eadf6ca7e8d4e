"""Syslog: RFC 5424 messages over UDP (RFC 5426), TCP (RFC 6587 octet counting) or TLS (RFC 5425).

    <PRI>1 TIMESTAMP HOSTNAME aiaudit PROCID finding [aiaudit@32473 key="..." ...] BOM message

The structured data carries the idempotency key and the finding's fields a SIEM filters on; the
message is the one-line summary. 32473 is the private enterprise number RFC 5612 reserves for
examples: we have none of our own, and receivers only need the SD-ID to be stable. UDP cannot
tell a delivery from a loss (at most a refused port shows), so use TCP or TLS where alerts must
arrive.
"""

from __future__ import annotations

import os
import socket
import ssl

from agent.alerts.document import one_line
from agent.alerts.sinks import SinkError
from agent.alerts.sinks.http import reason_text
from agent.alerts.sinks.http import tls_context

SD_ID = "aiaudit@32473"
SEVERITY = {"critical": 2, "high": 3, "medium": 4, "low": 5, "informational": 6}
UDP_MAX_BYTES = 2048  # RFC 5426: what every receiver should accept
BOM = b"\xef\xbb\xbf"


def _header_field(value: str, limit: int) -> str:
    """A printable US-ASCII token (no spaces), or the NILVALUE."""
    cleaned = "".join(c for c in value if 33 <= ord(c) <= 126)[:limit]
    return cleaned or "-"


def _param(value) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def message(sink, document: dict, sent_at, max_bytes: int | None = None) -> bytes:
    f = document["finding"]
    prival = sink.facility * 8 + SEVERITY.get(f["severity"], 6)
    stamp = sent_at.astimezone().strftime("%Y-%m-%dT%H:%M:%S.%f%z")
    stamp = stamp[:-2] + ":" + stamp[-2:]  # RFC 3339 offset
    header = (f"<{prival}>1 {stamp} {_header_field(socket.gethostname(), 255)} aiaudit "
              f"{_header_field(str(os.getpid()), 128)} finding")
    params = {"key": document["idempotency_key"], "event": document["event"], "finding": f["id"],
              "rule": f["rule_name"], "severity": f["severity"], "team": f["team"], "vendor": f.get("vendor") or "",
              "count": f["count"], "window_start": f["window_start"], "window_end": f["window_end"]}
    sd = f"[{SD_ID} " + " ".join(f'{k}="{_param(v)}"' for k, v in params.items()) + "]"
    head = f"{header} {sd} ".encode()
    body = one_line(document).encode()
    if max_bytes is not None and len(head) + len(BOM) + len(body) > max_bytes:
        body = body[: max(0, max_bytes - len(head) - len(BOM))].decode("utf-8", "ignore").encode()
    return head + BOM + body


def send(sink, document: dict, sent_at) -> None:
    address = (sink.host, sink.port)
    try:
        if sink.transport == "udp":
            with socket.socket(_family(sink.host), socket.SOCK_DGRAM) as s:
                s.settimeout(sink.timeout_seconds)
                s.connect(address)  # a connected socket reports an ICMP "port unreachable"
                s.send(message(sink, document, sent_at, UDP_MAX_BYTES))
            return
        frame = message(sink, document, sent_at)
        frame = str(len(frame)).encode() + b" " + frame  # octet counting: RFC 6587 3.4.1, RFC 5425 4.3
        with socket.create_connection(address, timeout=sink.timeout_seconds) as raw:
            if sink.transport == "tls":
                with tls_context(sink).wrap_socket(raw, server_hostname=sink.host) as s:
                    s.sendall(frame)
            else:
                raw.sendall(frame)
                raw.shutdown(socket.SHUT_WR)
    except (TimeoutError, socket.timeout):
        raise SinkError(f"timed out after {sink.timeout_seconds:g} s") from None
    except (OSError, ssl.SSLError) as e:
        raise SinkError(reason_text(e)) from None


def _family(host: str) -> int:
    try:
        return socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)[0][0]
    except socket.gaierror:
        raise SinkError(f"cannot resolve {host}") from None
