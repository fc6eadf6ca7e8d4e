"""The demo's company: four teams using AI vendors in four ways a compliance officer must tell apart.

- growth-analytics harvests: hundreds of templated calls asking for 4 samples each with token
  log-probabilities, and a 1,500-line batch result download (OpenAI, whose terms prohibit using
  outputs to build competing models). Attributed by its API key.
- customer-support uses Claude normally: a few dozen support answers. Attributed by proxy login.
- ml-research collects Claude's answers into a fine-tuning set in the dataset directory and
  uploads that set to OpenAI's fine-tuning API (one vendor's outputs training another's model).
  Attributed by its API keys.
- data-platform builds a Q&A corpus from DeepSeek's answers, whose terms permit training on
  outputs. Attributed by the X-Team header.
A few calls nobody's mapping claims show up as unattributed.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from agent.demo.http import ProxyClient
from agent.demo.vendor import BATCH_SIZE_HEADER

OPENAI = "https://api.openai.com/v1"
ANTHROPIC = "https://api.anthropic.com/v1/messages"
DEEPSEEK = "https://api.deepseek.com/chat/completions"

KEYS = {
    "growth-analytics": "sk-proj-demo-growth-analytics-0001",
    "ml-research-claude": "sk-ant-demo-ml-research-0001",
    "ml-research-openai": "sk-proj-demo-ml-research-0002",
}

PRODUCTS = ["trail shoes", "espresso grinder", "standing desk", "rain jacket", "smart thermostat", "yoga mat",
            "e-bike", "air purifier", "noise-cancelling headphones", "cast-iron skillet", "tent", "monitor arm"]
CATEGORIES = ["outdoor", "kitchen", "office", "home", "fitness", "audio"]
TONES = ["playful", "premium", "technical", "friendly"]
SUPPORT = ["How do I reset my password?", "My invoice shows a double charge, what happened?",
           "Can I change the delivery address after ordering?", "The app crashes when I upload a photo.",
           "How do I export my data?", "Is there a student discount?"]
TOPICS = ["photosynthesis", "compound interest", "TCP congestion control", "the French revolution",
          "plate tectonics", "vaccines", "black holes", "supply chains", "the immune system", "neural networks"]


def team_config() -> str:
    """The teams: section of the demo's aiaudit.yaml."""
    def sha(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    return f"""teams:
  - name: growth-analytics
    api_key_sha256: [{sha(KEYS['growth-analytics'])}]
  - name: customer-support
    proxy_users: [support-bot]
  - name: ml-research
    api_key_sha256: [{sha(KEYS['ml-research-claude'])}, {sha(KEYS['ml-research-openai'])}]
  - name: data-platform
    cidrs: [10.99.0.0/16]
team_header: X-Team
"""


@dataclass
class Traffic:
    """Counts what the simulated employees did, for the progress line."""

    planned: int
    done: int = 0
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, ok: bool) -> None:
        with self.lock:
            self.done += 1
            self.failed += 0 if ok else 1


def growth_analytics(client: Callable[[str], ProxyClient], traffic: Traffic, worker: int, calls: int) -> None:
    http = client("etl-runner")
    rng = random.Random(worker)
    auth = {"authorization": f"Bearer {KEYS['growth-analytics']}"}
    for i in range(calls):
        prompt = (f"Write a product description for the {rng.choice(PRODUCTS)} #{worker * 1000 + i} in the "
                  f"{rng.choice(CATEGORIES)} category, in a {rng.choice(TONES)} tone.")
        status, _ = http.post_json(f"{OPENAI}/chat/completions", {
            "model": "gpt-4o", "n": 4, "logprobs": True, "top_logprobs": 5, "temperature": 1.0,
            "messages": [{"role": "system", "content": "You write catalogue copy."},
                         {"role": "user", "content": prompt}]}, auth)
        traffic.count(status == 200)
    if worker == 0:  # the nightly batch job's results
        status, _ = http.request("GET", f"{OPENAI}/files/file-growth-nightly/content",
                                 headers={**auth, BATCH_SIZE_HEADER: "1500"})
        traffic.count(status == 200)


