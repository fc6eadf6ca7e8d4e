"""Chain heads published in weekly reports: the report carries the head (signed when a site key
is configured), and `verify --against` catches a chain rewritten after publication, an edited
or forged published head, and links deleted since — naming the report and the link."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.hazmat.primitives.serialization import NoEncryption
from cryptography.hazmat.primitives.serialization import PrivateFormat
from cryptography.hazmat.primitives.serialization import PublicFormat
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy import text

from agent.store import chain
from agent.store.models import ChainCheckpoint
from dashboard.report import write_weekly_report
from rules.engine.anchor import check_published
from rules.engine.anchor import load_private_key
from rules.engine.anchor import load_public_key
from rules.engine.evaluate import evaluate

from .conftest import seed
from .scenario import CALLS
from .scenario import SINCE
from .scenario import UNTIL
from .scenario import reuse_entries

WEEK = "2026-W47"  # the scenario's day, 2026-11-16, is its Monday
NOW = dt.datetime(2026, 11, 24, 6, tzinfo=dt.timezone.utc)


@pytest.fixture
def chained(store):
    seed(store, calls=CALLS, reuse_findings=reuse_entries())
    evaluate(store, SINCE, UNTIL)
    return store


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


def publish(store, out, key=None, week=WEEK):
    write_weekly_report(store, week, out, now=NOW, signing_key=key)
    return json.loads((out / week / "report.json").read_text())


def edit_report(out, week, change):
    path = out / week / "report.json"
    data = json.loads(path.read_text())
    change(data["chain"])
    path.write_text(json.dumps(data))


def rewrite_whole_chain(store, finding_change: str):
    """What someone with write access to the database can do: change a finding, recompute every
    link's hash and replace the checkpoints, so that the store on its own verifies."""
    with store.write_session() as session:
        session.execute(text(f"UPDATE findings SET {finding_change} WHERE chain_seq = "
                             "(SELECT MIN(chain_seq) FROM findings)"))
        previous, seq = chain.GENESIS, 0
        for seq, table, row, _revision in list(chain._links(session)):
            previous = chain.link_hash(previous, table, row)
            session.execute(text(f"UPDATE {table} SET chain_hash = :h WHERE id = :id"), {"h": previous, "id": row["id"]})
        session.execute(text("DELETE FROM chain_checkpoints"))
        session.add(ChainCheckpoint(seq=seq, chain_hash=previous, reason="head", created_at=NOW))


def test_report_publishes_the_head_it_saw(chained, tmp_path):
    data = publish(chained, tmp_path)
    with chained.session() as session:
        head_seq, head_hash = chain.head(session)
    assert data["chain"]["head_seq"] == head_seq > 10 and data["chain"]["head_hash"] == head_hash
    assert data["chain"]["first_seq"] == 1 and data["chain"]["signature"] is None
    page = (tmp_path / WEEK / "index.html").read_text()
    assert head_hash in page and "not signed" in page
    result = check_published(chained, tmp_path)
    assert result.ok and result.checked == 1 and result.unsigned == 1


def test_report_json_with_head_matches_the_schema(chained, tmp_path, key):
    jsonschema = pytest.importorskip("jsonschema")
    from pathlib import Path

    schema = json.loads((Path(__file__).parents[2] / "dashboard" / "schema" / "report.schema.json").read_text())
    jsonschema.validate(publish(chained, tmp_path, key), schema)


def test_whole_rewritten_chain_is_caught_by_the_published_head(chained, tmp_path):
    published = publish(chained, tmp_path)["chain"]
    rewrite_whole_chain(chained, "severity = 'low'")
    assert chain.verify(chained).ok  # the store alone cannot tell
    result = check_published(chained, tmp_path)
    assert not result.ok
    assert result.breaks == [
        f"{WEEK}/report.json: seq {published['head_seq']}: the store has {_stored(chained, published['head_seq'])[:16]}…, "
        f"the report published {published['head_hash'][:16]}… (chain rewritten after publication, or the report edited)"]


def _stored(store, seq):
    with store.session() as session:
        return session.execute(select(ChainCheckpoint.chain_hash).where(ChainCheckpoint.seq == seq)).scalar()


