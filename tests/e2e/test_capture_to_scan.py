"""Outputs captured through the real proxy with `privacy.store_text: none` (fingerprints only) are
found again by `aiaudit scan` in every supported format and every reuse form, and unrelated
same-domain text is not."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from sqlalchemy import func
from sqlalchemy import select

from agent.store.engine import open_store
from agent.store.models import Call
from tests.e2e.test_durability import wait_drained
from tests.support.client_side import client_side
from tests.support.standin import StandinServer
from tests.support.standin.harness import standin_proxy

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
CAPTURE = REPO / "agent" / "proxy" / "script.py"


def reformat(text: str) -> str:
    sentences = re.split(r"(?<=\.) ", text)
    return "\n".join(f"- **{s.upper()}**" for s in sentences)


def edit(text: str, share: float, seed: int) -> str:
    rng = random.Random(seed)
    words = text.split()
    for i in rng.sample(range(len(words)), int(len(words) * share)):
        words[i] = rng.choice(["quite", "notably", "the", "really", words[i].upper() + "s"])
    return " ".join(words)


FORMS = {
    "exact": lambda t, i: t,
    "reformatted": lambda t, i: reformat(t),
    "truncated": lambda t, i: " ".join(t.split()[: max(45, len(t.split()) * 6 // 10)]),
    "excerpt": lambda t, i: " ".join(t.split()[8:58]),
    "embedded": lambda t, i: "Background notes from the team wiki. " + t + " End of the pasted section.",
    "edited10": lambda t, i: edit(t, 0.10, i),
}


def write(path: Path, records: list[dict]) -> None:
    suffixes = "".join(path.suffixes)
    if ".parquet" in suffixes:
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(records), buf)
        raw = buf.getvalue()
        path.write_bytes(zstandard.ZstdCompressor().compress(raw) if suffixes.endswith(".zst") else raw)
        return
    if ".jsonl" in suffixes:
        data = "".join(json.dumps(r) + "\n" for r in records)
    elif ".json" in suffixes:
        data = json.dumps(records)
    elif ".csv" in suffixes or ".tsv" in suffixes:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(records[0]), delimiter="\t" if ".tsv" in suffixes else ",")
        writer.writeheader()
        writer.writerows(records)
        data = buf.getvalue()
    else:  # text and markdown: one record per file
        data = "\n\n".join(r["text"] for r in records)
    raw = data.encode()
    if suffixes.endswith(".gz"):
        raw = gzip.compress(raw)
    elif suffixes.endswith(".zst"):
        raw = zstandard.ZstdCompressor().compress(raw)
    path.write_bytes(raw)


@client_side
def harbour_answers(proxy, ca, count):
    """The answers an OpenAI client received to `count` distinct prompts."""
    client = clients.openai_client(proxy, ca)
    return [client.chat.completions.create(model="gpt-4o", messages=[
        {"role": "user", "content": f"Describe harbour logistics, aspect {i}"}]).choices[0].message.content
            for i in range(count)]


def test_fingerprints_alone_find_every_form_in_every_format(tmp_path, run_cli):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    config = tmp_path / "aiaudit.yaml"
    config.write_text(f"database_url: {url}\nprivacy:\n  store_text: none\ncapture:\n  journal_dir: {tmp_path / 'j'}\n"
                      f"scanner:\n  index_dir: {tmp_path / 'index'}\n")
    texts = []
    with StandinServer() as standin:
        env = {"AIAUDIT_CONFIG": str(config), "PYTHONPATH": str(REPO)}
        with standin_proxy(tmp_path / "mitmproxy", standin.port, scripts=[CAPTURE], env=env) as proxy:
            texts = harbour_answers(proxy.url, proxy.ca_path, len(FORMS) + 2)
            wait_drained(tmp_path / "j")
    store = open_store(url)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Call).where(Call.output_text.is_not(None))) == 0

    data = tmp_path / "data"
    data.mkdir()
    expected: set[tuple[str, int]] = set()
    formats = ["a.jsonl", "b.json", "c.csv", "d.tsv", "e.parquet", "f.jsonl.gz", "g.csv.zst", "h.parquet.zst",
               "i.json.gz"]
    forms = list(FORMS.items())
    negative = "Harbour logistics depend on cranes, berths and tides; planners schedule ships weekly."
    for n, name in enumerate(formats):
        records = [{"text": negative, "note": "same domain, not an output"}]
        for j, (_form, make) in enumerate(forms):
            records.append({"text": make(texts[j], n), "note": f"form {j}"})
        records.append({"text": texts[-1][:200] + " || " + texts[-2], "note": "two outputs"})  # two outputs
        write(data / name, records)
        expected |= {(name, k) for k in range(2, len(records) + 1)}
    for j, (form, make) in enumerate(forms):  # text files: one record each
        (data / f"t_{form}.md").write_text(make(texts[j], 99))
        expected.add((f"t_{form}.md", 1))
    (data / "t_negative.txt").write_text(negative * 3)

    result = run_cli("--config", str(config), "scan", str(data), "--format", "jsonl")
    assert result.returncode == 1, result.stderr  # 1: reuse found, every file scanned
    found = {(Path(r["path"]).name, r["record"]) for r in map(json.loads, result.stdout.splitlines())}
    assert found == expected, f"missed {sorted(expected - found)}, false {sorted(found - expected)}"
