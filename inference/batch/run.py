"""Streaming runs: read → clean → segment → (score) → write, with bounded memory.

Documents flow in chunks: clauses are scored across all documents of a chunk at once (that is
what makes length-sorted batching pay), and the chunk is written and flushed before the next is
read, so memory is one chunk's worth whatever the crawl size. A document that fails anywhere
(decode, clean, scoring, writing) becomes an error record and the run goes on.

Resume: after each chunk is flushed, ``OUT.progress.json`` records how many inputs were
consumed and the byte sizes of the output and error files. ``--resume`` truncates both files
back to those sizes (dropping a half-written chunk or a torn last line) and skips the inputs
already consumed, so a run killed at any point and resumed writes exactly what an uninterrupted
run writes. Ctrl-C (SIGINT) finishes the current chunk, checkpoints it and stops cleanly.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

from inference.batch.progress import Progress
from inference.batch.writers import (
    RESUMABLE_FORMATS,
    DocumentWriter,
    JsonlWriter,
    format_for_path,
    open_writer,
    truncate_to,
)
from inference.records import Clause, Document, ErrorRecord
from inference.scoring.components import (
    ClauseInput,
    ClauseScorer,
    ClauseScores,
    scorer_identity,
    set_annotations,
)
from inference.text.ingest import DEFAULT_MAX_BYTES, RawDocument, read_inputs
from inference.text.pipeline import build_document

log = logging.getLogger(__name__)

PROGRESS_SUFFIX = ".progress.json"
DEFAULT_CHUNK_CLAUSES = 4096


@dataclass
class RunSummary:
    documents: int = 0
    clauses: int = 0
    errors: int = 0
    seconds: float = 0.0
    error_reasons: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False
    resumed_after: int = 0  # inputs a resumed run skipped (done by an earlier run)

    def add_error(self, error: ErrorRecord) -> None:
        self.errors += 1
        self.error_reasons[error.stage] = self.error_reasons.get(error.stage, 0) + 1

    def line(self) -> str:
        rate = self.clauses / self.seconds if self.seconds else 0.0
        text = (f"{self.documents} documents, {self.clauses} clauses, {self.errors} errors "
                f"in {self.seconds:.1f}s ({rate:.0f} clauses/s)")
        if self.error_reasons:
            text += " [errors by stage: " + ", ".join(
                f"{k} {v}" for k, v in sorted(self.error_reasons.items())) + "]"
        if self.resumed_after:
            text += f"; resumed after {self.resumed_after} inputs done earlier"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"documents": self.documents, "clauses": self.clauses, "errors": self.errors,
                "seconds": round(self.seconds, 3), "error_stages": self.error_reasons,
                "interrupted": self.interrupted, "resumed_after": self.resumed_after}


# ----------------------------------------------------------------------------- reading


def iter_documents(
    paths: Iterable[str | Path], max_bytes: int = DEFAULT_MAX_BYTES, skip: int = 0
) -> Iterator[Document | ErrorRecord]:
    """Cleaned, segmented documents (or error records) from the inputs, in input order; the
    first ``skip`` inputs are passed over without cleaning (what a resumed run has done)."""
    for item in islice(read_inputs(paths, max_bytes=max_bytes), skip, None):
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


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def chunk_documents_by(items: Iterable[Document | ErrorRecord], max_documents: int,
                       max_clauses: int) -> Iterator[list[Document | ErrorRecord]]:
    """Chunks that close at ``max_documents`` inputs or ``max_clauses`` clauses, whichever
    comes first: a few huge documents must not blow the memory bound."""
    chunk: list[Document | ErrorRecord] = []
    clauses = 0
    for item in items:
        chunk.append(item)
        if isinstance(item, Document):
            clauses += len(item.clauses)
        if len(chunk) >= max_documents or clauses >= max_clauses:
            yield chunk
            chunk, clauses = [], 0
    if chunk:
        yield chunk


# ----------------------------------------------------------------------------- scoring


def _score_documents(scorer: ClauseScorer, documents: list[Document]) -> None:
    clauses: list[Clause] = []
    inputs: list[ClauseInput] = []
    for document in documents:
        document.scorer = scorer_identity(scorer)
        title = str(document.meta.get("title", ""))
        for clause in document.clauses:
            clauses.append(clause)
            inputs.append(ClauseInput.from_clause(clause, title))
    if inputs:
        set_annotations(clauses, scorer.predict(inputs))


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def score_chunk(
    scorer: ClauseScorer, documents: list[Document]
) -> list[Document | ErrorRecord]:
    """Score a chunk's clauses together. If that fails, the chunk is split in halves and each
    half retried, down to single documents: the documents that fail become error records and
    the rest of the batch is scored without them (a few extra calls, not one per document)."""
    if not documents:
        return []
    try:
        _score_documents(scorer, documents)
        return list(documents)
    except Exception as exc:
        if len(documents) == 1:
            document = documents[0]
            return [ErrorRecord(source=document.source, doc_id=document.doc_id, stage="predict",
                                reason=_reason(exc))]
        log.debug("scoring %d documents failed (%s); isolating the failure", len(documents), exc)
    middle = len(documents) // 2
    return score_chunk(scorer, documents[:middle]) + score_chunk(scorer, documents[middle:])


def score_inputs(
    scorer: ClauseScorer, inputs: Sequence[ClauseInput]
) -> list[ClauseScores | BaseException]:
    """``score_chunk`` for bare clause inputs: a failing input gets its exception back."""
    if not inputs:
        return []
    try:
        return list(scorer.predict(inputs))
    except Exception as exc:
        if len(inputs) == 1:
            return [exc]
    middle = len(inputs) // 2
    return score_inputs(scorer, inputs[:middle]) + score_inputs(scorer, inputs[middle:])


# ----------------------------------------------------------------------------- sinks


class JsonlSink(JsonlWriter):
    """Whole JSON records, one per line, flushed per chunk; ``-`` is stdout."""

    def write(self, record: dict[str, Any]) -> None:
        self.write_record(record)


def default_errors_path(out: str) -> str:
    """Errors go beside the output (OUT.errors.jsonl), or to stderr when OUT is stdout."""
    if out == "-":
        return "<stderr>"
    path = Path(out)
    stem = path.name
    for suffix in (".jsonl", ".csv", ".parquet"):
        stem = stem.removesuffix(suffix)
    return str(path.with_name(stem + ".errors.jsonl"))


class ErrorSink:
    """Error records as JSONL (or to stderr); positioned like the output for resume."""

    def __init__(self, path: str, append: bool = False) -> None:
        self.path = path
        self._sink = None if path == "<stderr>" else JsonlWriter(path, append=append)

    def write(self, error: ErrorRecord) -> None:
        log.warning("%s: %s failed: %s", error.source, error.stage, error.reason)
        if self._sink is None:
            sys.stderr.write(json.dumps(error.to_dict(), ensure_ascii=False) + "\n")
        else:
            self._sink.write_record(error.to_dict())

    def flush(self) -> None:
        if self._sink is not None:
            self._sink.flush()

    def tell(self) -> int:
        return self._sink.tell() if self._sink is not None else 0

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()


# ----------------------------------------------------------------------------- resume


def progress_path(out: str) -> Path:
    return Path(out + PROGRESS_SUFFIX)


@dataclass
class Checkpoint:
    """What a resumed run needs: inputs consumed and the file sizes after the last chunk."""

    job: dict[str, Any]
    items: int = 0
    output_bytes: int = 0
    errors_bytes: int = 0
    complete: bool = False
    totals: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.__dict__, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def _start_or_resume(job: dict[str, Any], out: str, errors_path: str, fmt: str,
                     resume: bool) -> Checkpoint | None:
    """The checkpoint to continue from (files truncated to it), or None for a fresh run."""
    if not resume:
        return None
    if out == "-":
        raise ValueError("--resume needs an output file (-o OUT), not stdout")
    if fmt not in RESUMABLE_FORMATS:
        raise ValueError(f"--resume works with --format {' or '.join(RESUMABLE_FORMATS)}; a "
                         f"{fmt} file is unreadable until closed, so a killed one cannot be "
                         "continued (write jsonl/csv and convert)")
    marker = progress_path(out)
    if not marker.is_file():
        if Path(out).is_file() and Path(out).stat().st_size > 0:
            raise ValueError(f"cannot resume {out}: {marker.name} is missing (it was not written "
                             "by this version, or was deleted); rerun without --resume")
        log.info("nothing to resume at %s: starting a fresh run", out)
        return None
    checkpoint = Checkpoint.load(marker)
    if checkpoint.job != job:
        raise ValueError(f"cannot resume {out}: it was started with different inputs or "
                         f"settings ({checkpoint.job}); rerun without --resume or use the same "
                         "arguments")
    for path, size in ((out, checkpoint.output_bytes), (errors_path, checkpoint.errors_bytes)):
        if path == "<stderr>":
            continue
        if not Path(path).is_file() or Path(path).stat().st_size < size:
            raise ValueError(f"cannot resume: {path} is shorter than its checkpoint "
                             f"({size} bytes); rerun without --resume")
        truncate_to(path, size)
    return checkpoint


class _Interrupt:
    """SIGINT → finish the current chunk, then stop; a second Ctrl-C aborts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> _Interrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        log.warning("interrupt: finishing the current chunk (Ctrl-C again to abort now)")

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


