"""Objects in an object store scanned by cluster workers: a real S3-compatible server (moto's,
tests/support/s3_server.py) and a real LocalCluster of worker processes that reach it through
the AWS standard chain in their environment. The findings equal a local scan of a copy, with the
objects split as local files are (JSONL and CSV byte ranges, Parquet row groups), and no
credential is in what the client sends the workers."""

from __future__ import annotations

import hashlib
import json
import logging
import os

import pytest
from sqlalchemy import select

distributed = pytest.importorskip("distributed")
pytest.importorskip("s3fs")

from agent.reuse.outputs import SyncedOutputIndex  # noqa: E402
from agent.scan.cluster.connect import install_index  # noqa: E402
from agent.scan.cluster.run import ClusterScan  # noqa: E402
from agent.scan.cluster.task import UnitResult  # noqa: E402
from agent.scan.cluster.task import read_unit  # noqa: E402
from agent.scan.cluster.units import WHOLE  # noqa: E402
from agent.scan.cluster.units import WorkUnit  # noqa: E402
from agent.scan.readers import FileReadError  # noqa: E402
from agent.scan.scan import Scanner  # noqa: E402
from agent.store.engine import open_store  # noqa: E402
from agent.store.models import ReuseFinding  # noqa: E402
from tests.scan.cluster.conftest import RANGE_BYTES  # noqa: E402
from tests.scan.cluster.conftest import make_tree  # noqa: E402
from tests.scan.conftest import add_outputs  # noqa: E402
from tests.scan.conftest import answer  # noqa: E402
from tests.support.s3_server import SECRET_KEY  # noqa: E402
from tests.support.s3_server import MotoServer  # noqa: E402

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def s3_cluster():
    """(moto server, client): the workers get the AWS chain from the environment they start in."""
    server = MotoServer().start()
    saved = {k: os.environ.get(k) for k in server.env()}
    os.environ.update(server.env())
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
    try:
        with distributed.Client(cluster, set_as_default=False) as client:
            yield server, client
    finally:
        cluster.close()
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _rows(store, prefix: str) -> list[tuple]:
    with store.session() as s:
        found = s.scalars(select(ReuseFinding).where(ReuseFinding.path.startswith(prefix))).all()
    return sorted((r.path.removeprefix(prefix), r.record, r.record_sha256, tuple(r.output_ids), r.tier,
                   tuple(r.fields), json.dumps(r.spans, sort_keys=True)) for r in found)


def test_objects_are_read_by_the_workers_and_found_as_a_local_copy_is(s3_cluster, sqlite_url, tmp_path):
    server, client = s3_cluster
    store = open_store(sqlite_url)  # one store kind: what is tested is the reading, not the recording
    texts = [answer(i) for i in range(15)]
    add_outputs(store, texts)
    local = make_tree(tmp_path / "local", texts)
    bucket = f"b{os.urandom(4).hex()}"
    server.make_bucket(bucket)
    server.upload_tree(bucket, "lake", local)
    output_index = SyncedOutputIndex(store, tmp_path / "index")
    list(Scanner(store, output_index, on_error=lambda line: None).scan_paths([local]))

    output_index.sync()
    install_index(client, output_index, shared=True)
    run = ClusterScan(Scanner(store, output_index, on_error=lambda line: None), client, range_bytes=RANGE_BYTES)
    results = list(run.scan_paths([f"s3://{bucket}/lake"]))
    assert run.submitted > 40 and run.reruns >= 1  # split like the local files, CSV guesses checked
    expected = _rows(store, str(local) + "/")
    assert expected and _rows(store, f"s3://{bucket}/lake/") == expected
    assert {r.state for r in results} == {"scanned"} and len(results) == 7
    assert all(SECRET_KEY not in repr(unit) for unit in run.units_by_task.values())

    again = list(ClusterScan(Scanner(store, output_index), client, range_bytes=RANGE_BYTES).scan_paths(
        [f"s3://{bucket}/lake"]))
    assert {r.state for r in again} == {"unchanged"}


