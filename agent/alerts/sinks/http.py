"""POSTing JSON for the webhook and Splunk HEC sinks, with errors that name no URL or secret."""

from __future__ import annotations

import json
import socket
import ssl
import urllib.error
import urllib.request

from agent.alerts.sinks import SinkError


def tls_context(sink) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(sink.ca_file) if sink.ca_file else None)
    if not sink.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def post_json(sink, url: str, body: dict, headers: dict[str, str]) -> int:
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "aiaudit-alerts", **headers})
    context = tls_context(sink) if url.startswith("https://") else None
    try:
        with urllib.request.urlopen(request, timeout=sink.timeout_seconds, context=context) as response:
            response.read(65536)
            return response.status
    except urllib.error.HTTPError as e:
        raise SinkError(f"HTTP {e.code}") from None
    except urllib.error.URLError as e:
        raise SinkError(reason_text(e.reason)) from None
    except (TimeoutError, socket.timeout):
        raise SinkError(f"timed out after {sink.timeout_seconds:g} s") from None
    except (OSError, ssl.SSLError) as e:
        raise SinkError(reason_text(e)) from None


def reason_text(reason) -> str:
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"TLS: {reason.verify_message or 'certificate verify failed'}"
    if isinstance(reason, ssl.SSLError):
        return f"TLS: {reason.reason or type(reason).__name__}"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(reason, OSError):
        return reason.strerror or type(reason).__name__
    return type(reason).__name__ if not isinstance(reason, str) else "unreachable"
