"""doccano both ways: one clause per JSONL line, for a Text Classification or a Sequence
Labeling project (export), and the projects' JSONL exports back into gold records (import).

doccano's JSONL import reads ``text`` and ``label`` and keeps every other key as the example's
metadata, which its export writes back at the top level. So ``doc_id`` and ``clause_id`` ride
along and import matches the clause back to its document. Shapes:

* classification: ``{"text": ..., "label": ["goal", "timeline"], ...}``
* ner: ``{"text": ..., "label": [[start, end, "AMOUNT"], ...], ...}`` with end-exclusive
  character offsets into ``text``.

doccano keeps the two tasks in separate projects; each line also carries the model's proposal
for the other half (``predicted_entities`` / ``predicted_labels``) so a partial review can be
completed on import when the user asks for it.

Import pairs the two halves of a clause by annotator, ids and the exported text fingerprint;
the shared rules for records and conflicts are in inference.review.reconcile.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inference.records import Clause, Document
from inference.review.reconcile import (
    ImportSummary,
    Review,
    ReviewImportError,
    ReviewProblem,
    ReviewResult,
    clause_ids,
    conflict,
    gold_record,
    resolve_span,
    settle,
    text_fingerprint,
    whole_number,
)
from inference.schema import LabelSchema, default_schema

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


# --- import --------------------------------------------------------------------------------


def _is_span_list(label: Any) -> bool:
    return isinstance(label, list) and all(isinstance(x, list | tuple) for x in label)


def _spans(items: Any, what: str) -> list[tuple[int, int, str]]:
    """``[[start, end, TYPE], ...]`` checked: three elements, whole-number offsets, a name."""
    if not isinstance(items, list):
        raise ReviewProblem("bad_span", f"{what} is {items!r}, not a list of spans")
    spans = []
    for index, item in enumerate(items):
        if not isinstance(item, list | tuple) or len(item) != 3 or not isinstance(item[2], str):
            raise ReviewProblem("bad_span", f"{what} #{index} is {item!r}, not "
                                "[start, end, TYPE]")
        spans.append((whole_number(item[0], f"{what} #{index} start", "bad_offsets"),
                      whole_number(item[1], f"{what} #{index} end", "bad_offsets"), item[2]))
    return spans


def _row_key(row: Any) -> tuple[str, int, str]:
    """The clause a line is a half of: its ids and the fingerprint of the text as exported (so
    two documents exported under one doc_id stay two clauses, and meet as a conflict)."""
    if not isinstance(row, dict):
        raise ReviewProblem("malformed_task", f"the line is a JSON {type(row).__name__}, not "
                            "an object")
    if not isinstance(row.get("text"), str):
        raise ReviewProblem("malformed_task", "no text")
    doc_id, clause_id = clause_ids(row.get("doc_id"), row.get("clause_id"))
    sha1 = row.get("text_sha1")
    return doc_id, clause_id, sha1 if isinstance(sha1, str) else text_fingerprint(row["text"])


def _read_half(entry: dict[str, Any], row: dict[str, Any], where: str) -> None:
    """Record one project's half (classification labels or NER spans) of a clause."""
    label = row.get("label", [])
    if row.get("text_sha1") and text_fingerprint(row["text"]) != row["text_sha1"]:
        raise ReviewProblem("text_changed", "the text is not the text that was exported "
                            "(fingerprint differs)")
    if entry["row"]["text"] != row["text"]:
        raise ReviewProblem("text_changed", "the classification and the sequence labeling "
                            "exports hold different texts")
    if (label and _is_span_list(label)) or "predicted_labels" in row:
        half, value = "spans", _spans(label, "span")
        entry.setdefault("predicted_labels", row.get("predicted_labels", []))
    else:
        if not isinstance(label, list) or not all(isinstance(x, str) for x in label):
            raise ReviewProblem("malformed_task", f"label is {label!r}, neither a list of "
                                "label names nor a list of [start, end, TYPE] spans")
        half, value = "labels", list(label)
        entry.setdefault("predicted_entities", row.get("predicted_entities", []))
    if half in entry and entry[half] != value:
        raise ReviewProblem("duplicate_line", f"the same clause's {half} came twice with "
                            f"different values (first at {entry[half + '_where']})")
    entry[half], entry[half + "_where"] = value, where


