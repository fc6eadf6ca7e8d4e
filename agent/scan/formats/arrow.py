"""Arrow IPC files (`.arrow`): the stream format Hugging Face `datasets` writes with save_to_disk
(`data-00000-of-00001.arrow` beside `dataset_info.json` and `state.json`), and the random-access
file format (`ARROW1` magic). One row a record, numbered from 1 in file order."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from agent.scan.formats.rows import row_records
from agent.scan.formats.rows import text_columns
from agent.scan.readers import FileReadError
from agent.scan.readers import Record
from agent.scan.readers import RecordError

_FILE_MAGIC = b"ARROW1"


def read_arrow(path: Path, compression: str | None, start_record: int = 0) -> Iterator[Record | RecordError]:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    from agent.scan.readers.common import _open  # the same decompression as every text format

    with tempfile.TemporaryDirectory(prefix="aiaudit-arrow-") as scratch:
        source = path
        if compression is not None:
            source = Path(scratch) / "data.arrow"
            with _open(path, compression) as stream, open(source, "wb") as out:
                shutil.copyfileobj(stream, out, 1 << 20)
        with open(source, "rb") as raw:
            magic = raw.read(len(_FILE_MAGIC))
        try:
            memory = pa.memory_map(str(source), "r")
            if magic == _FILE_MAGIC:
                opened = ipc.open_file(memory)
                schema = opened.schema
                batches = (opened.get_batch(i) for i in range(opened.num_record_batches))
            else:
                opened = ipc.open_stream(memory)
                schema = opened.schema
                batches = iter(opened)
        except (pa.ArrowException, OSError) as error:
            raise FileReadError(path, f"not a readable Arrow IPC file: {' '.join(str(error).split())}") from None
        columns = text_columns(schema)
        if not columns:
            return
        number = 0
        try:
            for record in row_records((b.select(columns) for b in batches), start_record):
                number = record.number
                yield record
        except (pa.ArrowException, OSError) as error:
            raise FileReadError(path, f"corrupt Arrow data after row {number}: {' '.join(str(error).split())}") \
                from None
