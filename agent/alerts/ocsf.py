"""An alert as an OCSF Detection Finding (class_uid 2004, category Findings, schema 1.1.0).

The mapping (documented in README.md, "OCSF mapping"): the finding is `finding_info` (uid = our
finding id, analytic = the rule), its window gives first/last seen, its severity `severity_id`,
its score `risk_score`, the team and vendor are `resources`, the counts and threshold are an
`evidences` item, and what OCSF has no place for (vendor clause, stance, chain link) goes to
`unmapped`. `metadata.uid` is the idempotency key, so a consumer dedupes re-deliveries on it.
"""

from __future__ import annotations

import datetime as dt

OCSF_VERSION = "1.1.0"
CLASS_UID, CATEGORY_UID = 2004, 2
SEVERITY_ID = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
RISK_LEVEL_ID = {"informational": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
ACTIVITY = {"new": (1, "Create"), "escalated": (2, "Update"), "test": (1, "Create")}


def _ms(iso: str | None) -> int | None:
    if not iso:
        return None
    return int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def detection_finding(document: dict, sent_at: dt.datetime) -> dict:
    f = document["finding"]
    severity = f["severity"] if f["severity"] in SEVERITY_ID else "informational"
    activity_id, activity_name = ACTIVITY.get(document["event"], (99, "Other"))
    resources = [{"type": "Team", "name": f["team"], "uid": f["team"]}]
    if f.get("vendor"):
        resources.append({"type": "AI Vendor", "name": f["vendor"], "uid": f["vendor"],
                          "labels": list(f.get("models") or [])})
    return {
        "class_uid": CLASS_UID, "class_name": "Detection Finding",
        "category_uid": CATEGORY_UID, "category_name": "Findings",
        "activity_id": activity_id, "activity_name": activity_name,
        "type_uid": CLASS_UID * 100 + activity_id, "type_name": f"Detection Finding: {activity_name}",
        "time": int(sent_at.timestamp() * 1000),
        "severity_id": SEVERITY_ID[severity], "severity": severity.capitalize(),
        "status_id": 1, "status": "New",
        "is_alert": True,
        "message": f["title"],
        "risk_score": int(round(f["score"] or 0)),
        "risk_level_id": RISK_LEVEL_ID[severity], "risk_level": severity.capitalize() if severity != "informational" else "Info",
        "finding_info": {
            "uid": f["id"], "title": f["title"],
            "desc": f"{f['count']} events in {f['window_start']}..{f['window_end']} for team {f['team']}"
                    + (" (window still open)" if f.get("window_complete") is False else ""),
            "types": ["AI vendor terms of use"],
            "created_time": _ms(f.get("created_time") or f.get("created_at")),
            "first_seen_time": _ms(f["window_start"]), "last_seen_time": _ms(f["window_end"]),
            "analytic": {"uid": f["rule_id"], "name": f["rule_name"], "type_id": 1, "type": "Rule"},
        },
        "metadata": {
            "version": OCSF_VERSION, "uid": document["idempotency_key"], "correlation_uid": f["dedupe_key"],
            "logged_time": int(sent_at.timestamp() * 1000),
            "product": {"name": "aiaudit", "vendor_name": "aiaudit", "version": document["source"]["version"]},
            "labels": ["test"] if document["event"] == "test" else [],
        },
        "resources": resources,
        "evidences": [{"data": {"count": f["count"], "value": f["value"], "threshold": f.get("threshold"),
                                "window_complete": f.get("window_complete"), "group": f.get("group")}}],
        "unmapped": {"clause": f.get("clause"), "clause_reviewed": f.get("clause_reviewed"), "stance": f.get("stance"),
                     "level": f.get("level"), "previous_severity": document.get("previous_severity"),
                     "chain_seq": f.get("chain_seq"), "chain_hash": f.get("chain_hash"),
                     "host": document["source"]["host"]},
    }
