"""Gathering concurrent requests into the batches ``predict`` makes, behind a bounded queue.

One worker thread owns the scorer. Each request becomes a job (its documents or clause inputs)
on a bounded queue; the worker takes the first waiting job, then every job already queued up to
``max_batch_clauses`` clauses, and scores all their clauses in one ``scorer.predict`` call, so
the model sorts them by length and pads them together exactly as ``predict`` does with a chunk.
A job that would push the queue past ``max_queue_clauses`` is refused at once
(``QueueFullError``; the app answers 503 with ``Retry-After``) instead of waiting without bound.

One bad item fails alone: scoring goes through ``inference.batch.run.score_inputs``, which
splits a failing call in halves down to the single clause that fails; a document with a failed
clause becomes an error record (stage ``predict``), as in ``score_chunk``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from inference.analysis.times import document_date
from inference.batch.run import score_inputs
from inference.records import Clause, Document, ErrorRecord
from inference.scoring.components import (
    ClauseInput,
    ClauseScorer,
    ClauseScores,
    scorer_identity,
    set_annotations,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCH_CLAUSES = 512
DEFAULT_MAX_QUEUE_CLAUSES = 8192
# Once the worker has a job it keeps gathering while more arrive: it stops when no job came
# for a gap of 2% of the last batch's scoring time (at least DEFAULT_GATHER_SECONDS), or after
# 10% of it in all, or when the batch is full. Clients answered together by one batch send
# their next requests in a burst; waiting for the burst costs little next to the scoring time
# and keeps batches as large as the concurrency allows.
DEFAULT_GATHER_SECONDS = 0.005
GATHER_GAP_SHARE = 0.02
GATHER_TOTAL_SHARE = 0.10
GATHER_MAX_SECONDS = 0.25


class QueueFullError(RuntimeError):
    """The queue holds as many clauses as it may; ``retry_after`` is a hint in seconds."""

    def __init__(self, pending: int, limit: int, retry_after: int) -> None:
        super().__init__(f"the scoring queue is full ({pending} clauses waiting, limit {limit}); "
                         f"retry in {retry_after} s")
        self.retry_after = retry_after


class RequestTooLargeError(ValueError):
    """One request with more clauses than the queue can ever hold."""


@dataclass
class Job:
    """One request's work: documents (scored in place) or bare clause inputs."""

    documents: list[Document] = field(default_factory=list)
    inputs: list[ClauseInput] = field(default_factory=list)
    future: Future = field(default_factory=Future)

    def clause_inputs(self) -> list[ClauseInput]:
        if self.documents:
            return [ClauseInput.from_clause(clause, str(doc.meta.get("title", "")))
                    for doc in self.documents for clause in doc.clauses]
        return list(self.inputs)

    @property
    def size(self) -> int:
        return sum(len(doc.clauses) for doc in self.documents) + len(self.inputs)


def _document_results(documents: Sequence[Document],
                      predictions: Sequence[ClauseScores | BaseException],
                      scorer: ClauseScorer) -> list[Document | ErrorRecord]:
    """Annotate each document as ``predict`` does (scorer identity, the document's date for
    relative times), or turn it into an error record if one of its clauses failed."""
    out: list[Document | ErrorRecord] = []
    position = 0
    for document in documents:
        mine = predictions[position:position + len(document.clauses)]
        position += len(document.clauses)
        failed = next((p for p in mine if isinstance(p, BaseException)), None)
        if failed is not None:
            out.append(ErrorRecord(source=document.source, doc_id=document.doc_id,
                                   stage="predict", reason=f"{type(failed).__name__}: {failed}"))
            continue
        clauses: list[Clause] = list(document.clauses)
        document.scorer = scorer_identity(scorer)
        set_annotations(clauses, mine, document_date(document.meta))  # type: ignore[arg-type]
        out.append(document)
    return out


@dataclass
class BatchStats:
    batches: int = 0
    clauses: int = 0
    jobs: int = 0
    refused: int = 0
    largest_batch: int = 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.__dict__)
        out["mean_batch"] = round(self.clauses / self.batches, 1) if self.batches else 0.0
        return out


