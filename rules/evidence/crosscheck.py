"""Cross-checks of an evidence bundle: the members the chained evidence names (calls, reuse
records, fingerprints, rule and terms files, terms entries) must be there and agree with it.
Calls named only by a reuse record, and fingerprints, are not in the chain: the manifest binds
them, and they must at least be consistent with the records that name them."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
from typing import Any

from rules.evidence import call_member
from rules.evidence import fingerprint_member
from rules.evidence import reuse_member
from rules.evidence import source_member
from rules.evidence import terms_member
from rules.evidence.zipread import json_member

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
CALL_FIELDS = ("ts", "team", "vendor", "model", "endpoint", "kind", "status", "outputs", "completion_tokens",
               "user", "client_ip", "upload_purpose", "request_bytes")
REUSE_FIELDS = ("path", "record", "output_coverage", "record_coverage", "matched_words", "reuse_class", "source",
                "upload_call_id")
CITED_FIELDS = ("stance", "terms_source", "clause", "clause_reviewed", "terms_url", "terms_confidence",
                "terms_document", "terms_section", "terms_version", "terms_quote", "terms_summary")


def cross_check(bundled: dict[str, dict], members: dict[str, bytes], problems: list[str]) -> None:
    for finding_id, item in bundled.items():
        aggregate = next((e.get("detail") for e in item["evidence"] if e.get("kind") == "aggregate"), None)
        aggregate = aggregate if isinstance(aggregate, dict) else {}
        for row in item["evidence"]:
            detail = row.get("detail") if isinstance(row.get("detail"), dict) else {}
            if row.get("kind") in ("call", "upload") and isinstance(row.get("ref"), str):
                _compare(members, call_member(row["ref"]), detail, CALL_FIELDS, finding_id, problems)
            elif row.get("kind") == "reuse" and isinstance(row.get("ref"), str):
                reuse = _compare(members, reuse_member(row["ref"]), detail, REUSE_FIELDS, finding_id, problems)
                if isinstance(reuse, dict):
                    _check_reuse(reuse, reuse_member(row["ref"]), members, problems)
        _check_sources(finding_id, aggregate, members, problems)
        _check_terms(finding_id, aggregate, members, problems)


def _compare(members, name: str, detail: dict, fields: tuple[str, ...], finding_id: str, problems: list[str]):
    if name not in members:
        problems.append(f"finding {finding_id}: its evidence names {name}, which the bundle lacks")
        return None
    data = json_member(members, name, problems)
    if data is None:
        return None
    for key in fields:
        if key in detail and key in data and detail[key] is not None and not _same(detail[key], data[key]):
            problems.append(f"member {name}: {key} is {data[key]!r}, the chained evidence of finding {finding_id} "
                            f"says {detail[key]!r}")
    return data


def _same(chained: Any, member: Any) -> bool:
    """Equal values; times written two ways (evidence detail vs. row) compare as instants."""
    if chained == member:
        return True
    if isinstance(chained, str) and isinstance(member, str):
        try:
            return dt.datetime.fromisoformat(chained.replace("Z", "+00:00")) == \
                dt.datetime.fromisoformat(member.replace("Z", "+00:00"))
        except ValueError:
            return False
    return False


def _check_reuse(reuse: dict, name: str, members: dict[str, bytes], problems: list[str]) -> None:
    if not isinstance(reuse.get("record_sha256"), str) or not _HEX64.match(reuse["record_sha256"]):
        problems.append(f"member {name}: record_sha256 is not a SHA-256")
    for call_id in reuse.get("call_ids") or []:  # calls named only here: bound by the manifest, and this
        call = json_member(members, call_member(call_id), problems) if isinstance(call_id, str) else None
        if isinstance(call, dict) and call.get("vendor") not in (reuse.get("vendors") or []):
            problems.append(f"member {call_member(call_id)}: vendor {call.get('vendor')!r} is not among the "
                            f"vendors of {name}")
    for output_id in reuse.get("output_ids") or []:
        member = fingerprint_member(output_id)
        output = json_member(members, member, problems)
        if not isinstance(output, dict):
            continue
        try:
            blob = base64.b64decode(str(output.get("fingerprint_base64", "")), validate=True)
        except (ValueError, binascii.Error):
            blob = None
        if blob is None or hashlib.sha256(blob).hexdigest() != output.get("fingerprint_sha256"):
            problems.append(f"member {member}: the fingerprint does not match its fingerprint_sha256")
        if output.get("call_id") not in (reuse.get("call_ids") or [output.get("call_id")]):
            problems.append(f"member {member}: output of call {output.get('call_id')!r}, which {name} does not name")


def _check_sources(finding_id: str, aggregate: dict, members: dict[str, bytes], problems: list[str]) -> None:
    for source in aggregate.get("sources") or []:
        if not isinstance(source, dict) or not isinstance(source.get("sha256"), str):
            continue
        name = source_member(source["sha256"], str(source.get("kind")))
        if name not in members:
            problems.append(f"finding {finding_id}: {source.get('kind')} file {source.get('path')} ({name}) is "
                            f"not in the bundle")
        elif hashlib.sha256(members[name]).hexdigest() != source["sha256"]:
            problems.append(f"member {name}: content differs from the {source.get('kind')} file the finding was "
                            f"judged by")


def _check_terms(finding_id: str, aggregate: dict, members: dict[str, bytes], problems: list[str]) -> None:
    name = terms_member(finding_id)
    terms = json_member(members, name, problems)
    if not isinstance(terms, dict):
        return
    catalogue = next((s.get("sha256") for s in aggregate.get("sources") or []
                      if isinstance(s, dict) and s.get("kind") == "terms"), None)
    if terms.get("catalogue_sha256") != catalogue:
        problems.append(f"member {name}: catalogue_sha256 differs from the terms file finding {finding_id} was "
                        f"judged by")
    cited = terms.get("cited") if isinstance(terms.get("cited"), dict) else {}
    for key in CITED_FIELDS:
        if aggregate.get(key) != cited.get(key) and (key in aggregate or key in cited):
            problems.append(f"member {name}: {key} differs from the chained evidence of finding {finding_id}")
