"""Reviewed annotations (Label Studio JSON export, doccano JSONL export) → gold clause records.

Output records are GUIDELINES §4 records plus ``annotator``, ``reviewed: true`` and
``review_source`` — the shape of labels/gold.jsonl, checked with
``training.data.gold.validate_records`` — so they can be appended to the gold file or given to
training as an extra gold file. Nothing is dropped silently: every task that cannot become a
clean record (reviewers disagree, the text changed since export, an unknown label, a span whose
offsets do not give its text, a span across a clause boundary) becomes a conflict record with
the reason, and the summary counts what was skipped or left unreviewed.

Offsets: both tools count end-exclusive characters. Some Label Studio versions count UTF-16
code units (a character outside the BMP, e.g. a rare CJK Extension B character, counts two), so
a span whose offsets do not give ``value.text`` is re-read as UTF-16 offsets before it is
called a conflict.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inference.gold import validate_records, write_jsonl
from inference.review.labelstudio_export import (
    CHOICES_NAME,
    CLAUSE_REGION_LABEL,
    ENTITIES_NAME,
    text_fingerprint,
)
from inference.schema import LabelSchema, default_schema


class ReviewImportError(ValueError):
    """A file that is not the export it was said to be."""


@dataclass
class ImportSummary:
    records: int = 0
    conflicts: int = 0
    unreviewed: int = 0
    skipped: int = 0
    annotations: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

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


class _Problem(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# --- offsets -------------------------------------------------------------------------------


def _utf16_to_index(text: str, unit: int) -> int | None:
    count = 0
    for index, char in enumerate(text):
        if count == unit:
            return index
        count += 2 if ord(char) > 0xFFFF else 1
    return len(text) if count == unit else None


def resolve_span(text: str, start: int, end: int, surface: str | None) -> tuple[int, int]:
    """Offsets that give ``surface`` in ``text``: as given, or read as UTF-16 units."""
    if surface is None:
        surface = text[start:end] if 0 <= start < end <= len(text) else None
        if not surface:
            raise _Problem("bad_offsets", f"span [{start}, {end}) outside the text")
        return start, end
    if 0 <= start < end <= len(text) and text[start:end] == surface:
        return start, end
    s16, e16 = _utf16_to_index(text, start), _utf16_to_index(text, end)
    if s16 is not None and e16 is not None and text[s16:e16] == surface:
        return s16, e16
    found = text[start:end] if 0 <= start < end <= len(text) else ""
    raise _Problem("offset_mismatch",
                   f"span [{start}, {end}) gives {found!r}, the tool says {surface!r}")


# --- records -------------------------------------------------------------------------------


def _gold_record(*, doc_id: str, clause_id: int, kind: str, section: str, text: str,
                 labels: Iterable[str], entities: Iterable[tuple[int, int, str]],
                 annotator: str, source: str, schema: LabelSchema) -> dict[str, Any]:
    labels = sorted(set(labels))
    unknown = sorted(set(labels) - set(schema.label_names))
    if unknown:
        raise _Problem("unknown_label", f"unknown clause label(s) {unknown}")
    spans = sorted(set(entities))
    bad_types = sorted({t for _, _, t in spans} - set(schema.entity_names))
    if bad_types:
        raise _Problem("unknown_label", f"unknown entity type(s) {bad_types}")
    record = {
        "doc_id": doc_id, "clause_id": int(clause_id), "kind": kind or "body",
        "section": section or "", "text": text, "labels": labels,
        "entities": [{"start": s, "end": e, "type": t, "text": text[s:e]} for s, e, t in spans],
        "annotator": annotator, "reviewed": True, "review_source": source,
    }
    problems = validate_records([record], f"{doc_id}#{clause_id}", schema)
    if problems:
        raise _Problem("invalid_record", "; ".join(problems))
    return record


def _content(record: dict[str, Any]) -> tuple[Any, ...]:
    return (tuple(record["labels"]),
            tuple((e["start"], e["end"], e["type"]) for e in record["entities"]))


def _merge_reviews(key: tuple[str, int], reviews: list[dict[str, Any]], where: str,
                   ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """One record when the reviewers agree; a conflict listing each version when not."""
    distinct = {_content(r) for r in reviews}
    if len(distinct) == 1:
        record = dict(reviews[0])
        record["annotator"] = "+".join(sorted({r["annotator"] for r in reviews}))
        return record, None
    return None, {
        "doc_id": key[0], "clause_id": key[1], "reason": "reviewers_disagree", "where": where,
        "detail": f"{len(distinct)} different versions from "
                  f"{sorted({r['annotator'] for r in reviews})}",
        "versions": [{"annotator": r["annotator"], "labels": r["labels"],
                      "entities": r["entities"]} for r in reviews],
    }


def _check_against(record: dict[str, Any], reference: dict[tuple[str, int], dict[str, Any]],
                   ) -> dict[str, Any]:
    """Match a clause back to its document (a segment/predict output or gold file): the text
    must be the clause's text there; kind and section come from there."""
    key = (record["doc_id"], record["clause_id"])
    if key not in reference:
        raise _Problem("unknown_clause", f"no clause {key} in the reference documents")
    clause = reference[key]
    if clause["text"] != record["text"]:
        raise _Problem("text_changed", "the clause text differs from the reference document's")
    record["kind"] = clause.get("kind", record["kind"])
    record["section"] = clause.get("section", record["section"]) or ""
    return record


