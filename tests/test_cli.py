"""The CLI contract end to end on examples/ (rule baseline, so no model is needed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from policy_clauses.cli import main
from tests.conftest import EXAMPLES, ROOT

CLAUSE_KEYS = {"clause_id", "start", "end", "kind", "section", "text"}


def _records(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_segment_contract(tmp_path):
    out = tmp_path / "seg.jsonl"
    assert main(["segment", str(EXAMPLES), "-o", str(out)]) == 0
    records = _records(out)
    assert len(records) == 11  # 9 files, one of them JSONL with 3 documents
    for record in records:
        assert {"doc_id", "source", "meta", "quality", "text", "clauses"} <= set(record)
        assert record["clauses"]
        for clause in record["clauses"]:
            assert set(clause) >= CLAUSE_KEYS
            assert record["text"][clause["start"]:clause["end"]] == clause["text"]
            assert "labels" not in clause
    assert not (tmp_path / "seg.errors.jsonl").read_text()


def test_predict_contract_with_rules(tmp_path):
    out = tmp_path / "pred.jsonl"
    assert main(["predict", str(EXAMPLES / "seed_003_706b429a5d8fc070.txt"), "-o", str(out),
                 "--rules"]) == 0
    (record,) = _records(out)
    labelled = 0
    for clause in record["clauses"]:
        assert clause["labels"] == sorted(clause["labels"])
        assert set(clause["scores"]) == {"goal", "incentive", "responsibility", "timeline",
                                         "principle"}
        for entity in clause["entities"]:
            assert clause["text"][entity["start"]:entity["end"]] == entity["text"]
            assert entity["type"] in ("AMOUNT", "AGENCY") and 0 <= entity["score"] <= 1
        labelled += bool(clause["labels"])
    assert labelled > 20
    note = next(c for c in record["clauses"] if c["text"].startswith("（责任单位：市科技局、发改委"))
    assert "responsibility" in note["labels"]
    assert [e["text"] for e in note["entities"]][:3] == ["市科技局", "发改委", "财政局"]


def test_predict_clauses_keeps_fields_and_does_not_resegment(tmp_path):
    src = tmp_path / "clauses.jsonl"
    src.write_text(
        json.dumps({"text": "到2025年，全市技术合同成交额达到5亿元。加强领导。", "section": "二、目标",
                    "my_id": 7}, ensure_ascii=False) + "\n"
        + json.dumps({"text": "（责任单位：市科技局）"}, ensure_ascii=False) + "\n",
        encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["predict", "--clauses", str(src), "-o", str(out), "--rules"]) == 0
    first, second = _records(out)
    assert first["my_id"] == 7 and first["section"] == "二、目标"
    assert first["text"] == "到2025年，全市技术合同成交额达到5亿元。加强领导。"
    assert {"goal", "timeline"} <= set(first["labels"])
    assert [e["text"] for e in first["entities"]] == ["5亿元"]
    assert second["labels"] == ["responsibility"]


def test_stdin_and_stdout(tmp_path):
    line = json.dumps({"id": "s1", "text": "一、主要目标\n到2020年，建成体系。"}, ensure_ascii=False)
    run = subprocess.run(
        [sys.executable, "-m", "policy_clauses.cli", "predict", "-", "-o", "-", "--rules"],
        input=line + "\n", capture_output=True, text=True, cwd=ROOT, check=False)
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout)
    assert record["doc_id"] == "s1" and len(record["clauses"]) == 2
    assert "1 documents, 2 clauses, 0 errors" in run.stderr


def test_bad_inputs_in_a_run_are_reported_and_counted(tmp_path):
    (tmp_path / "good.txt").write_text("一、主要目标\n到2020年，建成体系。", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.html").write_text("<html><body><script>x()</script></body></html>",
                                         encoding="utf-8")
    (tmp_path / "bad.jsonl").write_text("{oops\n", encoding="utf-8")
    out = tmp_path / "out" / "pred.jsonl"
    assert main(["predict", str(tmp_path), "-o", str(out), "--rules"]) == 0
    assert [r["source"].rsplit("/", 1)[-1] for r in _records(out)] == ["good.txt"]
    errors = _records(tmp_path / "out" / "pred.errors.jsonl")
    reasons = {e["source"].rsplit("/", 1)[-1]: (e["stage"], e["error"]) for e in errors}
    assert reasons["empty.txt"] == ("ingest", "empty file")
    assert reasons["blank.html"][0] == "clean" and "no text left" in reasons["blank.html"][1]
    assert reasons["bad.jsonl:1"][0] == "ingest"


def test_nothing_could_run_is_a_failure(tmp_path, capsys):
    assert main(["segment", str(tmp_path / "nope.txt"), "-o", str(tmp_path / "o.jsonl")]) == 1
    assert "nothing could be processed" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["segment"], ["predict"], ["labels"], ["labels", "validate"]])
def test_help_on_every_command(command):
    run = subprocess.run([sys.executable, "-m", "policy_clauses.cli", *command, "--help"],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert run.returncode == 0 and "usage: policy-clauses" in run.stdout


def test_a_config_typo_is_one_line_not_an_unexpected_error(tmp_path, capsys):
    # training's ConfigError is a UserError: the message names the key, no traceback pointer
    code = main(["train", "classifier", "--config", "configs/classifier.yaml", "--train.lrr",
                 "1e-5", "--output.dir", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert code == 1
    assert "lrr" in err and "unexpected error" not in err


def test_a_closed_pipe_ends_the_run_quietly():
    import subprocess
    import sys

    run = subprocess.run(
        f"{sys.executable} -m policy_clauses.cli segment examples -o - --no-progress | head -c 10",
        shell=True, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in run.stderr and "BrokenPipe" not in run.stderr
