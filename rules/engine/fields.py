"""The fields each log source offers to rules, with their kind (str, int, float, bool, time).

The linter rejects a field that is not listed here; frames.py loads exactly these columns.

- `calls`: one row per captured call (store table `calls`).
- `uploads`: the calls with kind=upload (same fields).
- `outputs`: one row per generated or uploaded text, with its call's team, vendor, model.
- `reuse_findings`: one row per dataset/upload record that reuses outputs **and per (team, vendor)
  of the calls whose outputs it reuses** — a record reusing an OpenAI output of team A and an
  Anthropic output of team B is two rows, so each finding names one team and one vendor. The
  `upload_*` fields describe the upload call for source=upload (vendor B in cross-vendor
  distillation); `ts` is when the reuse was found.
"""

from __future__ import annotations

from rules.engine.model import Logsource

STR, INT, FLOAT, BOOL, TIME, LIST = "str", "int", "float", "bool", "time", "list"

CALL_FIELDS: dict[str, str] = {
    "id": STR, "ts": TIME, "vendor": STR, "host": STR, "endpoint": STR, "kind": STR,
    "method": STR, "path": STR, "model": STR, "served_model": STR, "team": STR,
    "attributed_by": STR, "user": STR, "client_ip": STR, "api_key_sha256": STR, "status": INT,
    "streamed": BOOL, "request_n": INT, "logprobs": BOOL, "top_logprobs": INT, "max_tokens": INT,
    "temperature": FLOAT, "template_signature": STR, "prompt_sha256": STR, "upload_purpose": STR,
    "prompt_tokens": INT, "completion_tokens": INT, "outputs": INT, "output_chars": INT,
    "parse_error": STR, "request_bytes": INT, "response_bytes": INT, "duration_ms": FLOAT,
    "proxy_host": STR,
}

OUTPUT_FIELDS: dict[str, str] = {
    "id": INT, "call_id": STR, "idx": INT, "kind": STR, "ts": TIME, "word_count": INT,
    "char_count": INT,
    # from the output's call
    "team": STR, "vendor": STR, "model": STR, "endpoint": STR, "user": STR,
    "api_key_sha256": STR,
}

REUSE_FIELDS: dict[str, str] = {
    "id": STR, "ts": TIME, "found_at": TIME, "source": STR, "upload_call_id": STR, "path": STR,
    "record": INT, "record_sha256": STR, "output_coverage": FLOAT, "record_coverage": FLOAT,
    "matched_words": INT, "longest_run": INT, "reuse_class": STR,
    # where the reused text sits (response | prompt | unknown side) and how sure the match is
    "role": STR, "tier": STR, "fields": LIST,
    # per field, the code-point ranges of the reused text and their outputs (agent.reuse.spans)
    "spans": LIST,
    # one (team, vendor) of the calls whose outputs were reused, and those calls
    "team": STR, "vendor": STR, "call_ids": LIST, "reused_calls": INT, "models": LIST,
    # the upload call (source=upload)
    "upload_vendor": STR, "upload_team": STR, "upload_endpoint": STR, "upload_purpose": STR,
    "upload_model": STR,
}

FIELDS: dict[Logsource, dict[str, str]] = {
    Logsource.CALLS: CALL_FIELDS,
    Logsource.UPLOADS: CALL_FIELDS,
    Logsource.OUTPUTS: OUTPUT_FIELDS,
    Logsource.REUSE_FINDINGS: REUSE_FIELDS,
}


def matchable(logsource: Logsource, name: str) -> bool:
    """List-valued fields carry evidence, they are not matched or grouped on."""
    kind = FIELDS[logsource].get(name)
    return kind is not None and kind != LIST
