"""Writers for run outputs: JSONL (one document per line), CSV and Parquet (one clause per row).

Every writer takes whole chunks of documents and is flushed per chunk, so what is on disk is
always a sequence of whole records up to the last flush; ``tell()`` gives the byte position a
resumed run truncates back to (JSONL and CSV). Parquet writes one row group per chunk and
needs its footer, so a Parquet file is only readable once the writer is closed and cannot be
resumed.

Clause-level columns (CSV and Parquet): doc_id, source, clause_id, start, end, kind, section,
text, labels (sorted, joined with ``;``), one ``score_<label>`` column per label of
labels/schema.yaml (empty when the run did not score), and entities (a JSON list of
``{start, end, type, text, score}`` with offsets into the clause text).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from inference.errors import UserError
from inference.records import Document

FORMATS = ("jsonl", "csv", "parquet")
RESUMABLE_FORMATS = ("jsonl", "csv")
LABEL_SEPARATOR = ";"


def format_for_path(path: str, given: str | None) -> str:
    """The output format: ``--format`` when given, else from the suffix (.csv, .parquet),
    else JSONL."""
    if given:
        if given not in FORMATS:
            raise UserError(f"unknown output format {given!r}; expected one of {FORMATS}")
        return given
    suffix = Path(path).suffix.lower()
    return {".csv": "csv", ".parquet": "parquet"}.get(suffix, "jsonl")


def clause_columns(label_names: Sequence[str]) -> list[str]:
    return ["doc_id", "source", "clause_id", "start", "end", "kind", "section", "text", "labels",
            *[f"score_{name}" for name in label_names], "entities"]


def clause_rows(document: Document, label_names: Sequence[str]) -> list[dict[str, Any]]:
    """One flat row per clause (the CSV/Parquet shape)."""
    rows = []
    for clause in document.clauses:
        row: dict[str, Any] = {
            "doc_id": document.doc_id, "source": document.source, "clause_id": clause.clause_id,
            "start": clause.start, "end": clause.end, "kind": clause.kind,
            "section": clause.section, "text": clause.text,
            "labels": LABEL_SEPARATOR.join(sorted(clause.labels or [])),
        }
        scores = clause.scores or {}
        for name in label_names:
            value = scores.get(name)
            row[f"score_{name}"] = round(float(value), 4) if value is not None else None
        row["entities"] = json.dumps([e.to_dict() for e in clause.entities or []],
                                     ensure_ascii=False)
        rows.append(row)
    return rows


class DocumentWriter(Protocol):
    """Writes chunks of documents; ``flush`` makes everything written so far durable."""

    path: str

    def write_documents(self, documents: Sequence[Document]) -> None: ...

    def write_record(self, record: dict[str, Any]) -> None: ...

    def flush(self) -> None: ...

    def tell(self) -> int: ...

    def close(self) -> None: ...


class _TextWriter:
    """A text file (or stdout) opened for append or write; flushed and fsynced per chunk."""

    def __init__(self, path: str | Path, append: bool = False, newline: str | None = None) -> None:
        self.path = str(path)
        self._handle: IO[str]
        if self.path == "-":
            self._handle = sys.stdout
        else:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a" if append else "w", encoding="utf-8",  # noqa: SIM115
                                newline=newline)

    def flush(self) -> None:
        self._handle.flush()
        if self._handle is not sys.stdout:
            os.fsync(self._handle.fileno())

    def tell(self) -> int:
        if self._handle is sys.stdout:
            return 0
        self._handle.flush()
        return self._handle.buffer.tell()

    def close(self) -> None:
        if self._handle.closed:
            return
        self._handle.flush()
        if self._handle is not sys.stdout:
            self._handle.close()


class JsonlWriter(_TextWriter):
    """One JSON object per line: per document (``write_documents``) or any record."""

    def write_record(self, record: dict[str, Any]) -> None:
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def write_line(self, line: str) -> None:
        """One line that is already JSON."""
        self._handle.write(line + "\n")

    def write_documents(self, documents: Sequence[Document]) -> None:
        self._handle.write("".join(json.dumps(d.to_dict(), ensure_ascii=False) + "\n"
                                   for d in documents))


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading ``'`` (the usual
    neutralisation: shown as text, the quote hidden); everything else is returned as is."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: neutralise_formula(value) for key, value in row.items()}


class CsvWriter(_TextWriter):
    """Clause rows as CSV with a header line (written once, also across a resume).

    Text cells that start with ``= + - @`` (or a tab or carriage return) get a leading ``'``
    so that a spreadsheet does not run them; JSONL and Parquet keep the text exact.
    """

    def __init__(self, path: str | Path, label_names: Sequence[str], append: bool = False) -> None:
        has_header = append and Path(path).is_file() and Path(path).stat().st_size > 0
        super().__init__(path, append=append, newline="")
        self.label_names = list(label_names)
        self._columns = clause_columns(self.label_names)
        self._csv = csv.DictWriter(self._handle, fieldnames=self._columns)
        if not has_header:
            self._csv.writeheader()

    def write_documents(self, documents: Sequence[Document]) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self._columns)
        for document in documents:
            writer.writerows(_csv_row(row) for row in clause_rows(document, self.label_names))
        self._handle.write(buffer.getvalue())

    def write_record(self, record: dict[str, Any]) -> None:
        self._csv.writerow(_csv_row({k: record.get(k) for k in self._columns}))


class ParquetWriter:
    """Clause rows as Parquet, one row group per chunk, so memory stays one chunk's worth."""

    def __init__(self, path: str | Path, label_names: Sequence[str]) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise UserError("--format parquet needs pyarrow: pip install "
                            "'policy-clauses[export]'") from exc
        if str(path) == "-":
            raise UserError("--format parquet cannot write to stdout; give -o FILE.parquet")
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.label_names = list(label_names)
        fields = [("doc_id", pa.string()), ("source", pa.string()), ("clause_id", pa.int32()),
                  ("start", pa.int32()), ("end", pa.int32()), ("kind", pa.string()),
                  ("section", pa.string()), ("text", pa.string()), ("labels", pa.string())]
        fields += [(f"score_{name}", pa.float32()) for name in self.label_names]
        fields += [("entities", pa.string())]
        self._pa = pa
        self._schema = pa.schema(fields)
        self._writer = pq.ParquetWriter(self.path, self._schema, compression="zstd")
        self._rows = 0

    def write_documents(self, documents: Sequence[Document]) -> None:
        rows = [row for document in documents for row in clause_rows(document, self.label_names)]
        if rows:
            self._writer.write_table(self._pa.Table.from_pylist(rows, schema=self._schema))
            self._rows += len(rows)

    def write_record(self, record: dict[str, Any]) -> None:
        self._writer.write_table(self._pa.Table.from_pylist([record], schema=self._schema))

    def flush(self) -> None:
        """Row groups are written as they come; the file is readable once closed."""

    def tell(self) -> int:
        return self._rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def open_writer(fmt: str, path: str, label_names: Sequence[str], *,
                append: bool = False) -> DocumentWriter:
    if fmt == "jsonl":
        return JsonlWriter(path, append=append)
    if fmt == "csv":
        return CsvWriter(path, label_names, append=append)
    if fmt == "parquet":
        if append:
            raise UserError("a Parquet output cannot be resumed; use --format jsonl or csv")
        return ParquetWriter(path, label_names)
    raise ValueError(f"unknown output format {fmt!r}; expected one of {FORMATS}")


def truncate_to(path: str, size: int) -> None:
    """Cut a file back to ``size`` bytes: drops a chunk (or a torn line) written after the last
    checkpoint."""
    with open(path, "r+b") as handle:
        handle.truncate(size)


__all__ = ["FORMATS", "CsvWriter", "JsonlWriter", "ParquetWriter", "clause_rows",
           "format_for_path", "neutralise_formula", "open_writer", "truncate_to"]
