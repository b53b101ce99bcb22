"""Reviewed clauses → gold records: what the Label Studio and doccano imports share.

Output records are GUIDELINES §4 records plus ``annotator``, ``reviewed: true`` and
``review_source`` — the shape of labels/gold.jsonl, checked with
``inference.gold.validate_records`` — so they can be appended to the gold file or given to
training as an extra gold file. Nothing is dropped silently: every task that cannot become a
clean record (reviewers disagree, the text changed since export, an unknown label, a span whose
offsets do not give its text, a span across a clause boundary, a malformed task) becomes a
conflict record with the reason and where it came from, and the summary counts what was
skipped or left unreviewed.

A clause is known by its ids *and* its content: ``(doc_id, clause_id)`` plus a hash of its
text. Two different texts under one ``(doc_id, clause_id)`` (two documents exported with the
same id, or a gold clause whose text is not the reviewed one) are a conflict, never a silent
overwrite.

Offsets: both tools count end-exclusive characters. Some Label Studio versions count UTF-16
code units (a character outside the BMP, e.g. a rare CJK Extension B character, counts two), so
a span whose offsets do not give its surface text is re-read as UTF-16 offsets before it is
called a conflict.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inference.errors import UserError
from inference.gold import validate_records, write_jsonl
from inference.schema import LabelSchema


class ReviewImportError(UserError, ValueError):
    """A file that is not the export it was said to be."""


class ReviewProblem(Exception):
    """Why one task (or one reviewer's version of it) cannot become a gold record."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def text_fingerprint(text: str) -> str:
    """Stored with each exported task so import can tell the text it gets back is the text we
    sent; also the content half of a clause's key."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class ImportSummary:
    records: int = 0
    conflicts: int = 0
    unreviewed: int = 0
    skipped: int = 0
    annotations: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def count(self, conflicts: Iterable[dict[str, Any]]) -> None:
        for conflict in conflicts:
            self.conflicts += 1
            self.reasons[conflict["reason"]] = self.reasons.get(conflict["reason"], 0) + 1

    def line(self) -> str:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.reasons.items()))
        return (f"{self.records} gold records from {self.annotations} annotations; "
                f"{self.conflicts} conflicts{f' ({reasons})' if reasons else ''}; "
                f"{self.unreviewed} tasks unreviewed, {self.skipped} tasks skipped by reviewers")


@dataclass
class ReviewResult:
    records: list[dict[str, Any]]
    conflicts: list[dict[str, Any]]
    summary: ImportSummary


@dataclass
class Review:
    """One reviewer's version of one clause, and the task it came from."""

    record: dict[str, Any]
    where: str


def conflict(reason: str, detail: str, where: str, doc_id: Any = None,
             clause_id: Any = None, **extra: Any) -> dict[str, Any]:
    return {"doc_id": doc_id, "clause_id": clause_id, "reason": reason, "where": where,
            "detail": detail, **extra}


# --- values from the tools' files ------------------------------------------------------------


def whole_number(value: Any, what: str, reason: str = "malformed_task") -> int:
    """An integer as the tools write it (a JSON integer, or its digits as a string); a float,
    a boolean or null is a problem, never truncated."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ReviewProblem(reason, f"{what} is {value!r}, not a whole number")


def clause_ids(doc_id: Any, clause_id: Any) -> tuple[str, int]:
    """``(doc_id, clause_id)`` of a task, checked: a missing or null id is a problem."""
    if doc_id is None or isinstance(doc_id, dict | list):
        raise ReviewProblem("malformed_task", f"doc_id is {doc_id!r}")
    return str(doc_id), whole_number(clause_id, "clause_id")


def _utf16_to_index(text: str, unit: int) -> int | None:
    count = 0
    for index, char in enumerate(text):
        if count == unit:
            return index
        count += 2 if ord(char) > 0xFFFF else 1
    return len(text) if count == unit else None


def resolve_span(text: str, start: Any, end: Any, surface: str | None) -> tuple[int, int]:
    """Offsets that give ``surface`` in ``text``: as given, or read as UTF-16 units."""
    start = whole_number(start, "span start", "bad_offsets")
    end = whole_number(end, "span end", "bad_offsets")
    if surface is None:
        surface = text[start:end] if 0 <= start < end <= len(text) else None
        if not surface:
            raise ReviewProblem("bad_offsets", f"span [{start}, {end}) outside the text")
        return start, end
    if 0 <= start < end <= len(text) and text[start:end] == surface:
        return start, end
    s16, e16 = _utf16_to_index(text, start), _utf16_to_index(text, end)
    if s16 is not None and e16 is not None and text[s16:e16] == surface:
        return s16, e16
    found = text[start:end] if 0 <= start < end <= len(text) else ""
    raise ReviewProblem("offset_mismatch",
                        f"span [{start}, {end}) gives {found!r}, the tool says {surface!r}")


# --- records -------------------------------------------------------------------------------


def gold_record(*, doc_id: str, clause_id: int, kind: str, section: str, text: str,
                labels: Iterable[str], entities: Iterable[tuple[int, int, str]],
                annotator: str, source: str, schema: LabelSchema) -> dict[str, Any]:
    labels = list(labels)
    if not all(isinstance(label, str) for label in labels):
        raise ReviewProblem("malformed_task", f"clause labels {labels!r} are not all names")
    labels = sorted(set(labels))
    unknown = sorted(set(labels) - set(schema.label_names))
    if unknown:
        raise ReviewProblem("unknown_label", f"unknown clause label(s) {unknown}")
    spans = sorted(set(entities))
    bad_types = sorted({t for _, _, t in spans} - set(schema.entity_names))
    if bad_types:
        raise ReviewProblem("unknown_label", f"unknown entity type(s) {bad_types}")
    record = {
        "doc_id": doc_id, "clause_id": int(clause_id), "kind": kind or "body",
        "section": section or "", "text": text, "labels": labels,
        "entities": [{"start": s, "end": e, "type": t, "text": text[s:e]} for s, e, t in spans],
        "annotator": annotator, "reviewed": True, "review_source": source,
    }
    problems = validate_records([record], f"{doc_id}#{clause_id}", schema)
    if problems:
        raise ReviewProblem("invalid_record", "; ".join(problems))
    return record


def _content(record: dict[str, Any]) -> tuple[Any, ...]:
    return (tuple(record["labels"]),
            tuple((e["start"], e["end"], e["type"]) for e in record["entities"]))


def _wheres(reviews: Sequence[Review]) -> str:
    return ", ".join(dict.fromkeys(r.where for r in reviews))


def _merge_reviews(key: tuple[str, int], reviews: list[Review],
                   ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """One record when the reviewers agree; a conflict listing each version when not."""
    distinct = {_content(r.record) for r in reviews}
    annotators = sorted({r.record["annotator"] for r in reviews})
    if len(distinct) == 1:
        record = dict(reviews[0].record)
        record["annotator"] = "+".join(annotators)
        return record, None
    return None, conflict(
        "reviewers_disagree", f"{len(distinct)} different versions from {annotators}",
        _wheres(reviews), key[0], key[1],
        versions=[{"annotator": r.record["annotator"], "labels": r.record["labels"],
                   "entities": r.record["entities"], "where": r.where} for r in reviews])


# A reference entry standing for a (doc_id, clause_id) held twice with different texts.
AMBIGUOUS = "__ambiguous__"


def _check_against(record: dict[str, Any], reference: dict[tuple[str, int], dict[str, Any]],
                   ) -> dict[str, Any]:
    """Match a clause back to its document (a segment/predict output or gold file): the text
    must be the clause's text there; kind and section come from there."""
    key = (record["doc_id"], record["clause_id"])
    if key not in reference:
        raise ReviewProblem("unknown_clause", f"no clause {key} in the reference documents")
    clause = reference[key]
    if clause.get(AMBIGUOUS):
        raise ReviewProblem("ambiguous_reference", f"the reference documents hold clause {key} "
                            "more than once, with different texts")
    if clause["text"] != record["text"]:
        raise ReviewProblem("text_changed",
                            "the clause text differs from the reference document's")
    record["kind"] = clause.get("kind", record["kind"])
    record["section"] = clause.get("section", record["section"]) or ""
    return record


def load_reference(path: str | Path) -> dict[tuple[str, int], dict[str, Any]]:
    """Clauses by (doc_id, clause_id) from document records (segment/predict output) or clause
    records (gold). A key held twice with different texts is marked ambiguous, so a clause
    matched against it becomes a conflict instead of being checked against either text."""
    out: dict[tuple[str, int], dict[str, Any]] = {}

    def add(key: tuple[str, int], clause: dict[str, Any]) -> None:
        if key in out and out[key].get("text") != clause.get("text"):
            out[key] = {AMBIGUOUS: True}
        elif key not in out:
            out[key] = clause

    with Path(path).open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if "clauses" in record:
                    for clause in record["clauses"]:
                        add((str(record["doc_id"]), int(clause["clause_id"])), clause)
                else:
                    add((str(record["doc_id"]), int(record["clause_id"])), record)
            except (ValueError, KeyError, TypeError) as exc:
                raise ReviewImportError(f"{path}:{lineno}: not a document or clause record "
                                        f"({type(exc).__name__}: {exc})") from exc
    return out


def settle(reviews: Sequence[Review], conflicts: list[dict[str, Any]], summary: ImportSummary,
           reference: dict[tuple[str, int], dict[str, Any]] | None) -> ReviewResult:
    """Group the reviewers' versions by clause and turn each clause into a record or a
    conflict. Versions are grouped on ``(doc_id, clause_id)`` and compared on their text: two
    texts under one key are two clauses that would overwrite each other, so both are held
    back."""
    by_key: dict[tuple[str, int], dict[str, list[Review]]] = defaultdict(dict)
    for review in reviews:
        key = (review.record["doc_id"], review.record["clause_id"])
        by_key[key].setdefault(text_fingerprint(review.record["text"]), []).append(review)
    records = []
    blocked = {(c["doc_id"], c["clause_id"]) for c in conflicts}
    for key in sorted(by_key):
        texts = by_key[key]
        versions = [review for group in texts.values() for review in group]
        if len(texts) > 1:
            conflicts.append(conflict(
                "same_id_different_text",
                f"{len(texts)} different clause texts carry the id {key} (two documents with "
                "the same doc_id?); give the documents distinct ids and export again",
                _wheres(versions), key[0], key[1],
                versions=[{"annotator": r.record["annotator"], "text": r.record["text"],
                           "labels": r.record["labels"], "entities": r.record["entities"],
                           "where": r.where} for r in versions]))
            continue
        if key in blocked:
            # one reviewer's version had a problem: the clause is not settled
            conflicts.append(conflict(
                "incomplete", "other versions of this clause were reported as conflicts; "
                "resolve those first", _wheres(versions), key[0], key[1],
                versions=[r.record for r in versions]))
            continue
        record, disagreement = _merge_reviews(key, versions)
        if disagreement:
            conflicts.append(disagreement)
            continue
        assert record is not None
        if reference is not None:
            try:
                record = _check_against(record, reference)
            except ReviewProblem as problem:
                conflicts.append(conflict(problem.reason, problem.detail, _wheres(versions),
                                          key[0], key[1]))
                continue
        records.append(record)
    summary.records = len(records)
    summary.count(conflicts)
    return ReviewResult(records, conflicts, summary)


# --- into gold -----------------------------------------------------------------------------


@dataclass
class GoldMerge:
    records: list[dict[str, Any]]
    replaced: int
    added: int
    conflicts: list[dict[str, Any]]


def merge_into_gold(gold: Sequence[dict[str, Any]], reviewed: Sequence[dict[str, Any]],
                    where: str = "gold") -> GoldMerge:
    """Gold records with reviewed ones replacing the same clause in place and new clauses
    appended: a file training can take as ``data.gold_path``. The same clause means the same
    ``(doc_id, clause_id)`` *and* the same text; a reviewed record whose key holds another
    text in gold is a conflict, and gold keeps its record."""
    by_key = {(r["doc_id"], int(r["clause_id"])): r for r in reviewed}
    merged, conflicts, replaced = [], [], 0
    for index, record in enumerate(gold, start=1):
        key = (record["doc_id"], int(record["clause_id"]))
        new = by_key.pop(key, None)
        if new is None:
            merged.append(record)
        elif new["text"] != record["text"]:
            merged.append(record)
            conflicts.append(conflict(
                "gold_text_differs", f"{where}:{index} holds clause {key} with another text; "
                "gold keeps its record", where, key[0], key[1], text=new["text"],
                gold_text=record["text"], labels=new["labels"], entities=new["entities"],
                annotator=new.get("annotator")))
        else:
            new = dict(new)
            if "corpus" in record and "corpus" not in new:
                new["corpus"] = record["corpus"]
            merged.append(new)
            replaced += 1
    added = [by_key[key] for key in sorted(by_key)]
    return GoldMerge(merged + added, replaced, len(added), conflicts)


def write_result(result: ReviewResult, out: str | Path,
                 conflicts_path: str | Path | None = None) -> Path:
    """Write the gold records, and the conflicts beside them (OUT.conflicts.jsonl)."""
    out = Path(out)
    write_jsonl(out, result.records)
    conflicts = Path(conflicts_path) if conflicts_path else out.with_name(
        out.name.removesuffix(".jsonl") + ".conflicts.jsonl")
    write_jsonl(conflicts, result.conflicts)
    return conflicts
