"""One record type end to end: Document → Clause → Entity, with character offsets.

Gold data, weak data and predictions are the same types; ``to_dict``/``from_dict`` give the
JSON shapes of the CLI contract (README, "Output records").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Entity:
    """A span of a clause's text; ``start``/``end`` are end-exclusive offsets into it."""

    start: int
    end: int
    type: str
    text: str
    score: float | None = None
    # AMOUNT values (inference.analysis.money), set by the enrichment step; unset → omitted.
    yuan: list[float] | None = None
    per: str | None = None
    currency: str | None = None
    reason: str | None = None
    approx: bool = False
    amount: list[float] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "start": self.start,
            "end": self.end,
            "type": self.type,
            "text": self.text,
        }
        if self.score is not None:
            out["score"] = round(float(self.score), 4)
        if self.yuan is not None or self.reason is not None:
            out["yuan"] = _numbers(self.yuan)
        if self.amount is not None and self.currency not in (None, "CNY"):
            out["amount"] = _numbers(self.amount)
        for name in ("per", "currency", "reason"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.approx:
            out["approx"] = True
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entity:
        return cls(
            start=int(data["start"]),
            end=int(data["end"]),
            type=str(data["type"]),
            text=str(data["text"]),
            score=data.get("score"),
            yuan=list(data["yuan"]) if data.get("yuan") is not None else None,
            per=data.get("per"),
            currency=data.get("currency"),
            reason=data.get("reason"),
            approx=bool(data.get("approx", False)),
            amount=list(data["amount"]) if data.get("amount") is not None else None,
        )


def _numbers(values: list[float] | None) -> list[float | int] | None:
    """Whole numbers as ints (135000000, not 135000000.0)."""
    if values is None:
        return None
    return [int(v) if float(v).is_integer() else v for v in values]


# Between the headings of a clause's ``section`` path, outermost first.
SECTION_SEPARATOR = " > "


@dataclass
class Clause:
    """A clause: ``start``/``end`` are offsets into its document's cleaned text; ``section``
    is the path of headings above it, joined by ``SECTION_SEPARATOR``."""

    clause_id: int
    text: str
    start: int = 0
    end: int = 0
    kind: str = "body"
    section: str = ""
    labels: list[str] | None = None
    scores: dict[str, float] | None = None
    entities: list[Entity] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Time expressions (inference.analysis.times), set by the enrichment step; None → omitted.
    times: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "clause_id": self.clause_id,
            "start": self.start,
            "end": self.end,
            "kind": self.kind,
            "section": self.section,
            "text": self.text,
        }
        if self.labels is not None:
            out["labels"] = sorted(self.labels)
        if self.scores is not None:
            out["scores"] = {k: round(float(v), 4) for k, v in self.scores.items()}
        if self.entities is not None:
            out["entities"] = [e.to_dict() for e in self.entities]
        if self.times:
            out["times"] = [dict(t) for t in self.times]
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Clause:
        known = {"clause_id", "start", "end", "kind", "section", "text", "labels", "scores",
                 "entities", "times"}
        entities = data.get("entities")
        return cls(
            clause_id=int(data.get("clause_id", 0)),
            text=str(data["text"]),
            start=int(data.get("start", 0)),
            end=int(data.get("end", len(data["text"]))),
            kind=str(data.get("kind", "body")),
            section=str(data.get("section", "") or ""),
            labels=list(data["labels"]) if data.get("labels") is not None else None,
            scores=dict(data["scores"]) if data.get("scores") is not None else None,
            entities=[Entity.from_dict(e) for e in entities] if entities is not None else None,
            extra={k: v for k, v in data.items() if k not in known},
            times=list(data["times"]) if data.get("times") is not None else None,
        )


@dataclass
class Document:
    """A cleaned document and its clauses. ``text`` is the cleaned, simplified text."""

    doc_id: str
    source: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)
    clauses: list[Clause] = field(default_factory=list)
    # who scored the clauses ({"name", "version"}, components.scorer_identity); None: unscored
    scorer: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "doc_id": self.doc_id,
            "source": self.source,
            "meta": self.meta,
            "quality": self.quality,
        }
        if self.scorer is not None:
            out["scorer"] = dict(self.scorer)
        out["text"] = self.text
        out["clauses"] = [c.to_dict() for c in self.clauses]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        return cls(
            doc_id=str(data["doc_id"]),
            source=str(data.get("source", "")),
            text=str(data.get("text", "")),
            meta=dict(data.get("meta", {})),
            quality=dict(data.get("quality", {})),
            clauses=[Clause.from_dict(c) for c in data.get("clauses", [])],
            scorer=dict(data["scorer"]) if data.get("scorer") is not None else None,
        )


@dataclass
class ErrorRecord:
    """An input that could not be processed, and why. Written to the errors file."""

    source: str
    stage: str
    reason: str
    doc_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "doc_id": self.doc_id, "stage": self.stage,
                "error": self.reason}
