"""Transport-level bad-input modes, applied to any vendor's reply after it is built.

Vendor-specific modes (unknown-events, interleaved, error-in-stream, crc-error) are built into
the vendor modules; truncated-stream and slow are carried out by the server while writing.
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Callable
from collections.abc import Iterator
from functools import cache

import brotli
import zstandard

from .call import Call
from .call import Reply

HUGE_BYTES = 100 * 1024 * 1024
BOMB_BYTES = 1024 * 1024 * 1024
_BLOCK = 1024 * 1024


def apply(call: Call, reply: Reply) -> Reply:
    match call.mode:
        case "gzip" | "deflate" | "br" | "zstd" as encoding:
            return compress(reply, encoding)
        case "malformed-json":
            return _malformed(reply)
        case "binary-garbage":
            return _garbage(reply)
        case "huge" if reply.streamed:
            return _huge_stream(reply)
        case "huge" if reply.text:
            return _huge(reply)
        case "bomb":
            return Reply(status=200, content_type=reply.content_type, headers=reply.headers
                         | {"Content-Encoding": "gzip"}, body_stream=gzip_bomb())
    return reply


# ---------------------------------------------------------------- compression

class _Compressor:
    """One streaming compressor per encoding: `chunk()` flushes so each event decodes alone."""

    def __init__(self, encoding: str) -> None:
        self.chunk: Callable[[bytes], bytes]
        self.finish: Callable[[], bytes]
        match encoding:
            case "gzip" | "deflate":
                # HTTP "deflate" is the zlib format (RFC 9110), gzip has its own header.
                z = zlib.compressobj(6, zlib.DEFLATED, 31 if encoding == "gzip" else 15)
                self.chunk = lambda data: z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
                self.finish = z.flush
            case "br":
                b = brotli.Compressor()
                self.chunk = lambda data: b.process(data) + b.flush()
                self.finish = b.finish
            case "zstd":
                zs = zstandard.ZstdCompressor().compressobj()
                self.chunk = lambda data: zs.compress(data) + zs.flush(
                    zstandard.COMPRESSOBJ_FLUSH_BLOCK)
                self.finish = zs.flush
            case _:
                raise ValueError(f"unsupported encoding {encoding}")


def compress(reply: Reply, encoding: str) -> Reply:
    compressor = _Compressor(encoding)
    reply.headers["Content-Encoding"] = encoding
    if reply.events is not None:
        reply.events = [compressor.chunk(event) for event in reply.events]
        reply.events.append(compressor.finish())
    else:
        reply.body = compressor.chunk(reply.body) + compressor.finish()
    return reply


# ---------------------------------------------------------------- broken bodies

def _broken_event(content_type: str) -> bytes:
    if content_type.startswith("text/event-stream"):
        return b'data: {"choices": [{"delta": {"content": "unterminated\n\n'
    if content_type.startswith("application/json"):  # Gemini's incremental JSON array
        return b',\r\n{"candidates": [{"content": {"parts": [{"text": "unterminated'
    return b'{"event_type": "text-generation", "text": "unterminated\n'


def _malformed(reply: Reply) -> Reply:
    if reply.content_type == "application/vnd.amazon.eventstream":
        return reply  # framed by the Bedrock module, which breaks a payload inside a valid frame
    if reply.events is not None:
        cut = reply.cut_at or len(reply.events) // 2
        reply.events[cut] = _broken_event(reply.content_type)
    else:
        reply.body = reply.body[: max(1, len(reply.body) // 2)] + b'", "oops": {['
    return reply


def _garbage(reply: Reply) -> Reply:
    rng = random.Random(len(reply.body) + len(reply.events or ()))
    if reply.events is not None:
        reply.events = [rng.randbytes(256) for _ in reply.events]
    else:
        reply.body = rng.randbytes(4096)
    reply.text = None
    reply.content_type = "application/json"  # what a client would try to parse, and fail
    return reply


# ---------------------------------------------------------------- big bodies, lazily

def _huge(reply: Reply) -> Reply:
    """The same JSON reply with its text repeated up to ~100 MB, generated while sending."""
    assert reply.text is not None
    prefix, marker, suffix = reply.body.partition(reply.text.encode())
    if not marker:
        return reply
    filler = (reply.text + " ").encode() * max(1, _BLOCK // (len(reply.text) + 1))
    repeats = max(1, -(-(HUGE_BYTES - len(prefix) - len(suffix)) // len(filler)))  # ceil

    def generate() -> Iterator[bytes]:
        yield prefix
        for _ in range(repeats):
            yield filler
        yield suffix

    reply.content_length = len(prefix) + repeats * len(filler) + len(suffix)
    reply.body_stream = generate()
    reply.body = b""
    return reply


def _huge_stream(reply: Reply) -> Reply:
    """The same stream with one content event repeated until it carries ~100 MB.

    Events are grouped into ~64 KB chunks on the wire: a million one-event chunks would measure
    the chunk overhead rather than the parser.
    """
    assert reply.events is not None
    events = reply.events
    middle = reply.cut_at or len(events) // 2
    repeated = events[middle]
    repeats = -(-HUGE_BYTES // max(1, len(repeated)))

    def generate() -> Iterator[bytes]:
        batch = bytearray(b"".join(events[:middle]))
        for _ in range(repeats):
            batch += repeated
            if len(batch) >= 65536:
                yield bytes(batch)
                batch.clear()
        for event in events[middle:]:
            batch += event
        yield bytes(batch)

    reply.events = None
    reply.body_stream = generate()
    reply.text = None
    return reply


@cache
def _zero_block_deflate() -> tuple[bytes, bytes]:
    """A raw-deflate block of 1 MiB of zeros ending in a full flush, and the stream's tail.

    After a full flush the decoder needs no earlier history, so the block can be repeated
    verbatim any number of times before the final (empty) block.
    """
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = z.compress(bytes(_BLOCK)) + z.flush(zlib.Z_FULL_FLUSH)
    return block, z.flush(zlib.Z_FINISH)


def gzip_bomb(size: int = BOMB_BYTES) -> Iterator[bytes]:
    """A gzip stream of `size` zero bytes (~1 KB on the wire per MiB), never held in memory."""
    size -= size % _BLOCK
    block, tail = _zero_block_deflate()
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    for _ in range(size // _BLOCK):
        yield block
    yield tail + struct.pack("<II", _zeros_crc32(size), size & 0xFFFFFFFF)


@cache
def _zeros_crc32(size: int) -> int:
    crc, zeros = 0, bytes(_BLOCK)
    for _ in range(size // _BLOCK):
        crc = zlib.crc32(zeros, crc)
    return crc