# ----------------------------------------------------------------------------- runs


def _run_chunks(
    items: Iterator[Any],
    process: Callable[[list[Any]], Iterator[tuple[Any, int]]],
    writer: DocumentWriter,
    errors: ErrorSink,
    summary: RunSummary,
    checkpoint: Checkpoint | None,
    marker: Path | None,
    progress: Progress,
) -> None:
    """The loop both runs share: process a chunk, write it, flush, checkpoint, check Ctrl-C.

    ``process`` yields (document | record dict | ErrorRecord, clause count) in input order.
    """
    base = dict(checkpoint.totals) if checkpoint is not None else {}
    with _Interrupt() as interrupt:
        for chunk in items:
            documents = 0
            clauses = 0
            for result, n_clauses in process(chunk):
                if isinstance(result, ErrorRecord):
                    summary.add_error(result)
                    errors.write(result)
                    continue
                try:
                    if isinstance(result, Document):
                        writer.write_documents([result])
                    else:
                        writer.write_record(result)
                except Exception as exc:
                    error = ErrorRecord(source=getattr(result, "source", "?"),
                                        doc_id=getattr(result, "doc_id", None), stage="write",
                                        reason=_reason(exc))
                    summary.add_error(error)
                    errors.write(error)
                    continue
                documents += isinstance(result, Document)
                clauses += n_clauses
            summary.documents += documents
            summary.clauses += clauses
            writer.flush()
            errors.flush()
            if checkpoint is not None and marker is not None:
                checkpoint.items += len(chunk)
                checkpoint.output_bytes = writer.tell()
                checkpoint.errors_bytes = errors.tell()
                checkpoint.totals = {key: base.get(key, 0) + getattr(summary, key)
                                     for key in ("documents", "clauses", "errors")}
                checkpoint.save(marker)
            progress.update(len(chunk), clauses)
            if interrupt.requested:
                summary.interrupted = True
                log.warning("interrupted: output is complete up to the last chunk; rerun with "
                            "--resume to continue")
                break


