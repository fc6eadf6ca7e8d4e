"""Evidence bundles: a finding leaves the store as one zip that verifies offline; any member
edited, removed or added, a finding's field changed (even with the manifest rewritten to match),
rows re-hashed to hide it, or a hostile zip is caught and the place named — never a traceback."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import warnings
import zipfile

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy import text

from agent.cli import main
from agent.store import chain
from agent.store.engine import open_store
from agent.store.models import Finding
from agent.store.models import SourceSnapshot
from rules.engine.evaluate import evaluate
from rules.evidence import MANIFEST
from rules.evidence import PROOF
from rules.evidence import zipread
from rules.evidence.check import verify_bundle
from rules.evidence.export import write_bundle
from rules.evidence.zipread import BundleUnreadable

from .conftest import seed
from .scenario import CALLS
from .scenario import SINCE
from .scenario import UNTIL
from .scenario import reuse_entries


def _findings(store):
    with store.session() as session:
        return {f.rule_name + ":" + f.team: f.id for f in session.execute(select(Finding).order_by(Finding.chain_seq)).scalars()}


@pytest.fixture
def chained(store):
    seed(store, calls=CALLS, reuse_findings=reuse_entries())
    evaluate(store, SINCE, UNTIL)
    return store


@pytest.fixture
def bundle(chained, tmp_path):
    ids = _findings(chained)
    chosen = [ids["outputs_in_dataset:distill"], ids["bulk_outputs_harvesting:harvest"]]
    path = tmp_path / "bundle.zip"
    write_bundle(chained, chosen, path)
    return path, chosen


@pytest.fixture(scope="module")
def sample_bundle(tmp_path_factory):
    """One bundle on SQLite for the property tests (which must not rebuild a store each time)."""
    folder = tmp_path_factory.mktemp("sample")
    store = open_store(f"sqlite:///{folder / 'audit.db'}")
    seed(store, calls=CALLS, reuse_findings=reuse_entries())
    evaluate(store, SINCE, UNTIL)
    path = folder / "bundle.zip"
    write_bundle(store, [_findings(store)["outputs_in_dataset:distill"]], path)
    store.dispose()
    return path.read_bytes()


def members_of(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rewrite(path, members, *, refresh_manifest=True):
    """Write `members` back; with refresh_manifest the manifest is recomputed to match, as a
    careful forger would."""
    if refresh_manifest:
        manifest = json.loads(members[MANIFEST])
        manifest["members"] = {n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
                               for n, d in sorted(members.items()) if n != MANIFEST}
        members[MANIFEST] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def edit_json(members, name, change):
    data = json.loads(members[name])
    change(data)
    members[name] = json.dumps(data, ensure_ascii=False).encode()


def cli(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_single_finding_is_proved_by_its_own_links(chained, tmp_path):
    ids = _findings(chained)
    path = tmp_path / "one.zip"
    write_bundle(chained, [ids["outputs_in_dataset:distill"]], path)
    [segment] = json.loads(members_of(path)[PROOF])["segments"]
    assert segment["other_links"] == [] and segment["checkpoint"]["reason"] == "finding"
    assert verify_bundle(path).ok


def test_bundle_holds_everything_and_verifies_without_the_store(bundle, tmp_path, capsys, monkeypatch):
    path, chosen = bundle
    members = members_of(path)
    assert {f"findings/{i}.json" for i in chosen} <= set(members) and PROOF in members
    reuse = [json.loads(d) for n, d in members.items() if n.startswith("reuse/")]
    assert reuse and all({"path", "record", "record_sha256", "matched_words", "longest_run"} <= set(r) for r in reuse)
    calls = [json.loads(d) for n, d in members.items() if n.startswith("calls/")]
    assert calls and all("output_text" not in c and c["vendor"] for c in calls)
    sources = [n for n in members if n.startswith("sources/")]
    assert any(n.endswith(".yaml") for n in sources) and any(n.endswith(".yml") for n in sources)
    terms = json.loads(members[f"terms/{chosen[0]}.json"])
    assert terms["cited"]["terms_confidence"] == "primary" and "anthropic" in terms["entries"]
    assert terms["entries_as_of"] == "snapshot stored with the finding"

    elsewhere = tmp_path / "other-machine" / "copy.zip"  # no store, no config there
    elsewhere.parent.mkdir()
    shutil.copy(path, elsewhere)
    monkeypatch.setenv("AIAUDIT_DB", "sqlite:////nonexistent/folder/audit.db")
    code, out, err = cli(capsys, "evidence", "verify", str(elsewhere))
    assert code == 0, err
    assert "evidence bundle intact: 2 finding(s)" in out and "re-hashed up to checkpoint" in out


def test_rule_and_terms_files_are_kept_once_per_content(chained):
    with chained.session() as session:
        kinds = sorted(s.kind for s in session.execute(select(SourceSnapshot)).scalars())
    assert kinds.count("terms") == 1 and kinds.count("rule") >= 2
    evaluate(chained, SINCE, UNTIL)  # nothing new: nothing stored twice
    with chained.session() as session:
        assert sorted(s.kind for s in session.execute(select(SourceSnapshot)).scalars()) == kinds


def test_edited_member_is_named(bundle, capsys):
    path, chosen = bundle
    members = members_of(path)
    call = next(n for n in members if n.startswith("calls/"))
    edit_json(members, call, lambda c: c.update(team="someone-else"))
    rewrite(path, members, refresh_manifest=False)
    code, _, err = cli(capsys, "evidence", "verify", str(path))
    assert code == 1
    assert f"ALTERED: member {call}: SHA-256 differs from the manifest (member altered)" in err


def test_removed_member_is_named(bundle):
    path, chosen = bundle
    members = members_of(path)
    reuse = sorted(n for n in members if n.startswith("reuse/"))[0]
    del members[reuse]
    rewrite(path, members, refresh_manifest=False)
    problems = verify_bundle(path).problems
    assert f"member {reuse}: listed in the manifest but missing from the zip" in problems
    # and with the manifest rewritten too, the chained evidence still names it
    del members[MANIFEST]
    members[MANIFEST] = members_of(bundle[0])[MANIFEST]
    rewrite(path, members)
    assert any(p.startswith("finding ") and f"names {reuse}, which the bundle lacks" in p
               for p in verify_bundle(path).problems)


def test_added_member_is_named(bundle):
    path, _ = bundle
    members = members_of(path)
    members["calls/forged.json"] = b"{}"
    rewrite(path, members, refresh_manifest=False)
    assert "member calls/forged.json: in the zip but not in the manifest (added)" in verify_bundle(path).problems


def test_finding_field_changed_with_a_consistent_manifest_breaks_the_chain(bundle):
    path, chosen = bundle
    members = members_of(path)
    name = f"findings/{chosen[0]}.json"
    seq = json.loads(members[name])["finding"]["chain_seq"]
    edit_json(members, name, lambda d: d["finding"].update(severity="low"))
    rewrite(path, members)
    assert verify_bundle(path).problems == [
        f"chain link seq {seq} (finding {chosen[0]} ({name})): does not hash to its chain_hash (row altered)"]


def test_rows_rehashed_to_hide_an_edit_do_not_reach_the_checkpoint(bundle):
    """A forger who edits a finding and recomputes every later link's hash in the bundle is left
    with a chain that no longer ends at the store's checkpoint."""
    path, chosen = bundle
    members = members_of(path)
    [proof] = json.loads(members[PROOF])["segments"]
    rows = {}
    for name in [n for n in members if n.startswith("findings/")]:
        data = json.loads(members[name])
        rows.update({data["finding"]["chain_seq"]: ("findings", data["finding"], name)})
        rows.update({e["chain_seq"]: ("evidence", e, name) for e in data["evidence"]})
    rows.update({link["seq"]: (link["table"], link["row"], PROOF) for link in proof["other_links"]})
    target = json.loads(members[f"findings/{chosen[0]}.json"])["finding"]["chain_seq"]
    rows[target][1]["team"] = "someone-else"
    previous = proof["start"]["hash"]
    for seq in range(proof["start"]["seq"] + 1, proof["end_seq"] + 1):
        table, row, _ = rows[seq]
        row["chain_hash"] = previous = chain.link_hash(previous, table, row)
    for name in [n for n in members if n.startswith("findings/")]:
        data = json.loads(members[name])
        data["finding"] = rows[data["finding"]["chain_seq"]][1]
        data["evidence"] = [rows[e["chain_seq"]][1] for e in data["evidence"]]
        members[name] = json.dumps(data).encode()
    for link in proof["other_links"]:
        link["row"] = rows[link["seq"]][1]
    members[PROOF] = json.dumps({"segments": [proof]}).encode()
    rewrite(path, members)
    end = proof["end_seq"]
    assert verify_bundle(path).problems == [
        f"chain link seq {end}: does not reach checkpoint {end} (links rewritten, or the checkpoint edited)"]


