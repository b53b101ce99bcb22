"""Evaluation: clause-label P/R/F1 and entity F1 of any clause scorer on a gold split, beside
the rule baseline.

Every scorer is run through ``inference.scoring.components.annotate_clauses``, exactly as
``policy-clauses predict`` runs it, so what is measured is what users get. The scores
themselves, and their conventions (empty sets, character-level strict entity matching), come
from ``training.eval.metrics``.

Besides the whole split, every score is also given per corpus (the ``corpus`` field of
labels/documents.jsonl; a document without one is ``seeds`` when its id is a seed's, else
``unknown``) and per layout (``quality.layout`` as the pipeline detects it from the document's
text: lines, wrapped, flat; ``unknown`` when the document is not in the documents file), so a
weak source or layout shows. A model's probabilities also get reliability bins and ECE per
label (``training.eval.calibration``); the rule baseline's fixed scores do not.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from inference.errors import UserError
from inference.gold import GoldClause
from inference.records import Clause
from inference.schema import default_schema
from inference.scoring.components import ClauseScorer, annotate_clauses
from training.data import gold as gold_data
from training.eval.metrics import (
    Metrics,
    SliceMetrics,
    cooccurrence,
    entity_metrics,
    label_metrics,
)
from training.eval.results import EvaluationResult, ScorerResult

log = logging.getLogger(__name__)

RULES = "rules"
UNKNOWN = "unknown"
SEEDS = "seeds"
SLICE_DIMENSIONS = ("corpus", "layout")
RULES_CALIBRATION_NOTE = ("the rule baseline's scores are fixed labelling-function outputs "
                          "(0.9 fired, 0.1 silent), not probabilities: no calibration")


@dataclass(frozen=True)
class DocumentFacts:
    """What evaluation needs of a gold document besides its clauses: the title ``predict``
    sees, its corpus and the layout the pipeline detects."""

    title: str
    corpus: str
    layout: str


def corpus_of(doc_id: str, corpus: object = None) -> str:
    """The corpus name as given, else ``seeds`` for a seed document, else ``unknown``."""
    if isinstance(corpus, str) and corpus.strip():
        return corpus.strip()
    return SEEDS if doc_id.startswith("seed-") else UNKNOWN


def document_facts(documents_path: Path | None, doc_ids: set[str]) -> dict[str, DocumentFacts]:
    """Title, corpus and layout of the documents in ``doc_ids`` from the documents file
    (labels/documents.jsonl), each built by ``build_document`` exactly as ``predict`` builds
    it; a document not found there is absent. A bad line is logged with its file and line."""
    if documents_path is None or not Path(documents_path).is_file() or not doc_ids:
        return {}
    from inference.records import ErrorRecord
    from inference.text.ingest import iter_jsonl_lines
    from inference.text.pipeline import EmptyDocumentError, build_document

    facts: dict[str, DocumentFacts] = {}
    with Path(documents_path).open(encoding="utf-8") as handle:
        for raw in iter_jsonl_lines(handle, str(documents_path)):
            if isinstance(raw, ErrorRecord):
                log.warning("%s: %s (skipped)", raw.source, raw.reason)
                continue
            if raw.doc_id not in doc_ids:
                continue
            corpus = corpus_of(raw.doc_id, raw.meta.get("corpus"))
            try:
                document = build_document(raw)
            except EmptyDocumentError as exc:
                log.warning("%s: document %s: %s", documents_path, raw.doc_id, exc)
                facts[raw.doc_id] = DocumentFacts("", corpus, UNKNOWN)
                continue
            facts[raw.doc_id] = DocumentFacts(
                title=str(document.meta.get("title", "") or ""), corpus=corpus,
                layout=str(document.quality.get("layout") or UNKNOWN))
    return facts


def slice_groups(doc_ids: set[str],
                 facts: Mapping[str, DocumentFacts]) -> dict[str, dict[str, str]]:
    """Per slice dimension (corpus, layout), each document's slice name."""
    groups: dict[str, dict[str, str]] = {dimension: {} for dimension in SLICE_DIMENSIONS}
    for doc_id in doc_ids:
        known = facts.get(doc_id)
        groups["corpus"][doc_id] = known.corpus if known else corpus_of(doc_id)
        groups["layout"][doc_id] = known.layout if known else UNKNOWN
    return groups


def slice_metrics(records: Sequence[GoldClause], clauses: Sequence[Clause],
                  groups: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, SliceMetrics]]:
    """Label and entity scores per slice of each dimension (slices sorted by name)."""
    schema = default_schema()
    out: dict[str, dict[str, SliceMetrics]] = {}
    for dimension, of_doc in groups.items():
        members: dict[str, list[int]] = defaultdict(list)
        for i, record in enumerate(records):
            members[of_doc.get(record.doc_id, UNKNOWN)].append(i)
        out[dimension] = {}
        for name in sorted(members):
            indices = members[name]
            gold = [list(records[i].labels) for i in indices]
            out[dimension][name] = SliceMetrics(
                documents=len({records[i].doc_id for i in indices}),
                clauses=len(indices),
                positives=sum(len(set(g)) for g in gold),
                labels=label_metrics(gold, [list(clauses[i].labels or []) for i in indices],
                                     schema.label_names),
                entities=entity_metrics([records[i].text for i in indices],
                                        [records[i].entities for i in indices],
                                        [list(clauses[i].entities or []) for i in indices],
                                        schema.entity_names))
    return out


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
                    titles: dict[str, str] | None = None, *,
                    groups: Mapping[str, Mapping[str, str]] | None = None,
                    calibration: bool = False,
                    calibration_note: str = "") -> ScorerResult:
    """Scores of ``scorer`` on ``records``: overall, per slice of ``groups`` (dimension →
    doc_id → slice name) and, with ``calibration``, reliability per label of its scores
    (otherwise ``calibration_note`` says why not)."""
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
    reliability = None
    if calibration:
        from training.eval.calibration import calibrate

        reliability = calibrate([c.scores for c in clauses], gold_labels, schema.label_names)
    return ScorerResult(name=scorer.name, metrics=metrics, predicted_labels=predicted,
                        slices=slice_metrics(records, clauses, groups or {}),
                        calibration=reliability,
                        calibration_note="" if calibration else calibration_note)


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

    for path in (gold_path, splits_path):
        if not Path(path).is_file():
            raise UserError(f"{path} not found (give --gold/--splits, or build the gold "
                                    "data with 'policy-clauses labels build' and 'labels splits')")
    records = gold_data.read_gold(Path(gold_path))
    subset = gold_data.records_for_split(records, split, gold_data.load_splits(Path(splits_path)))
    if not subset:
        raise ValueError(f"split {split!r} has no clauses in {gold_path}")
    doc_ids = {r.doc_id for r in subset}
    facts = document_facts(documents_path, doc_ids)
    titles = {doc_id: known.title for doc_id, known in facts.items() if known.title}
    groups = slice_groups(doc_ids, facts)
    is_rules = str(model) == RULES
    scorer = RuleScorer() if is_rules else load_scorer(Path(model), fast=fast)
    main = evaluate_scorer(scorer, subset, titles, groups=groups, calibration=not is_rules,
                           calibration_note=RULES_CALIBRATION_NOTE)
    base = None
    if baseline and not is_rules:
        base = evaluate_scorer(RuleScorer(), subset, titles, groups=groups,
                               calibration_note=RULES_CALIBRATION_NOTE)
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
