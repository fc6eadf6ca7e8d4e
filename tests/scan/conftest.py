"""A store holding captured outputs (inserted as the writer would), and their texts."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from agent.ids import new_id
from agent.reuse import fingerprint
from agent.reuse.outputs import SyncedOutputIndex
from agent.store.engine import open_store
from agent.store.models import Call
from agent.store.models import Output

WORDS = ("river mountain cedar engine ledger harbor copper signal lattice meadow quartz beacon thunder "
         "saddle violet granite compass lantern pepper falcon tunnel orbit canvas marble ember summit "
         "kernel timber parcel glacier cobalt harvest anchor bridge cipher delta forest").split()


def answer(seed: int, words: int = 90) -> str:
    rng = random.Random(seed)
    sentences, n = [], 0
    while n < words:
        k = rng.randint(8, 15)
        sentences.append(" ".join(rng.choice(WORDS) for _ in range(k)).capitalize() + ".")
        n += k
    return " ".join(sentences)


def add_outputs(store, texts: list[str], vendor: str = "openai", team: str = "research") -> list[str]:
    ids = []
    with store.write_session() as s:
        for text in texts:
            call = Call(id=new_id(), ts=dt.datetime.now(dt.timezone.utc), vendor=vendor, host="api.openai.com",
                        endpoint="chat.completions", team=team, outputs=1, output_chars=len(text))
            s.add(call)
            s.flush()
            fp = fingerprint(text)
            s.add(Output(call_id=call.id, idx=0, kind="generated", ts=call.ts, word_count=fp.word_count,
                         char_count=len(text), exact_hash=fp.exact, fingerprint=fp.to_blob()))
            ids.append(call.id)
    return ids


@pytest.fixture
def captured(tmp_path, sqlite_url):
    store = open_store(sqlite_url)
    texts = [answer(i) for i in range(12)]
    call_ids = add_outputs(store, texts)
    output_index = SyncedOutputIndex(store, tmp_path / "index")
    return store, output_index, texts, call_ids


def scanned(store, output_index, *paths):
    """Scan `paths` with a real Scanner: (results, sorted (file name, record) of their findings)."""
    from agent.scan.scan import Scanner

    results = list(Scanner(store, output_index, on_error=lambda line: None).scan_paths([Path(p) for p in paths]))
    return results, sorted((Path(f["path"]).name, f["record"]) for r in results for f in r.findings)