def test_signed_head_verifies_and_an_edit_breaks_the_signature(chained, tmp_path, key):
    data = publish(chained, tmp_path, key)
    assert data["chain"]["signature"]["algorithm"] == "ed25519"
    assert check_published(chained, tmp_path, key.public_key()).ok
    edit_report(tmp_path, WEEK, lambda c: c.update(head_seq=c["head_seq"] - 1))
    result = check_published(chained, tmp_path, key.public_key())
    assert result.breaks == [f"{WEEK}/report.json: the signature does not verify (the published head was edited)"]
    # without a configured key the printed key is used: the edit is still caught
    assert not check_published(chained, tmp_path).ok


def test_head_re_signed_with_another_key_is_caught(chained, tmp_path, key):
    forger = Ed25519PrivateKey.generate()
    publish(chained, tmp_path, forger)
    result = check_published(chained, tmp_path, key.public_key())
    assert result.breaks == [f"{WEEK}/report.json: signed with another key than the site's public key"]


def test_unsigned_report_fails_when_a_site_key_is_configured(chained, tmp_path, key):
    publish(chained, tmp_path)
    assert check_published(chained, tmp_path, key.public_key()).breaks == [
        f"{WEEK}/report.json: the head is not signed, but a public key is configured"]


def test_edited_unsigned_head_is_named(chained, tmp_path):
    publish(chained, tmp_path)
    edit_report(tmp_path, WEEK, lambda c: c.update(head_hash="ab" * 32))
    [problem] = check_published(chained, tmp_path).breaks
    assert problem.startswith(f"{WEEK}/report.json: seq ") and "the report published abababababababab…" in problem


def test_links_deleted_after_publication_are_named(chained, tmp_path):
    head_seq = publish(chained, tmp_path)["chain"]["head_seq"]
    with chained.write_session() as session:  # the newest links and their checkpoint, gone
        session.execute(text("DELETE FROM evidence WHERE chain_seq > :s"), {"s": head_seq - 3})
        session.execute(text("DELETE FROM chain_checkpoints"))
    assert chain.verify(chained).ok
    assert check_published(chained, tmp_path).breaks == [
        f"{WEEK}/report.json: published head seq {head_seq}, but the store ends at seq {head_seq - 3} "
        f"(links deleted after the report was published?)"]


def test_later_reports_and_pruning_still_verify(chained, tmp_path):
    publish(chained, tmp_path)
    evaluate(chained, SINCE + dt.timedelta(days=7), UNTIL + dt.timedelta(days=7))
    publish(chained, tmp_path, week="2026-W48")
    chain.prune_chain_older_than(chained, dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))
    with chained.session() as session:
        reasons = {c.reason for c in session.execute(select(ChainCheckpoint)).scalars()}
    assert reasons <= {"head", "prune"}  # the findings' own checkpoints went with them
    result = check_published(chained, tmp_path)
    assert result.ok and result.checked == 2


def test_reports_without_a_head_are_listed_not_failed(chained, tmp_path):
    publish(chained, tmp_path)
    path = tmp_path / WEEK / "report.json"
    data = json.loads(path.read_text())
    del data["chain"]
    path.write_text(json.dumps(data))
    result = check_published(chained, tmp_path)
    assert result.ok and result.without_head == [WEEK] and result.checked == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.binary(max_size=200),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                 lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                 max_leaves=12).map(lambda v: json.dumps({"chain": v}).encode()),
))
def test_any_report_json_gives_one_line_never_an_exception(store, tmp_path_factory, content):
    out = tmp_path_factory.mktemp("reports")
    (out / WEEK).mkdir()
    (out / WEEK / "report.json").write_bytes(content)
    result = check_published(store, out)
    assert all("\n" not in b and b.startswith(f"{WEEK}/report.json: ") for b in result.breaks)


def _write_keys(tmp_path, key):
    private = tmp_path / "site-key.pem"
    private.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    public = tmp_path / "site-key.pub.pem"
    public.write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    return private, public