def test_a_finding_removed_from_a_segment_is_named(chained, tmp_path):
    ids = _findings(chained)  # harvest, distill, permitted: in this order in the chain
    path = tmp_path / "apart.zip"
    write_bundle(chained, [ids["bulk_outputs_harvesting:harvest"], ids["outputs_in_dataset:permitted"]], path)
    members = members_of(path)
    proof = json.loads(members[PROOF])
    assert len(proof["segments"]) == 2  # the finding between them stays out of the bundle
    assert all(segment["other_links"] == [] for segment in proof["segments"])
    assert verify_bundle(path).ok
    # three findings in a row make one segment: dropping the middle one, even from the manifest,
    # leaves a gap in it
    write_bundle(chained, [ids["bulk_outputs_harvesting:harvest"], ids["outputs_in_dataset:distill"],
                           ids["outputs_in_dataset:permitted"]], path)
    members = members_of(path)
    proof = json.loads(members[PROOF])
    [segment] = proof["segments"]
    first_evidence = json.loads(members[f"findings/{ids['outputs_in_dataset:distill']}.json"])["evidence"][0]
    del members[f"findings/{ids['outputs_in_dataset:distill']}.json"]
    manifest = json.loads(members[MANIFEST])
    manifest["findings"].remove(ids["outputs_in_dataset:distill"])
    members[MANIFEST] = json.dumps(manifest).encode()
    gone = first_evidence["chain_seq"] - 1  # the distill finding's own row
    rewrite(path, members)
    assert f"chain link seq {gone}: missing from the bundle (removed?)" in verify_bundle(path).problems


