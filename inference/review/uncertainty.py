"""How sure the scorer was about a clause: the one place review measures it.

A clause's decisions are one per label score (the label was given or not, against its
threshold) and one per entity the tagger kept (against ``ENTITY_THRESHOLD``).
``clause_decisions`` lists them; both numbers the review surfaces show come from that list:

* ``clause_margin`` — the smallest distance to changing a decision (``|p - threshold|``), what
  ``--select uncertain N`` ranks by and what tasks carry as ``uncertainty_margin``;
* ``clause_confidence`` — the least confident decision on a 0..1 scale (0.5 at the threshold,
  1 at the far end), what a Label Studio prediction carries as its ``score``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from inference.records import Clause

# Entity scores are mean token probabilities of the decoded span (inference.scoring.align); a
# span the tagger barely kept sits near this value.
ENTITY_THRESHOLD = 0.5


@dataclass(frozen=True)
class Decision:
    """One yes/no decision the scorer made on a clause."""

    name: str
    score: float
    threshold: float
    decided: bool
    is_entity: bool = False

    @property
    def margin(self) -> float:
        """Distance from the threshold. An entity below its threshold was kept anyway, so it
        is as doubtful as one can be (0), not far from the line."""
        if self.is_entity:
            return max(0.0, self.score - self.threshold)
        return abs(self.score - self.threshold)

    @property
    def confidence(self) -> float:
        """0.5 at the threshold, 1 at the end of the scale on the side that was decided. An
        entity's score already is that scale at the 0.5 entity threshold, so it is used as is."""
        if self.is_entity:
            return self.score
        if self.decided:
            return 0.5 + 0.5 * (self.score - self.threshold) / max(1e-9, 1 - self.threshold)
        return 0.5 + 0.5 * (self.threshold - self.score) / max(1e-9, self.threshold)


def label_decisions(labels: Iterable[str], scores: dict[str, float],
                    thresholds: dict[str, float]) -> list[Decision]:
    """One decision per scored label: given (in ``labels``) or not, against its threshold."""
    given = set(labels)
    return [Decision(name, float(p), thresholds.get(name, 0.5), name in given)
            for name, p in scores.items()]


def clause_decisions(clause: Clause, thresholds: dict[str, float],
                     entity_threshold: float = ENTITY_THRESHOLD) -> list[Decision]:
    """Every decision on the clause: its label scores, then its scored entities."""
    decisions = label_decisions(clause.labels or [], clause.scores or {}, thresholds)
    decisions += [Decision(e.type, float(e.score), entity_threshold, True, is_entity=True)
                  for e in clause.entities or [] if e.score is not None]
    return decisions


def clause_margin(clause: Clause, thresholds: dict[str, float],
                  entity_threshold: float = ENTITY_THRESHOLD) -> float:
    """How far the scorer was from changing its mind about this clause; smaller means less
    sure (a span kept at 0.52 is as doubtful as a label at threshold ± 0.02)."""
    margins = [d.margin for d in clause_decisions(clause, thresholds, entity_threshold)]
    return min(margins) if margins else 1.0


def clause_confidence(clause: Clause, thresholds: dict[str, float]) -> float:
    """The least confident decision on the clause, rounded as exports store it."""
    values = [d.confidence for d in clause_decisions(clause, thresholds)]
    return round(min(values), 4) if values else 1.0
