"""Reviewed exports → gold records; every problem becomes a conflict, none is dropped."""

from __future__ import annotations

import json

import pytest

from inference.records import Clause, Document, Entity
from inference.review.doccano import import_doccano
from inference.review.labelstudio import build_tasks, import_labelstudio
from inference.review.reconcile import ReviewImportError, text_fingerprint
from policy_clauses.cli import main
from training.data.gold import validate_records

TEXT = "由市科技局负责，给予100万元奖励。"
ASTRAL = "𠀾区财政局拨付5万元。"  # U+2003E counts two UTF-16 units


def _task(tid: int, cid: int, text: str, annotations: list[dict]) -> dict:
    return {"id": tid, "data": {"text": text, "doc_id": "d1", "clause_id": cid, "kind": "body",
                                "section": "一、", "title": "t",
                                "text_sha1": text_fingerprint(text)},
            "annotations": annotations}


def _ann(user: int, choices: list[str], spans=(), cancelled: bool = False) -> dict:
    result = [{"id": "c", "from_name": "labels", "to_name": "text", "type": "choices",
               "value": {"choices": choices}}] if choices else []
    for i, (start, end, name, surface) in enumerate(spans):
        result.append({"id": f"s{i}", "from_name": "entities", "to_name": "text",
                       "type": "labels", "value": {"start": start, "end": end, "text": surface,
                                                   "labels": [name]}})
    return {"id": user * 100, "completed_by": user, "was_cancelled": cancelled,
            "result": result}


def _run(tmp_path, tasks):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    return import_labelstudio(path)


def test_labelstudio_export_becomes_valid_gold_and_conflicts_are_reported(tmp_path):
    changed = _task(6, 5, TEXT, [_ann(1, ["goal"])])
    changed["data"]["text"] = TEXT + "（改）"
    tasks = [
        _task(1, 0, TEXT, [_ann(1, ["responsibility", "incentive"],
                                [(1, 5, "AGENCY", "市科技局"), (10, 15, "AMOUNT", "100万元")])]),
        _task(2, 1, TEXT, [_ann(1, ["goal"]), _ann(2, ["timeline"])]),          # disagree
        _task(3, 2, TEXT, [_ann(1, ["goal"]), _ann(2, ["goal"])]),              # agree
        _task(4, 3, TEXT, [_ann(1, ["subsidy"])]),                             # unknown label
        _task(5, 4, TEXT, [_ann(1, [], [(2, 5, "AGENCY", "市科技局")])]),        # bad offsets
        changed,                                                               # text changed
        _task(7, 6, ASTRAL, [_ann(1, [], [(2, 6, "AGENCY", "区财政局"),         # UTF-16 units
                                           (8, 11, "AMOUNT", "5万元")])]),
        _task(8, 7, TEXT, [_ann(1, ["goal"], cancelled=True)]),                # skipped
        _task(9, 8, TEXT, []),                                                 # unreviewed
    ]
    result = _run(tmp_path, tasks)
    records = {r["clause_id"]: r for r in result.records}
    assert set(records) == {0, 2, 6}
    assert validate_records(result.records, "reviewed") == []
    assert records[0]["labels"] == ["incentive", "responsibility"]
    assert records[0]["entities"] == [
        {"start": 1, "end": 5, "type": "AGENCY", "text": "市科技局"},
        {"start": 10, "end": 15, "type": "AMOUNT", "text": "100万元"}]
    assert records[0]["annotator"] == "ls-user-1" and records[0]["reviewed"] is True
    assert records[2]["annotator"] == "ls-user-1+ls-user-2"
    assert [(e["start"], e["end"]) for e in records[6]["entities"]] == [(1, 5), (7, 10)]
    reasons = {c["clause_id"]: c["reason"] for c in result.conflicts}
    assert reasons == {1: "reviewers_disagree", 3: "unknown_label", 4: "offset_mismatch",
                       5: "text_changed"}
    assert (result.summary.skipped, result.summary.unreviewed) == (1, 1)


