"""After scoring: AMOUNT entities get their value in yuan, clauses their time expressions.

Runs inside ``set_annotations``, so ``predict``, ``export``, ``render`` and ``evaluate`` see the
same values. Fields are only set where there is something to say, so a clause without
AMOUNTs or time expressions serialises exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from inference.analysis.money import amount_in_context
from inference.analysis.times import find_times
from inference.records import Clause, Entity

_CONTEXT = 8


def enrich_amount(entity: Entity, clause_text: str) -> None:
    """Write the span's value onto an AMOUNT entity (yuan, or why not)."""
    before = clause_text[max(0, entity.start - _CONTEXT):entity.start]
    after = clause_text[entity.end:entity.end + _CONTEXT]
    value = amount_in_context(entity.text, before, after)
    entity.yuan = list(value.yuan) if value.yuan is not None else None
    entity.per = value.per
    entity.currency = value.currency if value.currency != "CNY" else None
    entity.amount = list(value.amount) if value.amount is not None else None
    entity.reason = value.reason
    entity.approx = value.approx


def enrich_clause(clause: Clause, document_date: date | str | None = None) -> None:
    for entity in clause.entities or []:
        if entity.type == "AMOUNT":
            enrich_amount(entity, clause.text)
    times = find_times(clause.text, document_date)
    clause.times = times or None


def enrich_clauses(clauses: Sequence[Clause],
                   document_dates: Sequence[date | str | None] | date | str | None = None
                   ) -> None:
    """Enrich every clause; ``document_dates`` is one date for all, or one per clause."""
    if document_dates is None or isinstance(document_dates, (date, str)):
        document_dates = [document_dates] * len(clauses)
    for clause, document_date in zip(clauses, document_dates, strict=True):
        enrich_clause(clause, document_date)
