"""Clause records as annotators and reviewers make them (GUIDELINES §4): reading, writing
and validating them. Gold data, reviewed annotations and weak labels all use this one shape,
so the review import (inference/review) and training (training/data) check it the same way.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from inference.records import Entity
from inference.schema import LabelSchema, default_schema

REQUIRED_FIELDS = {"doc_id": str, "clause_id": int, "kind": str, "section": str, "text": str,
                   "labels": list, "entities": list}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def entities_of(record: dict[str, Any]) -> list[Entity]:
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


def validate_records(
    records: Sequence[dict[str, Any]], where: str, schema: LabelSchema | None = None
) -> list[str]:
    """Problems in clause records: schema, label and entity names, offsets, duplicates."""
    schema = schema or default_schema()
    problems: list[str] = []
    seen: dict[tuple[str, int], int] = {}
    for index, record in enumerate(records, start=1):
        at = f"{where}:{index}"
        missing = [k for k, t in REQUIRED_FIELDS.items() if not isinstance(record.get(k), t)]
        if missing:
            problems.append(f"{at}: missing or mistyped field(s) {missing}")
            continue
        key = (record["doc_id"], record["clause_id"])
        if key in seen:
            problems.append(f"{at}: duplicate clause {key} (first at line {seen[key]})")
        seen[key] = index
        if record["kind"] not in schema.clause_kinds:
            problems.append(f"{at}: kind {record['kind']!r} not in {list(schema.clause_kinds)}")
        unknown = set(record["labels"]) - set(schema.label_names)
        if unknown:
            problems.append(f"{at}: unknown label(s) {sorted(unknown)}")
        if record["labels"] != sorted(set(record["labels"])):
            problems.append(f"{at}: labels must be sorted and unique")
        text = record["text"]
        spans = []
        for entity in record["entities"]:
            try:
                start, end = int(entity["start"]), int(entity["end"])
                etype, surface = entity["type"], entity["text"]
            except (KeyError, TypeError, ValueError):
                problems.append(f"{at}: malformed entity {entity}")
                continue
            if etype not in schema.entity_names:
                problems.append(f"{at}: unknown entity type {etype!r}")
            if not 0 <= start < end <= len(text) or text[start:end] != surface:
                problems.append(f"{at}: entity {surface!r} does not match text[{start}:{end}]")
            elif _has_surrounding_punctuation(surface):
                problems.append(f"{at}: entity {surface!r} includes surrounding punctuation")
            spans.append((start, end))
        spans.sort()
        if any(a[1] > b[0] for a, b in itertools.pairwise(spans)):
            problems.append(f"{at}: overlapping entities")
    return problems
