"""One uncertainty measure for every review surface, and each tool's export and import side by
side: what one tool exports, its import reads back."""

from __future__ import annotations

import json

import pytest

from inference.records import Clause, Document, Entity
from inference.review import doccano, labelstudio, uncertainty
from inference.review.select import select_uncertain

THRESHOLDS = {"goal": 0.5, "incentive": 0.3, "responsibility": 0.5, "timeline": 0.5,
              "principle": 0.5}
TEXT = "市财政局安排500万元。"


def _document() -> Document:
    step = len(TEXT) + 1
    clauses = [Clause(clause_id=i, text=TEXT, start=i * step, end=i * step + len(TEXT),
                      labels=["incentive"], scores={"goal": 0.1 * (i + 1), "incentive": 0.7},
                      entities=[Entity(0, 4, "AGENCY", "市财政局", 0.9),
                                Entity(6, 11, "AMOUNT", "500万元", 0.8)])
               for i in range(3)]
    return Document("d1", "x.txt", "\n".join([TEXT] * 3), clauses=clauses)


def test_decisions_give_both_the_margin_and_the_confidence():
    clause = Clause(0, TEXT, labels=["goal"], scores={"goal": 0.75, "incentive": 0.2},
                    entities=[Entity(0, 4, "AGENCY", "市财政局", 0.45)])
    decisions = uncertainty.clause_decisions(clause, THRESHOLDS)
    assert [(d.name, d.decided, d.is_entity) for d in decisions] == [
        ("goal", True, False), ("incentive", False, False), ("AGENCY", True, True)]
    # an entity kept below its threshold is as doubtful as can be
    assert uncertainty.clause_margin(clause, THRESHOLDS) == 0.0
    assert uncertainty.clause_confidence(clause, THRESHOLDS) == 0.45
    no_entity = Clause(0, TEXT, labels=["goal"], scores={"goal": 0.75, "incentive": 0.2})
    assert uncertainty.clause_margin(no_entity, THRESHOLDS) == pytest.approx(0.1)
    # goal: 0.5 + 0.5 * 0.25 / 0.5; incentive: 0.5 + 0.5 * 0.1 / 0.3
    assert uncertainty.clause_confidence(no_entity, THRESHOLDS) == round(0.5 + 0.05 / 0.3, 4)


def test_selection_and_label_studio_scores_come_from_one_function(monkeypatch):
    """Both surfaces read the clause's decisions through uncertainty.clause_decisions: a change
    there shows in the --select ranking and in the Label Studio prediction score alike."""
    document = _document()
    doubted = document.clauses[2]

    def decisions(clause, thresholds, entity_threshold=0.5):
        score = 0.51 if clause is doubted else 0.99
        return [uncertainty.Decision("goal", score, 0.5, True)]

    monkeypatch.setattr(uncertainty, "clause_decisions", decisions)
    ((_, picked, margin),) = select_uncertain([document], 1, THRESHOLDS)
    assert picked is doubted and margin == pytest.approx(0.01)
    tasks = labelstudio.build_tasks([document], model_version="m", thresholds=THRESHOLDS)
    scores = [task["predictions"][0]["score"] for task in tasks]
    assert scores == [0.99, 0.99, 0.51]


def _accept(tasks: list[dict]) -> list[dict]:
    """What a reviewer who accepts every proposal gives back from Label Studio."""
    for index, task in enumerate(tasks):
        task.update(id=index + 1, annotations=[
            {"completed_by": 1, "result": task["predictions"][0]["result"]}])
    return tasks


def test_each_tool_reads_back_what_it_exported(tmp_path):
    document = _document()
    expected = [(c.clause_id, sorted(c.labels), [(e.start, e.end, e.type) for e in c.entities])
                for c in document.clauses]
    for mode in labelstudio.MODES:
        export = tmp_path / f"ls-{mode}.json"
        tasks = _accept(labelstudio.build_tasks([document], model_version="m",
                                                thresholds=THRESHOLDS, mode=mode))
        export.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
        result = labelstudio.import_labelstudio(export)
        assert result.conflicts == []
        assert [(r["clause_id"], r["labels"], [(e["start"], e["end"], e["type"])
                                               for e in r["entities"]])
                for r in result.records] == expected
    files = []
    for task in doccano.TASKS:
        path = tmp_path / f"alice-{task}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                for r in doccano.build_records([document], task)),
                        encoding="utf-8")
        files.append(path)
    result = doccano.import_doccano(files, annotator="alice")
    assert result.conflicts == []
    assert [(r["clause_id"], r["labels"], [(e["start"], e["end"], e["type"])
                                           for e in r["entities"]])
            for r in result.records] == expected
