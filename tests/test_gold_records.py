"""GoldClause: the typed clause record round-trips the real gold file byte for byte, and
validation through it reports what the dict checks reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inference.gold import (
    GoldClause,
    GoldRecordError,
    read_gold,
    validate_records,
    write_jsonl,
)
from inference.records import Entity

GOLD_FILE = Path(__file__).resolve().parents[1] / "labels" / "gold.jsonl"


def test_real_gold_file_round_trips_byte_identically(tmp_path: Path) -> None:
    clauses = read_gold(GOLD_FILE)
    assert len(clauses) > 1000
    assert all(isinstance(e, Entity) for c in clauses for e in c.entities)
    out = tmp_path / "gold.jsonl"
    write_jsonl(out, clauses)
    assert out.read_bytes() == GOLD_FILE.read_bytes()


def test_optional_and_unknown_fields_keep_their_order() -> None:
    record = {"doc_id": "d", "clause_id": 3, "kind": "body", "section": "一、", "text": "市财政局",
              "labels": ["goal"], "entities": [{"start": 0, "end": 4, "type": "AGENCY",
                                                "text": "市财政局"}],
              "note": "kept", "weak": True, "labeler": "rules", "title": None}
    clause = GoldClause.from_dict(record)
    assert clause.weak is True and clause.labeler == "rules" and clause.extra == {"note": "kept"}
    assert json.dumps(clause.to_dict()) == json.dumps(record)


def test_built_in_code_writes_the_canonical_order() -> None:
    clause = GoldClause(doc_id="d", clause_id=0, kind="body", section="", text="拨付500万元",
                        labels=["incentive"], entities=[Entity(2, 8, "AMOUNT", "500万元", 0.9)],
                        weak=True, labeler="rules", source="x.jsonl")
    assert list(clause.to_dict()) == ["doc_id", "clause_id", "kind", "section", "text",
                                      "labels", "entities", "weak", "labeler", "source"]
    # a model's score is not part of a gold entity
    assert clause.to_dict()["entities"] == [{"start": 2, "end": 8, "type": "AMOUNT",
                                             "text": "500万元"}]


def test_from_dict_rejects_missing_fields_and_malformed_entities() -> None:
    with pytest.raises(GoldRecordError, match="missing or mistyped"):
        GoldClause.from_dict({"doc_id": "d", "clause_id": "0"})
    with pytest.raises(GoldRecordError, match="malformed entity"):
        GoldClause.from_dict({"doc_id": "d", "clause_id": 0, "kind": "body", "section": "",
                              "text": "x", "labels": [], "entities": [{"start": 0}]})


def test_validation_lists_every_problem_of_a_record_in_order() -> None:
    base = {"doc_id": "d", "clause_id": 0, "kind": "body", "section": "", "text": "市财政局拨付"}
    records = [
        {**base, "labels": ["zzz", "goal"], "entities": [
            {"start": 0}, {"start": 0, "end": 4, "type": "PERSON", "text": "市财政局"},
            {"start": 2, "end": 5, "type": "AGENCY", "text": "财政局"}]},
        {**base, "labels": [], "entities": []},
        {"doc_id": "d"},
    ]
    assert validate_records(records, "f") == [
        "f:1: unknown label(s) ['zzz']",
        "f:1: labels must be sorted and unique",
        "f:1: malformed entity {'start': 0}",
        "f:1: unknown entity type 'PERSON'",
        "f:1: entity '财政局' does not match text[2:5]",
        "f:1: overlapping entities",
        "f:2: duplicate clause ('d', 0) (first at line 1)",
        "f:3: missing or mistyped field(s) ['clause_id', 'kind', 'section', 'text', 'labels', "
        "'entities']",
    ]
    typed = [GoldClause.from_dict(records[1]), GoldClause.from_dict(records[1])]
    assert validate_records(typed, "g") == ["g:2: duplicate clause ('d', 0) (first at line 1)"]


def test_weak_labels_are_gold_clause_records(tmp_path: Path) -> None:
    from training.data.weak import weak_label

    out = tmp_path / "weak.jsonl"
    weak_label([GOLD_FILE.parents[1] / "examples" / "jiangxi_crawl.jsonl"], str(out), rules=True)
    lines = out.read_text(encoding="utf-8").splitlines()
    clauses = read_gold(out)
    assert clauses and all(c.weak is True and c.labeler == "rules" and c.source for c in clauses)
    assert validate_records(clauses, str(out)) == []
    base = ["doc_id", "clause_id", "kind", "section", "text", "labels", "entities", "weak",
            "labeler", "source"]
    # the document title rides along where the document has one (title context at training)
    assert all(list(json.loads(line)) in (base, [*base, "title"]) for line in lines)
    assert [json.dumps(c.to_dict(), ensure_ascii=False) for c in clauses] == lines


def test_weak_labels_from_a_model_carry_its_probabilities(tmp_path: Path) -> None:
    from inference.scoring.models import load_scorer
    from tests.fixtures.tiny_training import trained_model
    from training.data.weak import weak_label

    model_dir, _, _ = trained_model()
    out = tmp_path / "weak.jsonl"
    weak_label([GOLD_FILE.parents[1] / "examples" / "jiangxi_crawl.jsonl"], str(out),
               model=str(model_dir))
    clauses = read_gold(out)
    assert clauses and validate_records(clauses, str(out)) == []
    thresholds = load_scorer(model_dir).thresholds
    for clause in clauses:
        scores = clause.extra["scores"]
        assert set(scores) == set(thresholds) and all(0 <= v <= 1 for v in scores.values())
        if all(abs(v - thresholds[n]) > 1e-3 for n, v in scores.items()):  # not rounded over
            assert clause.labels == sorted(n for n, v in scores.items() if v >= thresholds[n])