@pytest.mark.parametrize("member_kind, change, expected", [
    ("calls/hv", lambda d: d.update(model="another-model"), "model is 'another-model', the chained evidence"),
    ("calls/da", lambda d: d.update(vendor="deepseek"), "vendor 'deepseek' is not among the vendors of"),
    ("reuse/", lambda d: d.update(record=999), "record is 999, the chained evidence"),
    ("terms/", lambda d: d["cited"].update(terms_confidence="secondary"), "terms_confidence differs from the chained"),
])
def test_cross_checks_name_what_disagrees_with_the_chain(bundle, member_kind, change, expected):
    path, _ = bundle
    members = members_of(path)
    name = sorted(n for n in members if n.startswith(member_kind))[0]
    edit_json(members, name, change)
    rewrite(path, members)
    problems = verify_bundle(path).problems
    assert any(p.startswith(f"member {name}: ") and expected in p for p in problems), problems


def test_rule_file_swapped_is_named(bundle):
    path, _ = bundle
    members = members_of(path)
    rule = next(n for n in members if n.startswith("sources/") and n.endswith(".yml"))
    members[rule] = members[rule].replace(b"level:", b"level: low #", 1)
    rewrite(path, members)
    assert f"member {rule}: content differs from the rule file the finding was judged by" in verify_bundle(path).problems


