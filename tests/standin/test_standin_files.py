"""Bulk paths: OpenAI files, batches and fine-tuning (the SDK runs in the SDK clients' venv: see
tests/support/client_side.py); Hugging Face Hub dataset commits."""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.client_side import client_side
from tests.support.raw_http import httpx_client
from tests.support.standin import batch_prompt
from tests.support.standin import expected_text
from tests.support.standin.harness import ProxyProcess

pytestmark = pytest.mark.e2e


def _batch_input(ids: list[str]) -> bytes:
    return "\n".join(json.dumps({
        "custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": custom_id}]},
    }) for custom_id in ids).encode()


@client_side
def batch_round_trip(proxy, ca, input_jsonl):
    """Upload a batch input, create the batch, poll it once, download its output."""
    client = clients.openai_client(proxy, ca)
    upload = client.files.create(file=("input.jsonl", input_jsonl), purpose="batch")
    created = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                                    completion_window="24h")
    batch = client.batches.retrieve(created.id)
    return {"upload": upload, "batch": batch,
            "output": client.files.content(batch.output_file_id).text}


def test_batch_round_trip(proxy: ProxyProcess, standin: object) -> None:
    ids = ["alpha", "beta", "gamma"]
    got = batch_round_trip(proxy.url, proxy.ca_path, _batch_input(ids))
    upload, batch = got["upload"], got["batch"]
    assert (upload["purpose"], upload["bytes"], upload["filename"]) == (
        "batch", len(_batch_input(ids)), "input.jsonl")
    uploaded = [r for r in standin.requests if r.path == "/v1/files"][-1]  # this test's upload
    assert uploaded.body_length > upload["bytes"]  # multipart
    assert batch["status"] == "completed" and batch["request_counts"]["total"] == 3
    lines = [json.loads(line) for line in got["output"].splitlines()]
    assert [line["custom_id"] for line in lines] == ids
    for line in lines:
        assert line["response"]["status_code"] == 200
        body = line["response"]["body"]
        assert body["choices"][0]["message"]["content"] == expected_text(
            batch_prompt(line["custom_id"]))
        assert body["model"] == "gpt-4o-mini"


def test_output_file_the_standin_never_made(proxy: ProxyProcess) -> None:
    with httpx_client(proxy.url, proxy.ca_path) as http:
        response = http.get("https://api.openai.com/v1/files/file-elsewhere/content",
                            headers={"x-standin-batch-size": "4"})
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["custom_id"] for line in lines] == [f"request-{i}" for i in range(1, 5)]


def test_fine_tuning_upload_and_job(proxy: ProxyProcess) -> None:
    @client_side
    def upload_and_start_job(proxy, ca, training):
        client = clients.openai_client(proxy, ca)
        upload = client.files.create(file=("train.jsonl", training), purpose="fine-tune")
        job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=upload.id)
        return {"upload": upload, "job": job}

    training = b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", ' \
               b'"content": "a"}]}\n'
    got = upload_and_start_job(proxy.url, proxy.ca_path, training)
    job = got["job"]
    assert job["status"] == "validating_files" and job["training_file"] == got["upload"]["id"]


def test_hugging_face_dataset_commit(proxy: ProxyProcess, standin: object) -> None:
    content = b'{"prompt": "p", "completion": "c"}\n'
    lines = [
        {"key": "header", "value": {"summary": "Upload data", "description": ""}},
        {"key": "file", "value": {"path": "train.jsonl", "encoding": "base64",
                                  "content": base64.b64encode(content).decode()}},
    ]
    body = "\n".join(json.dumps(line) for line in lines).encode()
    with httpx_client(proxy.url, proxy.ca_path) as http:
        preupload = http.post("https://huggingface.co/api/datasets/acme/distilled/preupload/main",
                              json={"files": [{"path": "train.jsonl", "size": len(content),
                                               "sample": base64.b64encode(content).decode()}]})
        response = http.post("https://huggingface.co/api/datasets/acme/distilled/commit/main",
                             content=body, headers={"Content-Type": "application/x-ndjson"})
    assert preupload.json()["files"][0]["uploadMode"] == "regular"
    assert response.status_code == 200 and response.json()["success"] is True
    assert response.json()["commitUrl"].startswith("https://huggingface.co/datasets/acme/distilled")
    logged = standin.requests[-1]
    assert (logged.host, logged.body_length) == ("huggingface.co", len(body))
