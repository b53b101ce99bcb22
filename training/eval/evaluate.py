"""Evaluation: clause-label P/R/F1 and entity F1 of any clause scorer on a gold split, beside
the rule baseline.

Every scorer is run through ``inference.scoring.components.annotate_clauses``, exactly as
``policy-clauses predict`` runs it, so what is measured is what users get. Entity scores are
seqeval's strict IOB2 F1 over *character-level* tag sequences (one tag per character of the
clause), so a span counts only when its type and both character boundaries match the gold.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inference.records import Clause, Entity
from inference.schema import default_schema
from inference.scoring.components import ClauseScorer, annotate_clauses
from training.data import gold as gold_data
from training.eval.results import EvaluationResult, ScorerResult

log = logging.getLogger(__name__)

RULES = "rules"


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def label_metrics(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                  label_names: Sequence[str]) -> dict[str, Any]:
    """Per-label P/R/F1 with confusion counts, micro and macro F1, exact-set accuracy."""
    per_label: dict[str, dict[str, Any]] = {}
    totals = {"tp": 0, "fp": 0, "fn": 0}
    for label in label_names:
        tp = fp = fn = tn = 0
        for g, p in zip(gold, predicted, strict=True):
            in_g, in_p = label in g, label in p
            tp += in_g and in_p
            fp += in_p and not in_g
            fn += in_g and not in_p
            tn += not in_g and not in_p
        per_label[label] = {**prf(tp, fp, fn), "support": tp + fn, "tp": tp, "fp": fp,
                            "fn": fn, "tn": tn}
        totals["tp"] += tp
        totals["fp"] += fp
        totals["fn"] += fn
    micro = prf(totals["tp"], totals["fp"], totals["fn"])
    macro = sum(m["f1"] for m in per_label.values()) / max(len(per_label), 1)
    exact = sum(set(g) == set(p) for g, p in zip(gold, predicted, strict=True))
    return {
        "labels": per_label,
        "micro_precision": micro["precision"],
        "micro_recall": micro["recall"],
        "micro_f1": micro["f1"],
        "macro_f1": round(macro, 4),
        "exact_match": round(exact / len(gold), 4) if gold else 0.0,
    }


def char_tags(length: int, entities: Sequence[Entity]) -> list[str]:
    """IOB2 tags, one per character; a later overlapping span does not overwrite an earlier."""
    tags = ["O"] * length
    for entity in sorted(entities, key=lambda e: (e.start, e.end)):
        start, end = max(entity.start, 0), min(entity.end, length)
        if start >= end or tags[start] != "O":
            continue
        tags[start] = f"B-{entity.type}"
        for i in range(start + 1, end):
            if tags[i] != "O":
                break
            tags[i] = f"I-{entity.type}"
    return tags


def entity_metrics(texts: Sequence[str], gold: Sequence[Sequence[Entity]],
                   predicted: Sequence[Sequence[Entity]],
                   entity_names: Sequence[str]) -> dict[str, Any]:
    """seqeval strict-mode IOB2 P/R/F1 over character-level tag sequences, per type and
    micro-averaged."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    y_true = [char_tags(len(t), g) for t, g in zip(texts, gold, strict=True)]
    y_pred = [char_tags(len(t), p) for t, p in zip(texts, predicted, strict=True)]
    report = classification_report(y_true, y_pred, mode="strict", scheme=IOB2,
                                   output_dict=True, zero_division=0) if texts else {}
    out: dict[str, Any] = {}
    for name in entity_names:
        row = report.get(name, {})
        out[name] = {"precision": round(float(row.get("precision", 0.0)), 4),
                     "recall": round(float(row.get("recall", 0.0)), 4),
                     "f1": round(float(row.get("f1-score", 0.0)), 4),
                     "support": int(row.get("support", 0)),
                     "predicted": sum(e.type == name for p in predicted for e in p)}
    micro = report.get("micro avg", {})
    out["micro"] = {"precision": round(float(micro.get("precision", 0.0)), 4),
                    "recall": round(float(micro.get("recall", 0.0)), 4),
                    "f1": round(float(micro.get("f1-score", 0.0)), 4),
                    "support": int(micro.get("support", 0))}
    return out


