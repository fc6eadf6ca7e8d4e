"""Walking dataset trees as untrusted input.

Symbolic links are never followed out of the root they were found under; a link to a directory is
not descended (no loops, no escapes); devices, FIFOs and sockets are skipped; only files whose
names a reader supports are returned, and editors' swap and backup files are left alone.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from agent.scan.readers import SUPPORTED_SUFFIXES

_SKIP_NAMES = (".swp", ".swx", ".swo", "~", ".tmp", ".part", ".crdownload")


def supported(path: Path) -> bool:
    name = path.name.lower()
    if name.startswith(".") or name.endswith(_SKIP_NAMES) or name.startswith(".#"):
        return False
    suffixes = "".join(Path(name).suffixes[-2:])
    return suffixes in SUPPORTED_SUFFIXES or Path(name).suffix in SUPPORTED_SUFFIXES


def inside(path: Path, root: Path) -> bool:
    """`path`, with every link resolved, is within `root` (also resolved)."""
    try:
        return path.resolve(strict=True).is_relative_to(root.resolve(strict=True))
    except (OSError, RuntimeError):  # dangling link, or a loop of links
        return False


def regular_file(path: Path, root: Path) -> str | None:
    """None when `path` may be read as a dataset file of `root`, else why not."""
    try:
        st = path.lstat()
    except OSError as e:
        return e.strerror or str(e)
    if stat.S_ISLNK(st.st_mode):
        if not inside(path, root):
            return "symbolic link leading out of the watched directory"
        try:
            st = path.stat()
        except OSError as e:
            return e.strerror or str(e)
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    return None


def iter_files(root: Path, unlisted: list[str] | None = None) -> Iterator[Path]:
    """Supported regular files under `root` (or `root` itself when it is a file), in a stable order.
    A directory that cannot be listed is appended to `unlisted` (when given) as `path: reason`:
    the files in it were not scanned, and a scan must say so."""
    root = Path(root)
    if not root.is_dir():
        if supported(root) and regular_file(root, root.parent) is None:
            yield root
        return
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            st = directory.stat()
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:  # a bind mount or hard-linked loop
            continue
        seen.add((st.st_dev, st.st_ino))
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as e:
            if unlisted is not None:
                unlisted.append(f"{directory}: cannot list the directory ({e.strerror or e})")
            continue
        subdirs = []
        for entry in entries:
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not entry.name.startswith("."):
                        subdirs.append(path)
                    continue
            except OSError:
                continue
            if supported(path) and regular_file(path, root) is None:
                yield path
        stack.extend(reversed(subdirs))
