"""Streaming runs: read → clean → segment → (score) → write, with bounded memory.

Documents flow in chunks: clauses are scored across all documents of a chunk at once (that is
what makes batching pay), and the chunk is written and flushed before the next is read. A
document that fails anywhere becomes an error record and the run goes on.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from inference.components import ClauseInput, ClauseScorer, set_annotations
from inference.ingest import DEFAULT_MAX_BYTES, RawDocument, read_inputs
from inference.pipeline import build_document
from inference.records import Clause, Document, ErrorRecord

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    documents: int = 0
    clauses: int = 0
    errors: int = 0
    seconds: float = 0.0
    error_reasons: dict[str, int] = field(default_factory=dict)

    def add_error(self, error: ErrorRecord) -> None:
        self.errors += 1
        self.error_reasons[error.stage] = self.error_reasons.get(error.stage, 0) + 1

    def line(self) -> str:
        rate = self.clauses / self.seconds if self.seconds else 0.0
        return (f"{self.documents} documents, {self.clauses} clauses, {self.errors} errors "
                f"in {self.seconds:.1f}s ({rate:.0f} clauses/s)")

    def to_dict(self) -> dict[str, Any]:
        return {"documents": self.documents, "clauses": self.clauses, "errors": self.errors,
                "seconds": round(self.seconds, 3), "error_stages": self.error_reasons}


def iter_documents(
    paths: Iterable[str | Path], max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[Document | ErrorRecord]:
    """Cleaned, segmented documents (or error records) from the inputs, in input order."""
    for item in read_inputs(paths, max_bytes=max_bytes):
        if isinstance(item, ErrorRecord):
            yield item
            continue
        yield _build_or_error(item)


def _build_or_error(raw: RawDocument) -> Document | ErrorRecord:
    try:
        return build_document(raw)
    except Exception as exc:  # one bad document must not end the run
        return ErrorRecord(source=raw.source, doc_id=raw.doc_id, stage="clean",
                           reason=f"{type(exc).__name__}: {exc}")


def _score_documents(scorer: ClauseScorer, documents: list[Document]) -> None:
    clauses: list[Clause] = []
    inputs: list[ClauseInput] = []
    for document in documents:
        title = str(document.meta.get("title", ""))
        for clause in document.clauses:
            clauses.append(clause)
            inputs.append(ClauseInput.from_clause(clause, title))
    if inputs:
        set_annotations(clauses, scorer.predict(inputs))


def score_chunk(
    scorer: ClauseScorer, documents: list[Document]
) -> list[Document | ErrorRecord]:
    """Score a chunk's clauses together; if that fails, retry document by document so only
    the documents that fail become error records."""
    try:
        _score_documents(scorer, documents)
        return list(documents)
    except Exception as exc:
        log.warning("scoring a chunk of %d documents failed (%s); retrying one by one",
                    len(documents), exc)
    results: list[Document | ErrorRecord] = []
    for document in documents:
        try:
            _score_documents(scorer, [document])
            results.append(document)
        except Exception as exc:
            results.append(ErrorRecord(source=document.source, doc_id=document.doc_id,
                                       stage="predict", reason=f"{type(exc).__name__}: {exc}"))
    return results


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class JsonlSink:
    """Whole JSON records, one per line, flushed per chunk; ``-`` is stdout."""

    def __init__(self, path: str | Path, append: bool = False) -> None:
        self.path = str(path)
        self._handle: IO[str]
        if self.path == "-":
            self._handle = sys.stdout
        else:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a" if append else "w", encoding="utf-8")  # noqa: SIM115

    def write(self, record: dict[str, Any]) -> None:
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def flush(self) -> None:
        self._handle.flush()

    def close(self) -> None:
        self.flush()
        if self._handle is not sys.stdout:
            self._handle.close()


def default_errors_path(out: str) -> str:
    """Errors go beside the output (OUT.errors.jsonl), or to stderr when OUT is stdout."""
    if out == "-":
        return "<stderr>"
    path = Path(out)
    return str(path.with_name(path.name.removesuffix(".jsonl") + ".errors.jsonl"))


class ErrorSink:
    def __init__(self, path: str) -> None:
        self.path = path
        self._sink = None if path == "<stderr>" else JsonlSink(path)

    def write(self, error: ErrorRecord) -> None:
        log.warning("%s: %s failed: %s", error.source, error.stage, error.reason)
        if self._sink is None:
            sys.stderr.write(json.dumps(error.to_dict(), ensure_ascii=False) + "\n")
        else:
            self._sink.write(error.to_dict())

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()


def run_documents(
    paths: Iterable[str | Path],
    out: str,
    scorer: ClauseScorer | None = None,
    *,
    errors_path: str | None = None,
    chunk_documents: int = 64,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> RunSummary:
    """``segment`` (no scorer) or ``predict`` (with one) over files, directories or ``-``."""
    summary = RunSummary()
    started = time.perf_counter()
    sink = JsonlSink(out)
    errors = ErrorSink(errors_path or default_errors_path(out))
    try:
        for chunk in chunked(iter_documents(paths, max_bytes), chunk_documents):
            documents = [item for item in chunk if isinstance(item, Document)]
            scored = score_chunk(scorer, documents) if scorer is not None else documents
            by_id = {id(doc): result for doc, result in zip(documents, scored, strict=True)}
            for item in chunk:
                result = by_id.get(id(item), item)
                if isinstance(result, ErrorRecord):
                    summary.add_error(result)
                    errors.write(result)
                else:
                    summary.documents += 1
                    summary.clauses += len(result.clauses)
                    sink.write(result.to_dict())
            sink.flush()
    finally:
        sink.close()
        errors.close()
        summary.seconds = time.perf_counter() - started
    return summary


def run_clauses(
    in_path: str, out: str, scorer: ClauseScorer, *, errors_path: str | None = None,
    chunk_clauses: int = 512,
) -> RunSummary:
    """``predict --clauses``: each input line is a clause record with ``text``; the output line
    is that record plus ``labels``, ``scores`` and ``entities``. No re-segmentation."""
    summary = RunSummary()
    started = time.perf_counter()
    sink = JsonlSink(out)
    errors = ErrorSink(errors_path or default_errors_path(out))
    handle = sys.stdin if in_path == "-" else open(in_path, encoding="utf-8")  # noqa: SIM115

    def records() -> Iterator[tuple[dict[str, Any], ClauseInput] | ErrorRecord]:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{in_path}:{lineno}"
            try:
                record = json.loads(line)
                if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                    raise ValueError("expected a JSON object with a string 'text'")
            except (json.JSONDecodeError, ValueError) as exc:
                yield ErrorRecord(source=where, stage="ingest", reason=str(exc))
                continue
            yield record, ClauseInput(record["text"], str(record.get("section") or ""),
                                      str(record.get("title") or ""))

    try:
        for chunk in chunked(records(), chunk_clauses):
            good = [item for item in chunk if not isinstance(item, ErrorRecord)]
            predictions = scorer.predict([item[1] for item in good]) if good else []
            result_of = {id(item): pred for item, pred in zip(good, predictions, strict=True)}
            for item in chunk:
                if isinstance(item, ErrorRecord):
                    summary.add_error(item)
                    errors.write(item)
                    continue
                record, prediction = item[0], result_of[id(item)]
                record = dict(record)
                record["labels"] = sorted(prediction.labels)
                record["scores"] = {k: round(float(v), 4) for k, v in prediction.scores.items()}
                record["entities"] = [e.to_dict() for e in prediction.entities]
                sink.write(record)
                summary.clauses += 1
            sink.flush()
    finally:
        if handle is not sys.stdin:
            handle.close()
        sink.close()
        errors.close()
        summary.seconds = time.perf_counter() - started
    return summary
