"""Parquet: one record per row, every string column (nested lists and structs too)."""

from __future__ import annotations

import hashlib
import json
import json.scanner
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.scan.readers.common import _CHUNK
from agent.scan.readers.common import FileReadError
from agent.scan.readers.common import Record
from agent.scan.readers.common import RecordError
from agent.scan.readers.common import _one_line
from agent.scan.readers.common import _open
from agent.scan.readers.common import string_fields


def has_strings(arrow_type: Any) -> bool:
    """Whether a column of this type can hold text (nested lists, structs, maps, dictionaries)."""
    import pyarrow as pa

    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return True
    if pa.types.is_struct(arrow_type):
        return any(has_strings(arrow_type.field(i).type) for i in range(arrow_type.num_fields))
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type):
        return has_strings(arrow_type.value_type)
    if pa.types.is_map(arrow_type):
        return has_strings(arrow_type.key_type) or has_strings(arrow_type.item_type)
    if pa.types.is_dictionary(arrow_type):
        return has_strings(arrow_type.value_type)
    return False


def _read_parquet(path: Path, compression: str | None, start_record: int) -> Iterator[Record | RecordError]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with open(path, "rb") as raw:  # PermissionError surfaces here, before any temp file
        magic = raw.read(4)
    if compression is None and magic != b"PAR1":
        raise FileReadError(path, "not a Parquet file (no PAR1 magic)")
    with tempfile.TemporaryDirectory(prefix="aiaudit-parquet-") as scratch:
        source = path
        if compression is not None:
            # Parquet needs random access: decompress to a scratch file, streaming.
            source = Path(scratch) / "data.parquet"
            with _open(path, compression) as stream, open(source, "wb") as out:
                shutil.copyfileobj(stream, out, _CHUNK)
        try:
            parquet = pq.ParquetFile(source)
        except (pa.ArrowException, OSError) as error:
            raise FileReadError(path, f"not a readable Parquet file: {_one_line(error)}") from None
        columns = [field.name for field in parquet.schema_arrow if has_strings(field.type)]
        number = 0
        if not columns:
            return
        try:
            for batch in parquet.iter_batches(batch_size=512, columns=columns):
                for row in batch.to_pylist():
                    number += 1
                    if number <= start_record:
                        continue
                    raw = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
                    yield Record(number, string_fields(row), 0,
                                 hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest())
        except (pa.ArrowException, OSError) as error:
            raise FileReadError(path, f"corrupt Parquet data after row {number}: {_one_line(error)}") from None
