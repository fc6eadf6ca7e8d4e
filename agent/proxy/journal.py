"""A local, checksummed, byte-capped journal: every captured call is appended here before the
client's response completes, and the writer thread moves it to the store from here.

Segments `<seq>.journal` hold frames `b"AX" | u32 length | u32 checksum | payload`, the checksum
the low 32 bits of the payload's xxh3-64 (a fifteenth of crc32's time on a 15 KB record, and no
tables to pull into a cold cache on the event loop); frames `b"AJ"`, checksummed with crc32, are
what earlier versions appended, and are read as ever. The hook appends
with one `writev` (no fsync: a killed process loses nothing the kernel has; power loss is out of
scope). The writer reads frames in order and, once a batch is committed, records its position in
`ack` (written atomically) and deletes segments it has moved past. On restart reading resumes at
the acknowledged position; records past it are stored again, which the store's unique ids make
harmless. A new process always appends to a new segment, so a torn frame can only be the end of
an old one, where it is skipped and counted.

A journal belongs to one store: the first writer to drain it records that store's id in `store`,
and a writer connected to any other store refuses to drain it (JournalStoreMismatch), counting
each refusal in `refused.json`, so the records wait for their own store. Only a journal holding
nothing is rebound to another store. The proxy itself never
needs the store: it appends whether or not a database is reachable.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import xxhash

log = logging.getLogger(__name__)

MAGIC = b"AX"
CRC32_MAGIC = b"AJ"  # earlier versions' frames
_LOW32 = 0xFFFFFFFF
_FRAME = struct.Struct(">2sII")
MAX_FRAME = 1 << 30
SEGMENT_BYTES = 32 << 20
REFRESH_S = 1.0
IOV_MAX = min(os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024, 1024)  # how often the appender re-reads the writer's acknowledgement


@dataclass(frozen=True, order=True, slots=True)
class Position:
    segment: int
    offset: int


class Journal:
    def __init__(self, directory: Path, max_bytes: int, segment_bytes: int = SEGMENT_BYTES, *,
                 readonly: bool = False) -> None:
        """`readonly`: this process never appends (the writer process, `aiaudit status`)."""
        self.dir = Path(directory)
        self.readonly = readonly
        if not readonly:
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self._lock = threading.Lock()
        existing = self.segments()
        self._append_seq = (existing[-1] + 1) if existing else 1
        self._fd: int | None = None
        self._fd_size = 0
        self._rotate = False
        self._refreshed = 0.0
        self.corrupt_frames = 0
        self._acked = self.acked()
        # the cap applies to what is not yet acknowledged (what a store outage makes wait)
        self._size = sum(self._seg_path(s).stat().st_size for s in existing if s >= self._acked.segment)
        self._size -= self._acked.offset if self._acked.segment in existing else 0

    # -- appending (proxy event loop) --

    def _seg_path(self, seq: int) -> Path:
        return self.dir / f"{seq:012d}.journal"

    def segments(self) -> list[int]:
        seqs = []
        for p in self.dir.glob("*.journal"):
            try:
                seqs.append(int(p.stem))
            except ValueError:
                continue
        return sorted(seqs)

    @property
    def size(self) -> int:
        return self._size

    def append(self, parts: Sequence[bytes | memoryview]) -> bool:
        """Append one record; False when the byte cap is reached (the caller counts the drop)."""
        if self.readonly:
            raise PermissionError("journal opened read-only")
        length = sum(map(len, parts))
        if length > MAX_FRAME:
            return False
        frame_len = _FRAME.size + length
        now = time.monotonic()
        if now - self._refreshed > REFRESH_S:
            self._refresh(now)
        with self._lock:
            if self._size + frame_len > self.max_bytes:
                if now - self._refreshed > 0.05:  # the writer may have freed space since
                    self._refresh(now)
                if self._size + frame_len > self.max_bytes:
                    return False
            self._size += frame_len
        digest = xxhash.xxh3_64()
        for part in parts:
            digest.update(part)
        checksum = digest.intdigest() & _LOW32
        if self._fd is None or self._fd_size >= self.segment_bytes or self._rotate:
            self._rotate = False
            self._open_next()
        if len(parts) < IOV_MAX:
            buffers = [_FRAME.pack(MAGIC, length, checksum), *parts]
        else:  # a response of many small chunks: writev takes at most IOV_MAX buffers
            buffers = [_FRAME.pack(MAGIC, length, checksum), b"".join(parts)]
        written = os.writev(self._fd, buffers)
        if written != frame_len:  # a short write on a regular file means the disk is full
            raise OSError(f"journal: short write ({written} of {frame_len} bytes)")
        self._fd_size += frame_len
        return True

    def _refresh(self, now: float) -> None:
        """Learn what the writer (another process) has acknowledged: free that space, and leave a
        fully read segment so the writer can delete it."""
        self._refreshed = now
        acked = self.acked()
        segs = self.segments()
        size = 0
        for seq in segs:
            if seq >= acked.segment:
                try:
                    size += self._seg_path(seq).stat().st_size
                except FileNotFoundError:
                    continue
        if acked.segment in segs:
            size -= acked.offset
        self._size = max(0, size)
        if self._fd is not None and acked.segment == self._append_seq - 1 and acked.offset >= self._fd_size > 0:
            self._rotate = True

    def _open_next(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        path = self._seg_path(self._append_seq)
        self._append_seq += 1
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._fd_size = 0

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- reading and acknowledging (writer thread) --

    def acked(self) -> Position:
        try:
            seg, off = (self.dir / "ack").read_text().split()
            return Position(int(seg), int(off))
        except (FileNotFoundError, ValueError):
            segs = self.segments()
            return Position(segs[0] if segs else 1, 0)

    def read(self, start: Position, max_records: int = 500, max_bytes: int = 16 << 20) -> tuple[list[bytes], Position]:
        """Complete records from `start` on, and the position just after the last one read."""
        out: list[bytes] = []
        pos = start
        while len(out) < max_records:
            segs = [s for s in self.segments() if s >= pos.segment]
            if not segs:
                break
            if segs[0] != pos.segment:
                pos = Position(segs[0], 0)
            path = self._seg_path(pos.segment)
            try:
                with open(path, "rb") as f:
                    size = os.fstat(f.fileno()).st_size
                    f.seek(pos.offset)
                    data = f.read(max_bytes)
                    if len(data) >= _FRAME.size:  # a single record larger than max_bytes
                        _, length, _ = _FRAME.unpack_from(data, 0)
                        if len(data) < _FRAME.size + length <= _FRAME.size + MAX_FRAME:
                            data += f.read(_FRAME.size + length - len(data))
            except FileNotFoundError:
                continue  # acknowledged and deleted meanwhile; the next listing no longer has it
            at_eof = pos.offset + len(data) >= size
            consumed, torn = self._frames(data, pos, out, max_records)
            pos = Position(pos.segment, pos.offset + consumed)
            if len(out) >= max_records or not at_eof:
                continue
            later = [s for s in segs if s > pos.segment]
            if not later or self._is_active(pos.segment):
                break  # the newest segment: more may still be appended
            if torn or pos.offset < size:
                self.corrupt_frames += 1
                log.error("journal: segment %d ends in a torn record at byte %d; skipped", pos.segment, pos.offset)
            pos = Position(later[0], 0)
        return out, pos

    def _is_active(self, seq: int) -> bool:
        return self._fd is not None and seq == self._append_seq - 1

    def _frames(self, data: bytes, pos: Position, out: list, max_records: int) -> tuple[int, bool]:
        i = 0
        view = memoryview(data)
        while len(out) < max_records:
            if len(data) - i < _FRAME.size:
                return i, len(data) - i > 0
            magic, length, checksum = _FRAME.unpack_from(data, i)
            if magic not in (MAGIC, CRC32_MAGIC) or length > MAX_FRAME:
                self.corrupt_frames += 1
                log.error("journal: bad frame header in segment %d at byte %d; rest of segment skipped",
                          pos.segment, pos.offset + i)
                return len(data), False
            end = i + _FRAME.size + length
            if end > len(data):
                return i, True
            payload = bytes(view[i + _FRAME.size : end])
            i = end
            if (xxhash.xxh3_64_intdigest(payload) & _LOW32 if magic == MAGIC else zlib.crc32(payload)) != checksum:
                self.corrupt_frames += 1
                log.error("journal: checksum mismatch in segment %d at byte %d; record skipped",
                          pos.segment, pos.offset + i - length - _FRAME.size)
                continue
            out.append(payload)
        return i, False

    def ack(self, pos: Position) -> None:
        """Everything before `pos` is stored: persist that, and delete segments left behind."""
        tmp = self.dir / "ack.tmp"
        tmp.write_text(f"{pos.segment} {pos.offset}\n")
        os.replace(tmp, self.dir / "ack")
        old, self._acked = self._acked, pos
        released = 0
        for seq in self.segments():
            if seq > pos.segment:
                break
            path = self._seg_path(seq)
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue
            start = old.offset if seq == old.segment else 0
            if seq < pos.segment:
                released += max(0, size - start)
                if not self._is_active(seq):
                    path.unlink(missing_ok=True)
            else:
                released += max(0, pos.offset - start) if seq >= old.segment else pos.offset
                if pos.offset >= size and self._is_active(seq):
                    self._rotate = True  # all read: the next append starts a new segment
        with self._lock:
            self._size = max(0, self._size - released)


STORE_FILE = "store"
REFUSED_FILE = "refused.json"


class JournalStoreMismatch(Exception):
    """This journal was drained into another store: its records are not this store's."""


