"""Inter-annotator agreement: per-label Cohen's kappa and entity span F1 on shared clauses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inference.schema import default_schema


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
    tp = sum(len(a & b) for a, b in zip(first, second, strict=True))
    n_first = sum(len(a) for a in first)
    n_second = sum(len(b) for b in second)
    precision = tp / n_second if n_second else 1.0
    recall = tp / n_first if n_first else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": round(f1, 4), "first": n_first, "second": n_second, "matched": tp}


def agreement_report(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> dict[str, Any]:
    """Agreement on the clauses both annotated (matched by doc_id and clause_id)."""
    schema = default_schema()
    a_by_key = {(r["doc_id"], r["clause_id"]): r for r in first}
    keys = [(r["doc_id"], r["clause_id"]) for r in second
            if (r["doc_id"], r["clause_id"]) in a_by_key]
    b_by_key = {(r["doc_id"], r["clause_id"]): r for r in second}
    report: dict[str, Any] = {
        "clauses": len(keys),
        "documents": len({k[0] for k in keys}),
        "kappa": {},
        "positives": {},
    }
    for label in schema.label_names:
        a = [int(label in a_by_key[k]["labels"]) for k in keys]
        b = [int(label in b_by_key[k]["labels"]) for k in keys]
        report["kappa"][label] = round(cohen_kappa(a, b), 4)
        report["positives"][label] = {"first": sum(a), "second": sum(b)}
    for etype in schema.entity_names:
        def spans(record: dict[str, Any], etype: str = etype) -> set[tuple]:
            return {(e["start"], e["end"]) for e in record["entities"] if e["type"] == etype}

        report[f"{etype}_span_f1"] = span_f1([spans(a_by_key[k]) for k in keys],
                                             [spans(b_by_key[k]) for k in keys])
    report["disagreements"] = [
        {"doc_id": k[0], "clause_id": k[1], "text": a_by_key[k]["text"],
         "first": a_by_key[k]["labels"], "second": b_by_key[k]["labels"]}
        for k in keys if a_by_key[k]["labels"] != b_by_key[k]["labels"]
    ]
    return report
