"""The text of reused dataset records, for bundles exported with `--with-records`.

A reuse finding stores where its record is (path, record number) and the SHA-256 of its bytes, never
its text. For a bundle that must show the reused words, the export reads each record again from
its file and keeps it only if it still hashes to the stored SHA-256: a file edited since the
scan gives no record text, and says why. A JSON Lines record also keeps its raw line, so that
`evidence verify` can check the SHA-256 and the fields itself; for other formats the export did
that check, and the manifest (signed, when the site has a key) binds the fields.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from agent.scan.readers import FileReadError
from agent.scan.readers import Record
from agent.scan.readers import file_format
from agent.scan.readers import read_records


def record_text(path: str, number: int, sha256: str) -> dict[str, Any]:
    """{path, record, record_sha256, format, fields, raw_base64 (JSON Lines)} or, when the record
    cannot be read back as it was, {path, record, record_sha256, unavailable: why}."""
    found: dict[str, Any] = {"path": path, "record": number, "record_sha256": sha256}
    try:
        kind, _ = file_format(Path(path))
        for item in read_records(Path(path)):
            if not isinstance(item, Record) or item.number != number:
                continue
            raw = item._raw  # the reader's bytes of this record, before hashing drops them
            if item.sha256 != sha256:
                continue  # a text file gives several records numbered 1; others: edited since
            found.update(format=kind, fields=[[str(p), t] for p, t in item.fields])
            if kind == "jsonl" and raw is not None:
                found["raw_base64"] = base64.b64encode(raw).decode()
            return found
    except FileReadError as e:
        return {**found, "unavailable": e.reason}
    except OSError as e:
        return {**found, "unavailable": e.strerror or str(e)}
    return {**found, "unavailable": "no record with this number and SHA-256 in the file (changed since the scan)"}


def raw_matches(raw: bytes, sha256: str) -> bool:
    return hashlib.sha256(raw).hexdigest() == sha256