def test_key_files_load_and_bad_ones_are_named(tmp_path, key):
    private, public = _write_keys(tmp_path, key)
    assert load_public_key(public).public_bytes_raw() == key.public_key().public_bytes_raw()
    assert load_public_key(private).public_bytes_raw() == key.public_key().public_bytes_raw()
    assert load_private_key(private).public_key().public_bytes_raw() == key.public_key().public_bytes_raw()
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    from rules.engine.anchor import AnchorKeyError

    with pytest.raises(AnchorKeyError, match="junk.pem: not an unencrypted PEM private key"):
        load_private_key(junk)
    with pytest.raises(AnchorKeyError, match="missing.pem: cannot read"):
        load_private_key(tmp_path / "missing.pem")


def test_cli_report_signs_and_verify_against_checks(run_cli, tmp_path, key, sqlite_url):
    from agent.store.engine import open_store

    store = open_store(sqlite_url)
    seed(store, calls=CALLS, reuse_findings=reuse_entries())
    store.dispose()
    private, public = _write_keys(tmp_path, key)
    config = tmp_path / "aiaudit.yaml"
    config.write_text(f"database_url: {sqlite_url}\nreport:\n  out_dir: {tmp_path / 'reports'}\n"
                      f"  signing_key: {private}\n")
    report = run_cli("--config", str(config), "report", "--week", WEEK)
    assert report.returncode == 0, report.stderr
    data = json.loads((tmp_path / "reports" / WEEK / "report.json").read_text())
    assert data["chain"]["signature"]["public_key"] == key.public_key().public_bytes_raw().hex()

    auditor = tmp_path / "auditor.yaml"  # another machine: only the public key
    auditor.write_text(f"database_url: {sqlite_url}\nreport:\n  public_key: {public}\n")
    ok = run_cli("--config", str(auditor), "verify", "--against", str(tmp_path / "reports"))
    assert ok.returncode == 0, ok.stderr
    assert "published heads match the store: 1 reports checked (signatures checked with the site key" in ok.stdout

    store = open_store(sqlite_url)
    rewrite_whole_chain(store, "team = 'someone-else'")
    store.dispose()
    broken = run_cli("--config", str(auditor), "verify", "--against", str(tmp_path / "reports"))
    assert broken.returncode == 1
    assert f"published head BROKEN: {WEEK}/report.json: seq {data['chain']['head_seq']}: the store has" in broken.stderr

    missing = run_cli("--config", str(auditor), "verify", "--against", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "--against" in missing.stderr and "Traceback" not in missing.stderr
    bad_key = tmp_path / "bad.yaml"
    bad_key.write_text(f"database_url: {sqlite_url}\nreport:\n  signing_key: {tmp_path / 'nope.pem'}\n")
    refused = run_cli("--config", str(bad_key), "report", "--week", WEEK)
    assert refused.returncode == 2 and "report.signing_key" in refused.stderr and "Traceback" not in refused.stderr


def test_a_key_pasted_into_the_config_is_refused_without_echoing_it(run_cli, tmp_path, key):
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    config = tmp_path / "aiaudit.yaml"
    config.write_text("report:\n  signing_key: |\n" + "".join(f"    {line}\n" for line in pem.splitlines()))
    result = run_cli("--config", str(config), "report", "--week", WEEK)
    assert result.returncode == 2
    assert "give the path of the key file, not the key itself" in result.stderr
    body = pem.splitlines()[1]
    assert body not in result.stderr and "Traceback" not in result.stderr


def test_evidence_command_usage_errors_are_one_line(run_cli):
    for args in (["evidence"], ["evidence", "export", "X"], ["evidence", "verify"]):
        result = run_cli(*args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, args


def test_a_changed_row_is_named_before_the_published_heads(chained, tmp_path, capsys):
    from agent.cli import main

    publish(chained, tmp_path)
    with chained.write_session() as session:
        seq, finding_id = session.execute(text("SELECT chain_seq, id FROM findings ORDER BY chain_seq DESC LIMIT 1")).one()
        session.execute(text("UPDATE findings SET count = count + 1 WHERE id = :id"), {"id": finding_id})
    url = chained.engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "verify", "--against", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"evidence chain BROKEN at seq {seq} findings {finding_id}: hash mismatch" in err
