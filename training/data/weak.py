"""Weak labels: the rule baseline (or a model) run over any corpus, written as clause records
in the gold format with ``"weak": true`` so training can mix them in on purpose."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from inference.batch.run import JsonlSink, RunSummary, iter_documents
from inference.gold import GoldClause
from inference.records import Document
from inference.scoring.components import annotate_clauses
from inference.scoring.models import load_scorer


def weak_label(paths: Iterable[str | Path], out: str, *, model: str | None = None,
               rules: bool = False, fast: str = "none") -> str:
    """Label ``paths`` and write one weak record per clause; returns the run's summary line.
    ``fast`` defaults to float32: a teacher's scores should be its own, not a faster
    approximation, unless the caller chooses otherwise."""
    started = time.perf_counter()
    scorer = load_scorer(model, rules=rules or model is None, fast=fast)
    summary = RunSummary()
    sink = JsonlSink(out)
    try:
        for item in iter_documents(paths):
            if not isinstance(item, Document):
                summary.add_error(item)
                continue
            annotate_clauses(scorer, item.clauses, str(item.meta.get("title", "")))
            summary.documents += 1
            for clause in item.clauses:
                summary.clauses += 1
                # A model's probabilities travel with its decisions: training can then use
                # them as soft targets (distillation) instead of the thresholded labels.
                extra = ({"scores": {k: round(v, 4) for k, v in clause.scores.items()}}
                         if clause.scores and model is not None else {})
                record = GoldClause(
                    doc_id=item.doc_id, clause_id=clause.clause_id, kind=clause.kind,
                    section=clause.section, text=clause.text,
                    labels=sorted(clause.labels or []), entities=list(clause.entities or []),
                    weak=True, labeler=scorer.name, source=item.source,
                    title=str(item.meta.get("title", "") or "") or None, extra=extra)
                sink.write(record.to_dict())
    finally:
        sink.close()
    summary.seconds = time.perf_counter() - started
    return summary.line()
