"""OpenAI (and Azure) files, batches and fine-tuning jobs: the bulk-generation paths.

Batches complete instantly so a test can upload, create and download in three calls. A batch's
output file answers each custom_id of the uploaded input file with
`expected_text(batch_prompt(custom_id), 0, vendor)`; an output file the stand-in never made up
(an id it does not know) has `x-standin-batch-size` lines (default 5) `request-1`, `request-2`, ...
"""

from __future__ import annotations

import json
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from .call import Call
from .call import Reply
from .call import error_reply
from .call import json_reply
from .call import now
from .text import batch_prompt
from .text import count_tokens
from .text import expected_text
from .vendor_openai import openai_usage

_MAX_REMEMBERED_IDS = 100_000


def multipart_fields(call: Call) -> dict[str, tuple[str | None, bytes]]:
    """Form fields of a multipart body: name -> (filename, content)."""
    content_type = call.headers.get("content-type", "")
    if not content_type.startswith("multipart/"):
        return {}
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + call.body
    )
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[str(name)] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return fields


def _batch_lines(content: bytes) -> tuple[list[str], str | None]:
    """custom_ids and model of a batch input JSONL (other uploads give none)."""
    ids: list[str] = []
    model = None
    for line in content.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "custom_id" in record:
            if len(ids) < _MAX_REMEMBERED_IDS:
                ids.append(str(record["custom_id"]))
            body = record.get("body")
            if model is None and isinstance(body, dict):
                model = body.get("model")
    return ids, model


def _file_object(file_id: str, meta: dict[str, Any]) -> dict[str, Any]:
    return {"object": "file", "id": file_id, "bytes": meta.get("bytes", 0),
            "created_at": meta.get("created_at", now()), "filename": meta.get("filename",
            "standin.jsonl"), "purpose": meta.get("purpose", "batch_output"),
            "status": "processed", "expires_at": None, "status_details": None}


def upload_file(call: Call) -> Reply:
    fields = multipart_fields(call)
    if "file" not in fields:
        return error_reply(400, "'file' is a required property")
    filename, content = fields["file"]
    purpose = fields.get("purpose", (None, b""))[1].decode(errors="replace")
    if not purpose:
        return error_reply(400, "'purpose' is a required property")
    custom_ids, model = _batch_lines(content)
    file_id = call.state.new_id("file-")
    meta = {"bytes": len(content), "filename": filename or "upload", "purpose": purpose,
            "created_at": now(), "custom_ids": custom_ids, "model": model}
    with call.state.lock:
        call.state.files[file_id] = meta
    return json_reply(_file_object(file_id, meta))


def get_file(call: Call, file_id: str) -> Reply:
    with call.state.lock:
        meta = call.state.files.get(file_id, {})
    return json_reply(_file_object(file_id, meta))


def file_content(call: Call, file_id: str) -> Reply:
    with call.state.lock:
        batch = next((b for b in call.state.batches.values()
                      if b["output_file_id"] == file_id), None)
        source = call.state.files.get(batch["input_file_id"], {}) if batch else {}
    custom_ids = source.get("custom_ids") or [
        f"request-{i}" for i in range(1, call.batch_size + 1)]
    model = source.get("model") or "gpt-4o-mini"
    lines = []
    for custom_id in custom_ids:
        prompt = batch_prompt(custom_id)
        text = expected_text(prompt, 0, call.vendor)
        body = {
            "id": "chatcmpl-" + uuid.uuid4().hex[:24], "object": "chat.completion",
            "created": now(), "model": model, "system_fingerprint": "fp_standin",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text,
                                                 "refusal": None, "annotations": []},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": openai_usage(count_tokens(prompt), count_tokens(text)),
        }
        lines.append(json.dumps({
            "id": "batch_req_" + uuid.uuid4().hex[:24], "custom_id": custom_id,
            "response": {"status_code": 200, "request_id": uuid.uuid4().hex, "body": body},
            "error": None,
        }))
    return Reply(content_type="application/octet-stream",
                 body=("\n".join(lines) + "\n").encode())


def _batch_object(batch_id: str, batch: dict[str, Any]) -> dict[str, Any]:
    total = batch["total"]
    return {
        "id": batch_id, "object": "batch", "endpoint": batch["endpoint"], "errors": None,
        "input_file_id": batch["input_file_id"], "completion_window": "24h",
        "status": "completed", "output_file_id": batch["output_file_id"],
        "error_file_id": None, "created_at": batch["created_at"],
        "in_progress_at": batch["created_at"], "finalizing_at": batch["created_at"],
        "completed_at": batch["created_at"], "expires_at": batch["created_at"] + 86400,
        "request_counts": {"total": total, "completed": total, "failed": 0},
        "metadata": batch.get("metadata"), "model": batch.get("model"),
    }


def create_batch(call: Call) -> Reply:
    body = call.json
    input_file_id = body.get("input_file_id")
    if not input_file_id:
        return error_reply(400, "'input_file_id' is a required property")
    with call.state.lock:
        source = call.state.files.get(input_file_id, {})
        batch_id = call.state.new_id("batch_")
        batch = {"endpoint": body.get("endpoint", "/v1/chat/completions"),
                 "input_file_id": input_file_id, "output_file_id": call.state.new_id("file-"),
                 "created_at": now(), "metadata": body.get("metadata"),
                 "total": len(source.get("custom_ids") or []) or call.batch_size,
                 "model": source.get("model")}
        call.state.batches[batch_id] = batch
    return json_reply(_batch_object(batch_id, batch))


def get_batch(call: Call, batch_id: str) -> Reply:
    with call.state.lock:
        batch = call.state.batches.get(batch_id)
    if batch is None:
        return error_reply(404, f"No batch found with id '{batch_id}'.")
    return json_reply(_batch_object(batch_id, batch))


def create_fine_tuning_job(call: Call) -> Reply:
    body = call.json
    if not body.get("training_file") or not body.get("model"):
        return error_reply(400, "'model' and 'training_file' are required")
    return json_reply({
        "object": "fine_tuning.job", "id": call.state.new_id("ftjob-"), "model": body["model"],
        "created_at": now(), "finished_at": None, "fine_tuned_model": None,
        "organization_id": "org-standin", "result_files": [], "status": "validating_files",
        "validation_file": body.get("validation_file"), "training_file": body["training_file"],
        "hyperparameters": body.get("hyperparameters") or {"n_epochs": "auto"},
        "trained_tokens": None, "seed": body.get("seed", 42), "suffix": body.get("suffix"),
        "method": body.get("method") or {"type": "supervised"}, "metadata": body.get("metadata"),
        "estimated_finish": None, "integrations": [], "error": None,
    })
