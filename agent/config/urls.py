"""Whether a configured dataset location is an fsspec URL (`s3://`, `gs://`, `abfs://`, `hf://`)
rather than a local path. Here, not in agent.scan.sources, so the config (which everything
imports) does not import the scanner."""

from __future__ import annotations

import re

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def is_url(text: str) -> bool:
    """A source named by URL rather than a local path (`file://` is a local path)."""
    m = _URL.match(str(text))
    return bool(m) and m.group(1).lower() != "file"
