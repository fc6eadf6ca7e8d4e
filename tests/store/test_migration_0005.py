"""Revision 0005 adds calls.output_parts to a store that already holds calls (issue 11)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from agent.store.engine import open_store
from agent.store.migrate import current_revision
from agent.store.migrate import head_revision
from agent.store.migrate import upgrade
from agent.store.models import Call


def test_upgrade_from_0001_keeps_calls_and_leaves_their_parts_unknown(db_url):
    store = open_store(db_url, migrate=False)
    upgrade(store, "0001")
    with store.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO calls (id, ts, vendor, host, endpoint, kind, method, path, team, attributed_by, streamed, logprobs,"
            " outputs, output_chars, request_bytes, response_bytes) VALUES ('01JOLD0000000000000000000A', :ts, 'openai',"
            " 'api.openai.com', 'chat.completions', 'generation', 'POST', '/v1/chat/completions', 'ops', 'none', false, false,"
            " 1, 5, 10, 20)"), {"ts": dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc).replace(tzinfo=None)})
    upgrade(store)
    assert current_revision(store) == head_revision()
    with store.session() as s:
        old = s.get(Call, "01JOLD0000000000000000000A")
        assert old.outputs == 1 and old.output_parts is None
        old.output_parts = [["text", "tool_arguments"]]
        s.commit()
    with store.session() as s:
        assert s.get(Call, "01JOLD0000000000000000000A").output_parts == [["text", "tool_arguments"]]
