"""Import never corrupts gold silently: clauses are keyed on content as well as ids, and a
malformed task is a conflict naming it while the rest of the import goes on."""

from __future__ import annotations

import json

from inference.gold import validate_records
from inference.records import Clause, Document, Entity
from inference.review.doccano import build_records, import_doccano
from inference.review.labelstudio import build_tasks, import_labelstudio
from inference.review.reconcile import text_fingerprint
from policy_clauses.cli import main

TEXT = "由市科技局负责，给予100万元奖励。"
OTHER = "市财政局安排500万元。"


def _document(text: str) -> Document:
    clause = Clause(0, text, 0, len(text), labels=["incentive"], scores={"incentive": 0.8},
                    entities=[])
    return Document("dup", "x.txt", text, clauses=[clause])


def _accepted(tasks: list[dict]) -> list[dict]:
    for index, task in enumerate(tasks):
        task.update(id=index + 1, annotations=[
            {"completed_by": 1, "result": task["predictions"][0]["result"]}])
    return tasks


def _write(path, tasks) -> None:
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")


def test_two_documents_with_one_id_are_a_conflict_not_a_lost_clause(tmp_path):
    documents = [_document(TEXT), _document(OTHER)]
    for mode in ("clause", "document"):
        export = tmp_path / f"{mode}.json"
        _write(export, _accepted(build_tasks(documents, model_version="m", thresholds={},
                                             mode=mode)))
        result = import_labelstudio(export)
        assert result.records == []
        (conflict,) = result.conflicts
        assert conflict["reason"] == "same_id_different_text"
        assert (conflict["doc_id"], conflict["clause_id"]) == ("dup", 0)
        assert {v["text"] for v in conflict["versions"]} == {TEXT, OTHER}
        assert f"{export}#task1" in conflict["where"] and f"{export}#task2" in conflict["where"]
        assert result.summary.conflicts == 1
    files = []
    for task in ("classification", "ner"):
        path = tmp_path / f"bob-{task}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                for r in build_records(documents, task)), encoding="utf-8")
        files.append(path)
    result = import_doccano(files, annotator="bob")
    assert result.records == []
    assert [c["reason"] for c in result.conflicts] == ["same_id_different_text"]


def test_merge_into_gold_never_replaces_a_clause_with_another_text(tmp_path):
    gold = tmp_path / "gold.jsonl"
    kept = {"doc_id": "d1", "clause_id": 0, "kind": "body", "section": "", "text": TEXT,
            "labels": ["incentive"], "entities": [], "annotator": "A"}
    gold.write_text(json.dumps(kept, ensure_ascii=False) + "\n", encoding="utf-8")
    task = {"id": 7, "data": {"text": OTHER, "doc_id": "d1", "clause_id": 0,
                              "text_sha1": text_fingerprint(OTHER)},
            "annotations": [{"completed_by": 1, "result": [
                {"id": "c", "from_name": "labels", "to_name": "text", "type": "choices",
                 "value": {"choices": ["goal"]}}]}]}
    export = tmp_path / "e.json"
    _write(export, [task])
    out = tmp_path / "merged.jsonl"
    assert main(["import", "labelstudio", str(export), "-o", str(out), "--merge-into",
                 str(gold)]) == 0
    merged = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert merged == [kept]
    (conflict,) = [json.loads(x) for x in (tmp_path / "merged.conflicts.jsonl")
                   .read_text(encoding="utf-8").splitlines()]
    assert conflict["reason"] == "gold_text_differs"
    assert (conflict["text"], conflict["gold_text"]) == (OTHER, TEXT)


def _ls_task(task_id, clause_id=0, spans=(), text=TEXT, doc_id="d1") -> dict:
    result = [{"id": "c", "from_name": "labels", "to_name": "text", "type": "choices",
               "value": {"choices": ["incentive"]}}]
    result += [{"id": f"s{i}", "from_name": "entities", "to_name": "text", "type": "labels",
                "value": {**value, "labels": ["AMOUNT"]}} for i, value in enumerate(spans)]
    return {"id": task_id, "data": {"text": text, "doc_id": doc_id, "clause_id": clause_id},
            "annotations": [{"completed_by": 1, "result": result}]}


def test_malformed_label_studio_tasks_are_conflicts_and_the_import_goes_on(tmp_path):
    tasks = [
        _ls_task(1, 0, [{"start": 10, "end": 15, "text": "100万元"}]),       # good
        _ls_task(2, 1, [{"end": 15, "text": "100万元"}]),                    # no start
        _ls_task(3, None),                                                   # null clause_id
        42,                                                                  # not an object
        ["a", "list"],                                                       # not an object
        _ls_task(None, 4, [{"start": 10.0, "end": 15.7, "text": "100万元"}]),  # float offsets
        {"id": 8, "data": {"text": TEXT, "doc_id": "d1", "clause_id": 5},
         "annotations": [{"completed_by": 1, "result": "oops"}]},            # result not a list
    ]
    export = tmp_path / "e.json"
    _write(export, tasks)
    result = import_labelstudio(export)
    assert [(r["clause_id"], r["entities"][0]["text"]) for r in result.records] == [
        (0, "100万元")]
    where = {c["where"]: c["reason"] for c in result.conflicts}
    assert where == {f"{export}#task2": "bad_offsets", f"{export}#task3": "malformed_task",
                     f"{export}#index3": "malformed_task", f"{export}#index4": "malformed_task",
                     f"{export}#index5": "bad_offsets", f"{export}#task8": "malformed_task"}
    detail = {c["where"]: c["detail"] for c in result.conflicts}
    assert "no 'start'" in detail[f"{export}#task2"]
    assert "clause_id is None" in detail[f"{export}#task3"]
    assert "10.0" in detail[f"{export}#index5"]