def import_doccano(paths: Sequence[str | Path], *, schema: LabelSchema | None = None,
                   annotator: str | None = None, partial: bool = False,
                   reference: dict[tuple[str, int], dict[str, Any]] | None = None,
                   ) -> ReviewResult:
    """doccano JSONL exports → gold records and conflicts.

    Give the classification export and the sequence-labeling export of the same clauses
    together; a clause is complete when both halves were reviewed. doccano names each user's
    export ``<username>.jsonl``; that name is the annotator unless ``annotator`` is given.
    With ``partial`` a clause reviewed in one project only takes the model's proposal for the
    other half (carried in the exported line) instead of becoming a conflict. A malformed line
    is a conflict naming it (``FILE:LINE``); the import goes on.
    """
    schema = schema or default_schema()
    summary = ImportSummary()
    halves: dict[tuple[str, str, int, str], dict[str, Any]] = {}
    conflicts: list[dict[str, Any]] = []
    ours = 0
    for path in paths:
        who = annotator or Path(path).stem
        with Path(path).open(encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{lineno}"
                row: Any = None
                try:
                    row = json.loads(line)
                    doc_id, clause_id, sha1 = _row_key(row)
                except (ValueError, RecursionError) as exc:
                    conflicts.append(conflict("malformed_task", f"not JSON ({exc})", where,
                                              annotator=who))
                    continue
                except ReviewProblem as problem:
                    ids = row if isinstance(row, dict) else {}
                    conflicts.append(conflict(problem.reason, problem.detail, where,
                                              ids.get("doc_id"), ids.get("clause_id"),
                                              annotator=who))
                    continue
                ours += 1
                entry = halves.setdefault((who, doc_id, clause_id, sha1),
                                          {"row": row, "where": where})
                try:
                    _read_half(entry, row, where)
                except ReviewProblem as problem:
                    entry.setdefault("problem", (problem.reason, problem.detail, where))
    if conflicts and not ours:
        raise ReviewImportError(
            f"{conflicts[0]['where']}: {conflicts[0]['detail']}; no line has doc_id, clause_id "
            "and text: export from a doccano project whose data came from "
            "'policy-clauses export doccano'")
    reviews: list[Review] = []
    for (who, doc_id, clause_id, _), entry in sorted(halves.items()):
        row, where = entry["row"], entry["where"]
        summary.annotations += 1
        if "problem" in entry:
            reason, detail, at = entry["problem"]
            conflicts.append(conflict(reason, detail, at, doc_id, clause_id, annotator=who))
            continue
        if ("labels" in entry) != ("spans" in entry) and not partial:
            have = "classification" if "labels" in entry else "sequence labeling"
            conflicts.append(conflict(
                "incomplete", f"only the {have} half was reviewed; give both exports, or "
                "--partial to take the model's proposal for the other half", where, doc_id,
                clause_id, annotator=who))
            continue
        try:
            labels = entry.get("labels", entry.get("predicted_labels", []))
            spans = entry["spans"] if "spans" in entry else _spans(
                entry.get("predicted_entities", []), "predicted entity")
            entities = [(*resolve_span(row["text"], start, end, None), name)
                        for start, end, name in spans]
            record = gold_record(doc_id=doc_id, clause_id=clause_id,
                                 kind=str(row.get("kind", "body")),
                                 section=str(row.get("section", "")), text=row["text"],
                                 labels=labels, entities=entities, annotator=who,
                                 source="doccano", schema=schema)
        except ReviewProblem as problem:
            conflicts.append(conflict(problem.reason, problem.detail,
                                      entry.get("spans_where", where), doc_id, clause_id,
                                      annotator=who))
            continue
        if "labels" not in entry or "spans" not in entry:
            record["reviewed_parts"] = ["labels"] if "labels" in entry else ["entities"]
        reviews.append(Review(record, entry.get("labels_where", where)))
    return settle(reviews, conflicts, summary, reference)