def customer_support(client: Callable[[str], ProxyClient], traffic: Traffic, calls: int) -> None:
    http = client("support-bot")
    headers = {"x-api-key": "sk-ant-demo-support-shared-key", "anthropic-version": "2023-06-01"}
    for i in range(calls):
        question = f"{SUPPORT[i % len(SUPPORT)]} (ticket {4100 + i})"
        status, _ = http.post_json(ANTHROPIC, {"model": "claude-sonnet-4-5", "max_tokens": 400, "stream": i % 3 == 0,
                                               "messages": [{"role": "user", "content": question}]}, headers)
        traffic.count(status == 200)


def ml_research(client: Callable[[str], ProxyClient], traffic: Traffic, calls: int) -> list[tuple[str, str]]:
    http = client("alice")
    headers = {"x-api-key": KEYS["ml-research-claude"], "anthropic-version": "2023-06-01"}
    pairs = []
    for i in range(calls):
        question = f"Explain {TOPICS[i % len(TOPICS)]} to a first-year student, part {i // len(TOPICS) + 1}."
        status, body = http.post_json(ANTHROPIC, {"model": "claude-opus-4-1", "max_tokens": 800,
                                                  "messages": [{"role": "user", "content": question}]}, headers)
        traffic.count(status == 200)
        if status == 200 and isinstance(body, dict):
            pairs.append((question, "".join(b.get("text", "") for b in body.get("content", []))))
    return pairs


def data_platform(client: Callable[[str], ProxyClient], traffic: Traffic, calls: int) -> list[tuple[str, str]]:
    http = client("dp-etl")
    headers = {"authorization": "Bearer sk-demo-deepseek-data-platform", "X-Team": "data-platform"}
    pairs = []
    for i in range(calls):
        question = f"What is a good answer to FAQ #{i}: how does {TOPICS[(i * 3) % len(TOPICS)]} work?"
        status, body = http.post_json(DEEPSEEK, {"model": "deepseek-chat",
                                                 "messages": [{"role": "user", "content": question}]}, headers)
        traffic.count(status == 200)
        if status == 200 and isinstance(body, dict):
            pairs.append((question, body["choices"][0]["message"]["content"]))
    return pairs


def unattributed(client: Callable[[str], ProxyClient], traffic: Traffic, calls: int) -> None:
    http = client("build-agent-17")
    for i in range(calls):
        status, _ = http.post_json(f"{OPENAI}/chat/completions", {
            "model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"Summarise build log {i}"}]},
            {"authorization": "Bearer sk-proj-unknown-ci-key"})
        traffic.count(status == 200)


def write_finetune_set(path: Path, pairs: list[tuple[str, str]]) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"messages": [{"role": "system", "content": "You are a patient tutor."},
                                      {"role": "user", "content": q}, {"role": "assistant", "content": a}]})
             for q, a in pairs]
    data = ("\n".join(lines) + "\n").encode()
    tmp = path.with_name("." + path.name + ".tmp")  # written like an editor or a pipeline would: then renamed
    tmp.write_bytes(data)
    tmp.replace(path)
    return data


def write_corpus(path: Path, pairs: list[tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["question", "answer", "source"])
        for q, a in pairs:
            writer.writerow([q, a, "llm"])


def upload_for_finetuning(client: Callable[[str], ProxyClient], content: bytes) -> None:
    http = client("alice")
    auth = {"authorization": f"Bearer {KEYS['ml-research-openai']}"}
    status, body = http.post_file(f"{OPENAI}/files", {"purpose": "fine-tune"}, "tutor_sft_v3.jsonl", content, auth)
    if status == 200 and isinstance(body, dict):
        http.post_json(f"{OPENAI}/fine_tuning/jobs", {"model": "gpt-4o-mini-2024-07-18",
                                                      "training_file": body.get("id", "file-unknown")}, auth)
