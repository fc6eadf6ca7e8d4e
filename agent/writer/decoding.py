"""Bounded decoding of Content-Encoding'd bodies (gzip, deflate, br, zstd).

Bodies arrive as raw wire bytes (mitmproxy hands streamed chunks over undecoded, and its own
`.content` decoder has no size cap). Every decoder here is a streaming one driven in small steps
with a running total, so a compression bomb costs at most about one step beyond the cap, never
the whole expansion: decompress-then-slice would already have paid for it.

Limits: `max_bytes` caps the decoded size; `max_ratio` caps decoded/encoded once the output
passes `RATIO_FLOOR` (small bodies may legitimately compress very well). Truncated input (the
tee's byte cap) is not an error: whatever decodes is returned.
"""

from __future__ import annotations

import io
import zlib

import brotli
import zstandard

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_RATIO = 500
RATIO_FLOOR = 4 * 1024 * 1024
_STEP = 64 * 1024
# RFC 9659 lets HTTP zstd decoders refuse windows above 8 MiB; larger ones would make the
# decompressor allocate whatever a hostile frame header asks for.
_ZSTD_MAX_WINDOW = 8 * 1024 * 1024


class DecodeError(Exception):
    """The body cannot be decoded within limits; the message is short and safe to store."""


def describe_size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} bytes"


class _Budget:
    def __init__(self, encoded_len: int, max_bytes: int, max_ratio: float) -> None:
        self.encoded_len = max(encoded_len, 1)
        self.max_bytes = max_bytes
        self.max_ratio = max_ratio
        self.total = 0

    def remaining(self) -> int:
        return self.max_bytes - self.total

    def add(self, n: int) -> None:
        self.total += n
        if self.total > self.max_bytes:
            raise DecodeError(f"body exceeds {describe_size(self.max_bytes)} after decompression")
        if self.total > RATIO_FLOOR and self.total > self.max_ratio * self.encoded_len:
            raise DecodeError(
                f"body expands more than {self.max_ratio:g}x on decompression (compression bomb?)"
            )


def _zlib_decode(data: bytes, wbits: int, budget: _Budget, name: str) -> bytes:
    out: list[bytes] = []
    pending = data
    while pending:
        decoder = zlib.decompressobj(wbits)
        try:
            chunk = decoder.decompress(pending, _STEP)
            while True:
                budget.add(len(chunk))
                out.append(chunk)
                if not decoder.unconsumed_tail:
                    break
                chunk = decoder.decompress(decoder.unconsumed_tail, _STEP)
        except zlib.error as exc:
            raise DecodeError(f"{name} body is corrupt: {exc}") from None
        # gzip allows several members back to back; anything else after the end is ignored.
        pending = decoder.unused_data if name == "gzip" and decoder.eof else b""
    return b"".join(out)


def _deflate_decode(data: bytes, budget: _Budget) -> bytes:
    # "deflate" means zlib-wrapped (RFC 9110) but some servers send raw deflate.
    zlib_wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
    return _zlib_decode(data, zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS, budget, "deflate")


def _brotli_supports_output_limit() -> bool:
    try:
        brotli.Decompressor().process(b"", output_buffer_limit=1)  # brotli >= 1.2
    except TypeError:
        return False
    except brotli.error:
        return True
    return True


_BROTLI_OUTPUT_LIMIT = _brotli_supports_output_limit()


def _brotli_decode(data: bytes, budget: _Budget) -> bytes:
    decoder = brotli.Decompressor()
    out: list[bytes] = []
    try:
        if _BROTLI_OUTPUT_LIMIT:
            chunk = decoder.process(data, output_buffer_limit=_STEP)
            while True:
                budget.add(len(chunk))
                out.append(chunk)
                if decoder.is_finished() or not chunk:
                    break
                chunk = decoder.process(b"", output_buffer_limit=_STEP)
            return b"".join(out)
        # brotli 1.1's process() has no output limit and one input byte can expand to several
        # MiB, so feed a few bytes at a time: up to 256 while far from the cap, one byte when
        # close. Measured: 16-byte steps still decode ~20 MB/s of compressed input.
        pos = 0
        while pos < len(data):
            step = max(1, min(256, budget.remaining() // (4 * 1024 * 1024)))
            chunk = decoder.process(data[pos : pos + step])
            pos += step
            budget.add(len(chunk))
            out.append(chunk)
    except brotli.error as exc:
        raise DecodeError(f"br body is corrupt: {exc}") from None
    return b"".join(out)


def _zstd_decode(data: bytes, budget: _Budget) -> bytes:
    decompressor = zstandard.ZstdDecompressor(max_window_size=_ZSTD_MAX_WINDOW)
    out: list[bytes] = []
    try:
        with decompressor.stream_reader(io.BytesIO(data), read_across_frames=True) as reader:
            while chunk := reader.read(_STEP):
                budget.add(len(chunk))
                out.append(chunk)
    except zstandard.ZstdError as exc:
        if out and "incomplete" in str(exc).lower():
            return b"".join(out)  # truncated capture: keep what decoded
        raise DecodeError(f"zstd body is corrupt: {exc}") from None
    return b"".join(out)


def decode_body(
    data: bytes,
    content_encoding: str | None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_ratio: float = DEFAULT_MAX_RATIO,
) -> bytes:
    """Undo `Content-Encoding` (a comma list, applied in order, so undone in reverse)."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    for coding in reversed(codings):
        if coding == "identity":
            continue
        budget = _Budget(len(data), max_bytes, max_ratio)
        encoded = data
        if coding in ("gzip", "x-gzip"):
            data = _zlib_decode(data, 16 + zlib.MAX_WBITS, budget, "gzip")
        elif coding == "deflate":
            data = _deflate_decode(data, budget)
        elif coding == "br":
            data = _brotli_decode(data, budget)
        elif coding == "zstd":
            data = _zstd_decode(data, budget)
        else:
            raise DecodeError(f"unsupported Content-Encoding {coding[:40]!r}")
        if encoded and not data:
            # Incomplete input is tolerated, so garbage that never gets past a header ends here.
            raise DecodeError(f"{coding} body decodes to nothing (corrupt or cut short)")
    if len(data) > max_bytes:
        raise DecodeError(f"body exceeds {describe_size(max_bytes)}")
    return data
