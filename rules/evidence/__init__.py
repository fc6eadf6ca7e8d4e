"""Evidence bundles: findings that leave the store as one zip and verify on another machine.

A bundle (`aiaudit evidence export`) holds, for the findings asked for:

    manifest.json            format, when, which findings, and the SHA-256 and size of every
                             other member
    findings/<id>.json       the finding row and its evidence rows, exactly as chained
    calls/<id>.json          metadata of the calls the evidence names (never output text)
    reuse/<id>.json          the dataset or upload records that reuse outputs (path, record
                             number, record SHA-256, coverage, matched words, longest run)
    fingerprints/<id>.json   the output fingerprints those records and calls involve
    sources/<sha256>.yml     the rule files and terms catalogue the finding was judged by, as
                             they were (their digests are in the chained aggregate evidence)
    terms/<id>.json          the vendor terms entries as of the finding
    chain/proof.json         segments of the chain, each from just before a finding's links to
                             the checkpoint after them, so the rows can be re-hashed up to it

`aiaudit evidence verify` (check.py) needs nothing but the zip: it checks the manifest, re-hashes
the chain to the checkpoint, and cross-checks calls, records, sources and terms against the
chained evidence, naming every member, finding and link that does not hold.
"""

FORMAT = "aiaudit-evidence/1"
MANIFEST = "manifest.json"
PROOF = "chain/proof.json"


def finding_member(finding_id: str) -> str:
    return f"findings/{finding_id}.json"


def call_member(call_id: str) -> str:
    return f"calls/{call_id}.json"


def reuse_member(reuse_id: str) -> str:
    return f"reuse/{reuse_id}.json"


def fingerprint_member(output_id: int | str) -> str:
    return f"fingerprints/{output_id}.json"


def source_member(sha256: str, kind: str) -> str:
    return f"sources/{sha256}.{'yaml' if kind == 'terms' else 'yml'}"


def terms_member(finding_id: str) -> str:
    return f"terms/{finding_id}.json"
