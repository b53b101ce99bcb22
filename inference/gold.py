"""Clause records as annotators and reviewers make them (GUIDELINES §4): the typed record
``GoldClause``, reading, writing and validating. Gold data, reviewed annotations and weak labels
all use this one shape, so the review import (inference/review) and training (training/data)
check it the same way.

A record on disk is one JSON object per line. ``GoldClause.from_dict`` keeps every field it
finds (known optional ones as attributes, anything else in ``extra``) and the order of the
keys, so ``from_dict(d).to_dict() == d`` and a file read and written back is byte-identical.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inference.errors import UserError
from inference.records import Entity
from inference.schema import LabelSchema, default_schema

REQUIRED_FIELDS = {"doc_id": str, "clause_id": int, "kind": str, "section": str, "text": str,
                   "labels": list, "entities": list}
# Optional fields with a meaning of their own, in the order a record built in code writes them.
OPTIONAL_FIELDS = ("annotator", "corpus", "weak", "labeler", "source", "reviewed",
                   "review_source", "title")


class GoldRecordError(UserError, ValueError):
    """A clause record that cannot be read as a ``GoldClause`` (missing or mistyped fields,
    a malformed entity); the message says which."""


def _entity_dict(entity: Entity) -> dict[str, Any]:
    """A gold entity as stored: offsets, type and surface, never a model score."""
    return {"start": entity.start, "end": entity.end, "type": entity.type, "text": entity.text}


def _parse_entity(raw: Any) -> Entity:
    try:
        return Entity(start=int(raw["start"]), end=int(raw["end"]), type=raw["type"],
                      text=raw["text"])
    except (KeyError, TypeError, ValueError):
        raise GoldRecordError(f"malformed entity {raw}") from None


@dataclass
class GoldClause:
    """One labelled clause: GUIDELINES §4's required fields plus the optional ones."""

    doc_id: str
    clause_id: int
    kind: str
    section: str
    text: str
    labels: list[str] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    annotator: str | None = None
    corpus: str | None = None
    weak: bool | None = None
    labeler: str | None = None
    source: str | None = None
    reviewed: bool | None = None
    review_source: str | None = None
    title: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Key order of the record this came from (empty: built in code, canonical order).
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def key(self) -> tuple[str, int]:
        return (self.doc_id, self.clause_id)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> GoldClause:
        """Read one record; raises ``GoldRecordError`` on a missing or mistyped required field
        or a malformed entity."""
        missing = missing_fields(record)
        if missing:
            raise GoldRecordError(f"missing or mistyped field(s) {missing}")
        entities = [_parse_entity(raw) for raw in record["entities"]]
        return cls._build(record, entities)

    @classmethod
    def _build(cls, record: dict[str, Any], entities: list[Entity]) -> GoldClause:
        optional = {k: record[k] for k in OPTIONAL_FIELDS if k in record}
        extra = {k: v for k, v in record.items()
                 if k not in REQUIRED_FIELDS and k not in OPTIONAL_FIELDS}
        return cls(doc_id=record["doc_id"], clause_id=record["clause_id"], kind=record["kind"],
                   section=record["section"], text=record["text"], labels=list(record["labels"]),
                   entities=entities, extra=extra, key_order=tuple(record), **optional)

    def to_dict(self) -> dict[str, Any]:
        """The record as stored: required fields, then the optional fields that are set, in
        the order ``from_dict`` found them (canonical order for a record built in code)."""
        values: dict[str, Any] = {
            "doc_id": self.doc_id, "clause_id": self.clause_id, "kind": self.kind,
            "section": self.section, "text": self.text, "labels": list(self.labels),
            "entities": [_entity_dict(e) for e in self.entities],
        }
        for name in OPTIONAL_FIELDS:
            value = getattr(self, name)
            if value is not None or name in self.key_order:
                values[name] = value
        values.update(self.extra)
        order = [k for k in self.key_order if k in values]
        order += [k for k in values if k not in self.key_order]
        return {k: values[k] for k in order}

    # --- validation --------------------------------------------------------------------

    def label_problems(self, schema: LabelSchema) -> list[str]:
        """Kind and label names from the schema; labels sorted and unique."""
        problems = []
        if self.kind not in schema.clause_kinds:
            problems.append(f"kind {self.kind!r} not in {list(schema.clause_kinds)}")
        unknown = set(self.labels) - set(schema.label_names)
        if unknown:
            problems.append(f"unknown label(s) {sorted(unknown)}")
        if self.labels != sorted(set(self.labels)):
            problems.append("labels must be sorted and unique")
        return problems

    def entity_problems(self, entity: Entity, schema: LabelSchema) -> list[str]:
        """Type name, offsets that give the surface, no punctuation at the edges."""
        problems = []
        if entity.type not in schema.entity_names:
            problems.append(f"unknown entity type {entity.type!r}")
        start, end, surface = entity.start, entity.end, entity.text
        if not 0 <= start < end <= len(self.text) or self.text[start:end] != surface:
            problems.append(f"entity {surface!r} does not match text[{start}:{end}]")
        elif _has_surrounding_punctuation(surface):
            problems.append(f"entity {surface!r} includes surrounding punctuation")
        return problems

    def problems(self, schema: LabelSchema | None = None) -> list[str]:
        """Everything wrong with this record on its own (duplicates need the whole file)."""
        schema = schema or default_schema()
        problems = self.label_problems(schema)
        for entity in self.entities:
            problems += self.entity_problems(entity, schema)
        if _overlapping([(e.start, e.end) for e in self.entities]):
            problems.append("overlapping entities")
        return problems


