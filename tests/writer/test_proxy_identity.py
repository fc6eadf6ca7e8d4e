"""The proxy identity: made once, read back the same, a damaged file kept aside and replaced."""

from __future__ import annotations

from agent.writer.proxy_identity import NAME
from agent.writer.proxy_identity import is_identity
from agent.writer.proxy_identity import proxy_identity
from agent.writer.proxy_identity import read_identity
from agent.writer.proxy_identity import read_or_create


def test_the_identity_is_made_once_and_read_back(tmp_path):
    journal = tmp_path / "journal"
    assert read_identity(journal) is None
    made = read_or_create(journal)
    assert is_identity(made) and read_or_create(journal) == made == read_identity(journal)
    identity = proxy_identity(journal)
    assert identity.id == made and identity.label() == f"{identity.host} [{made}]"
    assert not list(journal.glob(f".{NAME}.*"))  # no temporary file left behind


def test_a_damaged_identity_is_kept_aside_and_a_new_one_made(tmp_path):
    (tmp_path / NAME).write_text("not-an-id\n")
    made = read_or_create(tmp_path)
    assert is_identity(made) and (tmp_path / f"{NAME}.damaged").read_text() == "not-an-id\n"
    assert not is_identity("proxy-host-1") and not is_identity("A" * 32)
