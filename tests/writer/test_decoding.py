from __future__ import annotations

import gzip
import os
import time
import tracemalloc
import zlib

import brotli
import pytest
import zstandard

from agent.writer.decoding import DecodeError
from agent.writer.decoding import decode_body

from .wire import compress

PAYLOAD = b'{"choices":[{"message":{"content":"' + os.urandom(3000).hex().encode() + b'"}}]}'


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_round_trip(encoding):
    assert decode_body(compress(PAYLOAD, encoding), encoding) == PAYLOAD


def test_identity_none_and_case():
    assert decode_body(PAYLOAD, None) == PAYLOAD
    assert decode_body(PAYLOAD, "identity") == PAYLOAD
    assert decode_body(gzip.compress(PAYLOAD), " GZIP ") == PAYLOAD


def test_raw_deflate_and_concatenated_gzip_members():
    raw = zlib.compressobj(wbits=-15)
    assert decode_body(raw.compress(PAYLOAD) + raw.flush(), "deflate") == PAYLOAD
    assert decode_body(gzip.compress(b"ab") + gzip.compress(b"cd"), "gzip") == b"abcd"


def test_stacked_encodings_are_undone_in_reverse():
    assert decode_body(brotli.compress(gzip.compress(PAYLOAD)), "gzip, br") == PAYLOAD


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_truncated_body_keeps_what_decodes(encoding):
    # Fresh random text throughout, so half the encoded bytes hold many complete zstd blocks.
    whole = b"".join(os.urandom(3000).hex().encode() for _ in range(200))
    data = compress(whole, encoding)
    out = decode_body(data[: len(data) // 2], encoding)
    assert 0 < len(out) < len(whole)
    assert whole.startswith(out)


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
def test_corrupt_body(encoding):
    with pytest.raises(DecodeError, match=f"{encoding} body is corrupt"):
        decode_body(b"\x00\x01not compressed at all" * 4, encoding)


def test_unsupported_encoding():
    with pytest.raises(DecodeError, match="unsupported Content-Encoding 'compress'"):
        decode_body(b"x", "compress")


def test_identity_body_over_cap():
    with pytest.raises(DecodeError, match="body exceeds 1 KiB"):
        decode_body(b"x" * 2000, None, max_bytes=1024)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_compression_bomb_stops_at_the_cap_quickly(encoding):
    bomb = compress(b"\0" * (10 * 1024 * 1024), encoding)
    assert len(bomb) < 20_000
    # brotli 1.1 cannot cap one process() call (see the 256 MiB test below).
    limit = (40 if encoding == "br" else 12) * 1024 * 1024
    assert_bomb_bounded(bomb, encoding, peak_limit=limit)


def test_brotli_bomb_of_256_mib_is_bounded():
    # brotli 1.1 cannot cap one process() call, so one input byte may still yield several MiB;
    # what matters is that the cost does not grow with the bomb.
    compressor = brotli.Compressor(quality=5)
    bomb = b"".join(compressor.process(b"\0" * (1024 * 1024)) for _ in range(256)) + compressor.finish()
    assert len(bomb) < 100_000
    assert_bomb_bounded(bomb, "br", peak_limit=40 * 1024 * 1024)


def assert_bomb_bounded(bomb: bytes, encoding: str, peak_limit: int) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(DecodeError, match="body exceeds 1 MiB after decompression"):
        decode_body(bomb, encoding, max_bytes=1024 * 1024)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < peak_limit  # about one decoder step beyond the cap, never the whole bomb


def test_ratio_limit():
    bomb = gzip.compress(b"\0" * (8 * 1024 * 1024))
    with pytest.raises(DecodeError, match="expands more than 100x"):
        decode_body(bomb, "gzip", max_ratio=100)


def test_zstd_window_limit():
    params = zstandard.ZstdCompressionParameters(window_log=27, write_content_size=False)
    writer = zstandard.ZstdCompressor(compression_params=params).compressobj()
    data = writer.compress(os.urandom(1000) * 10) + writer.flush()
    # A frame asking for a 128 MiB window is refused rather than allocated.
    with pytest.raises(DecodeError, match="zstd body is corrupt"):
        decode_body(data, "zstd")
