"""The local driver: read → clean → segment → (score) → write, with bounded memory.

Documents flow in chunks: clauses are scored across all documents of a chunk at once (that is
what makes length-sorted batching pay), and the chunk is written and flushed before the next is
read, so memory is one chunk's worth whatever the crawl size. A document that fails anywhere
(decode, clean, scoring, writing) becomes an error record and the run goes on.

The parts live by job: core.py (building with per-document bounds, chunking, fault-isolated
scoring, ``RunCore``: the output side of a run), sinks.py (error sink), checkpoint.py (progress
file, resume, lock), writers.py (formats). This module holds the two local drivers; the Ray
driver (ray_driver.py) uses the same core. Ctrl-C (SIGINT) finishes the current chunk,
checkpoints it and stops cleanly; ``--resume`` continues (see checkpoint.py).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import IO, Any

from inference.batch.checkpoint import PROGRESS_SUFFIX, Checkpoint, progress_path
from inference.batch.core import (
    DEFAULT_CHUNK_CLAUSES,
    DEFAULT_DOCUMENT_SECONDS,
    ISOLATE_CHARS,
    DocumentBuilder,
    RunCore,
    RunSummary,
    check_output_paths,
    check_run_options,
    chunk_documents_by,
    chunked,
    input_size,
    iter_documents,
    output_files,
    reason,
    reused_from_now,
    score_chunk,
    score_inputs,
)
from inference.batch.sinks import ErrorSink, JsonlSink, default_errors_path
from inference.batch.writers import format_for_path
from inference.errors import UserError
from inference.records import Document, ErrorRecord
from inference.scoring.components import ClauseInput, ClauseScorer, annotate_record
from inference.text.ingest import DEFAULT_MAX_BYTES, resolve_inputs

log = logging.getLogger(__name__)


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
    document_seconds: float = DEFAULT_DOCUMENT_SECONDS,
    isolate_chars: int = ISOLATE_CHARS,
) -> RunSummary:
    """``segment`` (no scorer) or ``predict`` (with one) over files, directories or ``-``.

    ``output_format``: jsonl (per document), csv or parquet (per clause); default from the
    suffix of ``out``. ``resume`` continues a killed or interrupted run (see checkpoint.py).
    ``progress``: a bar on stderr (None: when stderr is a terminal). ``document_seconds``: the
    time limit for cleaning and segmenting one document (see core.DocumentBuilder).
    """
    from inference.schema import default_schema

    paths = [str(p) for p in paths]
    check_run_options(chunk_documents=chunk_documents, chunk_clauses=chunk_clauses,
                      max_bytes=max_bytes)
    fmt = format_for_path(out, output_format)
    errors_path = errors_path or default_errors_path(out)
    check_output_paths(out, errors_path)
    # The inputs are fixed now, before anything is written: the run's own files are never
    # among them, and an input named as an output is refused rather than overwritten.
    resolved = resolve_inputs(paths, outputs=output_files(out, errors_path))
    builder = DocumentBuilder(document_seconds, isolate_chars)
    names = list(label_names or default_schema().label_names)
    job = {"paths": paths, "format": fmt, "errors": errors_path, "max_bytes": max_bytes,
           "scorer": getattr(scorer, "name", None)}
    core = RunCore(out=out, fmt=fmt, errors_path=errors_path, label_names=names, job=job,
                   resume=resume, resumable=True, progress=progress,
                   desc="predict" if scorer is not None else "segment",
                   total_bytes=input_size(resolved))
    if core.already_complete:
        log.info("%s is already complete (%s); nothing to do", out, core.checkpoint.totals)
        core.release()
        return core.summary

    def process(chunk: list[Document | ErrorRecord]) -> Iterator[tuple[Any, int]]:
        documents = [item for item in chunk if isinstance(item, Document)]
        scored = score_chunk(scorer, documents) if scorer is not None else documents
        by_id = {id(doc): result for doc, result in zip(documents, scored, strict=True)}
        for item in chunk:
            result = by_id.get(id(item), item)
            yield result, len(result.clauses) if isinstance(result, Document) else 0

    reused = reused_from_now(scorer)
    with core:
        try:
            documents = iter_documents(resolved, max_bytes, skip=core.skip, builder=builder,
                                       on_read=core.read_progress)
            core.run_chunks(chunk_documents_by(documents, chunk_documents, chunk_clauses),
                            process)
        finally:
            builder.close()
    core.summary.reused = reused()
    return core.summary


def _stdin_lines() -> Iterator[bytes]:
    binary = getattr(sys.stdin, "buffer", None)
    if binary is not None:
        yield from binary
    else:  # a text stream (embedding, tests)
        for line in sys.stdin:
            yield line.encode("utf-8", errors="surrogatepass")


def _clause_records(handle: Iterable[bytes], in_path: str
                    ) -> Iterator[tuple[dict[str, Any], ClauseInput] | ErrorRecord]:
    """Clause records from JSONL bytes; a bad line (undecodable, invalid JSON, no text)
    becomes an error record naming the file and line, and the rest go on."""
    for lineno, raw_line in enumerate(handle, start=1):
        if not raw_line.strip():
            continue
        where = f"{in_path}:{lineno}"
        try:
            line = raw_line.decode("utf-8").lstrip("\ufeff")
            record = json.loads(line)
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise ValueError("expected a JSON object with a string 'text'")
            json.dumps(record, ensure_ascii=False).encode("utf-8")
        except UnicodeDecodeError as exc:
            yield ErrorRecord(source=where, stage="ingest",
                              reason=f"bytes undecodable as utf-8 ({exc.reason})")
            continue
        except UnicodeEncodeError:
            yield ErrorRecord(source=where, stage="ingest",
                              reason="JSON holds a lone surrogate escape: not valid Unicode")
            continue
        except ValueError as exc:  # invalid JSON, the int digit limit, not a clause record
            yield ErrorRecord(source=where, stage="ingest", reason=str(exc))
            continue
        except RecursionError:
            yield ErrorRecord(source=where, stage="ingest", reason="invalid JSON: nested too "
                              "deeply")
            continue
        yield record, ClauseInput(record["text"], str(record.get("section") or ""),
                                  str(record.get("title") or ""))


def run_clauses(
    in_path: str, out: str, scorer: ClauseScorer, *, errors_path: str | None = None,
    chunk_clauses: int = 512, resume: bool = False, progress: bool | None = False,
) -> RunSummary:
    """``predict --clauses``: each input line is a clause record with ``text``; the output line
    is that record plus ``labels``, ``scores`` and ``entities``. No re-segmentation."""
    check_run_options(chunk_clauses=chunk_clauses)
    errors_path = errors_path or default_errors_path(out)
    check_output_paths(out, errors_path)
    if resume and in_path == "-":
        raise UserError("--resume cannot skip what was read from stdin; give --clauses FILE")
    if in_path != "-":
        if not Path(in_path).is_file():
            raise UserError(f"--clauses {in_path}: no such file")
        resolve_inputs([in_path], outputs=output_files(out, errors_path))
    job = {"clauses": in_path, "errors": errors_path, "scorer": getattr(scorer, "name", None)}
    total = None if in_path == "-" else Path(in_path).stat().st_size
    core = RunCore(out=out, fmt="jsonl", errors_path=errors_path, label_names=(), job=job,
                   resume=resume, resumable=True, progress=progress, desc="predict",
                   total_bytes=total)
    if core.already_complete:
        core.release()
        return core.summary
    handle: IO[bytes] | None = None if in_path == "-" else open(in_path, "rb")  # noqa: SIM115

    def counted(handle: IO[bytes] | None) -> Iterator[bytes]:
        lines: Iterable[bytes] = handle if handle is not None else _stdin_lines()
        for line in lines:
            core.read_progress(len(line))
            yield line

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
                                  reason=reason(prediction)), 0
                continue
            yield annotate_record(record, prediction), 1

    reused = reused_from_now(scorer)
    with core:
        try:
            records = islice(_clause_records(counted(handle), in_path), core.skip, None)
            core.run_chunks(chunked(records, chunk_clauses), process)
        finally:
            if handle is not None:
                handle.close()
    core.summary.reused = reused()
    return core.summary


# Names other modules and tests import from here.
__all__ = ["PROGRESS_SUFFIX", "Checkpoint", "ErrorSink", "JsonlSink", "RunSummary",
           "chunk_documents_by", "chunked", "default_errors_path", "iter_documents",
           "progress_path", "run_clauses", "run_documents", "score_chunk", "score_inputs"]
