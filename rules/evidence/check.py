"""Verify an evidence bundle offline (`aiaudit evidence verify`): no store, only the zip.

Three layers, each naming what does not hold:
1. the manifest: every member listed with its SHA-256 and size, nothing missing or extra;
2. the chain: the bundled rows and the proof's other links re-hashed, segment by segment, from
   just before each finding to its checkpoint — a row edited (even with the manifest rewritten to match) no longer hashes to
   its recorded chain_hash, and rows rewritten with fresh hashes no longer reach the checkpoint;
3. the cross-checks: calls, reuse records, fingerprints, rule and terms files and the terms
   entries must agree with the chained evidence that names them.
What stays out of reach offline: a chain rewritten whole in the store before export, together
with its checkpoints. Compare the checkpoint with a published report head for that.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from agent.store import chain
from rules.evidence import FORMAT
from rules.evidence import MANIFEST
from rules.evidence import PROOF
from rules.evidence import finding_member
from rules.evidence.crosscheck import cross_check
from rules.evidence.zipread import json_member
from rules.evidence.zipread import read_members

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
@dataclass
class BundleCheck:
    problems: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    links: int = 0  # chain links re-hashed
    anchor: str = ""  # what the chain was checked up to
    signed_by: str = ""  # the Ed25519 public key (hex) whose signature over the manifest verified

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_bundle(path: Path) -> BundleCheck:
    """Raises zipread.BundleUnreadable when the file is no zip at all; everything else found is
    a problem line in the result."""
    read = read_members(path)
    check = BundleCheck(problems=list(read.problems))
    members = read.members
    manifest = json_member(members, MANIFEST, check.problems)
    if manifest is None:
        return check
    if manifest.get("format") != FORMAT or not isinstance(manifest.get("members"), dict) \
            or not isinstance(manifest.get("findings"), list):
        check.problems.append(f"member {MANIFEST}: not an {FORMAT} manifest")
        return check
    if "signature" in manifest:
        from rules.engine.anchor import signature_problem
        from rules.evidence.export import manifest_bytes

        problem = signature_problem(manifest["signature"], manifest_bytes(manifest))
        if problem:
            check.problems.append(f"member {MANIFEST}: {problem}")
        else:
            check.signed_by = str(manifest["signature"]["public_key"])
    _check_manifest(manifest, members, check.problems)
    check.findings = [f for f in manifest["findings"] if isinstance(f, str)]
    bundled = _load_findings(check.findings, members, check.problems)
    _check_chain(bundled, members, check)
    cross_check(bundled, members, check.problems)
    return check


def _check_manifest(manifest: dict, members: dict[str, bytes], problems: list[str]) -> None:
    listed = manifest["members"]
    for name, entry in sorted(listed.items(), key=lambda item: str(item[0])):
        if name not in members:
            problems.append(f"member {name}: listed in the manifest but missing from the zip")
            continue
        data = members[name]
        if not isinstance(entry, dict) or entry.get("sha256") != hashlib.sha256(data).hexdigest():
            problems.append(f"member {name}: SHA-256 differs from the manifest (member altered)")
        elif entry.get("size") != len(data):
            problems.append(f"member {name}: size differs from the manifest (member altered)")
    for name in sorted(set(members) - set(listed) - {MANIFEST}):
        problems.append(f"member {name}: in the zip but not in the manifest (added)")


def _load_findings(ids: list[str], members: dict[str, bytes], problems: list[str]) -> dict[str, dict]:
    bundled = {}
    for finding_id in ids:
        name = finding_member(finding_id)
        data = json_member(members, name, problems)
        if data is None:
            continue
        finding, evidence = data.get("finding"), data.get("evidence")
        if not isinstance(finding, dict) or not isinstance(evidence, list) or \
                not all(isinstance(e, dict) for e in evidence):
            problems.append(f"member {name}: not a finding with its evidence rows")
            continue
        if finding.get("id") != finding_id:
            problems.append(f"finding {finding_id} ({name}): the row's id is {finding.get('id')!r}")
        for row in evidence:
            if row.get("finding_id") != finding_id:
                problems.append(f"finding {finding_id} ({name}): evidence {row.get('id')!r} belongs to "
                                f"finding {row.get('finding_id')!r}")
        bundled[finding_id] = {"finding": finding, "evidence": evidence, "member": name}
    extra = {n for n in members if n.startswith("findings/")} - {finding_member(f) for f in ids}
    for name in sorted(extra):
        problems.append(f"member {name}: a finding the manifest does not list")
    return bundled


def _segment_shape(segment: Any) -> str | None:
    if not isinstance(segment, dict):
        return "a segment must be an object"
    start, end, links = segment.get("start"), segment.get("end_seq"), segment.get("other_links")
    if not isinstance(start, dict) or not _is_seq(start.get("seq")) or not isinstance(start.get("hash"), str) \
            or not _HEX64.match(start["hash"]):
        return "start must be {seq, hash}"
    if not _is_seq(end) or end <= start["seq"] or end - start["seq"] > 10_000_000:
        return "end_seq must be a link number after start"
    checkpoint = segment.get("checkpoint")
    if checkpoint is not None and (not isinstance(checkpoint, dict) or checkpoint.get("seq") != end
                                   or not isinstance(checkpoint.get("chain_hash"), str)):
        return "checkpoint must be {seq: end_seq, chain_hash}"
    if not isinstance(links, list) or not all(
            isinstance(link, dict) and _is_seq(link.get("seq")) and link.get("table") in chain.TABLES
            and isinstance(link.get("row"), dict) and isinstance(link.get("revision", ""), str) for link in links):
        return "other_links must be a list of {seq, table, row, and revision for an earlier version}"
    return None


def _is_seq(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_chain(bundled: dict[str, dict], members: dict[str, bytes], check: BundleCheck) -> None:
    problems = check.problems
    proof = json_member(members, PROOF, problems)
    if proof is None:
        return
    segments = proof.get("segments")
    if not isinstance(segments, list) or not segments:
        problems.append(f"member {PROOF}: not a chain proof (a list of segments)")
        return
    for number, segment in enumerate(segments, start=1):
        shape = _segment_shape(segment)
        if shape:
            problems.append(f"member {PROOF}: segment {number}: {shape}")
            return
    # seq -> (table, row, where, the canonical text of an earlier version or None)
    links: dict[int, tuple[str, dict, str, str | None]] = {}

    def place(seq: Any, table: str, row: dict, where: str, revision: str | None = None) -> None:
        if not _is_seq(seq):
            problems.append(f"{where}: chain_seq {seq!r} is not a link number")
        elif seq in links:
            problems.append(f"chain link seq {seq}: appears twice ({links[seq][2]} and {where})")
        else:
            links[seq] = (table, row, where, revision)

    for finding_id, item in bundled.items():
        place(item["finding"].get("chain_seq"), "findings", item["finding"], f"finding {finding_id} ({item['member']})")
        for row in item["evidence"]:
            place(row.get("chain_seq"), "evidence", row, f"evidence {row.get('id')} of finding {finding_id} "
                                                         f"({item['member']})")
    for segment in segments:
        for link in segment["other_links"]:
            if link["row"].get("chain_seq") != link["seq"]:
                problems.append(f"chain link seq {link['seq']} ({PROOF}): its row says chain_seq "
                                f"{link['row'].get('chain_seq')!r}")
            earlier = " (earlier version)" if "revision" in link else ""
            place(link["seq"], link["table"], link["row"], f"{link['table']} {link['row'].get('id')}{earlier} ({PROOF})",
                  link.get("revision"))

    covered = [(s["start"]["seq"], s["end_seq"]) for s in segments]
    for seq in sorted(links):
        if not any(first < seq <= end for first, end in covered):
            problems.append(f"chain link seq {seq} ({links[seq][2]}): outside every segment of the chain proof")
    anchors = [a for a in (_check_segment(s, links, check) for s in segments) if a]
    check.anchor = ", ".join(anchors)


def _check_segment(segment: dict, links: dict, check: BundleCheck) -> str | None:
    """Re-hash one segment; returns what it reached, or None after naming what broke."""
    problems = check.problems
    start, end = segment["start"], segment["end_seq"]
    previous = start["hash"]
    for seq in range(start["seq"] + 1, end + 1):
        if seq not in links:
            problems.append(f"chain link seq {seq}: missing from the bundle (removed?)")
            return None
        table, row, where, revision = links[seq]
        recorded = row.get("chain_hash")
        try:
            if revision is not None:
                problem = chain.revision_problem(seq, table, row, revision)
                if problem:
                    problems.append(f"chain link seq {seq} ({where}): {problem}")
                    return None
                computed = chain.canonical_hash(previous, table, revision)
            else:
                computed = chain.link_hash(previous, table, row)
        except (TypeError, ValueError) as e:
            problems.append(f"chain link seq {seq} ({where}): cannot be hashed ({e})")
            return None
        if computed != recorded:
            problems.append(f"chain link seq {seq} ({where}): does not hash to its chain_hash (row altered)")
        previous = recorded if isinstance(recorded, str) else computed
        check.links += 1
    checkpoint = segment.get("checkpoint")
    if checkpoint is None:
        return f"link {end} (the newest at export; no checkpoint after it)"
    if checkpoint["chain_hash"] != previous:
        problems.append(f"chain link seq {end}: does not reach checkpoint {end} (links rewritten, or the "
                        f"checkpoint edited)")
        return None
    return f"checkpoint {end} ({checkpoint.get('reason')})"
