"""doccano JSONL: one clause per line, for a Text Classification or a Sequence Labeling project.

doccano's JSONL import reads ``text`` and ``label`` and keeps every other key as the example's
metadata, which its export writes back at the top level. So ``doc_id`` and ``clause_id`` ride
along and import matches the clause back to its document. Shapes:

* classification: ``{"text": ..., "label": ["goal", "timeline"], ...}``
* ner: ``{"text": ..., "label": [[start, end, "AMOUNT"], ...], ...}`` with end-exclusive
  character offsets into ``text``.

doccano keeps the two tasks in separate projects; each line also carries the model's proposal
for the other half (``predicted_entities`` / ``predicted_labels``) so a partial review can be
completed on import when the user asks for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inference.records import Clause, Document
from inference.review.labelstudio_export import text_fingerprint

TASKS = ("classification", "ner")


def doccano_record(document: Document, clause: Clause, task: str) -> dict[str, Any]:
    if task not in TASKS:
        raise ValueError(f"unknown doccano task {task!r}; expected one of {list(TASKS)}")
    entities = clause.entities or []
    record: dict[str, Any] = {"text": clause.text}
    if task == "classification":
        record["label"] = sorted(clause.labels or [])
        record["predicted_entities"] = [[e.start, e.end, e.type] for e in entities]
    else:
        record["label"] = [[e.start, e.end, e.type] for e in entities]
        record["predicted_labels"] = sorted(clause.labels or [])
    record.update({
        "doc_id": document.doc_id,
        "clause_id": clause.clause_id,
        "section": clause.section,
        "kind": clause.kind,
        "title": str(document.meta.get("title", "")),
        "text_sha1": text_fingerprint(clause.text),
    })
    if clause.scores is not None:
        record["model_scores"] = {k: round(float(v), 4) for k, v in clause.scores.items()}
    return record


def build_records(documents: Sequence[Document], task: str,
                  selected: Sequence[tuple[Document, Clause, float]] | None = None,
                  ) -> list[dict[str, Any]]:
    if selected is not None:
        return [doccano_record(doc, clause, task) for doc, clause, _ in selected]
    return [doccano_record(doc, clause, task) for doc in documents for clause in doc.clauses]
