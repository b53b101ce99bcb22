"""Our doccano JSONL against doccano itself (PyPI doccano 1.8.4 in .venv-doccano).

scripts/doccano_roundtrip.py loads our file with doccano's own import pipeline
(``data_import.datasets.load_dataset`` → JSONL parser, TextData, CategoryLabel/SpanLabel) into a
throwaway SQLite project, applies a reviewer's edit through doccano's models, and exports with
doccano's own exporter. We check nothing was rejected, every label and span arrived, and the
export round-trips through ``policy-clauses import doccano``. The shape checks at the top run
without doccano; the doccano tests are skipped only when its environment is absent
(scripts/setup_doccano.sh).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from inference.schema import default_schema
from policy_clauses.cli import main
from tests.conftest import EXAMPLES, ROOT

DOCCANO_VENV = Path(os.environ.get("DOCCANO_VENV", ROOT / ".venv-doccano"))
needs_doccano = pytest.mark.skipif(
    not (DOCCANO_VENV / "bin" / "python").exists(),
    reason=f"doccano is not installed in {DOCCANO_VENV}; run scripts/setup_doccano.sh")
SOURCE = EXAMPLES / "seed_003_706b429a5d8fc070.txt"


def _export(tmp_path: Path, task: str) -> Path:
    out = tmp_path / f"{task}.jsonl"
    assert main(["export", "doccano", str(SOURCE), "--rules", "-o", str(out), "--task",
                 task]) == 0
    return out


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def test_shapes_follow_doccanos_documented_jsonl(tmp_path):
    schema = default_schema()
    classification = _lines(_export(tmp_path, "classification"))
    ner = _lines(_export(tmp_path, "ner"))
    assert len(classification) == len(ner) > 50
    assert any(r["label"] for r in classification) and any(r["label"] for r in ner)
    for cls, seq in zip(classification, ner, strict=True):
        assert cls["text"] == seq["text"] and cls["clause_id"] == seq["clause_id"]
        assert set(cls["label"]) <= set(schema.label_names)
        for start, end, name in seq["label"]:
            assert name in schema.entity_names and 0 <= start < end <= len(seq["text"])
        assert {"doc_id", "clause_id", "section", "kind"} <= set(cls)


def _roundtrip(tmp_path: Path, task: str, source: Path, *edits: dict) -> tuple[dict, Path]:
    work = tmp_path / f"doccano-{task}"
    command = [str(DOCCANO_VENV / "bin" / "python"), str(ROOT / "scripts" / "doccano_roundtrip.py"),
               "--task", task, "--input", str(source), "--workdir", str(work)]
    for edit in edits:
        command += ["--edit", json.dumps(edit, ensure_ascii=False)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return summary, Path(summary["export"])


@pytest.mark.slow
@needs_doccano
def test_doccano_imports_our_files_and_its_export_comes_back_as_gold(tmp_path):
    cls_path, ner_path = _export(tmp_path, "classification"), _export(tmp_path, "ner")
    classification, ner = _lines(cls_path), _lines(ner_path)
    target = next(r for r in ner if r["label"])
    start, end, name = target["label"][0]
    cid = target["clause_id"]
    before = next(r for r in classification if r["clause_id"] == cid)["label"]
    added = next(label for label in default_schema().label_names if label not in before)

    cls_summary, cls_export = _roundtrip(tmp_path, "classification", cls_path,
                                         {"clause_id": cid, "add": added})
    ner_summary, ner_export = _roundtrip(tmp_path, "ner", ner_path,
                                         {"clause_id": cid, "remove_span": [start, end, name]})
    assert cls_summary["errors"] == [] and ner_summary["errors"] == []
    assert cls_summary["counts"]["examples"] == len(classification)
    assert cls_summary["counts"]["categories"] == sum(len(r["label"]) for r in classification) + 1
    assert ner_summary["counts"]["spans"] == sum(len(r["label"]) for r in ner) - 1

    gold = tmp_path / "gold.jsonl"
    assert main(["import", "doccano", str(cls_export), str(ner_export), "-o", str(gold)]) == 0
    records = {r["clause_id"]: r for r in _lines(gold)}
    assert _lines(tmp_path / "gold.conflicts.jsonl") == []
    assert len(records) == len(classification)
    assert records[cid]["labels"] == sorted([*before, added])
    assert (start, end, name) not in {(e["start"], e["end"], e["type"])
                                      for e in records[cid]["entities"]}
    assert all(r["annotator"] == "reviewer1" and r["reviewed"] for r in records.values())
    untouched = next(r for r in ner if r["label"] and r["clause_id"] != cid)
    assert [[e["start"], e["end"], e["type"]]
            for e in records[untouched["clause_id"]]["entities"]] == sorted(untouched["label"])
