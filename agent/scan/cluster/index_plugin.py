"""The fingerprint index on each worker, set up once per worker by a Dask worker plugin.

Two ways, chosen by the client: `shared` names the index directory, which every worker can
read at the same path (one machine, or a shared filesystem): nothing is copied. `upload`
carries a snapshot of the index's current generation (the manifest and the files it names) in
the plugin itself: the plugin goes to the scheduler once and from there once to every worker,
including workers that join later, and is written to the worker's local directory. Either way
tasks carry only their work unit, never the index. A worker whose index belongs to another
store refuses to set up (a shared path that points elsewhere must not produce findings).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path

from distributed import WorkerPlugin
from distributed import get_worker

from agent.reuse.index import MANIFEST
from agent.reuse.index import OutputIndex
from agent.reuse.matching import ReuseDetector

log = logging.getLogger(__name__)

NAME = "aiaudit-index"


def snapshot(directory: Path) -> dict[str, bytes]:
    """The files of the index's published generation, by path relative to `directory`. A writer
    may publish a newer generation while this reads (and delete the old files): read again then."""
    directory = Path(directory)
    for attempt in range(5):
        manifest = (directory / MANIFEST).read_bytes()
        generation = json.loads(manifest)
        names = [n for n in (generation.get("bitmap"), generation.get("hot")) if n]
        try:
            files = {MANIFEST: manifest}
            for name in names:
                files[name] = (directory / name).read_bytes()
            for segment in generation.get("segments", []):
                for entry in sorted((directory / segment).iterdir()):
                    files[f"{segment}/{entry.name}"] = entry.read_bytes()
            return files
        except FileNotFoundError:
            time.sleep(0.05 * (attempt + 1))
    raise RuntimeError(f"the output index in {directory} kept changing while it was copied")


def _write(files: dict[str, bytes], target: Path) -> None:
    """Write the snapshot to `target` whole or not at all (a half-written copy is never opened)."""
    if (target / MANIFEST).exists():
        return
    staging = target.with_name(target.name + f".tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    for name, data in files.items():
        path = staging / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    try:
        staging.rename(target)
    except OSError:  # another worker process sharing the local directory was first
        shutil.rmtree(staging, ignore_errors=True)


class IndexPlugin(WorkerPlugin):
    name = NAME

    def __init__(self, store_binding: dict, generation: int, *, shared_dir: str | None = None,
                 files: dict[str, bytes] | None = None) -> None:
        if (shared_dir is None) == (files is None):
            raise ValueError("give the shared index directory or the index files, not both")
        self.store_binding = store_binding
        self.generation = generation
        self.shared_dir = shared_dir
        self.files = files
        self.detector: ReuseDetector | None = None

    @classmethod
    def upload(cls, index_dir: Path, store_binding: dict, generation: int) -> IndexPlugin:
        return cls(store_binding, generation, files=snapshot(index_dir))

    @classmethod
    def shared(cls, index_dir: Path, store_binding: dict, generation: int) -> IndexPlugin:
        return cls(store_binding, generation, shared_dir=str(Path(index_dir).absolute()))

    def setup(self, worker) -> None:
        if self.files is not None:
            directory = Path(worker.local_directory) / f"aiaudit-index-{self.store_binding['store_id']}-{self.generation}"
            _write(self.files, directory)
            self.files = None  # the bytes are on disk now; the memory map reads them from there
        else:
            directory = Path(self.shared_dir)
        index = OutputIndex.open(directory)
        made_for = (index.binding or {}).get("store") or {}
        if made_for.get("store_id") != self.store_binding.get("store_id"):
            raise RuntimeError(f"aiaudit: the index at {directory} belongs to store {made_for.get('store_id')}, "
                               f"not {self.store_binding.get('store_id')}")
        if index.generation != self.generation:  # shared: a watcher added outputs since the client synced
            log.info("aiaudit: index generation %s on this worker, the client planned with %s",
                     index.generation, self.generation)
        self.detector = ReuseDetector(index)


def worker_detector(worker=None) -> ReuseDetector:
    """The detector of `worker` (default: the worker running the current task)."""
    plugin = (worker or get_worker()).plugins.get(NAME)
    if plugin is None or getattr(plugin, "detector", None) is None:
        raise RuntimeError("aiaudit: this worker has no output index (the index plugin did not set up)")
    return plugin.detector
