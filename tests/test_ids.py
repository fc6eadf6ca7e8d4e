from __future__ import annotations

import datetime as dt
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from agent.ids import _encode
from agent.ids import id_time
from agent.ids import new_id


def test_ids_are_unique_and_strictly_increasing_in_one_process():
    ids = [new_id() for _ in range(50_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(len(i) == 26 for i in ids)


def test_ids_sort_by_time_and_carry_it():
    early = new_id(now=1_700_000_000.0)
    late = new_id(now=1_800_000_000.0)
    assert early < late
    assert id_time(late) == dt.datetime.fromtimestamp(1_800_000_000, dt.timezone.utc)


def test_ids_from_separate_processes_do_not_collide():
    code = "from agent.ids import new_id\nprint('\\n'.join(new_id() for _ in range(20000)))"
    outs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
            for _ in range(3)]
    merged = [i for out in outs for i in out]
    assert len(set(merged)) == len(merged) == 60_000


def _reference_encode(value: int) -> str:
    """Base32 the plain way, five bits at a time: what agent.ids._encode must equal."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return "".join(alphabet[(value >> (5 * k)) & 31] for k in reversed(range(26)))


@given(st.integers(min_value=0, max_value=(1 << 130) - 1))
def test_the_fast_encoding_is_plain_crockford_base32(value):
    assert _encode(value) == _reference_encode(value)


@given(st.integers(min_value=0, max_value=(1 << 128) - 1), st.integers(min_value=0, max_value=(1 << 128) - 1))
def test_encoded_ids_sort_as_their_values(a, b):
    assert (_encode(a) < _encode(b)) == (a < b)
