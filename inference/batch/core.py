"""The run core both drivers share (local: run.py; Ray: ray_driver.py).

- building documents with per-document bounds (a time limit for cleaning and segmenting, on
  top of the size, HTML-depth and clause-length limits of ingest and pipeline);
- chunking, and scoring a chunk with fault isolation (a failing document becomes an error
  record, the rest of its chunk is still scored);
- ``RunCore``: the output writer, error sink, checkpoint, lock, progress and summary of one run,
  set up and closed in one place.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from inference.analysis.times import document_date
from inference.batch.checkpoint import (
    Checkpoint,
    OutputLock,
    lock_path,
    progress_path,
    start_or_resume,
)
from inference.batch.progress import Progress
from inference.batch.sinks import STDERR, ErrorSink, default_errors_path
from inference.batch.writers import RESUMABLE_FORMATS, DocumentWriter, open_writer
from inference.errors import UserError
from inference.records import Clause, Document, ErrorRecord
from inference.scoring.components import (
    ClauseInput,
    ClauseScorer,
    ClauseScores,
    scorer_identity,
    set_annotations,
)
from inference.text.ingest import (
    DEFAULT_MAX_BYTES,
    RawDocument,
    read_resolved,
    resolve_inputs,
)
from inference.text.pipeline import build_document

log = logging.getLogger(__name__)

# 512 clauses a chunk: measured on 200 whole documents (bf16, 2-core AMD EPYC), peak RSS
# 1.0 GB at 512 against 1.9 GB at 4096, at the same 270 clauses/s (batches are 64 windows
# either way; a bigger chunk only holds more documents, encodings and scores at once).
DEFAULT_CHUNK_CLAUSES = 512
# Cleaning and segmenting one document may take this long; past it the document becomes an
# error record. Linear-time text (a 10 MB line) takes a few seconds.
DEFAULT_DOCUMENT_SECONDS = 60.0
# Documents at least this long are cleaned in a worker process that is killed at the time
# limit (a thread cannot be stopped, and signal timers work only in the main thread). Shorter
# ones are cleaned in-process: they finish in milliseconds and the hop would only cost.
ISOLATE_CHARS = 200_000


@dataclass
class RunSummary:
    documents: int = 0
    clauses: int = 0
    errors: int = 0
    seconds: float = 0.0
    error_reasons: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False
    resumed_after: int = 0  # inputs a resumed run skipped (done by an earlier run)
    reused: int = 0  # clauses whose input the model had read before (inference.scoring.repeats)

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
        if self.reused:
            text += f"; {self.reused} repeated clauses answered from memory"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"documents": self.documents, "clauses": self.clauses, "errors": self.errors,
                "seconds": round(self.seconds, 3), "error_stages": self.error_reasons,
                "interrupted": self.interrupted, "resumed_after": self.resumed_after,
                "reused": self.reused}


def reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# ----------------------------------------------------------------------------- building


def _clean_error(raw: RawDocument, why: str) -> ErrorRecord:
    return ErrorRecord(source=raw.source, doc_id=raw.doc_id, stage="clean", reason=why)


def build_or_error(raw: RawDocument) -> Document | ErrorRecord:
    """``build_document``, with any failure turned into an error record."""
    try:
        return build_document(raw)
    except Exception as exc:  # one bad document must not end the run (RecursionError too)
        return _clean_error(raw, reason(exc))


_READY = "ready"
# A fresh worker imports the cleaning code before it is timed (seconds on a busy machine).
_WORKER_START_SECONDS = 120.0


def _worker_loop(connection: Any) -> None:
    """The worker process: build documents sent over ``connection`` until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    connection.send(_READY)  # imports done (this module imports the pipeline)
    while True:
        try:
            raw = connection.recv()
        except (EOFError, OSError):
            return
        connection.send(build_or_error(raw))


