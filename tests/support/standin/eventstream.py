"""Encoder for AWS `application/vnd.amazon.eventstream` frames (Bedrock streaming responses).

Frame layout (big-endian): total_len u32, headers_len u32, prelude CRC32 (of the first 8 bytes),
headers, payload, message CRC32 (of everything before it). boto3 checks both CRCs, so frames
must be exact; `corrupt_crc=True` breaks the message CRC on purpose for the `crc-error` mode.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping

_TRUE, _FALSE, _INT8, _INT16, _INT32, _INT64, _BYTES, _STRING = range(8)


def _encode_header(name: str, value: str | bytes | bool | int) -> bytes:
    raw_name = name.encode()
    out = struct.pack("B", len(raw_name)) + raw_name
    if value is True:
        return out + struct.pack("B", _TRUE)
    if value is False:
        return out + struct.pack("B", _FALSE)
    if isinstance(value, int):
        return out + struct.pack(">Bi", _INT32, value)
    if isinstance(value, bytes):
        return out + struct.pack(">BH", _BYTES, len(value)) + value
    raw = value.encode()
    return out + struct.pack(">BH", _STRING, len(raw)) + raw


def encode_frame(
    headers: Mapping[str, str | bytes | bool | int], payload: bytes, corrupt_crc: bool = False
) -> bytes:
    encoded_headers = b"".join(_encode_header(k, v) for k, v in headers.items())
    total = 12 + len(encoded_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + encoded_headers + payload
    crc = zlib.crc32(body)
    if corrupt_crc:
        crc ^= 0xDEADBEEF
    return body + struct.pack(">I", crc)


def event_frame(event_type: str, payload: object, corrupt_crc: bool = False) -> bytes:
    """An `:message-type: event` frame with a JSON payload, as Bedrock sends them."""
    headers = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return encode_frame(headers, json.dumps(payload).encode(), corrupt_crc)


def exception_frame(exception_type: str, message: str) -> bytes:
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_frame(headers, json.dumps({"message": message}).encode())
