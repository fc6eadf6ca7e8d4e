"""Record ids that are unique across proxy hosts and sort by creation time.

48 bits of milliseconds since the epoch, then 80 random bits, in Crockford base32 (26 characters,
the ULID layout). Within one process ids are strictly increasing: a second id in the same
millisecond increments the random part instead of drawing a new one.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# every pair of digits, indexed by the 10 bits they encode; an id is 13 pairs
_PAIRS = [high + low for high in _ALPHABET for low in _ALPHABET]
_PAIR_SHIFTS = tuple(range(120, -1, -10))
_lock = threading.Lock()
_last_ms = -1
_last_rand = 0


def _encode(value: int) -> str:
    """The low 130 bits of `value` as 26 base32 digits, most significant first.

    Ten bits at a time from a table of digit pairs: half the cost of five bits at a time (the
    proxy makes an id per captured call, on its event loop)."""
    pairs = _PAIRS
    return "".join([pairs[(value >> shift) & 1023] for shift in _PAIR_SHIFTS])


def new_id(now: float | None = None) -> str:
    global _last_ms, _last_rand
    ms = int((time.time() if now is None else now) * 1000)
    with _lock:
        if ms <= _last_ms:
            ms = _last_ms
            rand = _last_rand + 1
            if rand >> 80:  # 2**80 ids in one millisecond: move to the next one
                ms += 1
                rand = int.from_bytes(os.urandom(10), "big") >> 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1  # headroom for increments
        _last_ms, _last_rand = ms, rand
    return _encode((ms << 80) | rand)


def id_time(record_id: str) -> dt.datetime:
    value = 0
    for ch in record_id[:10]:
        value = value * 32 + _ALPHABET.index(ch)
    return dt.datetime.fromtimestamp(value / 1000, dt.timezone.utc)