class DocumentBuilder:
    """Raw document → Document or ErrorRecord, within ``time_limit`` seconds per document.

    Documents of ``isolate_chars`` or more are built in a worker process, which is killed
    (and replaced on the next long document) when one runs past the limit.
    """

    def __init__(self, time_limit: float = DEFAULT_DOCUMENT_SECONDS,
                 isolate_chars: int = ISOLATE_CHARS) -> None:
        if time_limit <= 0:
            raise UserError(f"the per-document time limit must be positive, not {time_limit}")
        self.time_limit = time_limit
        self.isolate_chars = isolate_chars
        self._process: Any = None
        self._connection: Any = None

    def __call__(self, raw: RawDocument) -> Document | ErrorRecord:
        if len(raw.content) < self.isolate_chars:
            return build_or_error(raw)
        return self._build_isolated(raw)

    def _start(self) -> None:
        method = "forkserver" if sys.platform.startswith("linux") else "spawn"
        context = multiprocessing.get_context(method)
        parent, child = context.Pipe()
        self._process = context.Process(target=_worker_loop, args=(child,), daemon=True,
                                        name="policy-clauses-clean")
        self._process.start()
        child.close()
        self._connection = parent
        if not parent.poll(_WORKER_START_SECONDS) or parent.recv() != _READY:
            self.close()
            raise RuntimeError("the document cleaning process did not start")

    def _build_isolated(self, raw: RawDocument) -> Document | ErrorRecord:
        if self._process is None or not self._process.is_alive():
            self._start()
        started = time.perf_counter()
        try:
            self._connection.send(raw)
            if self._connection.poll(self.time_limit):
                return self._connection.recv()
        except (EOFError, OSError) as exc:
            self.close()
            return _clean_error(raw, f"the cleaning process died ({reason(exc)}); the document "
                                "may need more memory than is available")
        self.close()
        return _clean_error(raw, f"cleaning and segmenting took over {self.time_limit:g}s "
                            f"(stopped after {time.perf_counter() - started:.0f}s): the "
                            "per-document time limit")

    def close(self) -> None:
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=5)
            self._process = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def iter_documents(
    paths: Iterable[str | Path], max_bytes: int = DEFAULT_MAX_BYTES, skip: int = 0, *,
    builder: DocumentBuilder | None = None, on_read: Any = None,
) -> Iterator[Document | ErrorRecord]:
    """Cleaned, segmented documents (or error records) from the inputs, in input order; the
    first ``skip`` inputs are passed over without cleaning (what a resumed run has done).

    ``paths`` may also be a ``resolve_inputs`` list (fixed before the run starts).
    """
    resolved = [item for raw in paths
                for item in ([raw] if isinstance(raw, ErrorRecord) else resolve_inputs([raw]))]
    own_builder = builder is None
    builder = builder or DocumentBuilder()
    try:
        for item in islice(read_resolved(resolved, max_bytes, on_read=on_read), skip, None):
            if isinstance(item, ErrorRecord):
                yield item
                continue
            yield builder(item)
    finally:
        if own_builder:
            builder.close()


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
    dates: list[datetime.date | None] = []
    for document in documents:
        document.scorer = scorer_identity(scorer)
        title = str(document.meta.get("title", ""))
        counted_from = document_date(document.meta)
        for clause in document.clauses:
            clauses.append(clause)
            inputs.append(ClauseInput.from_clause(clause, title))
            dates.append(counted_from)
    if inputs:
        set_annotations(clauses, scorer.predict(inputs), dates)


def reused_from_now(scorer: ClauseScorer) -> Callable[[], int]:
    """How many clauses ``scorer`` will have answered from memory (``repeats``,
    inference.scoring.repeats) since this call; always 0 for a scorer without one."""
    repeats = getattr(scorer, "repeats", None)
    if repeats is None:
        return lambda: 0
    before = repeats.reused
    return lambda: repeats.reused - before


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
                                reason=reason(exc))]
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


# ----------------------------------------------------------------------------- the run


