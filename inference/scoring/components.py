"""The interface every clause scorer shares: rules, fine-tuned models, and anything later.

As in spaCy's pipeline components, ``predict`` computes scores without touching its input and
``set_annotations`` writes them onto the records. ``predict``, ``export``, ``render`` and
``evaluate`` all go through ``annotate_clauses``, so they can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from inference.analysis.times import parse_document_date
from inference.records import Clause, Entity
from inference.scoring.enrich import enrich_clauses


@dataclass
class ClauseInput:
    """What a scorer sees of a clause: its text and the context it stands in."""

    text: str
    section: str = ""
    title: str = ""

    @classmethod
    def from_clause(cls, clause: Clause, title: str = "") -> ClauseInput:
        return cls(text=clause.text, section=clause.section, title=title)


@dataclass
class ClauseScores:
    """One clause's label probabilities, decided labels and entities."""

    scores: dict[str, float]
    labels: list[str]
    entities: list[Entity]


class ClauseScorer(Protocol):
    """Scores clauses: label probabilities, labels (after thresholds) and entities.

    ``name`` says what scores (``model:default``, ``rules``), ``version`` which weights and
    thresholds or code (``default@<digest of weights and thresholds>``); ``thresholds`` is the
    decision threshold of each label, what ``labels`` were cut at and what review's
    uncertainty is measured against."""

    name: str
    version: str
    thresholds: dict[str, float]

    def predict(self, inputs: Sequence[ClauseInput]) -> list[ClauseScores]: ...


def scorer_identity(scorer: ClauseScorer) -> dict[str, str]:
    """What an output record stores about the scorer that produced it."""
    return {"name": scorer.name, "version": scorer.version}


def set_annotations(clauses: Sequence[Clause], predictions: Sequence[ClauseScores],
                    document_dates: Sequence[str | None] | str | None = None) -> None:
    for clause, prediction in zip(clauses, predictions, strict=True):
        clause.scores = dict(prediction.scores)
        clause.labels = sorted(prediction.labels)
        clause.entities = list(prediction.entities)
    enrich_clauses(clauses, document_dates)


def annotate_clauses(scorer: ClauseScorer, clauses: Sequence[Clause], title: str = "",
                     document_date: str | None = None) -> None:
    """Score clauses and write the result onto them; ``document_date`` (ISO) resolves relative
    times such as 年底前."""
    inputs = [ClauseInput.from_clause(clause, title) for clause in clauses]
    set_annotations(clauses, scorer.predict(inputs), document_date)


def annotate_record(record: dict[str, Any], prediction: ClauseScores) -> dict[str, Any]:
    """A clause record (``predict --clauses``, ``POST /v1/predict`` with clauses) with its
    ``labels``, ``scores`` and ``entities`` set, enriched as ``set_annotations`` enriches a
    document's clauses (AMOUNT values; ``times`` resolved against the record's own
    ``published``/``written``/``date`` when it carries one, as for a document)."""
    clause = Clause(clause_id=0, start=0, end=len(str(record.get("text", ""))), kind="body",
                    section="", text=str(record.get("text", "")))
    set_annotations([clause], [prediction], parse_document_date(record))
    out = dict(record)
    out["labels"] = clause.labels
    out["scores"] = {k: round(float(v), 4) for k, v in (clause.scores or {}).items()}
    out["entities"] = [e.to_dict() for e in clause.entities or []]
    if clause.times:
        out["times"] = [dict(t) for t in clause.times]
    return out
