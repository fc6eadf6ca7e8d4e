"""The addon's hooks on flows from mitmproxy.test.tflow, inside taddons.context()."""

from __future__ import annotations

import json

import pytest
from mitmproxy import exceptions
from mitmproxy import http
from mitmproxy.test import taddons
from mitmproxy.test import tflow
from mitmproxy.test import tutils

from agent.proxy import addon as addon_module
from agent.proxy.addon import AICapture
from agent.proxy.journal import Journal
from agent.proxy.record import decode
from agent.proxy.snapshot import StreamTee

CANARY = "sk-proj-CANARYcanary0123456789abcdef"


@pytest.fixture
def configured(tmp_path):
    cfg = tmp_path / "aiaudit.yaml"
    cfg.write_text(f"database_url: sqlite:///{tmp_path / 'audit.db'}\ncapture:\n  journal_dir: {tmp_path / 'j'}\n"
                   "team_header: X-Team\n")
    capture = AICapture()
    with taddons.context(capture) as tctx:
        tctx.configure(capture, aiaudit_config=str(cfg))
        yield capture, tctx, tmp_path
    capture.done()


def openai_flow(body: dict | None = None, *, host="api.openai.com", path="/v1/chat/completions") -> http.HTTPFlow:
    req = tutils.treq(host=host, port=443, scheme=b"https", method=b"POST", path=path.encode(),
                      headers=http.Headers(((b"authorization", f"Bearer {CANARY}".encode()),
                                            (b"content-type", b"application/json"),
                                            (b"x-team", b"data-eng"))),
                      content=json.dumps(body or {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).encode())
    return tflow.tflow(req=req)


def chat_response() -> http.Response:
    payload = {"id": "c1", "object": "chat.completion", "model": "gpt-4o",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the model."},
                            "finish_reason": "stop"}],
               "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}}
    return tutils.tresp(headers=http.Headers(((b"content-type", b"application/json"),)),
                        content=json.dumps(payload).encode())


def journal_records(capture: AICapture) -> list:
    got, _ = Journal(capture.journal.dir, 1 << 30).read(capture.journal.acked(), max_records=100)
    return [decode(p) for p in got]


def test_vendor_flow_is_journaled_with_secrets_removed(configured):
    capture, _tctx, _ = configured
    capture.writer.stop()  # keep records in the journal for inspection
    flow = openai_flow()
    capture.requestheaders(flow)
    assert flow.metadata[addon_module.ROUTE].vendor == "openai"
    flow.response = chat_response()
    flow.response.stream = False
    capture.responseheaders(flow)
    assert flow.response.stream is False  # a JSON body stays buffered: journaled before it is sent
    capture.response(flow)
    [ex] = journal_records(capture)
    assert ex.route.endpoint == "chat.completions"
    assert ex.response.body == flow.response.raw_content and ex.request.body == flow.request.raw_content
    assert ex.header_team == "data-eng"
    assert ex.key_sha256 is not None and len(ex.key_sha256) == 64
    raw = b"".join(p.read_bytes() for p in capture.journal.dir.glob("*.journal"))
    assert CANARY.encode() not in raw
    assert capture.counters.totals()["journaled"] == 1


def test_a_call_whose_url_holds_a_byte_that_is_not_utf8_is_journaled(configured):
    capture, _tctx, _ = configured
    capture.writer.stop()
    flow = openai_flow()
    flow.request.data.path = b"/v1/chat/completions?tag=caf\xe9"
    capture.requestheaders(flow)
    flow.response = chat_response()
    capture.responseheaders(flow)
    capture.response(flow)
    [ex] = journal_records(capture)
    assert ex.request.path == "/v1/chat/completions?tag=caf%E9"
    assert capture.counters.totals() == {"journaled": 1}


@pytest.mark.parametrize(("content_type", "length", "teed"), [
    ("text/event-stream", None, True),
    ("application/vnd.amazon.eventstream", None, True),
    ("application/json", 100 << 20, True),  # over the cap: not buffered for us
    ("application/json", 500, False),
])
def test_event_streams_and_large_bodies_go_through_the_tee(configured, content_type, length, teed):
    capture, _tctx, _ = configured
    capture.writer.stop()
    flow = openai_flow()
    capture.requestheaders(flow)
    headers = [(b"content-type", content_type.encode())]
    if length:
        headers.append((b"content-length", str(length).encode()))
    flow.response = tutils.tresp(headers=http.Headers(headers), content=b"")
    flow.response.stream = False
    capture.responseheaders(flow)
    assert isinstance(flow.response.stream, StreamTee) is teed
    if teed:
        events = [b"data: {}\n\n", b"data: [DONE]\n\n"]
        assert [flow.response.stream(e) for e in events] == events  # chunks pass unchanged
        assert flow.response.stream(b"") == b""
        capture.response(flow)
        [ex] = journal_records(capture)
        assert ex.response.body == b"".join(events)


