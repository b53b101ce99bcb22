"""Weak labels: the rule baseline (or a model) run over any corpus, written as clause records
in the gold format with ``"weak": true`` so training can mix them in on purpose."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from inference.batch.run import JsonlSink, RunSummary, iter_documents
from inference.gold import GoldClause
from inference.records import Document
from inference.scoring.components import annotate_clauses
from inference.scoring.models import load_scorer


def weak_label(paths: Iterable[str | Path], out: str, *, model: str | None = None,
               rules: bool = False) -> str:
    scorer = load_scorer(model, rules=rules or model is None)
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
                record = GoldClause(
                    doc_id=item.doc_id, clause_id=clause.clause_id, kind=clause.kind,
                    section=clause.section, text=clause.text,
                    labels=sorted(clause.labels or []), entities=list(clause.entities or []),
                    weak=True, labeler=scorer.name, source=item.source)
                sink.write(record.to_dict())
    finally:
        sink.close()
    return summary.line()