def cooccurrence(label_sets: Sequence[Sequence[str]],
                 label_names: Sequence[str]) -> list[list[int]]:
    """Clauses carrying both label i and label j (the diagonal: clauses carrying label i)."""
    index = {name: i for i, name in enumerate(label_names)}
    matrix = [[0] * len(label_names) for _ in label_names]
    for labels in label_sets:
        present = sorted({index[name] for name in labels if name in index})
        for i in present:
            for j in present:
                matrix[i][j] += 1
    return matrix


def score_records(scorer: ClauseScorer, records: Sequence[dict[str, Any]],
                  titles: dict[str, str]) -> list[Clause]:
    """Predictions for gold records, through ``annotate_clauses`` document by document (the
    same call ``predict`` makes, with the document's title)."""
    clauses = [Clause.from_dict({k: v for k, v in r.items() if k not in ("labels", "entities")})
               for r in records]
    by_doc: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        by_doc[str(record.get("doc_id", ""))].append(i)
    for doc_id, indices in by_doc.items():
        title = str(records[indices[0]].get("title") or titles.get(doc_id, ""))
        annotate_clauses(scorer, [clauses[i] for i in indices], title)
    return clauses


def evaluate_scorer(scorer: ClauseScorer, records: Sequence[dict[str, Any]],
                    titles: dict[str, str] | None = None) -> ScorerResult:
    schema = default_schema()
    clauses = score_records(scorer, records, titles or {})
    gold_labels = [list(r["labels"]) for r in records]
    predicted = [list(c.labels or []) for c in clauses]
    metrics = label_metrics(gold_labels, predicted, schema.label_names)
    metrics["entities"] = entity_metrics(
        [r["text"] for r in records], [gold_data.entities_of(r) for r in records],
        [list(c.entities or []) for c in clauses], schema.entity_names)
    metrics["entity_micro_f1"] = metrics["entities"]["micro"]["f1"]
    metrics["clauses"] = len(records)
    metrics["predicted_cooccurrence"] = cooccurrence(predicted, schema.label_names)
    return ScorerResult(name=scorer.name, metrics=metrics, predicted_labels=predicted)


def evaluate(model: str | Path, split: str, *, gold_path: Path = gold_data.GOLD_PATH,
             splits_path: Path = gold_data.SPLITS_PATH,
             documents_path: Path | None = gold_data.DOCUMENTS_PATH,
             report_dir: Path | None = None, baseline: bool = True,
             fast: str = "none") -> EvaluationResult:
    """Score ``model`` (a model folder, or ``"rules"``) on a split of the gold data, with the
    rule baseline beside it; write metrics.json, report.md and plots to ``report_dir``.
    ``fast`` is ``predict --fast``: the quality of a fast path is measured the same way."""
    from inference.scoring.models import load_scorer
    from inference.scoring.rules import RuleScorer
    from training.fit.loop import document_titles

    for path in (gold_path, splits_path):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path} not found (give --gold/--splits, or build the gold "
                                    "data with 'policy-clauses labels build' and 'labels splits')")
    records = gold_data.read_jsonl(Path(gold_path))
    subset = gold_data.records_for_split(records, split, gold_data.load_splits(Path(splits_path)))
    if not subset:
        raise ValueError(f"split {split!r} has no clauses in {gold_path}")
    titles = document_titles(documents_path, {r["doc_id"] for r in subset})
    is_rules = str(model) == RULES
    scorer = RuleScorer() if is_rules else load_scorer(Path(model), fast=fast)
    main = evaluate_scorer(scorer, subset, titles)
    base = None
    if baseline and not is_rules:
        base = evaluate_scorer(RuleScorer(), subset, titles)
    schema = default_schema()
    gold_labels = [list(r["labels"]) for r in subset]
    info = {
        "gold_path": str(gold_path),
        "gold_sha256": gold_data.file_sha256(Path(gold_path)),
        "splits_sha256": gold_data.file_sha256(Path(splits_path)),
        "clauses": len(subset),
        "documents": len({r["doc_id"] for r in subset}),
        "gold_label_counts": {name: sum(name in g for g in gold_labels)
                              for name in schema.label_names},
        "gold_entity_counts": {name: sum(e["type"] == name for r in subset
                                         for e in r["entities"])
                               for name in schema.entity_names},
        "gold_cooccurrence": cooccurrence(gold_labels, schema.label_names),
    }
    result = EvaluationResult(split=split, model=main, baseline=base, data=info)
    if report_dir is not None:
        from training.eval.report import write_report

        result.report_files = write_report(result, Path(report_dir))
    return result
