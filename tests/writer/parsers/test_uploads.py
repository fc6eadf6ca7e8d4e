from __future__ import annotations

import base64
import json

from tests.writer.wire import run

TRAINING = [
    {"messages": [{"role": "system", "content": "You are Marv."}, {"role": "user", "content": "Capital of France?"},
                  {"role": "assistant", "content": "Paris, as if you didn't know."}]},
    {"messages": [{"role": "user", "content": [{"type": "text", "text": "Who wrote Hamlet?"}]},
                  {"role": "assistant", "content": "Shakespeare.", "weight": 1}]},
    {"prompt": "Translate: cat", "completion": "chat"},
    {"input": {"messages": [{"role": "user", "content": "Hi"}]},
     "preferred_output": [{"role": "assistant", "content": "Hello!"}],
     "non_preferred_output": [{"role": "assistant", "content": "Go away."}]},
]
EXPECTED_TEXTS = [
    "You are Marv.\nCapital of France?\nParis, as if you didn't know.",
    "Who wrote Hamlet?\nShakespeare.",
    "Translate: cat\nchat",
    "Hi\nHello!\nGo away.",
]


def multipart(fields: list[tuple[str, str | None, bytes]], boundary: str = "----aiauditBoundary7MA4YWxk") -> tuple[bytes, str]:
    out = b""
    for name, filename, data in fields:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def jsonl(records) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def test_openai_fine_tune_file_upload():
    body, content_type = multipart([("purpose", None, b"fine-tune"), ("file", "train.jsonl", jsonl(TRAINING))])
    call = run("api.openai.com", "/v1/files", request=body, request_headers=(("Content-Type", content_type),),
               response={"id": "file-abc123", "object": "file", "bytes": len(body), "filename": "train.jsonl", "purpose": "fine-tune"})
    assert call.parse_error is None
    assert (call.kind, call.endpoint, call.upload_purpose) == ("upload", "files.upload", "fine-tune")
    assert call.uploaded_texts == EXPECTED_TEXTS
    assert call.file_ids == ["file-abc123"]
    assert call.template_signature is None and call.outputs == []


def test_batch_input_upload_is_not_read_as_training_data():
    lines = [{"custom_id": "1", "method": "POST", "url": "/v1/chat/completions",
              "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Q1"}]}}]
    body, content_type = multipart([("file", "batch.jsonl", jsonl(lines)), ("purpose", None, b"batch")])
    call = run("myres.openai.azure.com", "/openai/files?api-version=2024-10-21", request=body,
               request_headers=(("Content-Type", content_type),), response={"id": "file-1", "object": "file", "purpose": "batch"})
    assert call.upload_purpose == "batch" and call.uploaded_texts == []
    assert call.file_ids == ["file-1"]


def test_upload_parts_tolerate_cut_lines():
    data = jsonl(TRAINING)
    part = data[10:-7]  # a part starts and ends mid-record
    body, content_type = multipart([("data", "blob", part)])
    call = run("api.openai.com", "/v1/uploads/upload_1/parts", request=body, request_headers=(("Content-Type", content_type),),
               response={"id": "part_1", "object": "upload.part", "upload_id": "upload_1"})
    assert call.parse_error is None
    assert call.uploaded_texts == EXPECTED_TEXTS[1:3]


def test_upload_create_and_complete():
    call = run("api.openai.com", "/v1/uploads", request={"purpose": "fine-tune", "filename": "t.jsonl", "bytes": 100, "mime_type": "text/jsonl"},
               response={"id": "upload_1", "object": "upload", "status": "pending"})
    assert call.upload_purpose == "fine-tune"
    call = run("api.openai.com", "/v1/uploads/upload_1/complete", request={"part_ids": ["part_1"]},
               response={"id": "upload_1", "object": "upload", "status": "completed", "purpose": "fine-tune",
                         "file": {"id": "file-xyz", "object": "file", "purpose": "fine-tune"}})
    assert call.upload_purpose == "fine-tune" and call.file_ids == ["file-xyz"]