def run_documents(
    paths: Iterable[str | Path],
    out: str,
    scorer: ClauseScorer | None = None,
    *,
    errors_path: str | None = None,
    chunk_documents: int = 64,
    chunk_clauses: int = DEFAULT_CHUNK_CLAUSES,
    max_bytes: int = DEFAULT_MAX_BYTES,
    output_format: str | None = None,
    resume: bool = False,
    progress: bool | None = False,
    label_names: Sequence[str] | None = None,
) -> RunSummary:
    """``segment`` (no scorer) or ``predict`` (with one) over files, directories or ``-``.

    ``output_format``: jsonl (per document), csv or parquet (per clause); default from the
    suffix of ``out``. ``resume`` continues a killed or interrupted run (see module doc).
    ``progress``: a bar on stderr (None: when stderr is a terminal).
    """
    from inference.schema import default_schema

    paths = [str(p) for p in paths]
    fmt = format_for_path(out, output_format)
    errors_path = errors_path or default_errors_path(out)
    names = list(label_names or default_schema().label_names)
    job = {"paths": paths, "format": fmt, "errors": errors_path, "max_bytes": max_bytes,
           "scorer": getattr(scorer, "name", None)}
    summary = RunSummary()
    started = time.perf_counter()
    checkpoint = _start_or_resume(job, out, errors_path, fmt, resume)
    if checkpoint is not None and checkpoint.complete:
        log.info("%s is already complete (%s); nothing to do", out, checkpoint.totals)
        summary.resumed_after = checkpoint.items
        return summary
    append = checkpoint is not None
    skip = checkpoint.items if checkpoint else 0
    summary.resumed_after = skip
    marker = progress_path(out) if out != "-" and fmt in RESUMABLE_FORMATS else None
    if checkpoint is None:
        checkpoint = Checkpoint(job=job)
        if marker is not None and marker.exists():
            marker.unlink()
    writer = open_writer(fmt, out, names, append=append)
    errors = ErrorSink(errors_path, append=append)
    bar = Progress(progress, desc="predict" if scorer is not None else "segment")

    def process(chunk: list[Document | ErrorRecord]) -> Iterator[tuple[Any, int]]:
        documents = [item for item in chunk if isinstance(item, Document)]
        scored = score_chunk(scorer, documents) if scorer is not None else documents
        by_id = {id(doc): result for doc, result in zip(documents, scored, strict=True)}
        for item in chunk:
            result = by_id.get(id(item), item)
            yield result, len(result.clauses) if isinstance(result, Document) else 0

    finished = False
    try:
        items = chunk_documents_by(iter_documents(paths, max_bytes, skip=skip), chunk_documents,
                                   chunk_clauses)
        _run_chunks(items, process, writer, errors, summary, checkpoint, marker, bar)
        finished = not summary.interrupted
    finally:
        bar.close()
        writer.close()
        errors.close()
        summary.seconds = time.perf_counter() - started
        if marker is not None and finished:
            checkpoint.complete = True
            checkpoint.save(marker)
    return summary


