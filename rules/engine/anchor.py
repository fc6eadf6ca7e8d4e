"""Chain heads published outside the store, so a chain rewritten after publication is caught.

The chain (chain.py) is tamper-evident only against someone who cannot rewrite it whole: with
write access to the database, every link and checkpoint can be recomputed. Each weekly report
therefore publishes the head it saw — `{first_seq, head_seq, head_hash}` — in report.json and
on its page, optionally signed with the site's Ed25519 key. Reports leave the host (file
shares, e-mail), so `check_published` can later compare every published head with the store:
the link (or checkpoint) at `head_seq` must still hash to `head_hash`. Because every link hash
covers the one before it, a match proves links 1..head_seq are as published.

The signature covers the canonical JSON of the statement (FORMAT, week, range, hash, time), so
editing any of them, or signing with another key, fails the check.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from agent.store.chain import GENESIS
from agent.store.chain import TABLES
from agent.store.chain import head
from agent.store.models import ChainCheckpoint

FORMAT = "aiaudit-chain-head/1"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_WEEK_DIR = re.compile(r"^\d{4}-W\d{2}$")


class AnchorKeyError(ValueError):
    """A key file that cannot be used; the message names the file."""


def load_private_key(path: Path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(Path(path).read_bytes(), password=None)
    except OSError as e:
        raise AnchorKeyError(f"{path}: cannot read the signing key ({e.strerror or e})") from None
    except (ValueError, TypeError) as e:
        raise AnchorKeyError(f"{path}: not an unencrypted PEM private key ({e})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AnchorKeyError(f"{path}: the signing key must be Ed25519, not {type(key).__name__}")
    return key


def load_public_key(path: Path):
    """An Ed25519 public key from a PEM public key file, or the public half of a private one."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise AnchorKeyError(f"{path}: cannot read the public key ({e.strerror or e})") from None
    if b"PRIVATE KEY" in data:
        return load_private_key(path).public_key()
    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError) as e:
        raise AnchorKeyError(f"{path}: not a PEM public key ({e})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AnchorKeyError(f"{path}: the public key must be Ed25519, not {type(key).__name__}")
    return key


def public_hex(public_key) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.hazmat.primitives.serialization import PublicFormat

    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def chain_range(store) -> tuple[int, int, str]:
    """(first_seq, head_seq, head_hash) of the chain now: the links the store still holds (after
    a prune, the first one after its checkpoint) up to the newest."""
    with store.session() as session:
        head_seq, head_hash = head(session)
        firsts = [session.execute(select(func.min(m.chain_seq))).scalar() for m in TABLES.values()]
        firsts = [f for f in firsts if f is not None]
        first = min(firsts) if firsts else head_seq + 1
    return (min(first, head_seq) if head_seq else 0), head_seq, head_hash


def statement_bytes(head_record: dict[str, Any]) -> bytes:
    """The bytes a signature covers: the statement's fields, canonical JSON."""
    fields = {k: head_record.get(k) for k in ("format", "week", "first_seq", "head_seq", "head_hash", "published_at")}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def published_head(store, week: str, published_at: str, private_key=None) -> dict[str, Any]:
    """The `chain` object of report.json: the head now, signed when a key is given."""
    first, head_seq, head_hash = chain_range(store)
    record: dict[str, Any] = {"format": FORMAT, "week": week, "first_seq": first, "head_seq": head_seq,
                              "head_hash": head_hash, "published_at": published_at, "signature": None}
    if private_key is not None:
        record["signature"] = sign(private_key, statement_bytes(record))
    return record


def sign(private_key, payload: bytes) -> dict[str, str]:
    """An Ed25519 signature object as reports and bundles carry it."""
    return {"algorithm": "ed25519", "public_key": public_hex(private_key.public_key()),
            "value": base64.b64encode(private_key.sign(payload)).decode()}


@dataclass
class AnchorResult:
    ok: bool
    checked: int = 0  # published heads compared with the store
    unsigned: int = 0
    without_head: list[str] = field(default_factory=list)  # reports written before heads were published
    breaks: list[str] = field(default_factory=list)


def _signature_problem(record: dict, public_key) -> str | None:
    signature = record.get("signature")
    if not signature:
        return "the head is not signed, but a public key is configured" if public_key is not None else None
    problem = signature_problem(signature, statement_bytes(record), public_key)
    return problem and problem.replace("the signed content was edited", "the published head was edited")


def signature_problem(signature: Any, payload: bytes, public_key=None) -> str | None:
    """None when `signature` verifies over `payload` (with `public_key` when given, else the key
    printed in the signature); otherwise what is wrong."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if not isinstance(signature, dict) or signature.get("algorithm") != "ed25519":
        return "the signature is not an ed25519 signature object"
    try:
        printed = Ed25519PublicKey.from_public_bytes(bytes.fromhex(str(signature.get("public_key", ""))))
        value = base64.b64decode(str(signature.get("value", "")), validate=True)
    except (ValueError, binascii.Error):
        return "the signature's public key or value is not readable"
    if public_key is not None and public_hex(printed) != public_hex(public_key):
        return "signed with another key than the site's public key"
    try:
        (public_key or printed).verify(value, payload)
    except InvalidSignature:
        return "the signature does not verify (the signed content was edited)"
    return None


def _read_head(path: Path) -> tuple[dict | None, str | None]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        return None, f"unreadable report.json ({type(e).__name__})"
    if not isinstance(data, dict):
        return None, "report.json is not a JSON object"
    record = data.get("chain")
    if record is None:
        return None, None
    if not isinstance(record, dict) or not isinstance(record.get("head_seq"), int) or record["head_seq"] < 0 \
            or not isinstance(record.get("head_hash"), str) or not _HEX64.match(record["head_hash"]):
        return None, "its chain head is malformed (head_seq, head_hash)"
    return record, None


def _stored_hash(session, seq: int) -> str | None:
    for model in TABLES.values():
        found = session.execute(select(model.chain_hash).where(model.chain_seq == seq)).scalar()
        if found is not None:
            return found
    checkpoint = session.get(ChainCheckpoint, seq)
    return checkpoint.chain_hash if checkpoint is not None else None


def check_published(store, reports_dir: Path, public_key=None) -> AnchorResult:
    """Compare the store with the head published in every REPORTS_DIR/YYYY-Www/report.json."""
    result = AnchorResult(ok=True)
    folders = sorted(p for p in Path(reports_dir).iterdir() if p.is_dir() and _WEEK_DIR.match(p.name))
    with store.session() as session:
        store_head, _ = head(session)
        for folder in folders:
            where = f"{folder.name}/report.json"
            record, problem = _read_head(folder / "report.json")
            if problem:
                result.breaks.append(f"{where}: {problem}")
                continue
            if record is None:
                result.without_head.append(folder.name)
                continue
            problem = _signature_problem(record, public_key)
            if problem:
                result.breaks.append(f"{where}: {problem}")
                continue
            result.unsigned += not record.get("signature")
            seq, published = record["head_seq"], record["head_hash"]
            result.checked += 1
            if seq == 0:
                if published != GENESIS:
                    result.breaks.append(f"{where}: head seq 0 must have the genesis hash")
                continue
            if seq > store_head:
                result.breaks.append(f"{where}: published head seq {seq}, but the store ends at seq {store_head} "
                                     f"(links deleted after the report was published?)")
                continue
            stored = _stored_hash(session, seq)
            if stored is None:
                result.breaks.append(f"{where}: seq {seq}: neither the link nor a checkpoint remains in the "
                                     f"store (checkpoint deleted?)")
            elif stored != published:
                result.breaks.append(f"{where}: seq {seq}: the store has {stored[:16]}…, the report published "
                                     f"{published[:16]}… (chain rewritten after publication, or the report edited)")
    result.ok = not result.breaks
    return result
