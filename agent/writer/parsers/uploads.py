"""Training-data uploads and fine-tuning jobs.

Reads multipart/form-data file uploads (OpenAI/Azure/Mistral `/files`, `/uploads/{id}/parts`,
Together `/files/upload`, Cohere `/v1/datasets`, Fireworks `datasets/{id}:upload`), Hugging Face
Hub dataset commits (NDJSON or JSON with base64 file content), and job-creation bodies (OpenAI-
style `fine_tuning/jobs`, Together, Fireworks, Cohere, Vertex `tuningJobs`, Bedrock
`model-customization-jobs`: metadata and referenced file ids only).

`uploaded_texts` gets one entry per training record (files uploaded for batch, assistants,
vision, user_data or evals are recorded with their purpose but their content is not read): every message text of the record joined by
newlines in order (system, user and assistant alike, DPO preferred and non-preferred outputs
included), or prompt + completion, or for unknown shapes every string value in key order
(metadata keys such as `role` and `custom_id` excluded). Records come from JSONL/JSON files, CSV
rows and whole text files. Upload parts split a file at arbitrary bytes, so a part's first and
last lines are used only when they parse.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from agent.writer.parsed import ParsedCall
from agent.writer.parsers.common import DecodedExchange
from agent.writer.parsers.common import ParseProblem
from agent.writer.parsers.common import dicts
from agent.writer.parsers.common import load_json
from agent.writer.parsers.common import load_request_json
from agent.writer.parsers.common import message_segments
from agent.writer.parsers.common import text_of

_METADATA_KEYS = {"role", "custom_id", "id", "type", "method", "url", "weight", "name", "recordId", "model"}
_FILE_FIELDS = {"file", "data"}
# OpenAI file purposes whose content is not training data.
_NOT_TRAINING = {"batch", "assistants", "vision", "user_data", "evals", "batch_output", "assistants_output"}


@dataclass(slots=True)
class FormPart:
    name: str
    filename: str | None
    data: bytes


def _disposition_params(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in value.split(";")[1:]:
        key, _, raw = item.strip().partition("=")
        params[key.strip().lower()] = raw.strip().strip('"')
    return params


def parse_multipart(body: bytes, content_type: str) -> list[FormPart]:
    """Parts of a multipart/form-data body; a body cut short keeps its last part's bytes."""
    boundary = _disposition_params("x;" + content_type.partition(";")[2]).get("boundary")
    if not boundary:
        raise ParseProblem("request: multipart body without a boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    parts: list[FormPart] = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # closing delimiter
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        if data.endswith(b"\r\n"):
            data = data[:-2]
        headers = head.decode("utf-8", "replace").split("\r\n")
        disposition = next((h for h in headers if h.lower().startswith("content-disposition:")), "")
        params = _disposition_params(disposition.partition(":")[2])
        parts.append(FormPart(params.get("name", ""), params.get("filename"), data))
    return parts


def _strings(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        if value.strip():
            out.append(value)
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key not in _METADATA_KEYS:
                _strings(inner, out)
    elif isinstance(value, list):
        for inner in value:
            _strings(inner, out)


def record_text(record: Any) -> str | None:
    """The text of one training (or batch-input) record, per the module docstring."""
    if isinstance(record, str):
        return record or None
    if not isinstance(record, dict):
        return None
    for wrapper in ("body", "modelInput", "request", "params"):
        if isinstance(record.get(wrapper), dict):
            return record_text(record[wrapper])
    texts: list[str] = []
    if isinstance(record.get("messages"), list):
        texts += [text for _, text in message_segments(record["messages"])]
    elif isinstance(record.get("input"), dict) and isinstance(record["input"].get("messages"), list):
        texts += [text for _, text in message_segments(record["input"]["messages"])]
        for key in ("preferred_output", "non_preferred_output"):
            texts += [text for _, text in message_segments(record.get(key))]
    elif isinstance(record.get("contents"), list):  # Gemini / Vertex tuning records
        for content in record["contents"]:
            parts = content.get("parts") if isinstance(content, dict) else None
            texts.append(text_of(parts))
    elif "prompt" in record or "completion" in record:
        texts += [str(record.get(k)) for k in ("prompt", "completion") if isinstance(record.get(k), str)]
    else:
        _strings(record, texts)
    joined = "\n".join(t for t in texts if t)
    return joined or None


def _texts_from_jsonl(data: bytes, lenient_edges: bool, problems: list[str]) -> list[str]:
    texts: list[str] = []
    lines = data.split(b"\n")
    for number, raw in enumerate(lines):
        raw = raw.strip()
        if not raw:
            continue
        try:
            record = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            if lenient_edges and number in (0, len(lines) - 1):
                continue
            problems.append(f"request: uploaded file line {number + 1}: invalid JSON")
            continue
        text = record_text(record)
        if text:
            texts.append(text)
    return texts


def texts_from_file(
    data: bytes, filename: str | None, problems: list[str], *, lenient_edges: bool = False
) -> list[str]:
    """Records' texts; unreadable lines are noted in `problems` and skipped."""
    name = (filename or "").lower()
    if name.endswith((".csv", ".tsv")):
        text = data.decode("utf-8", "replace")
        rows = list(csv.reader(io.StringIO(text), delimiter="\t" if name.endswith(".tsv") else ","))
        return [" ".join(cell for cell in row if cell) for row in rows[1:] if any(row)]
    if name.endswith((".txt", ".md")):
        text = data.decode("utf-8", "replace")
        return [text] if text.strip() else []
    if name.endswith(".json") or data.lstrip()[:1] == b"[":
        try:
            document = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            document = None
        if document is not None:
            records = document if isinstance(document, list) else [document]
            return [t for t in (record_text(r) for r in records) if t]
    if b"\0" in data[:1024]:
        return []  # binary (Parquet, images): not read here
    return _texts_from_jsonl(data, lenient_edges, problems)


def _read_multipart(call: ParsedCall, x: DecodedExchange, problems: list[str]) -> None:
    parts = parse_multipart(x.request_body, x.request_headers.get("content-type", ""))
    files = []
    for part in parts:
        if part.filename is None and part.name not in _FILE_FIELDS:
            value = part.data.decode("utf-8", "replace").strip()
            if part.name == "purpose" and value:
                call.upload_purpose = value
        else:
            files.append(part)
    if call.upload_purpose in _NOT_TRAINING:
        return  # batch prompts, assistant documents, images: recorded, but not training records
    lenient = x.route.endpoint == "uploads.parts"
    for part in files:
        call.uploaded_texts += texts_from_file(part.data, part.filename, problems, lenient_edges=lenient)


def _read_hub_commit(call: ParsedCall, x: DecodedExchange, problems: list[str]) -> None:
    """Hub commit payload: NDJSON `{key: header|file|lfsFile, value}` or legacy JSON `files`."""
    files: list[dict[str, Any]] = []
    if x.request_content_type == "application/x-ndjson" or x.request_body.lstrip().startswith(b'{"key"'):
        for raw in x.request_body.split(b"\n"):
            if raw.strip():
                try:
                    entry = json.loads(raw)
                except ValueError:
                    raise ParseProblem("request: commit payload line is not JSON") from None
                if isinstance(entry, dict) and entry.get("key") == "file" and isinstance(entry.get("value"), dict):
                    files.append(entry["value"])
    else:
        body = load_request_json(x) or {}
        files = [f for f in dicts(body.get("files")) if isinstance(f, dict)]
    for entry in files:
        content = entry.get("content")
        if not isinstance(content, str):
            continue
        if entry.get("encoding") == "base64":
            try:
                data = base64.b64decode(content, validate=True)
            except (binascii.Error, ValueError):
                raise ParseProblem(f"request: file {str(entry.get('path'))[:80]!r} is not valid base64") from None
        else:
            data = content.encode("utf-8")
        call.uploaded_texts += texts_from_file(data, str(entry.get("path") or ""), problems)


def _first_str(body: dict[str, Any], *paths: str) -> str | None:
    for path in paths:
        value: Any = body
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and value:
            return value
    return None


def _read_job(call: ParsedCall, body: dict[str, Any]) -> None:
    call.upload_purpose = "fine-tune"
    call.model = call.model or _first_str(
        body, "model", "baseModelIdentifier", "base_model", "baseModel", "settings.base_model", "sourceModel"
    )
    for path in (
        "training_file", "validation_file", "trainingDataConfig.s3Uri", "validationDataConfig.s3Uri",
        "dataset", "settings.dataset_id", "supervisedTuningSpec.trainingDatasetUri",
    ):
        found = _first_str(body, path)
        if found:
            call.file_ids.append(found)
    for item in dicts(body.get("training_files")):  # Mistral: [{file_id, weight}]
        if isinstance(item, dict) and isinstance(item.get("file_id"), str):
            call.file_ids.append(item["file_id"])


def parse_request(call: ParsedCall, x: DecodedExchange) -> None:
    endpoint = x.route.endpoint
    problems: list[str] = []
    if x.request_content_type == "multipart/form-data":
        _read_multipart(call, x, problems)
        if endpoint == "datasets.upload" and call.upload_purpose is None:
            call.upload_purpose = x.query.get("type") or "fine-tune"
    elif endpoint == "datasets.commit":
        call.upload_purpose = "dataset"
        _read_hub_commit(call, x, problems)
    elif endpoint == "datasets.preupload":
        call.upload_purpose = "dataset"
    elif endpoint in ("fine_tuning.jobs", "model-customization-jobs"):
        body = load_request_json(x)
        if body is not None:
            _read_job(call, body)
    else:  # uploads.create / uploads.complete / datasets.create: JSON metadata
        body = load_request_json(x)
        if body is not None:
            purpose = body.get("purpose")
            call.upload_purpose = purpose if isinstance(purpose, str) else call.upload_purpose
            if endpoint == "datasets.create":
                call.upload_purpose = call.upload_purpose or "fine-tune"
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ParseProblem(problems[0] + more)


def parse_response(call: ParsedCall, x: DecodedExchange) -> None:
    """The created object: its id, and the purpose when the request did not say."""
    if not x.response_body.strip():
        return
    body = load_json(x.response_body, "response")
    if not isinstance(body, dict):
        return
    if call.upload_purpose is None and isinstance(body.get("purpose"), str):
        call.upload_purpose = body["purpose"]
    file_object = body.get("file") if isinstance(body.get("file"), dict) else body
    object_kind = str(file_object.get("object") or "")
    if x.route.endpoint in ("files.upload", "uploads.complete", "datasets.upload") or object_kind == "file":
        file_id = file_object.get("id")
        if isinstance(file_id, str) and file_id not in call.file_ids:
            call.file_ids.append(file_id)
