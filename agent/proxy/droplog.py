"""Calls the proxy process lost before they reached the journal, handed to the writer process.

The hook appends one line per lost call to `drops.log` beside the journal (O_APPEND, rare). The
writer takes the file by renaming it, counts the lines and stores the counts with its next batch,
so every drop ends up in `aiaudit status` even though the proxy process never touches the store.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

NAME = "drops.log"


def record_drop(journal_dir: Path, reason: str) -> None:
    fd = os.open(Path(journal_dir) / NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, reason.encode("ascii", "replace") + b"\n")
    finally:
        os.close(fd)


def take_drops(journal_dir: Path) -> Counter[str]:
    """Counts by reason since the last take; leaves a `drops.taken` file until `forget_taken`."""
    src, taken = Path(journal_dir) / NAME, Path(journal_dir) / "drops.taken"
    counts: Counter[str] = Counter()
    if not taken.exists():
        try:
            os.replace(src, taken)
        except FileNotFoundError:
            return counts
    for line in taken.read_text(encoding="ascii", errors="replace").splitlines():
        if line.strip():
            counts[line.strip()] += 1
    return counts


def forget_taken(journal_dir: Path) -> None:
    """The counts from `take_drops` are stored: drop the file so they are not counted twice."""
    (Path(journal_dir) / "drops.taken").unlink(missing_ok=True)
