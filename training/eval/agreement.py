"""Inter-annotator agreement: per-label Cohen's kappa and entity span F1 on shared clauses.

Span F1 uses ``training.eval.metrics.prf`` and its empty-set convention (0.0 when neither
annotation has a span of the type), the same as ``evaluate``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inference.gold import GoldClause
from inference.schema import default_schema
from training.eval.metrics import prf


def cohen_kappa(a: Sequence[int], b: Sequence[int]) -> float:
    """Cohen's kappa of two binary codings (1.0 when both are constant and equal)."""
    n = len(a)
    if n == 0:
        return float("nan")
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    if expected == 1.0:
        return 1.0
    return (observed - expected) / (1 - expected)


def span_f1(first: Sequence[set[tuple]], second: Sequence[set[tuple]]) -> dict[str, float]:
    """F1 of the second annotation's spans against the first's (the measure is symmetric)."""
    tp = sum(len(a & b) for a, b in zip(first, second, strict=True))
    n_first = sum(len(a) for a in first)
    n_second = sum(len(b) for b in second)
    scores = prf(tp, n_second - tp, n_first - tp)
    return {"f1": scores.f1, "first": n_first, "second": n_second, "matched": tp}


def agreement_report(first: Sequence[GoldClause], second: Sequence[GoldClause], *,
                     entities: bool = True) -> dict[str, Any]:
    """Agreement on the clauses both annotated (matched by doc_id and clause_id).

    ``label_micro_f1`` pools the five labels as ``evaluate`` does, so it reads against the
    model's micro-F1. ``entities=False`` is for a second annotation of labels only: its empty
    entity lists would otherwise read as disagreement on every span."""
    schema = default_schema()
    a_by_key = {r.key: r for r in first}
    keys = [r.key for r in second if r.key in a_by_key]
    b_by_key = {r.key: r for r in second}
    report: dict[str, Any] = {
        "clauses": len(keys),
        "documents": len({k[0] for k in keys}),
        "kappa": {},
        "positives": {},
    }
    matched = n_first = n_second = 0
    for label in schema.label_names:
        a = [int(label in a_by_key[k].labels) for k in keys]
        b = [int(label in b_by_key[k].labels) for k in keys]
        report["kappa"][label] = round(cohen_kappa(a, b), 4)
        report["positives"][label] = {"first": sum(a), "second": sum(b)}
        matched += sum(x & y for x, y in zip(a, b, strict=True))
        n_first, n_second = n_first + sum(a), n_second + sum(b)
    report["label_micro_f1"] = prf(matched, n_second - matched, n_first - matched).f1
    for etype in schema.entity_names if entities else ():
        def spans(record: GoldClause, etype: str = etype) -> set[tuple]:
            return {(e.start, e.end) for e in record.entities if e.type == etype}

        report[f"{etype}_span_f1"] = span_f1([spans(a_by_key[k]) for k in keys],
                                             [spans(b_by_key[k]) for k in keys])
    report["disagreements"] = [
        {"doc_id": k[0], "clause_id": k[1], "text": a_by_key[k].text,
         "first": a_by_key[k].labels, "second": b_by_key[k].labels}
        for k in keys if a_by_key[k].labels != b_by_key[k].labels
    ]
    return report
