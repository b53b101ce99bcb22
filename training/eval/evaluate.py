"""Evaluation: clause-label P/R/F1 and entity F1 of any clause scorer on a gold split, beside
the rule baseline.

Every scorer is run through ``inference.scoring.components.annotate_clauses``, exactly as
``policy-clauses predict`` runs it, so what is measured is what users get. The scores
themselves, and their conventions (empty sets, character-level strict entity matching), come
from ``training.eval.metrics``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from inference.errors import UserError
from inference.gold import GoldClause
from inference.records import Clause
from inference.schema import default_schema
from inference.scoring.components import ClauseScorer, annotate_clauses
from training.data import gold as gold_data
from training.eval.metrics import Metrics, cooccurrence, entity_metrics, label_metrics
from training.eval.results import EvaluationResult, ScorerResult

log = logging.getLogger(__name__)

RULES = "rules"


def score_records(scorer: ClauseScorer, records: Sequence[GoldClause],
                  titles: dict[str, str]) -> list[Clause]:
    """Predictions for gold records, through ``annotate_clauses`` document by document (the
    same call ``predict`` makes, with the document's title)."""
    clauses = [Clause.from_dict({k: v for k, v in r.to_dict().items()
                                 if k not in ("labels", "entities")}) for r in records]
    by_doc: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        by_doc[record.doc_id].append(i)
    for doc_id, indices in by_doc.items():
        title = str(records[indices[0]].title or titles.get(doc_id, ""))
        annotate_clauses(scorer, [clauses[i] for i in indices], title)
    return clauses


def evaluate_scorer(scorer: ClauseScorer, records: Sequence[GoldClause],
                    titles: dict[str, str] | None = None) -> ScorerResult:
    schema = default_schema()
    clauses = score_records(scorer, records, titles or {})
    gold_labels = [list(r.labels) for r in records]
    predicted = [list(c.labels or []) for c in clauses]
    metrics = Metrics(
        labels=label_metrics(gold_labels, predicted, schema.label_names),
        entities=entity_metrics([r.text for r in records], [r.entities for r in records],
                                [list(c.entities or []) for c in clauses], schema.entity_names),
        clauses=len(records),
        predicted_cooccurrence=cooccurrence(predicted, schema.label_names))
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
    from training.fit.data import document_titles

    for path in (gold_path, splits_path):
        if not Path(path).is_file():
            raise UserError(f"{path} not found (give --gold/--splits, or build the gold "
                                    "data with 'policy-clauses labels build' and 'labels splits')")
    records = gold_data.read_gold(Path(gold_path))
    subset = gold_data.records_for_split(records, split, gold_data.load_splits(Path(splits_path)))
    if not subset:
        raise ValueError(f"split {split!r} has no clauses in {gold_path}")
    titles = document_titles(documents_path, {r.doc_id for r in subset})
    is_rules = str(model) == RULES
    scorer = RuleScorer() if is_rules else load_scorer(Path(model), fast=fast)
    main = evaluate_scorer(scorer, subset, titles)
    base = None
    if baseline and not is_rules:
        base = evaluate_scorer(RuleScorer(), subset, titles)
    schema = default_schema()
    gold_labels = [list(r.labels) for r in subset]
    info = {
        "gold_path": str(gold_path),
        "gold_sha256": gold_data.file_sha256(Path(gold_path)),
        "splits_sha256": gold_data.file_sha256(Path(splits_path)),
        "clauses": len(subset),
        "documents": len({r.doc_id for r in subset}),
        "gold_label_counts": {name: sum(name in g for g in gold_labels)
                              for name in schema.label_names},
        "gold_entity_counts": {name: sum(e.type == name for r in subset for e in r.entities)
                               for name in schema.entity_names},
        "gold_cooccurrence": cooccurrence(gold_labels, schema.label_names),
    }
    result = EvaluationResult(split=split, model=main, baseline=base, data=info)
    if report_dir is not None:
        from training.eval.report import write_report

        result.report_files = write_report(result, Path(report_dir))
    return result
