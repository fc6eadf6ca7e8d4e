"""Property tests of what the store binding parses: database URLs (for the default journal's
key), a journal's `store` and `refused.json` files, and an index manifest's binding."""

from __future__ import annotations

import json
import string
from pathlib import Path

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.config import database_key
from agent.proxy.journal import JournalStoreMismatch
from agent.proxy.journal import bind_journal
from agent.proxy.journal import journal_refusals
from agent.proxy.journal import journal_store
from agent.reuse.index import EMPTY
from agent.reuse.index import Generation

NAME = st.text(string.ascii_letters + string.digits + "_-.", min_size=1, max_size=20)
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


URL_TEXT = st.one_of(
    st.text(max_size=200),
    st.builds(lambda scheme, rest: f"{scheme}://{rest}",
              st.sampled_from(["sqlite", "postgresql", "postgresql+psycopg", "mysql", ""]),
              st.text(string.printable + "\x00[]@:/", max_size=60)),
)


@SETTINGS
@given(URL_TEXT)
def test_any_url_text_has_a_key(url):
    key = database_key(url)
    assert len(key) == 16 and set(key) <= set("0123456789abcdef")
    assert database_key(url) == key


@SETTINGS
@given(user=NAME, one=st.text(min_size=1, max_size=30), two=st.text(min_size=1, max_size=30), host=NAME,
       port=st.one_of(st.none(), st.integers(1, 65535)), database=NAME, other=NAME)
def test_postgres_keys_ignore_the_password_and_tell_databases_apart(user, one, two, host, port, database, other):
    from urllib.parse import quote

    def url(password: str, db: str) -> str:
        where = f"{host}:{port}" if port else host
        return f"postgresql+psycopg://{user}:{quote(password, safe='')}@{where}/{db}"

    assert database_key(url(one, database)) == database_key(url(two, database))
    assert (database_key(url(one, database)) == database_key(url(one, other))) == (database == other)


@SETTINGS
@given(st.lists(NAME, min_size=1, max_size=5))
def test_sqlite_keys_are_per_file(names):
    keys = {database_key(f"sqlite:////data/{n}.db") for n in names}
    assert len(keys) == len(set(names))


@SETTINGS
@given(content=st.binary(max_size=300))
def test_corrupt_refusal_counts_read_as_none(tmp_path_factory, content):
    directory = tmp_path_factory.mktemp("j")
    (directory / "refused.json").write_bytes(content)
    try:
        expected = json.loads(content)
    except ValueError:
        expected = {}
    got = journal_refusals(directory)
    assert got == expected or got == {}


@SETTINGS
@given(first=st.uuids().map(str), others=st.lists(st.uuids().map(str), max_size=4))
def test_a_journal_keeps_the_first_store_and_counts_each_refusal(tmp_path_factory, first, others):
    directory = Path(tmp_path_factory.mktemp("j"))
    bind_journal(directory, first)
    refused = 0
    for other in [first, *others, first]:
        try:
            bind_journal(directory, other)
        except JournalStoreMismatch:
            refused += 1
            assert other != first
    assert journal_store(directory) == first
    assert journal_refusals(directory).get("count", 0) == refused == sum(o != first for o in others)


JSONABLE = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                        max_leaves=8)


@SETTINGS
@given(binding=st.one_of(st.none(), st.dictionaries(st.sampled_from(["store", "anchor", "x"]), JSONABLE, max_size=3)))
def test_manifest_binding_round_trips(binding):
    generation = Generation(3, ("seg-00000001",), (False,), None, 0, None, 7, 2, binding)
    assert Generation.from_json(json.loads(json.dumps(generation.to_json()))) == generation


def test_a_manifest_without_a_binding_reads_as_unbound():
    data = EMPTY.to_json()
    del data["binding"]
    assert Generation.from_json(data).binding is None


def test_a_url_with_a_bad_port_is_a_usage_error(run_cli):
    done = run_cli("--db", "postgresql+psycopg://u:secret@db:notaport/audit", "status")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "aiaudit: database url <invalid url> is not a valid SQLAlchemy URL"