class Interrupt:
    """SIGINT → finish the current chunk, then stop; a second Ctrl-C aborts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> Interrupt:
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


def check_run_options(*, chunk_documents: int = 1, chunk_clauses: int = 1,
                      max_bytes: int = 1) -> None:
    for name, value in (("--chunk-documents", chunk_documents),
                        ("--chunk-clauses", chunk_clauses), ("--max-bytes", max_bytes)):
        if value < 1:
            raise UserError(f"{name} must be at least 1, not {value}")


def output_files(out: str, errors_path: str) -> list[str]:
    """Every file a run writes (inputs must be none of them)."""
    files = [] if out == "-" else [out, str(progress_path(out)), str(lock_path(out))]
    if errors_path != STDERR:
        files.append(errors_path)
    return files


def check_output_paths(out: str, errors_path: str) -> None:
    """Refuse outputs that cannot work: a directory, or errors written over the output."""
    for what, path in (("-o", out), ("--errors", errors_path)):
        if path not in ("-", STDERR) and Path(path).is_dir():
            raise UserError(f"{what} {path} is a directory; give a file path, e.g. "
                            f"{Path(path) / 'out.jsonl'}")
    if out != "-" and errors_path != STDERR and (
            os.path.realpath(out) == os.path.realpath(errors_path)):
        raise UserError(f"--errors {errors_path} is the output file itself; error records "
                        "would be mixed into (and overwrite) the output: choose another path")


class RunCore:
    """One run's output side: lock, checkpoint, writer, error sink, progress and summary.

    Drivers feed it results chunk by chunk (``write`` each, then ``commit``); ``commit`` makes
    the chunk durable and, when the output is resumable, records the checkpoint. A fresh run
    writes its checkpoint before the first record, so a kill at any point can be resumed.
    """

    def __init__(self, *, out: str, fmt: str, errors_path: str, label_names: Sequence[str],
                 job: dict[str, Any], resume: bool, resumable: bool, progress: bool | None,
                 desc: str, total_bytes: int | None = None) -> None:
        self.out = out
        self.errors_path = errors_path
        self.summary = RunSummary()
        self.started = time.perf_counter()
        try:
            self._lock = OutputLock(out).acquire() if out != "-" else None
        except OSError as exc:
            raise UserError(f"cannot write beside {out}: {exc.strerror or exc}") from exc
        try:
            self.checkpoint = start_or_resume(job, out, errors_path, fmt, resume)
        except BaseException:
            self.release()
            raise
        self.already_complete = self.checkpoint is not None and self.checkpoint.complete
        self.skip = self.checkpoint.items if self.checkpoint else 0
        self.summary.resumed_after = self.skip
        self._base = dict(self.checkpoint.totals) if self.checkpoint is not None else {}
        self.marker = (progress_path(out) if resumable and out != "-"
                       and fmt in RESUMABLE_FORMATS else None)
        self.writer: DocumentWriter | None = None
        self.errors: ErrorSink | None = None
        self.progress: Progress | None = None
        self.finished = False
        if self.already_complete:
            return
        append = self.checkpoint is not None
        if self.checkpoint is None:
            self.checkpoint = Checkpoint(job=job)
            if self.marker is not None and self.marker.exists():
                # before the output is truncated: a stale checkpoint must never describe it
                self.marker.unlink()
        try:
            self.writer = open_writer(fmt, out, label_names, append=append)
            self.errors = ErrorSink(errors_path, append=append)
            if self.marker is not None:
                self._save_checkpoint()  # before the first record: see the class doc
        except OSError as exc:
            self.close()
            raise UserError(f"cannot write {exc.filename or out}: {exc.strerror or exc}"
                            ) from exc
        except BaseException:
            self.close()
            raise
        self.progress = Progress(progress, desc=desc, total_bytes=total_bytes)

    def _save_checkpoint(self) -> None:
        assert self.checkpoint is not None and self.marker is not None
        assert self.writer is not None and self.errors is not None
        self.checkpoint.output_bytes = self.writer.tell()
        self.checkpoint.errors_bytes = self.errors.tell()
        self.checkpoint.totals = {key: self._base.get(key, 0) + getattr(self.summary, key)
                                  for key in ("documents", "clauses", "errors")}
        self.checkpoint.save(self.marker)

    def error(self, error: ErrorRecord) -> None:
        assert self.errors is not None
        self.summary.add_error(error)
        self.errors.write(error)

    def write(self, result: Document | dict[str, Any] | ErrorRecord, clauses: int) -> None:
        """One result, in input order: a document, a record (``--clauses``) or an error."""
        assert self.writer is not None
        if isinstance(result, ErrorRecord):
            self.error(result)
            return
        try:
            if isinstance(result, Document):
                self.writer.write_documents([result])
            else:
                self.writer.write_record(result)
        except BrokenPipeError:
            raise  # the reader of the output went away: nothing more can be written anywhere
        except Exception as exc:
            self.error(ErrorRecord(source=str(getattr(result, "source", "?")),
                                   doc_id=getattr(result, "doc_id", None), stage="write",
                                   reason=reason(exc)))
            return
        self.summary.documents += isinstance(result, Document)
        self.summary.clauses += clauses
        if self.progress is not None:
            self.progress.update(int(isinstance(result, Document)), clauses)

    def commit(self, inputs: int) -> None:
        """The chunk of ``inputs`` inputs is written: flush it, then checkpoint it."""
        assert self.writer is not None and self.errors is not None
        self.writer.flush()
        self.errors.flush()
        if self.marker is not None and self.checkpoint is not None:
            self.checkpoint.items += inputs
            self._save_checkpoint()

    def run_chunks(self, chunks: Iterable[list[Any]], process: Any) -> None:
        """The local drivers' loop: process a chunk, write it, commit, check Ctrl-C.

        ``process(chunk)`` yields (document | record dict | ErrorRecord, clause count) in input
        order.
        """
        with Interrupt() as interrupt:
            for chunk in chunks:
                for result, n_clauses in process(chunk):
                    self.write(result, n_clauses)
                self.commit(len(chunk))
                if interrupt.requested:
                    self.summary.interrupted = True
                    log.warning("interrupted: output is complete up to the last chunk; rerun "
                                "with --resume to continue")
                    break
        self.finished = not self.summary.interrupted

    def read_progress(self, size: int) -> None:
        """Input bytes consumed (the progress bar's total is the input size)."""
        if self.progress is not None:
            self.progress.advance_bytes(size)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.close()
        for sink in (self.writer, self.errors):
            if sink is not None:
                sink.close()
        self.summary.seconds = time.perf_counter() - self.started
        if self.marker is not None and self.finished and self.checkpoint is not None:
            self.checkpoint.complete = True
            self.checkpoint.save(self.marker)
        self.release()

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> RunCore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def input_size(resolved: Sequence[Any]) -> int | None:
    """Bytes of input when known (files); None when stdin is among the inputs."""
    total = 0
    for item in resolved:
        if isinstance(item, str):
            return None
        if isinstance(item, Path):
            with contextlib.suppress(OSError):
                total += item.stat().st_size
    return total


__all__ = ["DEFAULT_CHUNK_CLAUSES", "DocumentBuilder", "RunCore", "RunSummary",
           "build_or_error", "check_output_paths", "check_run_options", "chunk_documents_by",
           "chunked", "default_errors_path", "iter_documents", "output_files", "score_chunk",
           "score_inputs"]