def missing_fields(record: Any) -> list[str]:
    """Required fields that are absent or of the wrong JSON type."""
    if not isinstance(record, dict):
        return list(REQUIRED_FIELDS)
    return [k for k, t in REQUIRED_FIELDS.items() if not isinstance(record.get(k), t)]


def _overlapping(spans: list[tuple[int, int]]) -> bool:
    spans = sorted(spans)
    return any(a[1] > b[0] for a, b in itertools.pairwise(spans))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every JSON object of a JSONL file; a line that is not JSON is a ``GoldRecordError``
    naming the file and line."""
    records = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except (json.JSONDecodeError, RecursionError) as exc:
                raise GoldRecordError(f"{path}:{number}: not a JSON object per line "
                                      f"({type(exc).__name__})") from exc
    return records


def read_gold(path: Path) -> list[GoldClause]:
    """Clause records of a JSONL file as ``GoldClause``; the first unreadable record is an
    error naming the file and line (``validate_records`` lists them all)."""
    clauses = []
    for index, record in enumerate(read_jsonl(path), start=1):
        try:
            clauses.append(GoldClause.from_dict(record))
        except GoldRecordError as exc:
            raise GoldRecordError(f"{path}:{index}: {exc}") from None
    return clauses


def write_jsonl(path: Path, records: Iterable[dict[str, Any] | GoldClause]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            if isinstance(record, GoldClause):
                record = record.to_dict()
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def entities_of(record: dict[str, Any] | GoldClause) -> list[Entity]:
    if isinstance(record, GoldClause):
        return list(record.entities)
    return [Entity.from_dict(e) for e in record.get("entities", [])]


_EDGE_PUNCT = "，。、；：,.;:!?！？“”‘’《》"
_PAIRS = {"（": "）", "(": ")", "【": "】"}


def _has_surrounding_punctuation(surface: str) -> bool:
    """Punctuation at a span's edge, except a bracket closed or opened inside the span
    (``环境保护厅（局）`` ends in a bracket that belongs to the name)."""
    if surface != surface.strip() or surface[0] in _EDGE_PUNCT or surface[-1] in _EDGE_PUNCT:
        return True
    if surface[0] in _PAIRS and _PAIRS[surface[0]] not in surface[1:]:
        return True
    closers = {close: open_ for open_, close in _PAIRS.items()}
    return surface[-1] in closers and closers[surface[-1]] not in surface[:-1]


def check_record(record: dict[str, Any], schema: LabelSchema) -> tuple[GoldClause | None,
                                                                      list[str]]:
    """A raw record as a ``GoldClause`` (None when its fields are missing) and all its own
    problems. Unlike ``from_dict`` it goes on past a malformed entity, so every problem of a
    record is listed at once."""
    missing = missing_fields(record)
    if missing:
        return None, [f"missing or mistyped field(s) {missing}"]
    entities: list[Entity] = []
    entity_problems: list[str] = []
    clause = GoldClause._build(record, entities)
    for raw in record["entities"]:
        try:
            entity = _parse_entity(raw)
        except GoldRecordError as exc:
            entity_problems.append(str(exc))
            continue
        entities.append(entity)
        entity_problems += clause.entity_problems(entity, schema)
    problems = clause.label_problems(schema) + entity_problems
    if _overlapping([(e.start, e.end) for e in entities]):
        problems.append("overlapping entities")
    return clause, problems


def check_records(
    records: Sequence[dict[str, Any] | GoldClause], where: str,
    schema: LabelSchema | None = None
) -> tuple[list[GoldClause], list[str]]:
    """The records that could be read as ``GoldClause`` and the problems of all of them
    (schema, label and entity names, offsets, duplicates), each prefixed ``where:LINE``."""
    schema = schema or default_schema()
    clauses: list[GoldClause] = []
    problems: list[str] = []
    seen: dict[tuple[str, int], int] = {}
    for index, record in enumerate(records, start=1):
        at = f"{where}:{index}"
        if isinstance(record, GoldClause):
            clause: GoldClause | None = record
            own = record.problems(schema)
        else:
            clause, own = check_record(record, schema)
        if clause is None:
            problems += [f"{at}: {p}" for p in own]
            continue
        clauses.append(clause)
        if clause.key in seen:
            problems.append(f"{at}: duplicate clause {clause.key} (first at line "
                            f"{seen[clause.key]})")
        seen[clause.key] = index
        problems += [f"{at}: {p}" for p in own]
    return clauses, problems


def validate_records(
    records: Sequence[dict[str, Any] | GoldClause], where: str,
    schema: LabelSchema | None = None
) -> list[str]:
    """Problems in clause records, each prefixed ``where:LINE`` (see ``check_records``)."""
    return check_records(records, where, schema)[1]