def test_document_mode_import_maps_regions_back_to_clauses(tmp_path):
    clauses = [Clause(0, "二、目标", 0, 4, kind="heading", labels=["goal"], scores={"goal": 0.9},
                      entities=[]),
               Clause(1, TEXT, 5, 5 + len(TEXT), labels=["incentive"], scores={"goal": 0.1},
                      entities=[Entity(1, 5, "AGENCY", "市科技局", 0.9)])]
    doc = Document("d2", "s", "二、目标\n" + TEXT, clauses=clauses)
    (task,) = build_tasks([doc], model_version="m", thresholds={}, mode="document")
    result_items = task["predictions"][0]["result"]
    task.update(id=1, annotations=[{"completed_by": 3, "result": result_items}])
    result = _run(tmp_path, [task])
    assert [(r["clause_id"], r["labels"], r["kind"]) for r in result.records] == [
        (0, ["goal"], "heading"), (1, ["incentive"], "body")]
    assert result.records[1]["entities"][0]["text"] == "市科技局"
    # an entity dragged across the clause boundary is a conflict, not a silent fix
    bad = json.loads(json.dumps(task))
    bad["annotations"][0]["result"].append({
        "id": "x", "from_name": "entities", "to_name": "text", "type": "labels",
        "value": {"start": 2, "end": 7, "text": bad["data"]["text"][2:7], "labels": ["AGENCY"]}})
    result = _run(tmp_path, [bad])
    assert result.records == [] and result.conflicts[0]["reason"] == "span_crosses_clause"


def test_labelstudio_import_refuses_what_is_not_our_export(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"not": "a list"}')
    with pytest.raises(ReviewImportError, match="list of tasks"):
        import_labelstudio(path)


def _doccano_line(cid: int, label, text: str = TEXT, **extra) -> str:
    row = {"id": cid + 1, "text": text, "doc_id": "d1", "clause_id": cid, "section": "",
           "kind": "body", "text_sha1": text_fingerprint(text), "label": label, **extra}
    return json.dumps(row, ensure_ascii=False)


def test_doccano_halves_merge_and_partial_reviews_are_conflicts_unless_asked(tmp_path):
    cls = tmp_path / "alice.jsonl"
    cls.write_text("\n".join([
        _doccano_line(0, ["responsibility"], predicted_entities=[[1, 5, "AGENCY"]]),
        _doccano_line(1, ["goal"], predicted_entities=[[10, 15, "AMOUNT"]]),
    ]) + "\n", encoding="utf-8")
    ner = tmp_path / "alice_ner.jsonl"
    ner.write_text(_doccano_line(0, [[1, 5, "AGENCY"], [10, 15, "AMOUNT"]],
                                 predicted_labels=["incentive"]) + "\n", encoding="utf-8")
    result = import_doccano([cls, ner], annotator="alice")
    assert [(r["clause_id"], r["labels"], len(r["entities"])) for r in result.records] == [
        (0, ["responsibility"], 2)]
    assert [(c["clause_id"], c["reason"]) for c in result.conflicts] == [(1, "incomplete")]
    partial = import_doccano([cls, ner], annotator="alice", partial=True)
    second = next(r for r in partial.records if r["clause_id"] == 1)
    assert second["entities"][0]["text"] == "100万元" and second["reviewed_parts"] == ["labels"]


def test_cli_import_with_reference_checks_text(tmp_path):
    tasks = [_task(1, 0, TEXT, [_ann(1, ["goal"])])]
    export = tmp_path / "e.json"
    export.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    reference = tmp_path / "gold.jsonl"
    reference.write_text(json.dumps({"doc_id": "d1", "clause_id": 0, "kind": "heading",
                                     "section": "x", "text": TEXT + "。", "labels": [],
                                     "entities": []}, ensure_ascii=False) + "\n")
    out = tmp_path / "reviewed.jsonl"
    assert main(["import", "labelstudio", str(export), "-o", str(out), "--against",
                 str(reference)]) == 0
    assert out.read_text() == ""
    (conflict,) = [json.loads(x) for x in (tmp_path / "reviewed.conflicts.jsonl").read_text()
                   .splitlines()]
    assert conflict["reason"] == "text_changed"


def test_merge_into_gold_replaces_reviewed_clauses_and_appends_new_ones(tmp_path):
    gold = tmp_path / "gold.jsonl"
    base = {"doc_id": "d1", "kind": "body", "section": "", "text": TEXT, "entities": [],
            "annotator": "A", "corpus": "c"}
    gold.write_text("\n".join(json.dumps({**base, "clause_id": i, "labels": []},
                                         ensure_ascii=False) for i in (0, 1)) + "\n")
    export = tmp_path / "e.json"
    export.write_text(json.dumps([_task(1, 1, TEXT, [_ann(1, ["goal"])]),
                                  _task(2, 9, TEXT, [_ann(1, [])])], ensure_ascii=False))
    out = tmp_path / "merged.jsonl"
    assert main(["import", "labelstudio", str(export), "-o", str(out), "--merge-into",
                 str(gold)]) == 0
    merged = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(r["clause_id"], r["labels"], r.get("reviewed", False)) for r in merged] == [
        (0, [], False), (1, ["goal"], True), (9, [], True)]
    assert merged[1]["corpus"] == "c"
    assert validate_records(merged, "merged") == []
