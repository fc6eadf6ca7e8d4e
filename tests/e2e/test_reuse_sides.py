"""Through the real proxy and the installed CLI: a scan says where in a record the reused text
sits, an independent answer to the same prompt is not reuse, and a poem that a question quotes
(and a captured output quoted too) is a low, prompt-side finding, not a high one.

The stand-in vendor is told which answer to give (`x-standin-reply`), so the captured outputs are
texts chosen here; the capture keeps fingerprints only (`privacy.store_text: none`)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.e2e.test_capture_to_scan import edit
from tests.e2e.test_durability import wait_drained
from tests.support.remote_clients import clients
from tests.support.standin import StandinServer
from tests.support.standin.harness import standin_proxy

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
CAPTURE = REPO / "agent" / "proxy" / "script.py"

SONNET = ("Shall I compare thee to a summer's day? Thou art more lovely and more temperate: Rough winds "
          "do shake the darling buds of May, And summer's lease hath all too short a date; Sometime too hot "
          "the eye of heaven shines, And often is his gold complexion dimm'd; And every fair from fair "
          "sometime declines, By chance or nature's changing course untrimm'd;")
SONNET_END = ("But thy eternal summer shall not fade, Nor lose possession of that fair thou ow'st; Nor shall "
              "Death brag thou wander'st in his shade, When in eternal lines to time thou grow'st: So long as "
              "men can breathe or eyes can see, So long lives this, and this gives life to thee.")
CODE = ("def total(items): result = 0 for item in items: if item.price > 0: result = result + item.price "
        "* item.quantity else: continue return result orders = load_orders(path) print(total(orders))")
CALLS = {
    "recursion": ("Explain recursion with a short example.",
                  "Recursion is when a function solves a problem by calling itself on a smaller piece of the "
                  "same problem, until it reaches a case simple enough to answer directly. Take the factorial: "
                  "the factorial of five is five times the factorial of four, which is four times the "
                  "factorial of three, and so on down to one, whose factorial is simply one. Every recursive "
                  "function therefore needs two parts, a base case that stops the descent and a recursive "
                  "step that moves towards it; forget the base case and the calls never end, until the "
                  "interpreter gives up with a recursion depth error. Many tree and graph algorithms read "
                  "most naturally this way, because each subtree is a smaller tree of the same shape."),
    "sonnet": ("Which sonnet compares the beloved to a summer's day? Quote its opening.",
               "That is Shakespeare's Sonnet 18. It opens: " + SONNET + " The poem then turns: the "
               "beloved's beauty, unlike summer, will not fade, because the verse itself preserves it for "
               "as long as people read."),
    "code": ("Why does this function ignore free items? " + CODE,
             "Here is your function again: " + CODE + " The condition skips every item whose price is zero, "
             "so free items never reach the sum; since adding zero changes nothing the branch is not "
             "needed, and you can drop the if and the continue to make the loop simpler to read."),
}


def capture(tmp_path: Path) -> Path:
    config = tmp_path / "aiaudit.yaml"
    config.write_text(f"database_url: sqlite:///{tmp_path / 'audit.db'}\nprivacy:\n  store_text: none\n"
                      f"capture:\n  journal_dir: {tmp_path / 'j'}\nscanner:\n  index_dir: {tmp_path / 'index'}\n")
    with StandinServer() as standin:
        env = {"AIAUDIT_CONFIG": str(config), "PYTHONPATH": str(REPO)}
        with standin_proxy(tmp_path / "mitmproxy", standin.port, scripts=[CAPTURE], env=env) as proxy:
            client = clients.openai_client(proxy.url, proxy.ca_path)
            for n, (prompt, text) in enumerate(CALLS.values()):
                body = {"id": f"chatcmpl-{n}", "object": "chat.completion", "created": 1_700_000_000,
                        "model": "gpt-4o", "choices": [{"index": 0, "finish_reason": "stop",
                                                        "message": {"role": "assistant", "content": text}}]}
                reply = client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": prompt}],
                    extra_headers={"x-standin-reply": base64.b64encode(json.dumps(body).encode()).decode()})
                assert reply.choices[0].message.content == text
            wait_drained(tmp_path / "j")
    return config


def test_scan_names_fields_and_sides_and_rates_prompt_side_low(tmp_path, run_cli):
    config = capture(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    chat = [
        # 1: a training example built from the captured answer
        {"messages": [{"role": "user", "content": CALLS["recursion"][0]},
                      {"role": "assistant", "content": CALLS["recursion"][1]}]},
        # 2: the instruction quotes the whole sonnet; the answer is someone else's
        {"messages": [{"role": "user", "content": "Explain this poem line by line: " + SONNET + " " + SONNET_END},
                      {"role": "assistant", "content": "The speaker first weighs a comparison with summer and "
                       "finds it wanting, then promises that the poem itself will keep the beloved alive."}]},
        # 3: another answer to the code question: it repeats the question's code too
        {"messages": [{"role": "user", "content": CALLS["code"][0]},
                      {"role": "assistant", "content": "Look at this line of your code: " + CODE + " Items with "
                       "a zero price fail the price check and hit the continue, which is harmless: they would "
                       "add nothing anyway. If you want them counted in a tally, count them separately."}]},
    ]
    (data / "chat.jsonl").write_text("".join(json.dumps(r) + "\n" for r in chat))
    (data / "alpaca.jsonl").write_text(json.dumps({"instruction": "Teach recursion.", "input": "",
                                                   "output": edit(CALLS["recursion"][1], 0.10, 7)}) + "\n")

    result = run_cli("--config", str(config), "scan", str(data), "--format", "jsonl")
    assert result.returncode == 1, result.stderr  # 1: reuse found, every file scanned
    rows = {(Path(r["path"]).name, r["record"]): r for r in map(json.loads, result.stdout.splitlines())}
    assert set(rows) == {("chat.jsonl", 1), ("chat.jsonl", 2), ("alpaca.jsonl", 1)}, rows
    copy, poem, edited = rows[("chat.jsonl", 1)], rows[("chat.jsonl", 2)], rows[("alpaca.jsonl", 1)]
    assert (copy["fields"], copy["role"], copy["tier"]) == (["messages[1].content"], "response", "verbatim")
    assert (poem["fields"], poem["role"]) == (["messages[0].content"], "prompt")
    assert (edited["fields"], edited["role"], edited["tier"]) == (["output"], "response", "near-verbatim")

    assert run_cli("--config", str(config), "evaluate", "--since", "2000-01-01").returncode == 0
    exported = run_cli("--config", str(config), "export", "findings")
    assert exported.returncode == 0, exported.stderr
    findings = [json.loads(line) for line in exported.stdout.splitlines()]
    levels = {f["rule_name"]: f["level"] for f in findings}
    assert levels.get("outputs_in_dataset") == "high"
    assert levels.get("outputs_in_dataset_prompt_side") == "low"
    def evidence(rule: str) -> set[tuple[str, int, str]]:
        return {(Path(e["detail"]["path"]).name, e["detail"]["record"], e["detail"]["role"])
                for f in findings if f["rule_name"] == rule for e in f["evidence"] if e["kind"] == "reuse"}

    # the poem's record is evidence of the low finding only, and says on which side it sits
    assert evidence("outputs_in_dataset") == {("chat.jsonl", 1, "response"), ("alpaca.jsonl", 1, "response")}
    assert evidence("outputs_in_dataset_prompt_side") == {("chat.jsonl", 2, "prompt")}
