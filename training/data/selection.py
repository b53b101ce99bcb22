"""Which documents to annotate next: stratified by corpus and layout, ranked by what the
current model gets wrong most often.

A round reads every corpus document not yet in the gold set (nor in the segmentation
reference), segments it the way ``predict`` does, and describes it by:

- its corpus and layout (``quality.layout``: lines, wrapped, flat), which set the quotas, so
  every source and every layout is present;
- the rule baseline's cues for the labels the model misses most (goal, incentive, principle)
  and its AMOUNT/AGENCY mentions, per clause: documents rich in them teach the most;
- optionally, how unsure the current model is (mean clause margin from
  ``inference.review.uncertainty``) and how often it disagrees with the rules, on the
  shortlist only (scoring every corpus document with the model is the slow part).

The reason a document was chosen is recorded beside it, so the data card can say how the
gold data was drawn.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from inference.records import Document
from inference.scoring.components import ClauseScorer, annotate_clauses
from inference.scoring.rules import RuleScorer
from inference.text.ingest import RawDocument
from inference.text.pipeline import build_document

RARE_LABELS = ("goal", "incentive", "principle")


@dataclass
class Candidate:
    doc_id: str
    corpus: str
    layout: str
    clauses: int
    characters: int
    rule_cues: dict[str, int] = field(default_factory=dict)
    amount_mentions: int = 0
    agency_mentions: int = 0
    model_margin: float | None = None
    model_rule_disagreement: float | None = None
    reason: str = ""

    @property
    def cue_density(self) -> float:
        rare = sum(self.rule_cues.get(label, 0) for label in RARE_LABELS)
        return (rare + 0.5 * self.amount_mentions) / max(1, self.clauses)

    @property
    def amount_density(self) -> float:
        return self.amount_mentions / max(1, self.clauses)

    def density(self, focus: str) -> float:
        """What a round ranks by: ``labels`` (rare-label cues plus money), ``amount`` (money
        mentions per clause) or ``money`` (money mentions in all: subsidy lists and budgets of
        any length, where the per-clause density of a long document hides its many sums)."""
        if focus == "money":
            return float(self.amount_mentions)
        return self.amount_density if focus == "amount" else self.cue_density


def read_corpus(paths: Iterable[Path], exclude: set[str]) -> Iterable[tuple[str, dict[str, Any]]]:
    """(corpus name, record) for every corpus document whose id is not in ``exclude``."""
    for path in sorted(paths):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                record = json.loads(line)
                if str(record.get("id")) not in exclude:
                    yield path.stem, record


def gold_document(corpus: str, record: dict[str, Any]) -> RawDocument:
    """The document as labels/documents.jsonl stores it (id, text, provenance, corpus), so its
    clauses are exactly what ``labels validate`` will segment."""
    meta = {"provenance": record.get("provenance"), "corpus": corpus}
    return RawDocument(doc_id=str(record["id"]), source=corpus, content=str(record["text"]),
                       meta=meta)


def describe(corpus: str, record: dict[str, Any], rules: ClauseScorer) -> tuple[Candidate,
                                                                             Document]:
    document = build_document(gold_document(corpus, record))
    annotate_clauses(rules, document.clauses, str(document.meta.get("title") or ""))
    cues: Counter[str] = Counter()
    amounts = agencies = 0
    for clause in document.clauses:
        cues.update(clause.labels or [])
        for entity in clause.entities or []:
            amounts += entity.type == "AMOUNT"
            agencies += entity.type == "AGENCY"
    candidate = Candidate(doc_id=document.doc_id, corpus=corpus,
                          layout=str(document.quality.get("layout", "lines")),
                          clauses=len(document.clauses), characters=len(document.text),
                          rule_cues=dict(cues), amount_mentions=amounts,
                          agency_mentions=agencies)
    return candidate, document


def choose(candidates: Sequence[Candidate], quotas: dict[str, int], *, min_clauses: int,
           max_clauses: int, layout_share: float = 0.3, focus: str = "labels"
           ) -> list[Candidate]:
    """Per corpus, the ``quota`` candidates of the right size with the densest cues, with at
    least ``layout_share`` of each corpus's picks from its non-``lines`` layouts when it has
    them (PDF-wrapped and flat text are where the models meet unfamiliar input)."""
    by_corpus: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        if min_clauses <= candidate.clauses <= max_clauses:
            by_corpus[candidate.corpus].append(candidate)
    chosen: list[Candidate] = []
    for corpus, quota in quotas.items():
        pool = sorted(by_corpus.get(corpus, []), key=lambda c: (-c.density(focus), c.doc_id))
        other_layout = [c for c in pool if c.layout != "lines"]
        want_other = min(len(other_layout), round(quota * layout_share))
        picks = other_layout[:want_other]
        for candidate in picks:
            candidate.reason = (f"{corpus}, layout {candidate.layout} (layout coverage), "
                                f"{focus} density {candidate.density(focus):.2f}")
        for candidate in pool:
            if len(picks) >= quota:
                break
            if candidate not in picks:
                candidate.reason = (f"{corpus}, layout {candidate.layout}, {focus} density "
                                    f"{candidate.density(focus):.2f} (rank in corpus "
                                    f"{pool.index(candidate) + 1} of {len(pool)})")
                picks.append(candidate)
        chosen += picks
    return chosen


def add_model_uncertainty(candidate: Candidate, document: Document, scorer: ClauseScorer) -> None:
    """Mean clause margin of the model and its label disagreement with the rules (share of
    clauses whose label sets differ); scores ``document`` in place."""
    from inference.review.uncertainty import clause_margin

    rule_labels = [tuple(c.labels or []) for c in document.clauses]
    annotate_clauses(scorer, document.clauses, str(document.meta.get("title") or ""))
    if not document.clauses:
        return
    margins = [clause_margin(c, scorer.thresholds) for c in document.clauses]
    candidate.model_margin = round(sum(margins) / len(margins), 4)
    differ = sum(tuple(c.labels or []) != r for c, r in zip(document.clauses, rule_labels,
                                                           strict=True))
    candidate.model_rule_disagreement = round(differ / len(document.clauses), 4)


def run_round(corpus_paths: Sequence[Path], exclude: set[str], quotas: dict[str, int], *,
              min_clauses: int = 12, max_clauses: int = 160, focus: str = "labels",
              scorer: ClauseScorer | None = None) -> tuple[list[Candidate], dict[str, Document]]:
    """Describe every candidate, choose per quota, and score the chosen with ``scorer``."""
    rules = RuleScorer()
    candidates: list[Candidate] = []
    documents: dict[str, Document] = {}
    for corpus, record in read_corpus(corpus_paths, exclude):
        if corpus not in quotas:
            continue
        candidate, document = describe(corpus, record, rules)
        candidates.append(candidate)
        documents[candidate.doc_id] = document
    chosen = choose(candidates, quotas, min_clauses=min_clauses, max_clauses=max_clauses,
                    focus=focus)
    kept = {c.doc_id: documents[c.doc_id] for c in chosen}
    if scorer is not None:
        for candidate in chosen:
            add_model_uncertainty(candidate, kept[candidate.doc_id], scorer)
    return chosen, kept


def candidate_row(candidate: Candidate) -> dict[str, Any]:
    return asdict(candidate)