def journal_store(directory: Path) -> str | None:
    """The id of the store this journal drains into, or None while it has not been drained."""
    try:
        return (Path(directory) / STORE_FILE).read_text().strip() or None
    except FileNotFoundError:
        return None


def bind_journal(directory: Path, store_id: str, *, empty: bool = False) -> None:
    """Bind the journal to `store_id` on first use; refuse (and count) any other store, unless
    the journal is `empty` (everything in it was stored): then no record of the old store can
    reach the new one, and it is rebound (a database recreated under the same URL)."""
    path = Path(directory) / STORE_FILE
    bound = journal_store(directory)
    if bound is not None and bound != store_id and empty:
        staging = path.with_name(f".{STORE_FILE}.{os.getpid()}")
        staging.write_text(store_id + "\n")
        os.replace(staging, path)
        log.warning("aiaudit: journal %s was bound to store %s and holds nothing; bound to store %s now",
                    directory, bound, store_id)
    if journal_store(directory) is None:
        staging = path.with_name(f".{STORE_FILE}.{os.getpid()}")
        staging.write_text(store_id + "\n")
        try:
            os.link(staging, path)  # atomic and exclusive: of two writers, the first one binds
        except FileExistsError:
            pass
        finally:
            staging.unlink(missing_ok=True)
    bound = journal_store(directory)
    if bound == store_id:
        return
    refused = journal_refusals(directory)
    count = int(refused.get("count", 0)) + 1
    staging = Path(directory) / f".{REFUSED_FILE}.{os.getpid()}"
    staging.write_text(json.dumps({"count": count, "store_id": store_id, "at": time.time()}))
    os.replace(staging, Path(directory) / REFUSED_FILE)
    raise JournalStoreMismatch(
        f"journal {directory} belongs to store {bound}, not to this one ({store_id}): its records are kept "
        f"there, not drained here (refused {count} times); point the proxy at its own database again, or "
        "give this one another capture.journal_dir")


def journal_refusals(directory: Path) -> dict:
    """{"count", "store_id" (the store refused last), "at"}, or {} if none was refused."""
    try:
        return json.loads((Path(directory) / REFUSED_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return {}
