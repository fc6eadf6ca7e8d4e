"""A realistic seeded store for screenshots, tests and trying the report out.

Six teams over nine weeks: steady product use of several vendors, and in the last week the
patterns the rules look for — a bulk harvest of OpenAI outputs, Anthropic answers in a
fine-tuning set uploaded to OpenAI, templated generation, multi-sampling, traffic no team
mapping claims. The captured data (calls, an upload, reuse findings) is inserted with the
store's models, as the writer and the scanner would have written it; the findings and their
evidence are made by running the real rules engine over it, so the report shows what the engine
records, never a hand-made copy of it. `hostile=True` puts script-like payloads wherever an
attacker controls text (team header, model names, dataset paths and field names, user names).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import numpy as np
from sqlalchemy import insert

from agent.store.models import Call
from agent.store.models import ReuseFinding
from dashboard.weeks import IsoWeek
from rules.engine.evaluate import evaluate

HOSTILE_TEAM = "<script>document.title='PWNED-team'</script>\"'><img src=x onerror=\"document.title='PWNED-img'\">"
HOSTILE_MODEL = "gpt-4o</title><script>document.body.innerHTML='PWNED-model'</script>"
HOSTILE_PATH = "/data/sft/<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">.jsonl"
HOSTILE_USER = "javascript:document.title='PWNED-url'"
HOSTILE_TEXT = "<svg onload=\"document.title='PWNED-svg'\"></svg><a href=\"javascript:alert(1)\">click</a>"


@dataclass(frozen=True)
class TeamProfile:
    name: str
    calls_per_week: int
    vendors: tuple[tuple[str, str, str, float], ...]  # (vendor, host, model, share)
    users: tuple[str, ...]
    cidr: str


def _profiles(hostile: bool) -> list[TeamProfile]:
    research = HOSTILE_TEAM if hostile else "research-ml"
    gpt = HOSTILE_MODEL if hostile else "gpt-4o"
    return [
        TeamProfile(research, 1800, (("anthropic", "api.anthropic.com", "claude-sonnet-4-5", 0.55),
                                     ("openai", "api.openai.com", gpt, 0.45)), ("dana", "eitan", "farah"), "10.20.1"),
        TeamProfile("growth-analytics", 2600, (("openai", "api.openai.com", "gpt-4o-mini", 0.8),
                                               ("google", "generativelanguage.googleapis.com", "gemini-2.5-flash", 0.2)),
                    ("gus", "hana"), "10.30.2"),
        TeamProfile("customer-support", 3200, (("openai", "api.openai.com", "gpt-4o-mini", 0.5),
                                               ("aws-bedrock", "bedrock-runtime.eu-west-1.amazonaws.com",
                                                "anthropic.claude-3-5-haiku", 0.5)), ("ivan", "jo", "kai"), "10.40.3"),
        TeamProfile("search-platform", 1500, (("mistral", "api.mistral.ai", "mistral-large-latest", 0.6),
                                              ("cohere", "api.cohere.com", "command-r-plus", 0.4)), ("lea",), "10.50.4"),
        TeamProfile("legal-ops", 240, (("anthropic", "api.anthropic.com", "claude-haiku-4-5", 1.0),), ("mo",), "10.60.5"),
        TeamProfile("unattributed", 300, (("deepseek", "api.deepseek.com", "deepseek-chat", 0.7),
                                          ("openai", "api.openai.com", "gpt-4o-mini", 0.3)), ("",), "192.168.7"),
    ]


def _id(prefix: str, n: int) -> str:
    return f"{prefix}{n:0{26 - len(prefix)}d}"


def seed_sample_store(store, week: IsoWeek | str, *, hostile: bool = False, weeks_before: int = 8,
                      scale: float = 1.0) -> dict[str, str]:
    """Fill `store` with nine weeks of calls ending with `week` and reuse findings, then evaluate
    the rules over the last five weeks. The captured rows are deterministic (the same arguments
    give the same rows); the engine gives its findings new ids. `scale` thins the steady traffic
    only: the patterns of the last week keep the sizes the rules need to fire. Returns the names
    of the teams by role ({"research": ..., ...})."""
    week = IsoWeek.parse(week) if isinstance(week, str) else week
    rng = np.random.default_rng(20261129)
    profiles = _profiles(hostile)
    rows: list[dict] = []
    for offset in range(weeks_before, -1, -1):
        current = week.shifted(-offset)
        growth = 1.0 + 0.04 * (weeks_before - offset)
        for p_index, profile in enumerate(profiles):
            n = int(profile.calls_per_week * growth * scale * rng.uniform(0.85, 1.15))
            rows.extend(_calls(rng, current, profile, n, f"c{offset}{p_index}"))
    research, growth_team = profiles[0].name, profiles[1].name
    # the harvest: multi-output OpenAI calls from one template in one afternoon of the week
    harvest_day = week.start + dt.timedelta(days=2, hours=13)
    harvest_model = HOSTILE_MODEL if hostile else "gpt-4o-mini"
    for i in range(max(HARVEST_MIN, int(1400 * scale))):
        rows.append(_call(f"h{i}", harvest_day + dt.timedelta(seconds=6 * i), profiles[1], "openai",
                          "api.openai.com", harvest_model, HOSTILE_USER if hostile and i == 0 else "gus",
                          outputs=4, request_n=4, tokens=420, prompt=f"tpl-{i % 700}", template="t-synth-qa"))
    # one support prompt sent again and again within an hour
    repeat_start = week.start + dt.timedelta(days=4, hours=13)
    for i in range(REPEATED_PROMPTS):
        rows.append(_call(f"rp{i}", repeat_start + dt.timedelta(seconds=20 * i), profiles[2], "aws-bedrock",
                          "bedrock-runtime.eu-west-1.amazonaws.com", "anthropic.claude-3-5-haiku", "kai",
                          prompt="support-faq"))
    rows.append(_upload(week, profiles[0], hostile))
    with store.write_session() as session:
        for start in range(0, len(rows), 5000):
            session.execute(insert(Call), rows[start:start + 5000])
        session.execute(insert(ReuseFinding), _reuse_rows(week, research, hostile))
    evaluate(store, since=week.shifted(-4).start, until=week.end)
    return {"research": research, "growth": growth_team, "support": profiles[2].name}


HARVEST_MIN = 250  # 1,000 outputs in 25 minutes: over the harvesting, multi-sampling and template floors
REPEATED_PROMPTS = 130  # the identical-prompt rule fires at 100 in an hour
UPLOAD_ID = f"U{1:025d}"


def _upload(week: IsoWeek, profile: TeamProfile, hostile: bool) -> dict:
    """The fine-tuning upload to OpenAI whose records hold Anthropic answers (see _reuse_rows)."""
    row = _call("upload", week.start + dt.timedelta(days=3, hours=9), profile, "openai", "api.openai.com",
                HOSTILE_MODEL if hostile else "gpt-4o-mini", HOSTILE_USER if hostile else "dana", outputs=0, tokens=0)
    row.update(id=UPLOAD_ID, kind="upload", endpoint="files", path="/v1/files", upload_purpose="fine-tune",
               completion_tokens=None, output_chars=0, request_bytes=48_000)
    return row


def _call(call_id: str, ts: dt.datetime, profile: TeamProfile, vendor: str, host: str, model: str, user: str,
          outputs: int = 1, request_n: int | None = None, tokens: int = 300, prompt: str = "",
          template: str | None = None) -> dict:
    return {
        "id": _id("C", int(hashlib.sha256(call_id.encode()).hexdigest()[:15], 16)), "ts": ts,
        "vendor": vendor, "host": host,
        "endpoint": "messages" if vendor == "anthropic" else "chat.completions", "kind": "generation",
        "method": "POST", "path": "/v1/chat/completions", "model": model, "served_model": model,
        "team": profile.name, "attributed_by": "none" if profile.name == "unattributed" else "proxy_user",
        "user": user or None, "client_ip": f"{profile.cidr}.{(len(call_id) * 7) % 200 + 10}", "status": 200,
        "streamed": False, "request_n": request_n, "logprobs": False, "prompt_tokens": 180,
        "completion_tokens": tokens, "outputs": outputs, "output_chars": tokens * 4,
        "prompt_sha256": hashlib.sha256(prompt.encode()).hexdigest() if prompt else None,
        "template_signature": hashlib.sha256(template.encode()).hexdigest() if template else None,
        "request_bytes": 900, "response_bytes": tokens * 5,
    }


def _calls(rng, week: IsoWeek, profile: TeamProfile, n: int, prefix: str) -> list[dict]:
    seconds = np.sort(rng.integers(0, 5 * 86400, n))  # mostly weekdays
    weekend = rng.random(n) < 0.06
    seconds = np.where(weekend, rng.integers(5 * 86400, 7 * 86400, n), seconds)
    shares = np.array([v[3] for v in profile.vendors])
    picks = rng.choice(len(profile.vendors), size=n, p=shares / shares.sum())
    tokens = rng.integers(80, 900, n)
    users = rng.integers(0, len(profile.users), n)
    out = []
    for i in range(n):
        vendor, host, model, _ = profile.vendors[picks[i]]
        out.append(_call(f"{prefix}-{week.label}-{i}", week.start + dt.timedelta(seconds=int(seconds[i])), profile,
                         vendor, host, model, profile.users[users[i]], tokens=int(tokens[i]), prompt=f"{prefix}{i}"))
    return out


def _reuse_rows(week: IsoWeek, research: str, hostile: bool) -> list[dict]:
    found = week.start + dt.timedelta(days=3, hours=10)
    path = HOSTILE_PATH if hostile else "/data/finetune/support-distill-v3.jsonl"
    rows = []
    for i in range(40):
        rows.append({
            "id": _id("R", i), "found_at": found + dt.timedelta(seconds=i), "source": "upload" if i < 12 else "dataset",
            "upload_call_id": UPLOAD_ID if i < 12 else None,
            "path": "openai:file-upload/train.jsonl" if i < 12 else path, "record": i + 1,
            "record_sha256": hashlib.sha256(f"r{i}".encode()).hexdigest(),
            "call_ids": [_id("C", 1000 + i)], "output_ids": [i], "vendors": ["anthropic"], "teams": [research],
            "output_coverage": round(0.72 + (i % 7) * 0.04, 2), "record_coverage": round(0.55 + (i % 5) * 0.08, 2),
            "matched_words": 90 + (i * 13) % 140, "longest_run": 60, "reuse_class": "exact" if i % 3 else "edited",
            "tier": "verbatim" if i % 3 else "near-verbatim", "role": "unknown" if i < 12 else "response",
            "fields": ["upload"] if i < 12 else [HOSTILE_TEXT if hostile else "messages[2].content"],
        })
    return rows
