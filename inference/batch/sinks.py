"""Where a run's records go: the output writer (writers.py) and the error sink beside it."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from inference.batch.writers import JsonlWriter
from inference.records import ErrorRecord

log = logging.getLogger(__name__)

STDERR = "<stderr>"


class JsonlSink(JsonlWriter):
    """Whole JSON records, one per line, flushed per chunk; ``-`` is stdout."""

    def write(self, record: dict[str, Any]) -> None:
        self.write_record(record)


def default_errors_path(out: str) -> str:
    """Errors go beside the output (OUT.errors.jsonl), or to stderr when OUT is stdout."""
    if out == "-":
        return STDERR
    path = Path(out)
    stem = path.name
    for suffix in (".jsonl", ".csv", ".parquet"):
        stem = stem.removesuffix(suffix)
    return str(path.with_name(stem + ".errors.jsonl"))


def error_line(error: ErrorRecord) -> str:
    """An error record as one JSON line that any UTF-8 file can hold: a record quoting hostile
    input (a lone surrogate) falls back to ASCII escapes rather than becoming unwritable."""
    text = json.dumps(error.to_dict(), ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(error.to_dict(), ensure_ascii=True)
    return text


class ErrorSink:
    """Error records as JSONL (or to stderr); positioned like the output for resume."""

    def __init__(self, path: str, append: bool = False) -> None:
        self.path = path
        self._sink = None if path == STDERR else JsonlWriter(path, append=append)

    def write(self, error: ErrorRecord) -> None:
        log.warning("%s: %s failed: %s", error.source, error.stage,
                    error.reason.encode("utf-8", "backslashreplace").decode("utf-8"))
        line = error_line(error)
        if self._sink is None:
            sys.stderr.write(line + "\n")
        else:
            self._sink.write_line(line)

    def flush(self) -> None:
        if self._sink is not None:
            self._sink.flush()

    def tell(self) -> int:
        return self._sink.tell() if self._sink is not None else 0

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
