"""doccano JSONL lines: label list / span triples, ids kept for matching back."""

from __future__ import annotations

import pytest

from inference.records import Clause, Document, Entity
from inference.review.doccano import build_records


def _document() -> Document:
    clause = Clause(clause_id=4, text="市财政局安排500万元。", section="三、保障",
                    labels=["incentive"], scores={"incentive": 0.7},
                    entities=[Entity(0, 4, "AGENCY", "市财政局", 0.9),
                              Entity(6, 11, "AMOUNT", "500万元", 0.8)])
    return Document("d9", "x.txt", clause.text, clauses=[clause])


def test_classification_and_ner_lines():
    (cls,) = build_records([_document()], "classification")
    (ner,) = build_records([_document()], "ner")
    assert cls["label"] == ["incentive"] and cls["text"] == "市财政局安排500万元。"
    assert ner["label"] == [[0, 4, "AGENCY"], [6, 11, "AMOUNT"]]
    for start, end, _ in ner["label"]:
        assert ner["text"][start:end] in ("市财政局", "500万元")
    for line in (cls, ner):
        assert (line["doc_id"], line["clause_id"], line["section"]) == ("d9", 4, "三、保障")
    assert cls["predicted_entities"] == ner["label"] and ner["predicted_labels"] == cls["label"]
    with pytest.raises(ValueError, match="unknown doccano task"):
        build_records([_document()], "relations")
