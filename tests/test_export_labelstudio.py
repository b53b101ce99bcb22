"""Label Studio tasks and config: shapes, offsets, ids, scores, config from the schema."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from inference.records import Clause, Document, Entity
from inference.review.labelstudio import build_tasks, labeling_config
from inference.schema import default_schema
from policy_clauses.cli import main
from tests.conftest import EXAMPLES, ROOT

TEXT = "到2025年，市科技局给予100万元奖励。"


def _document() -> Document:
    first = Clause(clause_id=0, text="二、主要目标", start=0, end=6, kind="heading",
                   labels=["goal"], scores={"goal": 0.9, "incentive": 0.1, "responsibility": 0.1,
                                            "timeline": 0.2, "principle": 0.1}, entities=[])
    second = Clause(clause_id=1, text=TEXT, start=7, end=7 + len(TEXT), section="二、主要目标",
                    labels=["incentive", "timeline"],
                    scores={"goal": 0.45, "incentive": 0.8, "responsibility": 0.3,
                            "timeline": 0.7, "principle": 0.0},
                    entities=[Entity(7, 11, "AGENCY", "市科技局", 0.93),
                              Entity(13, 18, "AMOUNT", "100万元", 0.61)])
    return Document("d1", "src.txt", "二、主要目标\n" + TEXT, meta={"title": "某通知"},
                    clauses=[first, second])


def test_clause_tasks_carry_predictions_with_end_exclusive_offsets_and_unique_ids():
    tasks = build_tasks([_document()], model_version="m1", thresholds={})
    assert len(tasks) == 2
    task = tasks[1]
    assert {k: task["data"][k] for k in ("text", "doc_id", "clause_id", "section", "title")} == {
        "text": TEXT, "doc_id": "d1", "clause_id": 1, "section": "二、主要目标", "title": "某通知"}
    (prediction,) = task["predictions"]
    assert prediction["model_version"] == "m1"
    choices = [r for r in prediction["result"] if r["type"] == "choices"]
    spans = [r for r in prediction["result"] if r["type"] == "labels"]
    assert [c["value"]["choices"] for c in choices] == [["incentive", "timeline"]]
    for span in spans:
        value = span["value"]
        assert TEXT[value["start"]:value["end"]] == value["text"]
        assert span["from_name"] == "entities" and span["to_name"] == "text"
        assert 0 < span["score"] <= 1
    assert [s["value"]["labels"] for s in spans] == [["AGENCY"], ["AMOUNT"]]
    ids = [r["id"] for t in tasks for r in t["predictions"][0]["result"]]
    assert len(ids) == len(set(ids))
    # the least confident decision: goal 0.45 against 0.5 → 0.55
    assert prediction["score"] == 0.55


def test_document_task_puts_clauses_as_regions_and_entities_in_document_offsets():
    (task,) = build_tasks([_document()], model_version="m1", thresholds={}, mode="document")
    text = task["data"]["text"]
    result = task["predictions"][0]["result"]
    regions = [r for r in result if r["value"].get("labels") == ["clause"]]
    bounds = [(r["value"]["start"], r["value"]["end"]) for r in regions]
    assert bounds == [(0, 6), (7, 7 + len(TEXT))]
    per_region = {r["id"]: r["value"]["choices"] for r in result if r["type"] == "choices"}
    assert per_region == {regions[0]["id"]: ["goal"], regions[1]["id"]: ["incentive", "timeline"]}
    for item in result:
        assert text[item["value"]["start"]:item["value"]["end"]] == item["value"]["text"]
    assert "100万元" in [r["value"]["text"] for r in result]


def test_config_is_generated_from_the_schema_and_labels_file_is_current():
    schema = default_schema()
    root = ET.fromstring(labeling_config(schema))
    choices = root.find("Choices")
    assert choices.get("choice") == "multiple" and choices.get("toName") == "text"
    assert [c.get("value") for c in choices] == schema.label_names
    assert [label.get("value") for label in root.find("Labels")] == schema.entity_names
    doc = ET.fromstring(labeling_config(schema, mode="document"))
    assert doc.find("Choices").get("perRegion") == "true"
    committed = (ROOT / "labels" / "labelstudio_config.xml").read_text(encoding="utf-8")
    assert committed == labeling_config(schema), (
        "labels/labelstudio_config.xml is stale: run 'policy-clauses export labelstudio-config'")


def test_cli_writes_tasks_and_config_and_selects(tmp_path):
    out = tmp_path / "tasks.json"
    assert main(["export", "labelstudio", str(EXAMPLES / "seed_003_706b429a5d8fc070.txt"),
                 "--rules", "-o", str(out), "--select", "uncertain", "5",
                 "--config-out", str(tmp_path / "c.xml")]) == 0
    tasks = json.loads(out.read_text(encoding="utf-8"))
    assert len(tasks) == 5 and (tmp_path / "c.xml").read_text().startswith("<View>")
    margins = [t["data"]["uncertainty_margin"] for t in tasks]
    assert margins == sorted(margins)
    # the same clauses again from a predict output, no re-scoring
    pred = tmp_path / "pred.jsonl"
    assert main(["predict", "--rules", str(EXAMPLES / "seed_003_706b429a5d8fc070.txt"),
                 "-o", str(pred)]) == 0
    again = tmp_path / "again.json"
    assert main(["export", "labelstudio", "--from-predictions", str(pred), "-o", str(again),
                 "--select", "uncertain", "5"]) == 0
    assert [t["data"]["text"] for t in json.loads(again.read_text())] == [
        t["data"]["text"] for t in tasks]
    assert main(["export", "labelstudio", "-o", str(again), "--rules"]) == 1
