"""`evidence verify` on the matched spans of a bundle's reuse records.

Always: each span is well formed (a field, a code-point range, the outputs it names among the
record's, the SHA-256 of the text it covers), and the spans of a record are sorted and never
overlap within a field. When the bundle holds the record's text (`--with-records`): the text is
the record (a JSON Lines line hashes to the record SHA-256 and gives these fields), each span's
range holds text with its SHA-256, and the spans are what the bundled fingerprints give for that
text (agent.reuse.spans, the scanner's own computation). Each problem names the member
and the span.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Any

from rules.evidence import fingerprint_member
from rules.evidence import record_member
from rules.evidence.zipread import json_member

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_KEYS = ("field", "field_index", "start", "end", "outputs", "words", "text_sha256")


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _label(number: int, span: Any) -> str:
    if isinstance(span, dict):
        return f"span {number} ({span.get('field')!r}, {span.get('start')!r}-{span.get('end')!r})"
    return f"span {number}"


def _shape(span: Any, outputs: set) -> str | None:
    if not isinstance(span, dict) or set(span) != set(_KEYS):
        return f"must be an object with exactly {', '.join(_KEYS)}"
    if not isinstance(span["field"], str) or not all(_count(span[k]) for k in ("field_index", "start", "end", "words")):
        return "field must be a path, field_index, start, end and words counts"
    if span["start"] >= span["end"] or span["words"] < 1:
        return "must cover at least one character and one word"
    if not isinstance(span["outputs"], list) or not span["outputs"] or span["outputs"] != sorted(set(span["outputs"])) \
            or not set(span["outputs"]) <= outputs:
        return "outputs must be some of the record's output_ids, ascending"
    if not isinstance(span["text_sha256"], str) or not _HEX64.match(span["text_sha256"]):
        return "text_sha256 must be a SHA-256"
    return None


def check_spans(reuse_id: str, reuse: dict, name: str, members: dict[str, bytes], problems: list[str]) -> None:
    spans = reuse.get("spans")
    if spans is None:
        return  # a record stored before spans were kept
    if not isinstance(spans, list):
        problems.append(f"member {name}: spans must be a list")
        return
    outputs = {i for i in reuse.get("output_ids") or [] if isinstance(i, int)}
    sound = True
    for number, span in enumerate(spans, start=1):
        problem = _shape(span, outputs)
        if problem:
            problems.append(f"member {name}: {_label(number, span)}: {problem}")
            sound = False
    if not sound:
        return
    for number, (before, after) in enumerate(zip(spans, spans[1:]), start=2):
        if (after["field_index"], after["start"]) < (before["field_index"], before["start"]):
            problems.append(f"member {name}: {_label(number, after)}: out of order")
        elif after["field_index"] == before["field_index"] and after["start"] < before["end"]:
            problems.append(f"member {name}: {_label(number, after)}: overlaps the span before it")
    if record_member(reuse_id) in members:
        _against_record(reuse_id, reuse, name, spans, members, problems)


def _record_fields(record: dict, reuse: dict, where: str, problems: list[str]) -> list[tuple[str, str]] | None:
    if record.get("record_sha256") != reuse.get("record_sha256") or record.get("record") != reuse.get("record"):
        problems.append(f"member {where}: is not the record of the reuse finding (record number or SHA-256 differs)")
        return None
    if "unavailable" in record:
        return None  # the export said why it has no text; nothing to check the spans against
    fields = record.get("fields")
    if not isinstance(fields, list) or not all(isinstance(f, list) and len(f) == 2 and all(isinstance(x, str) for x in f)
                                               for f in fields):
        problems.append(f"member {where}: fields must be a list of [path, text]")
        return None
    fields = [(path, text) for path, text in fields]
    if "raw_base64" in record:
        from agent.scan.readers import string_fields

        try:
            raw = base64.b64decode(str(record["raw_base64"]), validate=True)
        except (ValueError, binascii.Error):
            raw = b""
        if hashlib.sha256(raw).hexdigest() != reuse.get("record_sha256"):
            problems.append(f"member {where}: the raw record does not hash to the record SHA-256 (altered)")
            return None
        try:
            parsed = [(str(p), t) for p, t in string_fields(json.loads(raw))]
        except ValueError:
            parsed = None
        if parsed != fields:
            problems.append(f"member {where}: fields differ from those of the raw record (altered)")
            return None
    return fields


def _against_record(reuse_id: str, reuse: dict, name: str, spans: list[dict], members: dict[str, bytes],
                    problems: list[str]) -> None:
    where = record_member(reuse_id)
    record = json_member(members, where, problems)
    if not isinstance(record, dict):
        return
    fields = _record_fields(record, reuse, where, problems)
    if fields is None:
        return
    for number, span in enumerate(spans, start=1):
        index = span["field_index"]
        if index >= len(fields) or fields[index][0] != span["field"] or span["end"] > len(fields[index][1]):
            problems.append(f"member {name}: {_label(number, span)}: no such range in the record's fields (altered)")
            continue
        piece = fields[index][1][span["start"]:span["end"]].encode("utf-8", "surrogatepass")
        if hashlib.sha256(piece).hexdigest() != span["text_sha256"]:
            problems.append(f"member {name}: {_label(number, span)}: the record's text there has another SHA-256 "
                            f"(span or record altered)")
    outputs = _bundled_outputs(reuse, members)
    if outputs is None:
        return
    from agent.reuse.spans import spans_json

    expected = spans_json(fields, outputs)
    for number, (stored, computed) in enumerate(zip(spans, expected), start=1):
        if stored != computed:
            problems.append(f"member {name}: {_label(number, stored)}: the record's text and the bundled fingerprints "
                            f"give {_label(number, computed)} naming outputs {computed['outputs']} (span altered)")
            return  # later spans shift with it: one line says it
    if len(spans) != len(expected):
        problems.append(f"member {name}: holds {len(spans)} spans; the record's text and the bundled fingerprints "
                        f"give {len(expected)} (spans removed or added)")


def _bundled_outputs(reuse: dict, members: dict[str, bytes]):
    """OutputWords of the record's outputs from the bundled fingerprints, or None if one is
    missing or unreadable (the cross-checks name that)."""
    from agent.reuse.fingerprint import Fingerprint
    from agent.reuse.spans import OutputWords

    outputs = {}
    for output_id in reuse.get("output_ids") or []:
        data = members.get(fingerprint_member(output_id))
        try:
            blob = base64.b64decode(json.loads(data)["fingerprint_base64"], validate=True)
            fp = Fingerprint.from_blob(blob)
        except (TypeError, ValueError, KeyError, binascii.Error):
            return None
        outputs[int(output_id)] = OutputWords(fp.shingles, fp.exact)
    return outputs