def test_export_of_unknown_finding_is_a_usage_error(chained, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AIAUDIT_DB", str(chained.engine.url.render_as_string(hide_password=False)))
    code, _, err = cli(capsys, "evidence", "export", "NOPE", "--out", str(tmp_path / "x.zip"))
    assert code == 2 and err.strip() == "aiaudit: finding NOPE is not in the store"
    assert not (tmp_path / "x.zip").exists()
    first = next(iter(_findings(chained).values()))
    code, out, err = cli(capsys, "evidence", "export", first, "--out", str(tmp_path / "x.zip"))
    assert code == 0 and "1 finding(s)" in out and verify_bundle(tmp_path / "x.zip").ok


# -- hostile zips ---------------------------------------------------------------------------------

def _zip(entries):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            archive.writestr(zipfile.ZipInfo(name), data)
    return buffer.getvalue()


def test_not_a_zip_is_one_line_exit_2(tmp_path, capsys):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"this is not a zip file")
    code, out, err = cli(capsys, "evidence", "verify", str(junk))
    assert code == 2 and err.count("\n") == 1 and "not a zip file" in err and "Traceback" not in err
    code, _, err = cli(capsys, "evidence", "verify", str(tmp_path / "missing.zip"))
    assert code == 2 and "no such file" in err


def test_traversal_and_duplicate_names_are_refused_unread(sample_bundle, tmp_path, capsys):
    members = members_of(io.BytesIO(sample_bundle))
    path = tmp_path / "hostile.zip"
    with pytest.warns(UserWarning):  # zipfile warns about the duplicate it is told to write
        path.write_bytes(_zip([*members.items(), ("../../etc/cron.d/evil", b"x"), ("/etc/passwd", b"x"),
                               ("calls/..\\..\\x", b"x"), (MANIFEST, b"{}")]))
    code, _, err = cli(capsys, "evidence", "verify", str(path))
    assert code == 1 and "Traceback" not in err
    assert "member '../../etc/cron.d/evil': unsafe name (absolute path or path traversal); not read" in err
    assert "member '/etc/passwd': unsafe name" in err and "unsafe name" in err.split("calls/")[-1]
    assert f"member {MANIFEST}: appears twice in the zip" in err
    assert not (tmp_path.parent / "etc").exists()


def test_huge_member_is_not_read(sample_bundle, tmp_path, monkeypatch):
    monkeypatch.setattr(zipread, "MAX_MEMBER_BYTES", 1 << 20)
    members = members_of(io.BytesIO(sample_bundle))
    members["calls/bomb.json"] = b"0" * (3 << 20)  # compresses to a few KB
    path = tmp_path / "bomb.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    path.write_bytes(buffer.getvalue())
    problems = verify_bundle(path).problems
    assert any(p.startswith("member calls/bomb.json: ") and "larger than a bundle member may be" in p for p in problems)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2048))
def test_any_bytes_give_exit_2_or_1_never_a_traceback(tmp_path_factory, capsys, data):
    path = tmp_path_factory.mktemp("fuzz") / "b.zip"
    path.write_bytes(data)
    code, _, err = cli(capsys, "evidence", "verify", str(path))
    assert code in (1, 2) and "Traceback" not in err and err.strip()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_corrupted_bundle_bytes_never_raise(sample_bundle, tmp_path_factory, data):
    blob = bytearray(sample_bundle)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(blob) - 1))
        blob[position] = data.draw(st.integers(0, 255))
    path = tmp_path_factory.mktemp("flip") / "b.zip"
    path.write_bytes(bytes(blob))
    try:
        result = verify_bundle(path)
    except BundleUnreadable:
        return
    assert all(isinstance(p, str) and "\n" not in p for p in result.problems)


MEMBER_NAMES = st.sampled_from([MANIFEST, PROOF, "findings/x.json", "calls/c.json", "reuse/r.json", "terms/x.json",
                                "sources/ab.yml", "../up.json", "a//b", "fingerprints/1.json"])
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                       max_leaves=10)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(MEMBER_NAMES, JSONISH.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=64)),
                max_size=8),
       st.sampled_from(["x", "finding-0"]))
