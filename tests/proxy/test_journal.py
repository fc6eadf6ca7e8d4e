from __future__ import annotations

import threading

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.proxy.journal import Journal
from agent.proxy.journal import Position


def records(n: int, size: int = 100) -> list[bytes]:
    return [f"record-{i:05d}-".encode() + b"x" * size for i in range(n)]


def drain(journal: Journal, start: Position | None = None, batch: int = 7) -> tuple[list[bytes], Position]:
    pos = start or journal.acked()
    got: list[bytes] = []
    while True:
        chunk, end = journal.read(pos, max_records=batch)
        if not chunk and end == pos:
            return got, pos
        got.extend(chunk)
        journal.ack(end)
        pos = end


def test_records_come_back_in_order_across_segments(tmp_path):
    j = Journal(tmp_path, max_bytes=1 << 20, segment_bytes=1000)
    data = records(40)
    for rec in data:
        assert j.append([rec[:10], memoryview(rec)[10:]])  # written as pieces, read as one record
    assert len(j.segments()) > 3
    got, _ = drain(j)
    assert got == data


def test_acknowledged_segments_are_deleted_and_size_follows(tmp_path):
    j = Journal(tmp_path, max_bytes=1 << 20, segment_bytes=1000)
    for rec in records(40):
        j.append([rec])
    before = j.size
    drain(j)
    assert j.size < before
    assert len(j.segments()) == 1  # only the segment still open for appending


def test_restart_resumes_at_the_acknowledged_position(tmp_path):
    j = Journal(tmp_path, max_bytes=1 << 20, segment_bytes=1000)
    data = records(30)
    for rec in data:
        j.append([rec])
    first, end = j.read(j.acked(), max_records=12)
    j.ack(end)
    j.close()  # the process dies here

    reopened = Journal(tmp_path, max_bytes=1 << 20, segment_bytes=1000)
    rest, _ = drain(reopened)
    assert first + rest == data
    reopened.append([b"after restart"])
    assert drain(reopened, reopened.acked())[0] == [b"after restart"]


def test_unacknowledged_records_are_read_again_after_restart(tmp_path):
    j = Journal(tmp_path, max_bytes=1 << 20)
    data = records(5)
    for rec in data:
        j.append([rec])
    got, _ = j.read(j.acked())
    assert got == data
    j.close()  # crashed before the batch was committed and acknowledged
    assert Journal(tmp_path, max_bytes=1 << 20).read(Position(1, 0))[0] == data


def test_byte_cap_refuses_new_records(tmp_path):
    j = Journal(tmp_path, max_bytes=1000)
    accepted = sum(j.append([rec]) for rec in records(20))
    assert 0 < accepted < 20
    assert j.size <= 1000
    drain(j)
    assert j.append([b"room again"])


def test_torn_tail_of_an_old_segment_is_skipped_and_counted(tmp_path):
    j = Journal(tmp_path, max_bytes=1 << 20)
    for rec in records(3):
        j.append([rec])
    j.close()
    segment = tmp_path / f"{j.segments()[0]:012d}.journal"
    data = segment.read_bytes()
    segment.write_bytes(data[:-20])  # the last record was cut by a crash mid-write

    reopened = Journal(tmp_path, max_bytes=1 << 20)
    reopened.append([b"new process"])
    got, _ = drain(reopened)
    assert got == records(3)[:2] + [b"new process"]
    assert reopened.corrupt_frames == 1


def test_checksum_mismatch_skips_only_that_record(tmp_path):
    j = Journal(tmp_path, max_bytes=1 << 20)
    data = records(3)
    for rec in data:
        j.append([rec])
    j.close()
    segment = tmp_path / f"{j.segments()[0]:012d}.journal"
    raw = bytearray(segment.read_bytes())
    middle = len(raw) // 2
    raw[middle] ^= 0xFF  # flip a byte inside the second record's payload
    segment.write_bytes(bytes(raw))
    reopened = Journal(tmp_path, max_bytes=1 << 20)
    got, _ = drain(reopened)
    assert got == [data[0], data[2]]
    assert reopened.corrupt_frames == 1


def test_reader_and_appender_run_concurrently(tmp_path):
    j = Journal(tmp_path, max_bytes=64 << 20, segment_bytes=4096)
    data = records(2000, size=50)
    done = threading.Event()

    def append_all() -> None:
        for rec in data:
            assert j.append([rec])
        done.set()

    got: list[bytes] = []
    pos = j.acked()
    writer = threading.Thread(target=append_all)
    writer.start()
    while not (done.is_set() and len(got) == len(data)):
        chunk, end = j.read(pos, max_records=100)
        got.extend(chunk)
        if end != pos:
            j.ack(end)
            pos = end
    writer.join()
    assert got == data


def test_a_record_of_thousands_of_chunks_is_written_whole(tmp_path):
    j = Journal(tmp_path, max_bytes=1 << 30)
    parts = [b"%05d," % i for i in range(5000)]  # more pieces than one writev accepts
    assert j.append(parts)
    got, _ = j.read(j.acked())
    assert got == [b"".join(parts)]


def _old_frame(payload: bytes) -> bytes:
    """A frame as versions before the xxh3 checksum appended it."""
    import struct
    import zlib

    return struct.pack(">2sII", b"AJ", len(payload), zlib.crc32(payload)) + payload


def test_frames_of_earlier_versions_are_read_and_their_checksums_checked(tmp_path):
    """A journal left by an earlier version (crc32 frames, magic AJ) is drained after an upgrade;
    a record of it that does not match its crc32 is skipped as ever."""
    data = records(4)
    old = b"".join(_old_frame(rec) for rec in data)
    broken = bytearray(_old_frame(b"damaged-record"))
    broken[-1] ^= 0x01
    (tmp_path / f"{1:012d}.journal").write_bytes(old + bytes(broken) + _old_frame(b"after"))
    j = Journal(tmp_path, max_bytes=1 << 20)
    j.append([b"new ", b"frame"])  # this version's frame, in the next segment
    got, _ = drain(j)
    assert got == [*data, b"after", b"new frame"] and j.corrupt_frames == 1
    assert (tmp_path / f"{2:012d}.journal").read_bytes()[:2] == b"AX"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=8))
def test_a_record_appended_in_pieces_is_checked_as_one(tmp_path_factory, parts):
    """The hook hashes a record piece by piece; the reader hashes it whole: the same checksum."""
    directory = tmp_path_factory.mktemp("journal")
    j = Journal(directory, max_bytes=1 << 20)
    assert j.append(parts)
    got, _ = drain(j)
    assert got == [b"".join(parts)] and j.corrupt_frames == 0
