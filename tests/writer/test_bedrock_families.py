"""Every Bedrock text family on InvokeModel, as JSON and as InvokeModelWithResponseStream, plus
Converse with tools: one output per generation, and a parse_error naming the shape of a body or
stream no reader knows (issue 11). Bodies follow vendors.md §5 and the providers' own references."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.proxy.exchange import RequestSnapshot
from agent.proxy.exchange import ResponseSnapshot
from agent.writer.parsers import parse_call
from tests.writer.parsers.test_bedrock import botocore_events

from .wire import bedrock_chunk
from .wire import frame
from .wire import host_list
from .wire import run

HOST = "bedrock-runtime.us-west-2.amazonaws.com"
EVENTSTREAM = (("Content-Type", "application/vnd.amazon.eventstream"),)
METRICS = {"amazon-bedrock-invocationMetrics": {"inputTokenCount": 9, "outputTokenCount": 7,
                                                "invocationLatency": 300, "firstByteLatency": 90}}

# family: (model id in the path, request, JSON response, expected outputs)
JSON_BODIES = {
    "claude-legacy-completions": (
        "anthropic.claude-v2%3A1",
        {"prompt": "\n\nHuman: Name a colour\n\nAssistant:", "max_tokens_to_sample": 50, "anthropic_version": "bedrock-2023-05-31"},
        {"completion": " Teal.", "stop_reason": "stop_sequence", "stop": "\n\nHuman:"},
        [" Teal."],
    ),
    "claude-messages": (
        "anthropic.claude-3-5-haiku-20241022-v1%3A0",
        {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50, "messages": [{"role": "user", "content": "Name a colour"}]},
        {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-5-haiku-20241022",
         "content": [{"type": "text", "text": "Teal."}], "stop_reason": "end_turn",
         "usage": {"input_tokens": 9, "output_tokens": 3, "cache_read_input_tokens": 0}},
        ["Teal."],
    ),
    "ai21-jurassic": (
        "ai21.j2-ultra-v1",
        {"prompt": "Name a colour", "maxTokens": 50, "temperature": 0.7, "numResults": 2},
        {"id": 1234, "prompt": {"text": "Name a colour", "tokens": []},
         "completions": [{"data": {"text": " Teal.", "tokens": []}, "finishReason": {"reason": "endoftext"}},
                         {"data": {"text": " Amber.", "tokens": []}, "finishReason": {"reason": "length", "length": 50}}]},
        [" Teal.", " Amber."],
    ),
    "ai21-jamba": (
        "ai21.jamba-1-5-large-v1%3A0",
        {"messages": [{"role": "user", "content": "Name a colour"}], "max_tokens": 50, "n": 2},
        {"id": "chatcmpl-1", "model": "jamba-1.5-large",
         "choices": [{"index": 0, "message": {"role": "assistant", "content": "Teal."}, "finish_reason": "stop"},
                     {"index": 1, "message": {"role": "assistant", "content": "Amber."}, "finish_reason": "stop"}],
         "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}},
        ["Teal.", "Amber."],
    ),
    "cohere-command": (
        "cohere.command-text-v14",
        {"prompt": "Name a colour", "max_tokens": 50, "num_generations": 2},
        {"id": "gen-1", "prompt": "Name a colour",
         "generations": [{"id": "g0", "text": " Teal.", "finish_reason": "COMPLETE"},
                         {"id": "g1", "text": " Amber.", "finish_reason": "COMPLETE"}]},
        [" Teal.", " Amber."],
    ),
    "cohere-command-r": (
        "cohere.command-r-plus-v1%3A0",
        {"message": "Name a colour", "chat_history": [{"role": "USER", "message": "Hi"}], "max_tokens": 50},
        {"response_id": "r1", "text": "Teal.", "generation_id": "g1", "finish_reason": "COMPLETE",
         "chat_history": [{"role": "USER", "message": "Name a colour"}, {"role": "CHATBOT", "message": "Teal."}]},
        ["Teal."],
    ),
    "meta-llama": (
        "meta.llama3-1-8b-instruct-v1%3A0",
        {"prompt": "Name a colour", "max_gen_len": 50, "temperature": 0.5},
        {"generation": "Teal.", "prompt_token_count": 9, "generation_token_count": 3, "stop_reason": "stop"},
        ["Teal."],
    ),
    "mistral-text": (
        "mistral.mistral-7b-instruct-v0%3A2",
        {"prompt": "<s>[INST] Name a colour [/INST]", "max_tokens": 50},
        {"outputs": [{"text": "Teal.", "stop_reason": "stop"}]},
        ["Teal."],
    ),
    "mistral-chat": (
        "mistral.mistral-large-2407-v1%3A0",
        {"messages": [{"role": "user", "content": "Name a colour"}], "max_tokens": 50},
        {"id": "c1", "object": "chat.completion",
         "choices": [{"index": 0, "message": {"role": "assistant", "content": "Teal."}, "stop_reason": "stop"}]},
        ["Teal."],
    ),
    "amazon-titan": (
        "amazon.titan-text-premier-v1%3A0",
        {"inputText": "Name a colour", "textGenerationConfig": {"maxTokenCount": 50, "temperature": 0.2}},
        {"inputTextTokenCount": 9, "results": [{"tokenCount": 3, "outputText": "Teal.", "completionReason": "FINISH"}]},
        ["Teal."],
    ),
    "amazon-nova": (
        "us.amazon.nova-lite-v1%3A0",
        {"schemaVersion": "messages-v1", "messages": [{"role": "user", "content": [{"text": "Name a colour"}]}],
         "inferenceConfig": {"maxTokens": 50}},
        {"output": {"message": {"role": "assistant", "content": [{"text": "Teal."}]}}, "stopReason": "end_turn",
         "usage": {"inputTokens": 9, "outputTokens": 3, "totalTokens": 12, "cacheReadInputTokenCount": 0}},
        ["Teal."],
    ),
    "deepseek-r1": (
        "us.deepseek.r1-v1%3A0",
        {"prompt": "<｜begin▁of▁sentence｜><｜User｜>Name a colour<｜Assistant｜><think>\n", "max_tokens": 50},
        {"choices": [{"text": "Teal.", "stop_reason": "stop"}]},
        ["Teal."],
    ),
}


@pytest.mark.parametrize("family", sorted(JSON_BODIES))
def test_invoke_json_every_family(family):
    model, request, response, outputs = JSON_BODIES[family]
    call = run(HOST, f"/model/{model}/invoke", request=request, response=response)
    assert call.parse_error is None, call.parse_error
    assert call.outputs == outputs
    assert call.request_n == len(outputs)  # numResults, num_generations, n: they agree
    assert all(parts == ["text"] for parts in call.output_parts)
    assert call.max_tokens == 50


# family: (model, request, decoded chunk payloads, expected outputs)
STREAMS = {
    "claude-legacy-completions": (
        "anthropic.claude-v2%3A1",
        {"prompt": "\n\nHuman: Name a colour\n\nAssistant:", "max_tokens_to_sample": 50},
        [{"completion": " Te", "stop_reason": None, "stop": None},
         {"completion": "al.", "stop_reason": None, "stop": None},
         {"completion": "", "stop_reason": "stop_sequence", "stop": "\n\nHuman:", **METRICS}],
        [" Teal."],
    ),
    "claude-messages": (
        "anthropic.claude-3-5-haiku-20241022-v1%3A0",
        {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50, "messages": [{"role": "user", "content": "x"}]},
        [{"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant", "content": [],
                                               "model": "claude-3-5-haiku", "usage": {"input_tokens": 9, "output_tokens": 1}}},
         {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
         {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Teal."}},
         {"type": "content_block_stop", "index": 0},
         {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}},
         {"type": "message_stop", **METRICS}],
        ["Teal."],
    ),
    "ai21-jamba": (
        "ai21.jamba-1-5-mini-v1%3A0",
        {"messages": [{"role": "user", "content": "x"}], "max_tokens": 50, "n": 2},
        [{"id": "c", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
         {"id": "c", "choices": [{"index": 0, "delta": {"content": "Teal."}, "finish_reason": None}]},
         {"id": "c", "choices": [{"index": 1, "delta": {"content": "Amber."}, "finish_reason": None}]},
         {"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"},
                                 {"index": 1, "delta": {}, "finish_reason": "stop"}], **METRICS}],
        ["Teal.", "Amber."],
    ),
    "cohere-command": (
        "cohere.command-light-text-v14",
        {"prompt": "x", "max_tokens": 50, "num_generations": 2, "stream": True},
        [{"text": " Te", "is_finished": False},
         {"text": " Am", "is_finished": False, "index": 1},
         {"text": "al.", "is_finished": False, "index": 0},
         {"text": "ber.", "is_finished": False, "index": 1},
         {"is_finished": True, "finish_reason": "COMPLETE",
          "generations": [{"text": " Teal.", "index": 0}, {"text": " Amber.", "index": 1}], **METRICS}],
        [" Teal.", " Amber."],
    ),
    "cohere-command-r": (
        "cohere.command-r-v1%3A0",
        {"message": "x", "max_tokens": 50},
        [{"is_finished": False, "event_type": "stream-start", "generation_id": "g"},
         {"is_finished": False, "event_type": "text-generation", "text": "Te"},
         {"is_finished": False, "event_type": "text-generation", "text": "al."},
         {"is_finished": True, "event_type": "stream-end", "finish_reason": "COMPLETE",
          "response": {"text": "Teal.", "generation_id": "g"}, **METRICS}],
        ["Teal."],
    ),
    "meta-llama": (
        "meta.llama3-2-3b-instruct-v1%3A0",
        {"prompt": "x", "max_gen_len": 50},
        [{"generation": "Te", "prompt_token_count": 9, "generation_token_count": 1, "stop_reason": None},
         {"generation": "al.", "prompt_token_count": None, "generation_token_count": 3, "stop_reason": "stop", **METRICS}],
        ["Teal."],
    ),
    "mistral-text": (
        "mistral.mixtral-8x7b-instruct-v0%3A1",
        {"prompt": "x", "max_tokens": 50},
        [{"outputs": [{"text": "Te", "stop_reason": None}]},
         {"outputs": [{"text": "al.", "stop_reason": "stop"}], **METRICS}],
        ["Teal."],
    ),
    "mistral-chat": (
        "mistral.mistral-large-2407-v1%3A0",
        {"messages": [{"role": "user", "content": "x"}], "max_tokens": 50},
        [{"id": "c", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Te"}, "stop_reason": None}]},
         {"id": "c", "choices": [{"index": 0, "message": {"role": "assistant", "content": "al."}, "stop_reason": "stop"}],
          **METRICS}],
        ["Teal."],
    ),
    "amazon-titan": (
        "amazon.titan-text-express-v1",
        {"inputText": "x", "textGenerationConfig": {"maxTokenCount": 50}},
        [{"outputText": "Te", "index": 0, "totalOutputTextTokenCount": 1, "completionReason": None, "inputTextTokenCount": 9},
         {"outputText": "al.", "index": 0, "totalOutputTextTokenCount": 3, "completionReason": "FINISH", **METRICS}],
        ["Teal."],
    ),
    "amazon-nova": (
        "amazon.nova-micro-v1%3A0",
        {"messages": [{"role": "user", "content": [{"text": "x"}]}], "inferenceConfig": {"maxTokens": 50}},
        [{"messageStart": {"role": "assistant"}},
         {"contentBlockDelta": {"delta": {"text": "Te"}, "contentBlockIndex": 0}},
         {"contentBlockDelta": {"delta": {"text": "al."}, "contentBlockIndex": 0}},
         {"contentBlockStop": {"contentBlockIndex": 0}},
         {"messageStop": {"stopReason": "end_turn"}},
         {"metadata": {"usage": {"inputTokens": 9, "outputTokens": 3}}, **METRICS}],
        ["Teal."],
    ),
    "deepseek-r1": (
        "us.deepseek.r1-v1%3A0",
        {"prompt": "x", "max_tokens": 50},
        [{"choices": [{"index": 0, "text": "Te", "stop_reason": None}]},
         {"choices": [{"index": 0, "text": "al.", "stop_reason": "stop"}], **METRICS}],
        ["Teal."],
    ),
}


def stream_body(chunks: list[dict]) -> bytes:
    return b"".join(bedrock_chunk(c) for c in chunks)


@pytest.mark.parametrize("family", sorted(STREAMS))
def test_invoke_stream_every_family(family):
    model, request, chunks, outputs = STREAMS[family]
    body = stream_body(chunks)
    assert [json.loads(e["chunk"]["bytes"]) for e in botocore_events("InvokeModelWithResponseStream", "body", body)] == chunks
    call = run(HOST, f"/model/{model}/invoke-with-response-stream", request=request, response=body,
               response_headers=EVENTSTREAM)
    assert call.parse_error is None, call.parse_error
    assert call.streamed and call.outputs == outputs
    assert call.request_n == len(outputs)
    assert (call.prompt_tokens, call.completion_tokens) == (9, 7)  # from the invocation metrics


@pytest.mark.parametrize("family", sorted(STREAMS))
def test_invoke_stream_cut_before_the_final_chunk_says_so(family):
    model, request, chunks, _ = STREAMS[family]
    # Nova's messageStop ends the answer; only its usage follows, so cut before the stop.
    kept = chunks[:-2] if family == "amazon-nova" else chunks[:-1]
    call = run(HOST, f"/model/{model}/invoke-with-response-stream", request=request, response=stream_body(kept),
               response_headers=EVENTSTREAM)
    assert call.parse_error in ("response: stream truncated before the final chunk",
                                "response: stream truncated before message_stop")
    assert call.outputs and any(call.outputs)  # what did arrive is kept


@settings(max_examples=60, deadline=None)
@given(family=st.sampled_from(sorted(STREAMS)), data=st.data())
def test_any_split_of_a_family_stream_parses_the_same(family, data):
    """The tee hands the body over as the chunks it saw; joined, any split is the same body, and
    the decoder itself must not care where a frame (or its 12-byte prelude) was cut."""
    from agent.writer.streams import EventStreamDecoder

    model, request, chunks, outputs = STREAMS[family]
    body = stream_body(chunks)
    cuts = sorted(data.draw(st.sets(st.integers(1, len(body) - 1), max_size=12)))
    decoder = EventStreamDecoder()
    messages = []
    for start, end in zip([0, *cuts], [*cuts, len(body)]):
        messages += decoder.feed(body[start:end])
    assert decoder.pending == 0 and len(messages) == len(chunks)
    call = run(HOST, f"/model/{model}/invoke-with-response-stream", request=request,
               response=b"".join(body[s:e] for s, e in zip([0, *cuts], [*cuts, len(body)])), response_headers=EVENTSTREAM)
    assert call.outputs == outputs and call.parse_error is None


def test_unknown_json_family_names_its_shape():
    call = run(HOST, "/model/acme.new-model-v1/invoke", request={"input": "x"},
               response={"answer": {"content": "Teal."}, "meta": {"latency": 3}})
    assert call.outputs == []
    assert call.parse_error == "response: no Bedrock model family recognised in an object with keys [answer, meta]"


def test_unknown_stream_family_names_its_shape():
    body = stream_body([{"piece": "Te"}, {"piece": "al.", **METRICS}])
    call = run(HOST, "/model/acme.new-model-v1/invoke-with-response-stream", request={"input": "x"}, response=body,
               response_headers=EVENTSTREAM)
    assert call.parse_error == ("response: no Bedrock model family recognised in the stream "
                                "(a chunk holding an object with keys [piece])")


def test_converse_tool_use_and_reasoning_are_parts_of_the_output():
    response = {"output": {"message": {"role": "assistant", "content": [
        {"reasoningContent": {"reasoningText": {"text": "Need the weather tool.", "signature": "c2ln"}}},
        {"text": "Checking."},
        {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Lima"}}},
        {"toolUse": {"toolUseId": "t2", "name": "get_weather", "input": {"city": "Cusco"}}}]}},
        "stopReason": "tool_use", "usage": {"inputTokens": 20, "outputTokens": 30}}
    call = run(HOST, "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse",
               request={"messages": [{"role": "user", "content": [{"text": "Weather?"}]}]}, response=response)
    assert call.parse_error is None
    assert call.outputs == ['Checking.\n{"city": "Lima"}\n{"city": "Cusco"}\nNeed the weather tool.']
    assert call.output_parts == [["text", "tool_arguments", "reasoning"]]


def test_converse_stream_tool_use_input_is_joined_per_block():
    frames = [
        frame("messageStart", {"role": "assistant"}),
        frame("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t1", "name": "f"}}}),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '{"city": '}}}),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '"Lima"}'}}}),
        frame("contentBlockStop", {"contentBlockIndex": 0}),
        frame("contentBlockStart", {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t2", "name": "f"}}}),
        frame("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '{"city": "Cusco"}'}}}),
        frame("contentBlockStop", {"contentBlockIndex": 1}),
        frame("messageStop", {"stopReason": "tool_use"}),
        frame("metadata", {"usage": {"inputTokens": 5, "outputTokens": 9}, "metrics": {"latencyMs": 1}}),
    ]
    body = b"".join(frames)
    botocore_events("ConverseStream", "stream", body)  # well formed for the real client
    call = run(HOST, "/model/amazon.nova-pro-v1%3A0/converse-stream", request={"messages": []}, response=body,
               response_headers=EVENTSTREAM)
    assert call.parse_error is None
    assert call.outputs == ['{"city": "Lima"}\n{"city": "Cusco"}'] and call.output_parts == [["tool_arguments"]]


def test_a_parser_bug_or_unknown_shape_never_leaves_a_silent_empty_output():
    """The rule for every vendor: a 2xx generation without any output has a parse_error."""
    route = host_list().match("api.openai.com", "/v1/chat/completions", "POST")
    request = RequestSnapshot("POST", "https", "api.openai.com", 443, "/v1/chat/completions",
                              (("content-type", "application/json"),), b'{"model": "m", "messages": []}', 1.0)
    response = ResponseSnapshot(200, (("content-type", "application/json"),), b'{"result": {"text": "hi"}}')
    call = parse_call(route, request, response)
    assert call.outputs == [] and call.parse_error == "response: no output found in an object with keys [result]"


@pytest.mark.parametrize("chunk", [{"contentBlockDelta": None}, {"choices": [None, {"delta": None}]},
                                   {"generations": "x"}, {"outputs": [1, None]}, {"completion": None, "stop_reason": None}])
def test_odd_chunk_members_are_never_an_internal_error(chunk):
    call = run(HOST, "/model/amazon.nova-pro-v1%3A0/invoke-with-response-stream", request={"messages": []},
               response=stream_body([chunk, {"messageStop": {}, **METRICS}]), response_headers=EVENTSTREAM)
    assert "internal error" not in (call.parse_error or "")
