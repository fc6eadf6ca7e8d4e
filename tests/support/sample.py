"""A realistic seeded store for screenshots, tests and trying the report out.

Six teams over nine weeks: steady product use of several vendors, and in the last week the
patterns the rules look for — a bulk harvest of OpenAI outputs, Anthropic answers in a
fine-tuning set uploaded to OpenAI, templated generation, multi-sampling, traffic no team
mapping claims. Rows are inserted with the store's models, as the proxy and the rules engine
would have written them. `hostile=True` puts script-like payloads wherever an attacker controls
text (team header, model names, dataset paths, user names, captured evidence text).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import numpy as np
from sqlalchemy import insert

from agent.store.models import Call
from agent.store.models import Evidence
from agent.store.models import Finding
from agent.store.models import ReuseFinding
from dashboard.weeks import IsoWeek

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
    """Fill `store` with nine weeks of calls ending with `week`, findings with evidence, and
    reuse findings. Deterministic: the same arguments give the same rows. Returns the names of
    the teams by role ({"research": ..., ...})."""
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
    # the harvest: 1,400 multi-output OpenAI calls in one afternoon of the report's week
    harvest_day = week.start + dt.timedelta(days=2, hours=13)
    for i in range(int(1400 * scale)):
        rows.append(_call(f"h{i}", harvest_day + dt.timedelta(seconds=6 * i), profiles[1], "openai",
                          "api.openai.com", "gpt-4o-mini", "gus", outputs=4, request_n=4, tokens=420,
                          prompt=f"tpl-{i % 700}", template="t-synth-qa"))
    with store.write_session() as session:
        for start in range(0, len(rows), 5000):
            session.execute(insert(Call), rows[start:start + 5000])
        reuse = _reuse_rows(week, research, hostile)
        session.execute(insert(ReuseFinding), reuse)
        findings, evidence = _findings(week, profiles, hostile, reuse)
        session.execute(insert(Finding), findings)
        session.execute(insert(Evidence), evidence)
    return {"research": research, "growth": growth_team, "support": profiles[2].name}


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
            "upload_call_id": _id("U", 1) if i < 12 else None,
            "path": "openai:file-upload/train.jsonl" if i < 12 else path, "record": i + 1,
            "record_sha256": hashlib.sha256(f"r{i}".encode()).hexdigest(),
            "call_ids": [_id("C", 1000 + i)], "output_ids": [i], "vendors": ["anthropic"], "teams": [research],
            "output_coverage": round(0.72 + (i % 7) * 0.04, 2), "record_coverage": round(0.55 + (i % 5) * 0.08, 2),
            "matched_words": 90 + (i * 13) % 140, "longest_run": 60, "reuse_class": "exact" if i % 3 else "edited",
            "tier": "verbatim" if i % 3 else "near-verbatim", "role": "unknown" if i < 12 else "response",
            "fields": ["upload"] if i < 12 else ["messages[2].content"],
        })
    return rows


@dataclass
class _Spec:
    rule_id: str
    rule_name: str
    title: str
    level: str
    severity: str
    score: float
    team: str
    vendor: str | None
    day: int
    hours: int  # window length
    count: int
    value: float
    threshold: float
    stance: str | None
    clause: str | None


CLAUSES = {
    "openai": "Customers may not use Output to develop AI models that compete with OpenAI's products or services.",
    "anthropic": ("Customers may not use the services or their outputs to build competing products or train competing "
                  "AI models, and the Usage Policy bars training any AI model on Claude's inputs or outputs (scraping "
                  "or distillation) without prior authorization."),
    "google": "Customers may not use the Services to develop models that compete with Gemini API or Google AI Studio.",
}


def _specs(profiles: list[TeamProfile], hostile: bool) -> list[_Spec]:
    research, growth, support = profiles[0].name, profiles[1].name, profiles[2].name
    return [
        _Spec("0dcc527c-b508-4a7b-a59f-8eef76cdcf55", "cross_vendor_distillation",
              "Cross-Vendor Distillation Through A Fine-Tuning Upload", "critical", "critical", 96.0, research,
              "anthropic", 3, 24, 12, 12, 1, "prohibits", CLAUSES["anthropic"]),
        _Spec("58fe0ba3-b9e8-4f74-90d1-b8c199913843", "outputs_in_dataset", "Vendor Outputs Found In A Dataset File",
              "high", "high", 77.5, research, "anthropic", 3, 24, 28, 28, 1, "prohibits", CLAUSES["anthropic"]),
        _Spec("15c8cf52-7042-46f4-9be3-4ebbf0aa1134", "bulk_outputs_harvesting", "Bulk Harvesting Of Outputs By A Team",
              "high", "high", 78.0, growth, "openai", 2, 24, 1400, 5600, 1200, "prohibits", CLAUSES["openai"]),
        _Spec("0b2acd1f-0e33-4792-b9b9-ea326ae77250", "templated_prompting", "Templated Prompting At Volume",
              "medium", "medium", 53.2, growth, "openai", 2, 1, 600, 300, 100, "prohibits", CLAUSES["openai"]),
        _Spec("6509f1bb-6e03-494c-9b95-3d096d822223", "multi_sampling", "Multi-Sampling Of Completions",
              "medium", "medium", 55.0, growth, "openai", 2, 24, 1400, 5600, 500, "prohibits", CLAUSES["openai"]),
        _Spec("c4086c69-be86-472c-b7e9-07d261af0ca2", "training_file_upload", "Training File Uploaded To A Vendor",
              "informational", "informational", 10.0, research, "openai", 3, 24, 1, 1, 1, None, None),
        _Spec("b4d80e5a-0029-4011-8c11-740e7a960670", "unattributed_ai_traffic", "AI Traffic No Team Mapping Claims",
              "low", "low", 30.0, "unattributed", "deepseek", 1, 24, 44, 44, 1, None, None),
        _Spec("94c99ba2-11d1-49c6-8e17-ddd14845e9cf", "repeated_identical_prompts", "Identical Prompt Sampled Repeatedly",
              "medium", "low", 36.5, support, "aws-bedrock", 4, 1, 130, 130, 100, "unknown",
              "Bedrock resells models under each provider's terms; the provider's clause applies."),
    ]


def _findings(week: IsoWeek, profiles: list[TeamProfile], hostile: bool, reuse: list[dict]):
    created = week.end + dt.timedelta(hours=2)
    findings, evidence = [], []
    specs = _specs(profiles, hostile)
    # earlier weeks: a little history so the trend means something
    history = [(week.shifted(-k), spec) for k in (1, 2, 4) for spec in specs[5:7]] + \
              [(week.shifted(-1), specs[3]), (week.shifted(-3), specs[2])]
    for n, (when, spec) in enumerate([(week, s) for s in specs] + history):
        start = when.start + dt.timedelta(days=spec.day, hours=13 if spec.hours == 1 else 0)
        end = start + dt.timedelta(hours=spec.hours)
        finding_id = _id("F", n)
        group = {"team": spec.team, "vendor": spec.vendor}
        if spec.rule_name == "cross_vendor_distillation":
            group["upload_vendor"] = "openai"
        if spec.rule_name == "templated_prompting":
            group["template_signature"] = hashlib.sha256(b"t-synth-qa").hexdigest()
        findings.append({
            "id": finding_id, "dedupe_key": hashlib.sha256(finding_id.encode()).hexdigest(), "rule_id": spec.rule_id,
            "rule_name": spec.rule_name, "title": spec.title, "level": spec.level, "severity": spec.severity,
            "score": spec.score, "team": spec.team, "vendor": spec.vendor, "group_key": group,
            "window_start": start, "window_end": end, "count": spec.count, "value": spec.value,
            "clause": spec.clause, "clause_reviewed": "2026-11-29" if spec.clause else None, "stance": spec.stance,
            "created_at": created,
        })
        items = [("aggregate", spec.rule_id, {
            "rule": spec.rule_name, "correlation": "event_count" if spec.value == spec.count else "value_sum",
            "field": None if spec.value == spec.count else "outputs", "group": group,
            "window_start": start.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "window_end": end.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            "timespan": "1h" if spec.hours == 1 else "1d", "window_complete": True, "value": spec.value,
            "events": spec.count, "threshold": spec.threshold, "condition": f"gte {spec.threshold:g}",
            "baseline": 240 if spec.rule_name == "bulk_outputs_harvesting" else None,
            "baseline_windows": 14 if spec.rule_name == "bulk_outputs_harvesting" else None,
            "models": [HOSTILE_MODEL if hostile and spec.vendor == "openai" else "gpt-4o-mini"]
            if spec.vendor == "openai" else [], "events_listed": 0, "stance": spec.stance or "unknown",
        })]
        if spec.rule_name in ("cross_vendor_distillation", "outputs_in_dataset"):
            chosen = [r for r in reuse if (r["source"] == "upload") == (spec.rule_name == "cross_vendor_distillation")]
            for r in chosen[:25]:
                items.append(("reuse", r["id"], {
                    "ts": r["found_at"].strftime("%Y-%m-%dT%H:%M:%S+00:00"), "source": r["source"], "path": r["path"],
                    "record": r["record"], "output_coverage": r["output_coverage"],
                    "record_coverage": r["record_coverage"], "matched_words": r["matched_words"],
                    "reuse_class": r["reuse_class"], "tier": r["tier"], "role": r["role"], "fields": r["fields"],
                    "call_ids": r["call_ids"], "call_ids_total": 1,
                    "upload_vendor": "openai" if r["source"] == "upload" else None,
                }))
            if spec.rule_name == "cross_vendor_distillation":
                items.append(("upload", _id("U", 1), {"call_id": _id("U", 1)}))
        else:
            users = {"unattributed": [None, "svc-batch"], profiles[1].name: ["gus"], profiles[2].name: ["kai"]}
            for k in range(min(spec.count, 8)):
                user = (users.get(spec.team) or ["dana"])[k % len(users.get(spec.team) or ["dana"])]
                detail = {
                    "ts": (start + dt.timedelta(seconds=37 * k)).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                    "team": spec.team, "vendor": spec.vendor,
                    "model": HOSTILE_MODEL if hostile and spec.vendor == "openai" else (
                        "anthropic.claude-3-5-haiku" if spec.vendor == "aws-bedrock" else
                        "deepseek-chat" if spec.vendor == "deepseek" else "gpt-4o-mini"),
                    "endpoint": "chat.completions", "kind": "generation",
                    "outputs": 4 if spec.rule_name in ("multi_sampling", "bulk_outputs_harvesting") else 1,
                    "completion_tokens": 420, "user": HOSTILE_USER if hostile and k == 0 else user,
                    "client_ip": f"10.30.2.{20 + k}",
                }
                if spec.rule_name == "multi_sampling":
                    detail["request_n"] = 4
                if hostile and k == 1:
                    detail["excerpt"] = HOSTILE_TEXT
                items.append(("upload" if spec.rule_name == "training_file_upload" else "call",
                              _id("C", 50_000 + n * 100 + k), detail))
        for k, (kind, ref, detail) in enumerate(items):
            evidence.append({"id": _id(f"E{n}-", k), "finding_id": finding_id, "kind": kind, "ref": ref,
                             "detail": detail, "created_at": created})
    return findings, evidence
