"""The index reaches each worker once: an uploaded snapshot of its current generation, or the
shared directory; a worker handed an index of another store refuses to set up. On a real
LocalCluster of worker processes."""

from __future__ import annotations

import json
import logging

import pytest

distributed = pytest.importorskip("distributed")

from agent.reuse.index import MANIFEST  # noqa: E402
from agent.reuse.index import OutputIndex  # noqa: E402
from agent.reuse.matching import ReuseDetector  # noqa: E402
from agent.scan.cluster.index_plugin import IndexPlugin  # noqa: E402
from agent.scan.cluster.index_plugin import snapshot  # noqa: E402
from agent.scan.cluster.index_plugin import worker_detector  # noqa: E402

pytestmark = pytest.mark.timeout(300)


def test_a_snapshot_is_the_published_generation_and_opens_as_the_same_index(captured, tmp_path):
    _, output_index, texts, _ = captured
    output_index.sync()
    files = snapshot(output_index.index_dir)
    generation = json.loads(files[MANIFEST])
    assert all(name == MANIFEST or name.split("/")[0] in generation["segments"]
               or name in (generation["bitmap"], generation["hot"]) for name in files)
    copy = tmp_path / "copy"
    for name, data in files.items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes(data)
    index = OutputIndex.open(copy)
    assert len(index) == len(output_index.index) and index.generation == output_index.index.generation
    record = [("text", texts[3])]
    assert [m.output_id for m in ReuseDetector(index).match(record)] == \
        [m.output_id for m in output_index.detector().match(record)]


def _matches_on_workers(client, text):
    def match(dask_worker):  # client.run runs outside any task: the worker is passed in
        return [m.output_id for m in worker_detector(dask_worker).match([("text", text)])]
    return client.run(match)


def test_uploaded_and_shared_indexes_match_on_every_worker_and_a_foreign_one_is_refused(captured):
    _, output_index, texts, _ = captured
    output_index.sync()
    expected = [m.output_id for m in output_index.detector().match([("text", texts[5])])]
    assert expected
    binding = {"store_id": output_index.identity.store_id, "removal_epoch": output_index.identity.removal_epoch}
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
    with cluster, distributed.Client(cluster, set_as_default=False) as client:
        client.register_plugin(IndexPlugin.upload(output_index.index_dir, binding, output_index.index.generation))
        assert list(_matches_on_workers(client, texts[5]).values()) == [expected, expected]
        # the copy is on each worker's own disk, not the client's directory
        dirs = client.run(lambda dask_worker: str(dask_worker.plugins["aiaudit-index"].detector.index.directory))
        assert all(str(output_index.index_dir) not in d for d in dirs.values())
        client.register_plugin(IndexPlugin.shared(output_index.index_dir, binding, output_index.index.generation))
        assert list(_matches_on_workers(client, texts[5]).values()) == [expected, expected]
        foreign = dict(binding, store_id="another-store")
        with pytest.raises(Exception, match="belongs to store"):
            client.register_plugin(IndexPlugin.shared(output_index.index_dir, foreign, output_index.index.generation))


def test_the_plugin_wants_one_way_exactly(tmp_path):
    with pytest.raises(ValueError):
        IndexPlugin({"store_id": "s"}, 1)
    with pytest.raises(ValueError):
        IndexPlugin({"store_id": "s"}, 1, shared_dir=str(tmp_path), files={})