def run_clauses(
    in_path: str, out: str, scorer: ClauseScorer, *, errors_path: str | None = None,
    chunk_clauses: int = 512, resume: bool = False, progress: bool | None = False,
) -> RunSummary:
    """``predict --clauses``: each input line is a clause record with ``text``; the output line
    is that record plus ``labels``, ``scores`` and ``entities``. No re-segmentation."""
    errors_path = errors_path or default_errors_path(out)
    job = {"clauses": in_path, "errors": errors_path, "scorer": getattr(scorer, "name", None)}
    summary = RunSummary()
    started = time.perf_counter()
    if resume and in_path == "-":
        raise ValueError("--resume cannot skip what was read from stdin; give --clauses FILE")
    checkpoint = _start_or_resume(job, out, errors_path, "jsonl", resume)
    if checkpoint is not None and checkpoint.complete:
        summary.resumed_after = checkpoint.items
        return summary
    append = checkpoint is not None
    skip = checkpoint.items if checkpoint else 0
    summary.resumed_after = skip
    marker = progress_path(out) if out != "-" else None
    if checkpoint is None:
        checkpoint = Checkpoint(job=job)
    writer = JsonlWriter(out, append=append)
    errors = ErrorSink(errors_path, append=append)
    handle: IO[str] = sys.stdin if in_path == "-" else open(in_path, encoding="utf-8")  # noqa: SIM115
    bar = Progress(progress, desc="predict")

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

    def process(chunk: list[Any]) -> Iterator[tuple[Any, int]]:
        good = [item for item in chunk if not isinstance(item, ErrorRecord)]
        predictions = score_inputs(scorer, [item[1] for item in good])
        result_of = {id(item): pred for item, pred in zip(good, predictions, strict=True)}
        for item in chunk:
            if isinstance(item, ErrorRecord):
                yield item, 0
                continue
            record, prediction = item[0], result_of[id(item)]
            if isinstance(prediction, BaseException):
                yield ErrorRecord(source=str(record.get("source", in_path)),
                                  doc_id=record.get("doc_id"), stage="predict",
                                  reason=_reason(prediction)), 0
                continue
            record = dict(record)
            record["labels"] = sorted(prediction.labels)
            record["scores"] = {k: round(float(v), 4) for k, v in prediction.scores.items()}
            record["entities"] = [e.to_dict() for e in prediction.entities]
            yield record, 1

    finished = False
    try:
        items = chunked(islice(records(), skip, None), chunk_clauses)
        _run_chunks(items, process, writer, errors, summary, checkpoint, marker, bar)
        finished = not summary.interrupted
    finally:
        bar.close()
        if handle is not sys.stdin:
            handle.close()
        writer.close()
        errors.close()
        summary.seconds = time.perf_counter() - started
        if marker is not None and finished:
            checkpoint.complete = True
            checkpoint.save(marker)
    return summary
