"""Webhook: the alert as JSON, or shaped for a Slack incoming webhook or a Teams workflow.

Every request carries `Idempotency-Key` (and the JSON body carries it too), so a receiver can
drop the copy it gets when a delivery is retried after a lost response.
"""

from __future__ import annotations

from agent.alerts.document import one_line
from agent.alerts.sinks import SinkError
from agent.alerts.sinks.http import post_json


def slack_body(document: dict) -> dict:
    f = document["finding"]
    facts = [f"*Team* {f['team']}", f"*Vendor* {f.get('vendor') or '-'}", f"*Severity* {f['severity']}",
             f"*Events* {f['count']}", f"*Window* {f['window_start']} .. {f['window_end']}",
             f"*Rule* {f['rule_name']}"]
    return {
        "text": one_line(document),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": f"aiaudit: {f['title']}"[:150]}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": t} for t in facts]},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"finding {f['id']} · key {document['idempotency_key'][:16]}"}]},
        ],
    }


def teams_body(document: dict) -> dict:
    f = document["finding"]
    facts = [("Team", f["team"]), ("Vendor", f.get("vendor") or "-"), ("Severity", f["severity"]),
             ("Events", str(f["count"])), ("Window", f"{f['window_start']} .. {f['window_end']}"),
             ("Rule", f["rule_name"]), ("Finding", f["id"])]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
        "body": [
            {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": True, "text": f"aiaudit: {f['title']}"},
            {"type": "TextBlock", "wrap": True, "text": one_line(document)},
            {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in facts]},
        ],
    }
    return {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                                                "content": card}]}


def send(sink, document: dict, sent_at) -> None:
    body = {"json": lambda d: {**d, "sent_at": sent_at.isoformat()}, "slack": slack_body, "teams": teams_body}[sink.format](document)
    headers = {"Idempotency-Key": document["idempotency_key"]}
    token = sink.token()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status = post_json(sink, sink.target_url(), body, headers)
    if not 200 <= status < 300:
        raise SinkError(f"HTTP {status}")
