"""A proxy installation's own identity, kept in its journal directory.

Host names do not tell proxies apart: two instances on one VM, or pods on a node's network, share
one. The journal directory is already what makes a proxy installation (one writer per journal,
held by a lock), so its identity lives there: a random id written once, on first use, and read
back on every start after that. Counters and heartbeats are keyed by it; the host name is shown
beside it.
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

NAME = "proxy-id"
_VALID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class ProxyIdentity:
    id: str
    host: str

    def label(self) -> str:
        return f"{self.host} [{self.id}]"


def proxy_identity(journal_dir: Path) -> ProxyIdentity:
    """This installation's identity, created in `journal_dir` the first time it is asked for."""
    return ProxyIdentity(read_or_create(Path(journal_dir)), socket.gethostname())


def is_identity(value: str) -> bool:
    """Whether `value` is a proxy identity (counters from before identities carry a host name)."""
    return bool(_VALID.match(value))


def read_identity(journal_dir: Path) -> str | None:
    """The id stored in `journal_dir`, or None when there is none (or it is not one of ours)."""
    try:
        text = (Path(journal_dir) / NAME).read_text(encoding="ascii").strip()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None
    return text if is_identity(text) else None


def read_or_create(journal_dir: Path) -> str:
    existing = read_identity(journal_dir)
    if existing:
        return existing
    path = journal_dir / NAME
    if path.exists():
        # A concurrent first start may have linked its file in since the read above: a file
        # that reads as valid now is that one, not a damaged one.
        existing = read_identity(journal_dir)
        if existing:
            return existing
        # damaged: keep it for whoever wants to look, and start a new identity
        os.replace(path, journal_dir / f"{NAME}.damaged")
    journal_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
    # Written whole under a temporary name, then linked into place: a concurrent first start
    # (the writer and the proxy, or two writers racing for the lock) sees either no file or a
    # complete one, and exactly one of them wins.
    tmp = journal_dir / f".{NAME}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    tmp.write_text(uuid.uuid4().hex + "\n", encoding="ascii")
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    found = read_identity(journal_dir)
    if found is None:
        raise OSError(f"{path}: could not create the proxy identity")
    return found