def test_fine_tuning_jobs():
    call = run("api.openai.com", "/v1/fine_tuning/jobs",
               request={"model": "gpt-4o-mini-2024-07-18", "training_file": "file-abc123", "validation_file": "file-val",
                        "method": {"type": "supervised"}},
               response={"id": "ftjob-1", "object": "fine_tuning.job", "status": "validating_files"})
    assert (call.kind, call.upload_purpose, call.model) == ("upload", "fine-tune", "gpt-4o-mini-2024-07-18")
    assert call.file_ids == ["file-abc123", "file-val"]
    call = run("api.mistral.ai", "/v1/fine_tuning/jobs", request={"model": "open-mistral-7b",
               "training_files": [{"file_id": "f-1", "weight": 1}], "hyperparameters": {"training_steps": 10}}, response={"id": "j"})
    assert call.file_ids == ["f-1"] and call.model == "open-mistral-7b"
    call = run("api.together.xyz", "/v1/fine-tunes", request={"model": "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
               "training_file": "file-t"}, response={"id": "ft-1"})
    assert call.file_ids == ["file-t"]


def test_cohere_dataset_and_fireworks_dataset_upload():
    records = [{"messages": [{"role": "System", "content": "Be nice"}, {"role": "User", "content": "Hi"}, {"role": "Chatbot", "content": "Hello!"}]}]
    body, content_type = multipart([("data", "train.jsonl", jsonl(records))])
    call = run("api.cohere.com", "/v1/datasets?name=distil&type=chat-finetune-input", request=body,
               request_headers=(("Content-Type", content_type),), response={"id": "distil-abc"})
    assert call.upload_purpose == "chat-finetune-input" and call.uploaded_texts == ["Be nice\nHi\nHello!"]
    assert call.file_ids == ["distil-abc"]
    body, content_type = multipart([("file", "data.jsonl", jsonl(records))])
    call = run("api.fireworks.ai", "/v1/accounts/acme/datasets/ds1:upload", request=body,
               request_headers=(("Content-Type", content_type),), response={})
    assert call.upload_purpose == "fine-tune" and len(call.uploaded_texts) == 1


def test_huggingface_hub_commit_ndjson():
    jsonl_file = jsonl(TRAINING[:2])
    csv_file = b"question,answer\nWhat is 2+2?,4\nSky colour?,Blue\n"
    payload = "".join(json.dumps(line) + "\n" for line in [
        {"key": "header", "value": {"summary": "Upload dataset", "description": ""}},
        {"key": "file", "value": {"content": base64.b64encode(jsonl_file).decode(), "path": "data/train.jsonl", "encoding": "base64"}},
        {"key": "file", "value": {"content": base64.b64encode(csv_file).decode(), "path": "data/extra.csv", "encoding": "base64"}},
        {"key": "lfsFile", "value": {"path": "data/big.parquet", "algo": "sha256", "oid": "ab" * 32}},
    ]).encode()
    call = run("huggingface.co", "/api/datasets/acme/distilled/commit/main", request=payload,
               request_headers=(("Content-Type", "application/x-ndjson"),),
               response={"commitUrl": "https://huggingface.co/datasets/acme/distilled/commit/1", "commitOid": "1"})
    assert call.parse_error is None
    assert (call.kind, call.upload_purpose) == ("upload", "dataset")
    assert call.uploaded_texts == EXPECTED_TEXTS[:2] + ["What is 2+2? 4", "Sky colour? Blue"]


def test_bad_training_line_is_reported_but_others_kept():
    data = jsonl(TRAINING[:1]) + b"{not json\n" + jsonl(TRAINING[2:3])
    body, content_type = multipart([("purpose", None, b"fine-tune"), ("file", "t.jsonl", data)])
    call = run("api.openai.com", "/v1/files", request=body, request_headers=(("Content-Type", content_type),),
               response={"id": "file-1", "object": "file"})
    assert call.uploaded_texts == [EXPECTED_TEXTS[0], EXPECTED_TEXTS[2]]
    assert call.parse_error == "request: uploaded file line 2: invalid JSON"


def test_multipart_without_boundary():
    call = run("api.openai.com", "/v1/files", request=b"xx", request_headers=(("Content-Type", "multipart/form-data"),),
               response={"id": "f"})
    assert call.parse_error == "request: multipart body without a boundary"
