"""A week a compliance officer can reason about, used by the severity, evaluate and chain tests.

- harvest:   ~40 OpenAI outputs a day for two weeks, then 1200 on the day (bulk harvesting).
- distill:   Anthropic answers (a vendor that prohibits training on outputs) found in a dataset.
- permitted: DeepSeek answers (a vendor that permits it) found in a dataset, in the same way.
- normal:    steady, ordinary use of OpenAI; no findings expected.
"""

from __future__ import annotations

import datetime as dt

DAY = dt.datetime(2026, 11, 16, tzinfo=dt.timezone.utc)
SINCE, UNTIL = DAY, DAY + dt.timedelta(days=1)

CALLS = [
    {"ts": DAY - dt.timedelta(days=14), "team": "harvest", "vendor": "openai", "repeat": 560, "every": "36m",
     "id": "hh{i}"},
    {"ts": DAY + dt.timedelta(hours=9), "team": "harvest", "vendor": "openai", "outputs": 2, "repeat": 600,
     "every": "30s", "id": "hv{i}", "prompt_sha256": "hp{i}"},
    {"ts": DAY - dt.timedelta(days=14), "team": "normal", "vendor": "openai", "repeat": 1400, "every": "864s",
     "id": "nh{i}", "prompt_sha256": "np{i}"},
    {"ts": DAY + dt.timedelta(hours=8), "team": "normal", "vendor": "openai", "repeat": 100, "every": "5m",
     "id": "nv{i}", "prompt_sha256": "nq{i}"},
    {"ts": DAY - dt.timedelta(days=1), "team": "distill", "vendor": "anthropic", "endpoint": "messages",
     "model": "claude-sonnet-4", "repeat": 30, "every": "1m", "id": "da{i}", "prompt_sha256": "dp{i}"},
    {"ts": DAY - dt.timedelta(days=1), "team": "permitted", "vendor": "deepseek", "endpoint": "chat.completions",
     "model": "deepseek-chat", "repeat": 30, "every": "1m", "id": "pa{i}", "prompt_sha256": "pp{i}"},
]
REUSE = [
    {"found_at": DAY + dt.timedelta(hours=12), "source": "dataset", "path": "/data/sft/distill.jsonl",
     "call_ids": ["da{i}"], "repeat": 30, "every": "1s", "record": None},
    {"found_at": DAY + dt.timedelta(hours=12), "source": "dataset", "path": "/data/sft/permitted.jsonl",
     "call_ids": ["pa{i}"], "repeat": 30, "every": "1s", "record": None},
]


def reuse_entries():
    """`{i}` in a list is not expanded by the fixture format: spell the records out."""
    out = []
    for spec in REUSE:
        for i in range(spec["repeat"]):
            out.append({"found_at": spec["found_at"] + dt.timedelta(seconds=i), "source": spec["source"],
                        "path": spec["path"], "record": i + 1, "call_ids": [spec["call_ids"][0].replace("{i}", str(i))]})
    return out
