"""Annotation sheets: a plain-text form of clause records that a person reads and edits.

Offsets are never typed by hand. An annotator writes entity mentions as text and this module
finds them in the clause (``parse_sheet``), longest mention first, every non-overlapping
occurrence, or only the n-th with ``text@n``. A sheet looks like::

    # doc: seed-000 | source: seeds/000_154b73dca2851f36.txt
    ## 10 [body] 二、主要目标
    主要指标：新建2家市级以上科技成果转移转化基地，……全市技术合同交易额达到3000万元。
    L: goal
    A: 3000万元
    G:

``L:`` the clause labels (space-separated; empty = none), ``A:`` AMOUNT mentions and ``G:``
AGENCY mentions (separated by `` | ``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from inference.errors import UserError
from inference.gold import GoldClause
from inference.records import Clause, Entity
from inference.schema import LabelSchema, default_schema

_TYPE_KEYS = {"A": "AMOUNT", "G": "AGENCY"}
_CLAUSE_HEADER = re.compile(r"^## (\d+) \[(heading|body|head|tail)\] ?(.*)$")
_DOC_HEADER = re.compile(r"^# doc: (\S+)(?: \| source: (.*))?$")


class SheetError(UserError, ValueError):
    """A sheet line that cannot be turned into a record; names the doc, clause and reason."""


@dataclass
class SheetClause:
    doc_id: str
    source: str
    clause_id: int
    kind: str
    section: str
    text: str
    labels: list[str] = field(default_factory=list)
    mentions: dict[str, list[str]] = field(default_factory=dict)


def render_sheet(doc_id: str, source: str, clauses: Iterable[Clause]) -> str:
    """A sheet for one document; labels/entities already on the clauses are filled in."""
    lines = [f"# doc: {doc_id} | source: {source}"]
    for clause in clauses:
        lines.append(f"## {clause.clause_id} [{clause.kind}] {clause.section}".rstrip())
        lines.append(clause.text)
        lines.append("L: " + " ".join(sorted(clause.labels or [])))
        for key, etype in _TYPE_KEYS.items():
            mentions = [e.text for e in clause.entities or [] if e.type == etype]
            lines.append(f"{key}: " + " | ".join(dict.fromkeys(mentions)))
    return "\n".join(lines) + "\n"


def read_sheet(text: str) -> list[SheetClause]:
    """Parse a sheet's text into clauses with labels and mention strings."""
    out: list[SheetClause] = []
    doc_id, source = "", ""
    current: SheetClause | None = None
    expect_text = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        if m := _DOC_HEADER.match(line):
            doc_id, source = m.group(1), m.group(2) or ""
            continue
        if m := _CLAUSE_HEADER.match(line):
            current = SheetClause(doc_id, source, int(m.group(1)), m.group(2), m.group(3), "")
            out.append(current)
            expect_text = True
            continue
        if current is None or not line.strip():
            continue
        if expect_text:
            current.text = line
            expect_text = False
            continue
        key, _, value = line.partition(":")
        value = value.strip()
        if key == "L":
            current.labels = value.split() if value else []
        elif key in _TYPE_KEYS:
            current.mentions[_TYPE_KEYS[key]] = [v.strip() for v in value.split("|") if v.strip()]
        else:
            raise SheetError(f"line {lineno}: expected 'L:', 'A:' or 'G:', found {line[:40]!r}")
    return out


