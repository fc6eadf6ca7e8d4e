"""Hugging Face Hub dataset uploads (the inference router is OpenAI-compatible chat).

`huggingface_hub` asks `preupload` how to send each file, then posts the commit as NDJSON:
a `header` line, then one `file` line per file with base64 content.
"""

from __future__ import annotations

import hashlib
import json

from .call import Call
from .call import Reply
from .call import error_reply
from .call import json_reply


def preupload(call: Call, repo: str) -> Reply:
    files = call.json.get("files")
    if not isinstance(files, list):
        return error_reply(400, "files is required")
    return json_reply({"files": [
        {"path": f.get("path"), "uploadMode": "regular", "shouldIgnore": False, "oid": None}
        for f in files if isinstance(f, dict)]})


def commit(call: Call, repo: str, revision: str) -> Reply:
    operations = 0
    for line in call.body.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            return error_reply(400, "commit body must be NDJSON")
        if isinstance(record, dict) and record.get("key") in ("file", "lfsFile", "deletedFile"):
            operations += 1
    if operations == 0:
        return error_reply(400, "a commit needs at least one operation")
    oid = hashlib.sha1(call.body).hexdigest()
    return json_reply({"success": True, "commitOid": oid, "hookOutput": "",
                       "commitUrl": f"https://huggingface.co/datasets/{repo}/commit/{oid}",
                       "pullRequestUrl": None})
