"""OCSF file: one Detection Finding per line, appended and flushed to disk before it counts as
delivered. A crash between the write and the outbox update can repeat a line; its
`metadata.uid` (the idempotency key) lets the consumer drop the copy."""

from __future__ import annotations

import json
import os

from agent.alerts.ocsf import detection_finding
from agent.alerts.sinks import SinkError


def send(sink, document: dict, sent_at) -> None:
    line = json.dumps(detection_finding(document, sent_at), separators=(",", ":"), ensure_ascii=False) + "\n"
    try:
        sink.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(sink.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line.encode())  # one write with O_APPEND: lines of two writers never interleave
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        raise SinkError(f"{sink.path}: {e.strerror or type(e).__name__}") from None