def locate_mentions(text: str, mentions: dict[str, list[str]], where: str) -> list[Entity]:
    """Entity spans for mention strings: longest first, every non-overlapping occurrence
    (``mention@n`` takes only the n-th occurrence, counting from 1)."""
    wanted: list[tuple[str, str, int | None]] = []
    for etype, items in mentions.items():
        for item in items:
            surface, _, nth = item.rpartition("@") if re.search(r"@\d+$", item) else (item, "", "")
            wanted.append((surface, etype, int(nth) if nth else None))
    wanted.sort(key=lambda w: -len(w[0]))
    taken = [False] * len(text)
    entities: list[Entity] = []
    for surface, etype, nth in wanted:
        starts = [m.start() for m in re.finditer(re.escape(surface), text)]
        if not starts:
            raise SheetError(f"{where}: {etype} mention {surface!r} is not in the clause text")
        if nth is not None:
            if nth > len(starts):
                raise SheetError(f"{where}: {surface!r}@{nth} but it occurs {len(starts)} time(s)")
            starts = [starts[nth - 1]]
        placed = False
        for start in starts:
            end = start + len(surface)
            if any(taken[start:end]):
                continue
            taken[start:end] = [True] * (end - start)
            entities.append(Entity(start, end, etype, surface))
            placed = True
        if not placed and nth is not None:
            raise SheetError(f"{where}: {surface!r}@{nth} overlaps a longer mention")
    return sorted(entities, key=lambda e: (e.start, e.end))


def sheet_to_records(
    text: str, schema: LabelSchema | None = None, annotator: str = ""
) -> list[GoldClause]:
    """Gold records (GUIDELINES §4) from a sheet; raises SheetError on the first bad clause."""
    schema = schema or default_schema()
    records = []
    for clause in read_sheet(text):
        where = f"{clause.doc_id} clause {clause.clause_id}"
        schema.check_labels(clause.labels, where)
        entities = locate_mentions(clause.text, clause.mentions, where)
        records.append(GoldClause(
            doc_id=clause.doc_id, clause_id=clause.clause_id, kind=clause.kind,
            section=clause.section, text=clause.text, labels=sorted(set(clause.labels)),
            entities=entities, annotator=annotator or None))
    return records


def read_sheet_file(
    path: Path, schema: LabelSchema | None = None, annotator: str = ""
) -> list[GoldClause]:
    try:
        return sheet_to_records(path.read_text(encoding="utf-8"), schema, annotator)
    except SheetError as exc:
        raise SheetError(f"{path}: {exc}") from exc


def check_sheet_against_documents(path: Path, documents: Path) -> list[str]:
    """Problems with a sheet: clause texts or ids that differ from what the segmenter makes
    of the document today, and mentions that cannot be located."""
    import json

    from inference.text.ingest import _document_from_json
    from inference.text.pipeline import build_document

    problems: list[str] = []
    try:
        records = read_sheet_file(path)
    except SheetError as exc:
        return [str(exc)]
    if not records:
        return [f"{path}: no clauses"]
    doc_id = records[0].doc_id
    for line in documents.read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        if obj["id"] == doc_id:
            doc = build_document(_document_from_json(obj, str(documents)))
            break
    else:
        return [f"{path}: document {doc_id} is not in {documents}"]
    expected = [(c.clause_id, c.text) for c in doc.clauses]
    found = [(r.clause_id, r.text) for r in records]
    if expected != found:
        pairs = zip([*expected, None], [*found, None], strict=False)
        diff = next((e, f) for e, f in pairs if e != f)
        problems.append(f"{path}: clauses differ from the segmenter's; first difference {diff}")
    return problems


if __name__ == "__main__":
    import argparse
    from collections import Counter

    from training.data.gold import DOCUMENTS_PATH

    parser = argparse.ArgumentParser(
        description="Check annotation sheets against the segmenter and count their labels.")
    parser.add_argument("sheets", nargs="+", type=Path)
    parser.add_argument("--documents", type=Path, default=DOCUMENTS_PATH,
                        help="documents JSONL holding the sheets' documents (default: "
                        "labels/documents.jsonl; a new round's documents.jsonl before it is "
                        "merged)")
    args = parser.parse_args()
    totals: Counter[str] = Counter()
    failed = False
    for sheet in args.sheets:
        problems = check_sheet_against_documents(sheet, args.documents)
        for problem in problems:
            print("ERROR", problem)
        failed |= bool(problems)
        if not problems:
            for record in read_sheet_file(sheet):
                totals["clauses"] += 1
                totals.update(record.labels)
                totals.update(e.type for e in record.entities)
    print(dict(totals))
    raise SystemExit(1 if failed else 0)
