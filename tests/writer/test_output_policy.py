"""One policy for what an output is, for every vendor (README: export contract): one output per
generation, holding its text, refusal, each tool call's arguments, generated code and reasoning,
in that order, with `output_parts` naming what it holds; and several generations give several
outputs, streamed or not, agreeing with request_n."""

from __future__ import annotations

import io
import json
import time

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.ids import new_id
from agent.proxy.counters import CaptureCounters
from agent.proxy.exchange import RequestSnapshot
from agent.proxy.exchange import ResponseSnapshot
from agent.proxy.journal import Journal
from agent.proxy.record import CapturedExchange
from agent.proxy.record import encode_parts
from agent.store import export
from agent.store.engine import open_store
from agent.writer.attribution import Attributor
from agent.writer.drain import CaptureWriter
from agent.writer.parsed import OUTPUT_PARTS
from agent.writer.parsed import ParsedCall
from agent.writer.parsers.common import shape_of

from .wire import host_list
from .wire import run
from .wire import sse

WEATHER = '{"city": "Lima"}'
WEATHER2 = '{"city": "Cusco"}'


def test_openai_chat_text_and_parallel_tool_calls_json():
    body = {"model": "gpt-4o", "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": "Checking both.", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": WEATHER}},
            {"id": "c2", "type": "function", "function": {"name": "weather", "arguments": WEATHER2}},
            {"id": "c3", "type": "custom", "custom": {"name": "sql", "input": "SELECT 1"}}]}}]}
    call = run("api.openai.com", "/v1/chat/completions", request={"model": "gpt-4o", "messages": []}, response=body)
    assert call.parse_error is None
    assert call.outputs == [f"Checking both.\n{WEATHER}\n{WEATHER2}\nSELECT 1"]
    assert call.output_parts == [["text", "tool_arguments"]]


def test_openai_chat_stream_parallel_tool_calls_stay_apart():
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [
            {"index": 0, "id": "c1", "type": "function", "function": {"name": "weather", "arguments": ""}}]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 1, "id": "c2", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Cusco"}'}}]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '"Lima"}'}}]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    call = run("api.openai.com", "/v1/chat/completions", request={"model": "m", "stream": True, "messages": []},
               response=sse(*chunks, done=True), content_type="text/event-stream")
    assert call.parse_error is None
    assert call.outputs == [f"{WEATHER}\n{WEATHER2}"] and call.output_parts == [["tool_arguments"]]


def test_openai_refusal_is_an_output_part():
    body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": None,
                                                 "refusal": "I can't help with that."}}]}
    call = run("api.openai.com", "/v1/chat/completions", request={"model": "m", "messages": []}, response=body)
    assert call.outputs == ["I can't help with that."] and call.output_parts == [["refusal"]]


def test_responses_function_custom_tool_and_code_interpreter():
    body = {"object": "response", "status": "completed", "model": "gpt-5", "output": [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Plan: call tools."}]},
        {"type": "function_call", "name": "weather", "arguments": WEATHER, "call_id": "a"},
        {"type": "custom_tool_call", "name": "sql", "input": "SELECT 2", "call_id": "b"},
        {"type": "code_interpreter_call", "code": "print(6*7)", "id": "ci"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "42."}]}],
        "usage": {"input_tokens": 5, "output_tokens": 50}}
    call = run("api.openai.com", "/v1/responses", request={"model": "gpt-5", "input": "x"}, response=body)
    assert call.parse_error is None
    assert call.outputs == [f"42.\n{WEATHER}\nSELECT 2\nprint(6*7)\nPlan: call tools."]
    assert call.output_parts == [["text", "tool_arguments", "code", "reasoning"]]