class Batcher:
    """The scoring worker and its bounded queue. ``submit_*`` return futures."""

    def __init__(self, scorer: ClauseScorer, *, max_batch_clauses: int = DEFAULT_MAX_BATCH_CLAUSES,
                 max_queue_clauses: int = DEFAULT_MAX_QUEUE_CLAUSES,
                 gather_seconds: float = DEFAULT_GATHER_SECONDS) -> None:
        if max_batch_clauses < 1 or max_queue_clauses < 1:
            raise ValueError("batch and queue limits must be at least 1 clause")
        self.scorer = scorer
        self.max_batch_clauses = max_batch_clauses
        self.max_queue_clauses = max_queue_clauses
        self.gather_seconds = gather_seconds
        self.stats = BatchStats()
        self._queue: deque[Job] = deque()
        self._pending = 0
        self._clauses_per_second = 200.0  # updated from every batch; feeds Retry-After
        self._last_batch_seconds = 0.0
        self._lock = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="policy-clauses-batcher",
                                        daemon=True)
        self._thread.start()

    # -- submitting ------------------------------------------------------------------------

    def submit_documents(self, documents: Sequence[Document]) -> Future:
        """Future of ``list[Document | ErrorRecord]`` in the order given."""
        return self._submit(Job(documents=list(documents)))

    def submit_inputs(self, inputs: Sequence[ClauseInput]) -> Future:
        """Future of ``list[ClauseScores | BaseException]`` in the order given."""
        return self._submit(Job(inputs=list(inputs)))

    def _submit(self, job: Job) -> Future:
        if job.size == 0:
            job.future.set_result([] if job.inputs or not job.documents else
                                  list(job.documents))
            return job.future
        if job.size > self.max_queue_clauses:
            raise RequestTooLargeError(
                f"the request holds {job.size} clauses; this server takes at most "
                f"{self.max_queue_clauses} in one request (split it)")
        with self._lock:
            if self._closed:
                raise RuntimeError("the server is shutting down")
            if self._pending + job.size > self.max_queue_clauses:
                self.stats.refused += 1
                wait = (self._pending + job.size) / max(1.0, self._clauses_per_second)
                raise QueueFullError(self._pending, self.max_queue_clauses,
                                     max(1, round(wait + 0.5)))
            self._queue.append(job)
            self._pending += job.size
            self._lock.notify()
        return job.future

    @property
    def pending_clauses(self) -> int:
        return self._pending

    # -- the worker ------------------------------------------------------------------------

    def _take(self) -> list[Job] | None:
        """The next batch of jobs: the oldest, plus queued ones while they fit."""
        with self._lock:
            while not self._queue and not self._closed:
                self._lock.wait()
            if not self._queue:
                return None
            if self.gather_seconds > 0:
                self._gather()
            jobs = [self._queue.popleft()]
            size = jobs[0].size
            while self._queue and size + self._queue[0].size <= self.max_batch_clauses:
                job = self._queue.popleft()
                jobs.append(job)
                size += job.size
            self._pending -= size
            return jobs

    def _gather(self) -> None:
        """Wait (holding the condition) while jobs keep arriving; see GATHER_GAP_SHARE."""
        gap = max(self.gather_seconds, GATHER_GAP_SHARE * self._last_batch_seconds)
        stop_at = time.monotonic() + min(GATHER_MAX_SECONDS, max(
            self.gather_seconds, GATHER_TOTAL_SHARE * self._last_batch_seconds))
        while self._pending < self.max_batch_clauses and not self._closed:
            remaining = stop_at - time.monotonic()
            if remaining <= 0:
                return
            before = len(self._queue)
            self._lock.wait(min(gap, remaining))
            if len(self._queue) == before:
                return  # nothing came during a whole gap: the burst is over

    def _run(self) -> None:
        while True:
            jobs = self._take()
            if jobs is None:
                return
            live = [job for job in jobs if job.future.set_running_or_notify_cancel()]
            try:
                self._score(live)
            except BaseException as exc:  # never leave a caller waiting
                log.exception("scoring batch failed")
                for job in live:
                    if not job.future.done():
                        job.future.set_exception(exc)

    def _score(self, jobs: list[Job]) -> None:
        inputs: list[ClauseInput] = []
        for job in jobs:
            inputs += job.clause_inputs()
        started = time.perf_counter()
        predictions = score_inputs(self.scorer, inputs) if inputs else []
        elapsed = time.perf_counter() - started
        self._last_batch_seconds = elapsed
        if inputs and elapsed > 0:
            self._clauses_per_second = 0.7 * self._clauses_per_second + 0.3 * (
                len(inputs) / elapsed)
        self.stats.batches += 1
        self.stats.jobs += len(jobs)
        self.stats.clauses += len(inputs)
        self.stats.largest_batch = max(self.stats.largest_batch, len(inputs))
        position = 0
        for job in jobs:
            mine = predictions[position:position + job.size]
            position += job.size
            if job.documents:
                job.future.set_result(_document_results(job.documents, mine, self.scorer))
            else:
                job.future.set_result(list(mine))

    def close(self, timeout: float = 30.0) -> None:
        """Finish the queued jobs, then stop the worker."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self._thread.join(timeout)