def test_other_hosts_are_left_alone(configured):
    capture, _tctx, _ = configured
    flow = openai_flow(host="example.com", path="/v1/chat/completions")
    capture.requestheaders(flow)
    flow.response = chat_response()
    capture.responseheaders(flow)
    capture.response(flow)
    assert addon_module.ROUTE not in flow.metadata
    assert flow.response.stream is False
    assert "journaled" not in capture.counters.totals()


def test_an_existing_stream_transform_keeps_working(configured):
    capture, _tctx, _ = configured
    flow = openai_flow()
    capture.requestheaders(flow)
    flow.response = chat_response()
    flow.response.stream = lambda chunk: chunk.upper()
    capture.responseheaders(flow)
    assert flow.response.stream(b"abc") == b"ABC"
    assert flow.response.stream.chunks == [b"abc"]  # the tee keeps what the vendor sent


def test_hook_failure_is_counted_and_leaves_the_flow_untouched(configured, monkeypatch, caplog):
    capture, _tctx, _ = configured

    def boom(*args, **kwargs):
        raise RuntimeError("bug in snapshot")

    monkeypatch.setattr(addon_module, "snapshot", boom)
    flow = openai_flow()
    capture.requestheaders(flow)
    flow.response = chat_response()
    before = flow.response.get_state()
    capture.response(flow)
    assert flow.response.get_state() == before
    assert capture.counters.totals()["dropped:hook_exception"] == 1
    assert "traffic unaffected" in caplog.text


def test_error_hook_records_an_aborted_call_once(configured):
    capture, _tctx, _ = configured
    capture.writer.stop()
    flow = openai_flow()
    capture.requestheaders(flow)
    flow.error = tflow.terr()
    capture.error(flow)
    capture.error(flow)
    [ex] = journal_records(capture)
    assert ex.response.status is None and ex.response.error


def test_bad_configuration_is_an_options_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("privacy:\n  store_txt: full\n")
    capture = AICapture()
    with taddons.context(capture) as tctx:
        with pytest.raises(exceptions.OptionsError, match=f"{bad}:2: unknown setting privacy.store_txt"):
            tctx.configure(capture, aiaudit_config=str(bad))
    capture.done()


def test_full_journal_drops_by_policy_and_says_so(configured, caplog):
    capture, _tctx, _ = configured
    capture.writer.stop()
    capture.journal.max_bytes = 10
    flow = openai_flow()
    capture.requestheaders(flow)
    flow.response = chat_response()
    capture.response(flow)
    totals = capture.counters.totals()
    assert totals["dropped:journal_full"] == 1 and totals["captured"] == 1
    assert "journal full" in caplog.text


def test_websocket_history_does_not_grow(configured):
    capture, _tctx, _ = configured
    flow = tflow.twebsocketflow()
    from mitmproxy import websocket

    for i in range(50):
        flow.websocket.messages.append(websocket.WebSocketMessage(1, True, f"frame {i}".encode()))
        capture.websocket_message(flow)
    assert [m.content for m in flow.websocket.messages] == [b"frame 49"]


def test_a_failed_responseheaders_hook_loses_nothing_and_counts_no_drop(configured, monkeypatch):
    capture, _tctx, _ = configured
    capture.writer.stop()
    flow = openai_flow()
    capture.requestheaders(flow)
    flow.response = chat_response()
    monkeypatch.setattr(addon_module, "StreamTee", None)  # isinstance(..., None) raises TypeError
    capture.responseheaders(flow)
    monkeypatch.undo()
    capture.response(flow)
    assert len(journal_records(capture)) == 1
    assert "dropped:hook_exception" not in capture.counters.totals()


def test_once_running_the_startup_heap_is_left_out_of_garbage_collections(configured):
    import gc

    capture, _tctx, _ = configured
    survivor = [object()]  # anything alive before the proxy runs, like mitmdump's own tables
    try:
        capture.running()
        assert gc.get_freeze_count() > 0
        assert not any(o is survivor for o in gc.get_objects())  # no longer walked by a collection
        flow = openai_flow()
        capture.requestheaders(flow)
        assert any(o is flow.metadata for o in gc.get_objects())  # what calls allocate still is
    finally:
        gc.unfreeze()