def load_reference(path: str | Path) -> dict[tuple[str, int], dict[str, Any]]:
    """Clauses by (doc_id, clause_id) from document records (segment/predict output) or clause
    records (gold)."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            record = json.loads(line)
            if "clauses" in record:
                for clause in record["clauses"]:
                    out[(record["doc_id"], int(clause["clause_id"]))] = clause
            else:
                out[(record["doc_id"], int(record["clause_id"]))] = record
    return out


def _finish(reviews: dict[tuple[str, int], list[dict[str, Any]]],
            conflicts: list[dict[str, Any]], summary: ImportSummary, where: str,
            reference: dict[tuple[str, int], dict[str, Any]] | None) -> ReviewResult:
    records = []
    blocked = {(c["doc_id"], c["clause_id"]) for c in conflicts}
    for key in sorted(reviews):
        if key in blocked:
            # one reviewer's version had a problem: the clause is not settled
            conflicts.append({"doc_id": key[0], "clause_id": key[1], "reason": "incomplete",
                              "where": where, "detail": "other versions of this clause were "
                              "reported as conflicts; resolve those first",
                              "versions": reviews[key]})
            continue
        record, conflict = _merge_reviews(key, reviews[key], where)
        if conflict:
            conflicts.append(conflict)
            continue
        assert record is not None
        if reference is not None:
            try:
                record = _check_against(record, reference)
            except _Problem as problem:
                conflicts.append({"doc_id": key[0], "clause_id": key[1],
                                  "reason": problem.reason, "where": where,
                                  "detail": problem.detail})
                continue
        records.append(record)
    summary.records = len(records)
    summary.conflicts = len(conflicts)
    for conflict in conflicts:
        summary.reasons[conflict["reason"]] = summary.reasons.get(conflict["reason"], 0) + 1
    return ReviewResult(records, conflicts, summary)


def _conflict(reason: str, detail: str, where: str, doc_id: Any = None,
              clause_id: Any = None, **extra: Any) -> dict[str, Any]:
    return {"doc_id": doc_id, "clause_id": clause_id, "reason": reason, "where": where,
            "detail": detail, **extra}


# --- Label Studio --------------------------------------------------------------------------


def _annotator(annotation: dict[str, Any]) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return str(who.get("email") or who.get("username") or f"ls-user-{who.get('id')}")
    return f"ls-user-{who}" if who is not None else "ls-unknown"


def _clause_from_ls(task: dict[str, Any], annotation: dict[str, Any], schema: LabelSchema,
                    ) -> dict[str, Any]:
    data = task["data"]
    text = str(data["text"])
    labels: list[str] = []
    entities = []
    for item in annotation.get("result", []):
        value = item.get("value", {})
        if item.get("type") == "choices" and item.get("from_name") == CHOICES_NAME:
            labels += value.get("choices", [])
        elif item.get("type") == "labels" and item.get("from_name") == ENTITIES_NAME:
            for name in value.get("labels", []):
                start, end = resolve_span(text, int(value["start"]), int(value["end"]),
                                          value.get("text"))
                entities.append((start, end, name))
    return _gold_record(doc_id=str(data["doc_id"]), clause_id=int(data["clause_id"]),
                        kind=str(data.get("kind", "body")), section=str(data.get("section", "")),
                        text=text, labels=labels, entities=entities,
                        annotator=_annotator(annotation), source="labelstudio", schema=schema)


def _clauses_from_ls_document(task: dict[str, Any], annotation: dict[str, Any],
                              schema: LabelSchema) -> list[dict[str, Any]]:
    """Document-mode task: clause regions carry per-region choices; entities are placed in the
    clause that contains them."""
    data = task["data"]
    text = str(data["text"])
    clauses = {(int(c["start"]), int(c["end"])): c for c in data["clauses"]}
    region_of: dict[str, tuple[int, int]] = {}
    choices_of: dict[str, list[str]] = {}
    spans: list[tuple[int, int, str]] = []
    for item in annotation.get("result", []):
        value = item.get("value", {})
        if item.get("type") == "labels" and item.get("from_name") == ENTITIES_NAME:
            start, end = resolve_span(text, int(value["start"]), int(value["end"]),
                                      value.get("text"))
            for name in value.get("labels", []):
                if name == CLAUSE_REGION_LABEL:
                    region_of[str(item.get("id"))] = (start, end)
                else:
                    spans.append((start, end, name))
        elif item.get("type") == "choices" and item.get("from_name") == CHOICES_NAME:
            choices_of[str(item.get("id"))] = list(value.get("choices", []))
    labels_at: dict[tuple[int, int], list[str]] = {bounds: [] for bounds in clauses}
    for region_id, bounds in region_of.items():
        if bounds not in clauses:
            raise _Problem("clause_changed",
                           f"clause region [{bounds[0]}, {bounds[1]}) is not a clause of the "
                           "exported document (regions must not be resized)")
        labels_at[bounds] = choices_of.get(region_id, [])
    missing = sorted(set(clauses) - set(region_of.values()))
    if missing:
        raise _Problem("clause_changed", f"{len(missing)} clause region(s) were deleted, e.g. "
                       f"[{missing[0][0]}, {missing[0][1]})")
    entities_at: dict[tuple[int, int], list[tuple[int, int, str]]] = defaultdict(list)
    for start, end, name in spans:
        home = next((b for b in clauses if b[0] <= start and end <= b[1]), None)
        if home is None:
            raise _Problem("span_crosses_clause",
                           f"{name} span {text[start:end]!r} crosses a clause boundary")
        entities_at[home].append((start - home[0], end - home[0], name))
    out = []
    for bounds, clause in sorted(clauses.items()):
        out.append(_gold_record(
            doc_id=str(data["doc_id"]), clause_id=int(clause["clause_id"]),
            kind=str(clause.get("kind", "body")), section=str(clause.get("section", "")),
            text=text[bounds[0]:bounds[1]], labels=labels_at[bounds],
            entities=entities_at[bounds], annotator=_annotator(annotation),
            source="labelstudio", schema=schema))
    return out


def import_labelstudio(path: str | Path, *, schema: LabelSchema | None = None,
                       reference: dict[tuple[str, int], dict[str, Any]] | None = None,
                       ) -> ReviewResult:
    """A Label Studio JSON export (the default "JSON" export: a list of tasks with
    ``annotations``) → gold records and conflicts."""
    schema = schema or default_schema()
    where = str(path)
    try:
        tasks = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReviewImportError(f"{path}: not JSON ({exc}); export the project as 'JSON' in "
                                "Label Studio") from exc
    if not isinstance(tasks, list):
        raise ReviewImportError(f"{path}: expected a list of tasks (Label Studio's 'JSON' "
                                "export), found a JSON object")
    summary = ImportSummary()
    reviews: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    conflicts: list[dict[str, Any]] = []
    for task in tasks:
        data = task.get("data", {})
        task_where = f"{where}#task{task.get('id')}"
        if "text" not in data or "doc_id" not in data:
            raise ReviewImportError(f"{task_where}: task data has no text/doc_id; was it "
                                    "exported with 'policy-clauses export labelstudio'?")
        annotations = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
        if not annotations:
            # a task only skipped (cancelled) by reviewers is counted as skipped, not unreviewed
            if task.get("annotations"):
                summary.skipped += 1
            else:
                summary.unreviewed += 1
            continue
        doc_id, clause_id = data["doc_id"], data.get("clause_id")
        if data.get("text_sha1") and text_fingerprint(str(data["text"])) != data["text_sha1"]:
            conflicts.append(_conflict("text_changed", "the task text is not the text that was "
                                       "exported (fingerprint differs)", task_where, doc_id,
                                       clause_id))
            continue
        for annotation in annotations:
            summary.annotations += 1
            try:
                if "clauses" in data:
                    made = _clauses_from_ls_document(task, annotation, schema)
                else:
                    made = [_clause_from_ls(task, annotation, schema)]
            except _Problem as problem:
                conflicts.append(_conflict(problem.reason, problem.detail, task_where, doc_id,
                                           clause_id, annotator=_annotator(annotation)))
                continue
            for record in made:
                reviews[(record["doc_id"], record["clause_id"])].append(record)
    return _finish(reviews, conflicts, summary, where, reference)


# --- doccano -------------------------------------------------------------------------------


def _is_span_list(label: Any) -> bool:
    return isinstance(label, list) and all(isinstance(x, list | tuple) for x in label)


def import_doccano(paths: Sequence[str | Path], *, schema: LabelSchema | None = None,
                   annotator: str | None = None, partial: bool = False,
                   reference: dict[tuple[str, int], dict[str, Any]] | None = None,
                   ) -> ReviewResult:
    """doccano JSONL exports → gold records and conflicts.

    Give the classification export and the sequence-labeling export of the same clauses
    together; a clause is complete when both halves were reviewed. doccano names each user's
    export ``<username>.jsonl``; that name is the annotator unless ``annotator`` is given.
    With ``partial`` a clause reviewed in one project only takes the model's proposal for the
    other half (carried in the exported line) instead of becoming a conflict.
    """
    schema = schema or default_schema()
    summary = ImportSummary()
    halves: dict[tuple[str, str, int], dict[str, Any]] = {}
    conflicts: list[dict[str, Any]] = []
    for path in paths:
        who = annotator or Path(path).stem
        with Path(path).open(encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{lineno}"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ReviewImportError(f"{where}: not JSON ({exc})") from exc
                if "doc_id" not in row or "clause_id" not in row or "text" not in row:
                    raise ReviewImportError(
                        f"{where}: no doc_id/clause_id/text; export from a doccano project "
                        "whose data came from 'policy-clauses export doccano'")
                label = row.get("label", [])
                key = (who, str(row["doc_id"]), int(row["clause_id"]))
                entry = halves.setdefault(key, {"row": row, "where": where})
                if row.get("text_sha1") and text_fingerprint(row["text"]) != row["text_sha1"]:
                    entry["problem"] = ("text_changed", "the text is not the text that was "
                                        "exported (fingerprint differs)")
                if entry["row"]["text"] != row["text"]:
                    entry["problem"] = ("text_changed", "the classification and the sequence "
                                        "labeling exports hold different texts")
                if (label and _is_span_list(label)) or "predicted_labels" in row:
                    entry["spans"] = [tuple(x) for x in label]
                    entry.setdefault("predicted_labels", row.get("predicted_labels", []))
                else:
                    entry["labels"] = list(label)
                    entry.setdefault("predicted_entities", row.get("predicted_entities", []))
    reviews: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for (who, doc_id, clause_id), entry in sorted(halves.items()):
        row, where = entry["row"], entry["where"]
        summary.annotations += 1
        if "problem" in entry:
            conflicts.append(_conflict(*entry["problem"], where, doc_id, clause_id,
                                       annotator=who))
            continue
        if ("labels" in entry) != ("spans" in entry) and not partial:
            have = "classification" if "labels" in entry else "sequence labeling"
            conflicts.append(_conflict(
                "incomplete", f"only the {have} half was reviewed; give both exports, or "
                "--partial to take the model's proposal for the other half", where, doc_id,
                clause_id, annotator=who))
            continue
        labels = entry.get("labels", entry.get("predicted_labels", []))
        spans = entry.get("spans", [tuple(x) for x in entry.get("predicted_entities", [])])
        try:
            entities = []
            for start, end, name in spans:
                s, e = resolve_span(row["text"], int(start), int(end), None)
                entities.append((s, e, str(name)))
            record = _gold_record(doc_id=doc_id, clause_id=clause_id,
                                  kind=str(row.get("kind", "body")),
                                  section=str(row.get("section", "")), text=row["text"],
                                  labels=labels, entities=entities, annotator=who,
                                  source="doccano", schema=schema)
        except _Problem as problem:
            conflicts.append(_conflict(problem.reason, problem.detail, where, doc_id, clause_id,
                                       annotator=who))
            continue
        if "labels" not in entry or "spans" not in entry:
            record["reviewed_parts"] = ["labels"] if "labels" in entry else ["entities"]
        reviews[(doc_id, clause_id)].append(record)
    return _finish(reviews, conflicts, summary, ",".join(map(str, paths)), reference)


def merge_into_gold(gold: Sequence[dict[str, Any]], reviewed: Sequence[dict[str, Any]],
                    ) -> tuple[list[dict[str, Any]], int, int]:
    """Gold records with reviewed ones replacing the same (doc_id, clause_id) in place and new
    clauses appended: a file training can take as ``data.gold_path``. Returns (records,
    replaced, added)."""
    by_key = {(r["doc_id"], int(r["clause_id"])): r for r in reviewed}
    merged, replaced = [], 0
    for record in gold:
        key = (record["doc_id"], int(record["clause_id"]))
        if key in by_key:
            new = dict(by_key.pop(key))
            if "corpus" in record and "corpus" not in new:
                new["corpus"] = record["corpus"]
            merged.append(new)
            replaced += 1
        else:
            merged.append(record)
    added = [by_key[key] for key in sorted(by_key)]
    return merged + added, replaced, len(added)


def write_result(result: ReviewResult, out: str | Path,
                 conflicts_path: str | Path | None = None) -> Path:
    """Write the gold records, and the conflicts beside them (OUT.conflicts.jsonl)."""
    out = Path(out)
    write_jsonl(out, result.records)
    conflicts = Path(conflicts_path) if conflicts_path else out.with_name(
        out.name.removesuffix(".jsonl") + ".conflicts.jsonl")
    write_jsonl(conflicts, result.conflicts)
    return conflicts
