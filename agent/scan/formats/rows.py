"""Arrow record batches as Records: one row a record, string leaves as fields (nested too)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any

from agent.scan.readers import Record
from agent.scan.readers import string_fields
from agent.scan.readers.parquet import has_strings


def text_columns(schema: Any) -> list[str]:
    return [field.name for field in schema if has_strings(field.type)]


def row_records(batches: Iterable[Any], start_record: int = 0, first_number: int = 1) -> Iterator[Record]:
    """Rows numbered from `first_number` in order; rows numbered up to `start_record` are skipped.
    A row's sha256 is of its canonical JSON, so the same row hashes the same in any format."""
    number = first_number - 1
    for batch in batches:
        if number + batch.num_rows <= start_record:  # whole batch already read
            number += batch.num_rows
            continue
        for row in batch.to_pylist():
            number += 1
            if number <= start_record:
                continue
            raw = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
            yield Record(number, string_fields(row), 0,
                         hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest())