def test_hostile_members_give_problem_lines_never_an_exception(tmp_path_factory, entries, finding_id):
    manifest = {"format": "aiaudit-evidence/1", "findings": [finding_id, 3, None],
                "members": {n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in entries}}
    path = tmp_path_factory.mktemp("members") / "b.zip"
    with warnings.catch_warnings():  # duplicate names are part of the point
        warnings.simplefilter("ignore")
        path.write_bytes(_zip([(MANIFEST, json.dumps(manifest).encode()), *entries]))
    result = verify_bundle(path)
    assert not result.ok
    assert all(isinstance(p, str) and "\n" not in p for p in result.problems)



def test_without_finding_checkpoints_the_proof_carries_the_links_between(chained, tmp_path):
    """Stores chained before findings had checkpoints of their own have one per evaluation run:
    the proof then includes the other findings' links in the range, and each one counts."""
    with chained.write_session() as session:
        session.execute(text("DELETE FROM chain_checkpoints WHERE reason = 'finding'"))
    ids = _findings(chained)
    path = tmp_path / "legacy.zip"
    write_bundle(chained, [ids["bulk_outputs_harvesting:harvest"], ids["outputs_in_dataset:permitted"]], path)
    members = members_of(path)
    proof = json.loads(members[PROOF])
    [segment] = proof["segments"]
    between = {link["row"].get("finding_id") or link["row"]["id"] for link in segment["other_links"]}
    assert between == {ids["outputs_in_dataset:distill"]} and segment["checkpoint"]["reason"] == "head"
    assert verify_bundle(path).ok
    gone = segment["other_links"].pop(3)["seq"]
    members[PROOF] = json.dumps(proof).encode()
    rewrite(path, members)
    assert verify_bundle(path).problems == [f"chain link seq {gone}: missing from the bundle (removed?)"]


def test_signed_manifest_verifies_and_an_edit_breaks_it(chained, tmp_path, capsys):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    path = tmp_path / "signed.zip"
    write_bundle(chained, [_findings(chained)["outputs_in_dataset:distill"]], path, signing_key=key)
    code, out, _ = cli(capsys, "evidence", "verify", str(path))
    assert code == 0 and f"manifest signed by Ed25519 key {key.public_key().public_bytes_raw().hex()}" in out
    members = members_of(path)
    edit_json(members, MANIFEST, lambda m: m.update(created_at="2020-01-01T00:00:00Z"))
    rewrite(path, members, refresh_manifest=False)
    assert verify_bundle(path).problems == [
        f"member {MANIFEST}: the signature does not verify (the signed content was edited)"]


def test_a_revised_finding_is_proved_with_its_earlier_versions(store, tmp_path):
    """A finding of a window that was still open was revised (alerts re-evaluate open windows):
    its links are spread over two evaluations, and its earlier version lives in chain_revisions.
    The bundle carries that version as the text that was hashed, and verifies; editing it is
    caught at that link."""
    import datetime as dt

    from .scenario import DAY

    seed(store, calls=CALLS)
    evaluate(store, DAY, DAY + dt.timedelta(hours=11, minutes=30))
    evaluate(store, DAY, DAY + dt.timedelta(hours=13))
    with store.session() as session:
        revised = session.execute(select(Finding).where(Finding.rule_name == "bulk_outputs_harvesting",
                                                        Finding.team == "harvest")).scalar_one()
    path = tmp_path / "revised.zip"
    write_bundle(store, [revised.id], path)
    check = verify_bundle(path)
    assert check.ok, check.problems
    members = members_of(path)
    proof = json.loads(members[PROOF])
    earlier = [link for segment in proof["segments"] for link in segment["other_links"] if "revision" in link]
    assert earlier and all(link["row"]["id"] == revised.id or link["table"] == "evidence" for link in earlier)

    def shrink(data):
        for segment in data["segments"]:
            for link in segment["other_links"]:
                if "revision" in link and link["table"] == "findings":
                    content = json.loads(link["revision"])
                    content["count"] = 1  # make the harvesting look smaller than it was
                    link["revision"] = json.dumps(content, sort_keys=True, separators=(",", ":"))
                    return

    edit_json(members, PROOF, shrink)
    rewrite(path, members)
    check = verify_bundle(path)
    assert not check.ok
    assert any("earlier version" in p and "does not hash" in p for p in check.problems), check.problems