def test_an_object_that_cannot_be_read_is_one_line_without_secrets(s3_cluster, tmp_path):
    server, _client = s3_cluster
    bucket = f"b{os.urandom(4).hex()}"
    server.make_bucket(bucket)
    url = f"s3://{bucket}/gone.jsonl"
    result = UnitResult(url, WHOLE, local_numbers=False)
    with pytest.raises(FileReadError) as raised:
        list(read_unit(WorkUnit(url, WHOLE, nbytes=10, file_size=10), result))
    assert "cannot read the object" in raised.value.reason and SECRET_KEY not in raised.value.reason


def _jsonl(texts: list[str], seed: int, records: int = 400) -> bytes:
    return "".join(json.dumps({"id": i, "text": texts[i % len(texts)] if i % 5 == 0 else answer(seed + i, 40)}) + "\n"
                   for i in range(records)).encode()


@pytest.mark.parametrize("versioned", [False, True], ids=["plain-bucket", "versioned-bucket"])
def test_a_unit_reads_the_version_listed_or_fails_as_changed(s3_cluster, versioned):
    from fsspec.asyn import sync

    from agent.scan.sources import list_objects
    from agent.scan.sources import open_filesystem

    server, _client = s3_cluster
    bucket = f"b{os.urandom(4).hex()}"
    server.make_bucket(bucket)
    writer = server.fs()
    if versioned:  # a HEAD then gives a VersionId, which the listing does not: the tag is still the ETag
        sync(writer.loop, writer._call_s3, "put_bucket_versioning", Bucket=bucket,
             VersioningConfiguration={"Status": "Enabled"})
    texts = [answer(i) for i in range(5)]
    writer.pipe(f"{bucket}/d.jsonl", _jsonl(texts, 1000))
    fs, base = open_filesystem(f"s3://{bucket}/d.jsonl")
    (obj,) = list_objects(fs, base)
    assert obj.tag
    units = [WorkUnit(obj.url, WHOLE, nbytes=obj.size, file_size=obj.size, tag=obj.tag),
             WorkUnit(obj.url, "bytes", 100, 5000, nbytes=4900, file_size=obj.size, tag=obj.tag)]
    for unit in units:
        assert sum(1 for _ in read_unit(unit, UnitResult(obj.url, unit.key, local_numbers=False))) >= 10
    writer.pipe(f"{bucket}/d.jsonl", _jsonl(texts, 9000))  # replaced after the listing
    for unit in units:
        with pytest.raises(FileReadError) as raised:
            list(read_unit(unit, UnitResult(obj.url, unit.key, local_numbers=False)))
        assert raised.value.reason.startswith("changed while scanning")


def test_an_object_replaced_mid_scan_is_an_error_and_never_mixes_versions(s3_cluster, sqlite_url, tmp_path):
    server, client = s3_cluster
    store = open_store(sqlite_url)
    texts = [answer(i) for i in range(15)]
    add_outputs(store, texts)
    bucket = f"b{os.urandom(4).hex()}"
    server.make_bucket(bucket)
    writer = server.fs()
    old, new = _jsonl(texts, 1000, 3000), _jsonl(texts[::-1], 5000, 3000)
    writer.pipe(f"{bucket}/d.jsonl", old)
    output_index = SyncedOutputIndex(store, tmp_path / "index")
    output_index.sync()
    install_index(client, output_index, shared=True)
    errors: list[str] = []

    def replace_after_the_first(state, unit):
        if state.tasks_done == 1:
            writer.pipe(f"{bucket}/d.jsonl", new)

    run = ClusterScan(Scanner(store, output_index, on_error=errors.append), client, range_bytes=RANGE_BYTES,
                      on_unit=replace_after_the_first)
    (result,) = list(run.scan_paths([f"s3://{bucket}/d.jsonl"]))
    assert run.submitted > 10 and result.state == "error"
    assert any(line.startswith(f"s3://{bucket}/d.jsonl: changed while scanning") for line in errors)
    old_records = {hashlib.sha256(line).hexdigest() for line in old.splitlines()}
    with store.session() as s:
        recorded = s.scalars(select(ReuseFinding.record_sha256).where(ReuseFinding.path.startswith("s3://"))).all()
    assert recorded and set(recorded) <= old_records  # what was recorded is of the version listed