def test_anthropic_parallel_tool_use_json_and_stream_agree():
    message = {"type": "message", "role": "assistant", "model": "claude", "content": [
        {"type": "text", "text": "Both."},
        {"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "Lima"}},
        {"type": "tool_use", "id": "t2", "name": "weather", "input": {"city": "Cusco"}}],
        "usage": {"input_tokens": 3, "output_tokens": 9}}
    plain = run("api.anthropic.com", "/v1/messages", request={"model": "c", "messages": []}, response=message)
    events = [
        {"type": "message_start", "message": {"model": "claude", "usage": {"input_tokens": 3, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Both."}},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "t1", "name": "weather", "input": {}}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"city": '}},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "t2", "name": "weather", "input": {}}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": WEATHER2}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '"Lima"}'}},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    ]
    streamed = run("api.anthropic.com", "/v1/messages", request={"model": "c", "stream": True, "messages": []},
                   response=sse(*events, named=True), content_type="text/event-stream")
    assert plain.parse_error is None and streamed.parse_error is None
    assert plain.outputs == streamed.outputs == [f"Both.\n{WEATHER}\n{WEATHER2}"]
    assert plain.output_parts == streamed.output_parts == [["text", "tool_arguments"]]


def test_gemini_function_call_and_executable_code_per_candidate():
    body = {"candidates": [
        {"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": [
            {"text": "Let me compute."},
            {"executableCode": {"language": "PYTHON", "code": "print(6*7)"}},
            {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "42\n"}},
            {"text": " It is 42."}]}},
        {"index": 1, "finishReason": "STOP", "content": {"role": "model", "parts": [
            {"functionCall": {"name": "weather", "args": {"city": "Lima"}}}]}}],
        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 20}}
    call = run("generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-pro:generateContent",
               request={"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"candidateCount": 2}}, response=body)
    assert call.parse_error is None and call.request_n == 2
    # The execution result is the tool's output, not the model's: it is not part of the output.
    assert call.outputs == ["Let me compute. It is 42.\nprint(6*7)", WEATHER]
    assert call.output_parts == [["text", "code"], ["tool_arguments"]]


def test_cohere_v2_tool_calls_and_plan():
    body = {"id": "r", "finish_reason": "TOOL_CALL", "message": {"role": "assistant", "tool_plan": "I will look it up.",
            "tool_calls": [{"id": "t", "type": "function", "function": {"name": "weather", "arguments": WEATHER}}]},
            "usage": {"tokens": {"input_tokens": 3, "output_tokens": 8}}}
    call = run("api.cohere.com", "/v2/chat", request={"model": "command-a", "messages": []}, response=body)
    assert call.parse_error is None
    assert call.outputs == [f"{WEATHER}\nI will look it up."] and call.output_parts == [["tool_arguments", "reasoning"]]


# --- several generations: one output each, request_n agrees ----------------------------------

def test_openai_n_streamed_gives_one_output_per_choice():
    chunks = [{"choices": [{"index": i, "delta": {"content": f"answer {i}"}}]} for i in (2, 0, 1)]
    chunks += [{"choices": [{"index": i, "delta": {}, "finish_reason": "stop"}]} for i in range(3)]
    call = run("api.openai.com", "/v1/chat/completions", request={"model": "m", "n": 3, "stream": True, "messages": []},
               response=sse(*chunks, done=True), content_type="text/event-stream")
    assert call.request_n == 3 and call.outputs == ["answer 0", "answer 1", "answer 2"]


def test_cohere_generate_stream_with_two_generations_keeps_them_apart():
    lines = [{"text": " Teal", "index": 0, "is_finished": False}, {"text": " Amber", "index": 1, "is_finished": False},
             {"text": ".", "index": 0, "is_finished": False}, {"text": "!", "index": 1, "is_finished": False},
             {"is_finished": True, "finish_reason": "COMPLETE", "response": {"id": "g", "generations": [
                 {"id": "a", "index": 0, "text": " Teal.", "finish_reason": "COMPLETE"},
                 {"id": "b", "index": 1, "text": " Amber!", "finish_reason": "COMPLETE"}],
                 "meta": {"billed_units": {"input_tokens": 2, "output_tokens": 4}}}}]
    body = "".join(json.dumps(line) + "\n" for line in lines)
    call = run("api.cohere.com", "/v1/generate", request={"prompt": "x", "num_generations": 2, "stream": True},
               response=body, content_type="application/stream+json")
    assert call.parse_error is None and call.request_n == 2
    assert call.outputs == [" Teal.", " Amber!"]
    cut = run("api.cohere.com", "/v1/generate", request={"prompt": "x", "num_generations": 2, "stream": True},
              response="".join(json.dumps(line) + "\n" for line in lines[:-1]), content_type="application/stream+json")
    assert cut.outputs == [" Teal.", " Amber!"]  # without the final line, from the pieces per index


def test_huggingface_num_return_sequences():
    call = run("router.huggingface.co", "/hf-inference/models/gpt2",
               request={"inputs": "x", "parameters": {"num_return_sequences": 2}},
               response=[{"generated_text": "one"}, {"generated_text": "two"}])
    assert call.request_n == 2 and call.outputs == ["one", "two"]


# --- stored and exported -----------------------------------------------------------------------

def _captured(response: dict) -> tuple[CapturedExchange, bytes, bytes]:
    route = host_list().match("api.openai.com", "/v1/chat/completions", "POST")
    req = json.dumps({"model": "gpt-4o", "n": 2, "messages": [{"role": "user", "content": "x"}]}).encode()
    resp = json.dumps(response).encode()
    now = time.time()
    ex = CapturedExchange(
        call_id=new_id(), route=route,
        request=RequestSnapshot("POST", "https", "api.openai.com", 443, "/v1/chat/completions",
                                (("content-type", "application/json"),), b"", now),
        response=ResponseSnapshot(200, (("content-type", "application/json"),), b"", False, False, None),
        key_sha256=None, proxy_user=None, client_ip="10.0.0.1", header_team=None, finished=now + 0.1,
        request_bytes=len(req), response_bytes=len(resp))
    return ex, req, resp


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_output_parts_reach_the_export(tmp_path, db_url, fmt):
    journal = Journal(tmp_path / "j", 1 << 30)
    response = {"choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Plain answer."}},
        {"index": 1, "message": {"role": "assistant", "content": None, "reasoning_content": "hmm",
                                 "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": WEATHER}}]}}]}
    ex, req, resp = _captured(response)
    assert journal.append(encode_parts(ex, [req], [resp]))
    writer = CaptureWriter(journal, CaptureCounters(), db_url, Attributor((), None), store_text="full",
                           excerpt_chars=10, max_body_bytes=1 << 20, batch_size=7)
    writer.start()
    writer.stop(timeout=30)
    store = open_store(db_url)
    out = io.StringIO()
    rows = export.iter_calls(store, with_text=True)
    if fmt == "jsonl":
        export.write_jsonl(rows, out)
        [row] = [json.loads(line) for line in out.getvalue().splitlines()]
    else:
        import csv

        export.write_csv(rows, export.CALL_FIELDS, out)
        [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
        row["output_parts"] = json.loads(row["output_parts"])
        row["outputs"] = int(row["outputs"])
    assert row["outputs"] == 2
    assert row["output_parts"] == [["text"], ["tool_arguments", "reasoning"]]
    assert row["output_text"] == f"Plain answer.\n{WEATHER}\nhmm"


# --- properties of the policy itself -----------------------------------------------------------

TEXTS = st.one_of(st.just(""), st.text(max_size=30), st.just("é\n" * 50_000))  # empty, tiny, huge


@settings(max_examples=200, deadline=None)
@given(text=TEXTS, refusal=TEXTS, tools=st.lists(TEXTS, max_size=4), code=st.lists(TEXTS, max_size=3),
       reasoning=TEXTS, generations=st.integers(0, 5))
def test_add_output_keeps_every_non_empty_part_in_policy_order(text, refusal, tools, code, reasoning, generations):
    call = ParsedCall("v", "e", "generation")
    for _ in range(generations):
        call.add_output(text, refusal=refusal, tool_arguments=tools, code=code, reasoning=reasoning)
    assert len(call.outputs) == len(call.output_parts) == generations
    pieces = [p for p in [text, refusal, *tools, *code, reasoning] if p]
    for output, parts in zip(call.outputs, call.output_parts):
        assert output == "\n".join(pieces)
        assert parts == [p for p in OUTPUT_PARTS if p in parts]  # policy order, no duplicates
        assert ("tool_arguments" in parts) == any(tools) and ("reasoning" in parts) == bool(reasoning)
    assert call.reasoning == ([reasoning] * generations if reasoning else [])


JSON_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=50)),
                           lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(st.text(max_size=60), inner, max_size=30)),
                           max_leaves=40)


