"""Reading a bundle that may be hostile: nothing is extracted to disk, names are checked before
use, and sizes are bounded whatever the zip's headers claim."""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

MAX_MEMBERS = 200_000
MAX_MEMBER_BYTES = 256 << 20  # a chain proof of ~500k links; far beyond any real bundle member
MAX_TOTAL_BYTES = 2 << 30
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


class BundleUnreadable(ValueError):
    """The file is not a bundle at all (missing, not a zip): a usage error, exit 2."""


@dataclass
class ReadResult:
    members: dict[str, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # each one altered or hostile member


def _unsafe(name: str) -> bool:
    return not _SAFE_NAME.match(name) or any(part in (".", "..") for part in name.split("/"))


def read_members(path: Path) -> ReadResult:
    result = ReadResult()
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise BundleUnreadable(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BundleUnreadable(f"{path}: is a folder, not a bundle") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as e:
        raise BundleUnreadable(f"{path}: not a zip file ({e})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            result.problems.append(f"{len(infos)} members, more than the {MAX_MEMBERS} a bundle may hold")
            return result
        total = 0
        for info in infos:
            name = info.filename
            shown = name.encode("unicode_escape", "replace").decode()[:200]
            if info.is_dir():
                continue
            if _unsafe(name):
                result.problems.append(f"member {shown!r}: unsafe name (absolute path or path traversal); not read")
                continue
            if name in result.members:
                result.problems.append(f"member {name}: appears twice in the zip")
                continue
            if info.flag_bits & 0x1:
                result.problems.append(f"member {name}: encrypted; not read")
                continue
            if info.file_size > MAX_MEMBER_BYTES or total + info.file_size > MAX_TOTAL_BYTES:
                result.problems.append(f"member {name}: {info.file_size} bytes, larger than a bundle member may be")
                continue
            data = _read_bounded(archive, info, result.problems)
            if data is not None:
                total += len(data)
                result.members[name] = data
    return result


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, problems: list[str]) -> bytes | None:
    """The member's bytes, read in chunks and cut off past the limit (headers can lie)."""
    chunks, size = [], 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(1 << 20):
                size += len(chunk)
                if size > MAX_MEMBER_BYTES:
                    problems.append(f"member {info.filename}: decompresses past {MAX_MEMBER_BYTES} bytes; not read")
                    return None
                chunks.append(chunk)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as e:
        problems.append(f"member {info.filename}: cannot be read ({e})")
        return None
    except Exception as e:  # zlib.error and friends from a corrupt stream
        problems.append(f"member {info.filename}: cannot be read ({type(e).__name__}: {e})")
        return None
    return b"".join(chunks)


def json_member(members: dict[str, bytes], name: str, problems: list[str]) -> dict[str, Any] | None:
    """The member as a JSON object; None after recording why it is not one."""
    try:
        value = json.loads(members[name].decode("utf-8"))
    except KeyError:
        problems.append(f"member {name}: missing")
        return None
    except (UnicodeDecodeError, ValueError) as e:
        problems.append(f"member {name}: not valid JSON ({type(e).__name__})")
        return None
    if not isinstance(value, dict):
        problems.append(f"member {name}: not a JSON object")
        return None
    return value
