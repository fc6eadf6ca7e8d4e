"""The client runner: `@client_side` functions run in the SDK clients' venv and bring back exactly
what they returned, or the exception they raised; a hung call does not hang the suite."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.support.client_side import ClientError
from tests.support.client_side import ClientRunner
from tests.support.client_side import client_side


@client_side
def echo(value):
    return value


@client_side
def where_am_i():
    import sys

    import openai

    return {"prefix": sys.prefix, "openai": openai.__version__}


@client_side
def noisy(value):
    print("stray output from an SDK", value)  # must not reach the protocol
    return value


@client_side
def fails(kind):
    raise {"key": KeyError("missing"), "value": ValueError("bad value")}[kind]


JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=30),
                        st.binary(max_size=64), st.floats(allow_nan=False, allow_infinity=False))
VALUES = st.recursive(JSON_LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10).filter(lambda k: k != "__bytes__"), inner,
                                                 max_size=5)), max_leaves=20)


@settings(max_examples=40, deadline=None)
@given(VALUES)
def test_values_come_back_as_they_went(value):
    assert echo(value) == value


@pytest.mark.parametrize("value", [b"", "", [], {}, b"\x00\xff" * 300_000, "é" * 200_000, {"a": [None] * 1000}])
def test_empty_and_huge_values(value):
    assert echo(value) == value


def test_the_function_runs_in_the_clients_venv():
    there = where_am_i()
    assert there["prefix"] != sys.prefix and there["openai"]


def test_prints_do_not_break_the_answer():
    assert noisy([1, 2]) == [1, 2]
    assert echo("after") == "after"


def test_exceptions_come_back_with_their_type_and_bases():
    with pytest.raises(ClientError, match="missing") as raised:
        fails("key")
    assert raised.value.type == "builtins.KeyError"
    assert raised.value.is_a("LookupError") and raised.value.is_a("builtins.KeyError")
    assert not raised.value.is_a("ValueError")
    assert "in fails" in raised.value.traceback and "raise {" in raised.value.traceback
    assert echo(1) == 1  # the worker lives on


def test_a_result_that_is_not_data_is_an_error_not_a_hang():
    @client_side
    def returns_an_object():
        return object()

    with pytest.raises(ClientError, match="return plain data"):
        returns_an_object()


def test_a_hung_call_times_out_and_the_next_call_gets_a_new_worker():
    runner = ClientRunner()
    source = "def sleep(seconds):\n    import time\n    time.sleep(seconds)\n    return seconds\n"
    try:
        with pytest.raises(RuntimeError, match="did not answer within 1 s"):
            runner.call(source, "sleep", [30], {}, timeout=1)
        assert runner.proc is None
        assert runner.call(source, "sleep", [0], {}, timeout=30) == 0
    finally:
        runner.stop()


def test_a_missing_clients_venv_says_how_to_make_it(tmp_path):
    runner = ClientRunner(tmp_path / "nowhere" / "bin" / "python")
    with pytest.raises(RuntimeError, match=r"run \./install\.sh --dev"):
        runner.call("def f():\n    return 1\n", "f", [], {})