@settings(max_examples=200, deadline=None)
@given(value=JSON_VALUES)
def test_shape_of_names_keys_never_values_and_stays_short(value):
    shape = shape_of(value)
    assert len(shape) <= 8 * 42 + 60
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(inner, str) and len(inner) > 3 and inner not in str(sorted(value)):
                assert inner not in shape


# --- content of a type no reader knows is said, never stored as a silent empty output ---------

@pytest.mark.parametrize("host,path,body,message", [
    ("api.anthropic.com", "/v1/messages",
     {"type": "message", "content": [{"type": "hologram", "data": "x"}, {"type": "redacted_thinking", "data": "e"}],
      "usage": {"input_tokens": 1, "output_tokens": 5}},
     "response: nothing read from content of type hologram"),
    ("bedrock-runtime.us-east-1.amazonaws.com", "/model/amazon.nova-pro-v1%3A0/converse",
     {"output": {"message": {"content": [{"hologram": {"x": 1}}, {"cachePoint": {"type": "default"}}]}},
      "usage": {"inputTokens": 1, "outputTokens": 5}},
     "response: nothing read from content of type hologram"),
    ("generativelanguage.googleapis.com", "/v1beta/models/g:generateContent",
     {"candidates": [{"finishReason": "STOP", "content": {"parts": [{"hologram": {}}, {"thoughtSignature": "s"}]}}],
      "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 5}},
     "response: nothing read from content of type hologram"),
    ("api.openai.com", "/v1/responses",
     {"object": "response", "status": "completed", "output": [{"type": "hologram_call", "id": "h"}],
      "usage": {"input_tokens": 1, "output_tokens": 5}},
     "response: nothing read from content of type hologram_call"),
])
def test_unknown_content_types_give_a_parse_error_and_keep_usage(host, path, body, message):
    call = run(host, path, request={"model": "m"}, response=body)
    assert call.parse_error == message
    assert call.completion_tokens == 5


def test_known_contentless_blocks_are_no_error():
    call = run("api.anthropic.com", "/v1/messages", request={"model": "m"},
               response={"type": "message", "content": [{"type": "web_search_tool_result", "content": []}],
                         "usage": {"input_tokens": 1, "output_tokens": 0}})
    assert call.parse_error is None and call.outputs == [""]


def test_responses_mcp_and_shell_calls_and_converse_citations():
    call = run("api.openai.com", "/v1/responses", request={"model": "m", "input": "x"}, response={
        "object": "response", "status": "completed", "output": [
            {"type": "mcp_call", "name": "lookup", "arguments": WEATHER, "server_label": "s"},
            {"type": "local_shell_call", "action": {"type": "exec", "command": ["ls", "-la"]}, "call_id": "c"}]})
    assert call.outputs == [f"{WEATHER}\nls -la"] and call.output_parts == [["tool_arguments", "code"]]
    call = run("bedrock-runtime.us-east-1.amazonaws.com", "/model/amazon.nova-pro-v1%3A0/converse", request={"messages": []},
               response={"output": {"message": {"content": [{"citationsContent": {
                   "content": [{"text": "Cited answer."}], "citations": [{"title": "doc"}]}}]}}})
    assert call.parse_error is None and call.outputs == ["Cited answer."]