def _doccano_row(clause_id, label, text=TEXT, **extra) -> str:
    row = {"text": text, "doc_id": "d1", "clause_id": clause_id, "label": label,
           "text_sha1": text_fingerprint(text), **extra}
    return json.dumps(row, ensure_ascii=False)


def test_malformed_doccano_lines_are_conflicts_and_the_import_goes_on(tmp_path):
    ner = tmp_path / "carol.jsonl"
    ner.write_text("\n".join([
        _doccano_row(0, [[10, 15, "AMOUNT"]], predicted_labels=["incentive"]),  # good
        _doccano_row(1, [[10, 15]], predicted_labels=[]),                       # 2 elements
        _doccano_row(2, [[10, 15, "AMOUNT", "x"]], predicted_labels=[]),        # 4 elements
        _doccano_row(3, [[0.5, 8.7, "AMOUNT"]], predicted_labels=[]),           # floats
        _doccano_row(None, [[10, 15, "AMOUNT"]], predicted_labels=[]),          # null id
        "{not json",
        "[1, 2]",
    ]) + "\n", encoding="utf-8")
    result = import_doccano([ner], partial=True)
    assert [(r["clause_id"], r["labels"], r["entities"][0]["text"])
            for r in result.records] == [(0, ["incentive"], "100万元")]
    assert validate_records(result.records, "reviewed") == []
    where = {c["where"]: c["reason"] for c in result.conflicts}
    assert where == {f"{ner}:2": "bad_span", f"{ner}:3": "bad_span", f"{ner}:4": "bad_offsets",
                     f"{ner}:5": "malformed_task", f"{ner}:6": "malformed_task",
                     f"{ner}:7": "malformed_task"}
    detail = {c["where"]: c["detail"] for c in result.conflicts}
    assert "[10, 15]" in detail[f"{ner}:2"] and "0.5" in detail[f"{ner}:4"]


def test_cli_import_of_a_malformed_export_reports_instead_of_crashing(tmp_path, capsys):
    export = tmp_path / "e.json"
    _write(export, [_ls_task(1, 0), 42, _ls_task(3, None)])
    out = tmp_path / "reviewed.jsonl"
    assert main(["import", "labelstudio", str(export), "-o", str(out)]) == 0
    assert "1 gold records" in capsys.readouterr().out
    conflicts = (tmp_path / "reviewed.conflicts.jsonl").read_text(encoding="utf-8")
    assert len(conflicts.splitlines()) == 2


def test_entities_survive_in_document_mode_with_one_id(tmp_path):
    """A document exported once under its id still imports cleanly (the content key does not
    split a clause reviewed by two people)."""
    text = OTHER
    clause = Clause(0, text, 0, len(text), labels=["incentive"], scores={"incentive": 0.8},
                    entities=[Entity(6, 11, "AMOUNT", "500万元", 0.9)])
    tasks = build_tasks([Document("d5", "x", text, clauses=[clause])], model_version="m",
                        thresholds={})
    tasks = _accepted(tasks)
    tasks[0]["annotations"].append({"completed_by": 2,
                                    "result": tasks[0]["predictions"][0]["result"]})
    export = tmp_path / "e.json"
    _write(export, tasks)
    (record,) = import_labelstudio(export).records
    assert record["annotator"] == "ls-user-1+ls-user-2"
    assert record["entities"][0]["text"] == "500万元"


def test_a_reference_holding_one_id_twice_checks_nothing_against_either_text(tmp_path):
    reference = tmp_path / "pred.jsonl"
    reference.write_text("".join(
        json.dumps({"doc_id": "d1", "clauses": [{"clause_id": 0, "text": text,
                                                 "kind": "body", "section": ""}]},
                   ensure_ascii=False) + "\n" for text in (OTHER, TEXT)), encoding="utf-8")
    export = tmp_path / "e.json"
    _write(export, [_ls_task(1, 0)])
    out = tmp_path / "reviewed.jsonl"
    assert main(["import", "labelstudio", str(export), "-o", str(out), "--against",
                 str(reference)]) == 0
    assert out.read_text(encoding="utf-8") == ""
    (conflict,) = [json.loads(x) for x in (tmp_path / "reviewed.conflicts.jsonl")
                   .read_text(encoding="utf-8").splitlines()]
    assert conflict["reason"] == "ambiguous_reference"


def test_export_warns_when_documents_share_an_id(tmp_path, capsys):
    pred = tmp_path / "pred.jsonl"
    pred.write_text("".join(json.dumps(_document(text).to_dict(), ensure_ascii=False) + "\n"
                            for text in (TEXT, OTHER)), encoding="utf-8")
    out = tmp_path / "tasks.json"
    assert main(["export", "labelstudio", "--from-predictions", str(pred), "-o", str(out)]) == 0
    assert "1 doc_id(s) are held by more than one document (e.g. 'dup')" in (
        capsys.readouterr().err)
    assert len(json.loads(out.read_text(encoding="utf-8"))) == 2
