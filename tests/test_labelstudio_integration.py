"""Our Label Studio tasks and config against a real Label Studio (PyPI, .venv-ls) on loopback.

Starts ``label-studio start`` in a throwaway data folder, creates projects with our generated
configs, imports our tasks through the API, checks the predictions are attached, checks them
with Label Studio's own validator (label_studio_sdk's LabelInterface), creates annotations from
the predictions (one edited, two disagreeing, one skipped), exports the project as JSON and
round-trips the export through ``policy-clauses import labelstudio``.

Set up with scripts/setup_labelstudio.sh (CI runs it); skipped only when that environment is
absent. Takes about a minute and a half, most of it Label Studio's first start.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from inference.scoring.rules import RuleScorer
from policy_clauses.cli import main
from tests.conftest import EXAMPLES, ROOT
from tests.helpers.servers import free_port, serving

LS_VENV = Path(os.environ.get("LS_VENV", ROOT / ".venv-ls"))
LS_BIN = LS_VENV / "bin" / "label-studio"
TOKEN = "policy-clauses-test-token"
USER = "reviewer@example.com"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not LS_BIN.exists(),
                       reason=f"Label Studio is not installed in {LS_VENV}; run "
                       "scripts/setup_labelstudio.sh"),
]


class LabelStudio:
    def __init__(self, url: str) -> None:
        self.url = url

    def call(self, method: str, path: str, body=None):
        request = urllib.request.Request(
            self.url + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Token {TOKEN}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                payload = response.read()
                return json.loads(payload) if payload else None
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: {exc.code} {exc.read()[:500]!r}") from exc

    def project(self, title: str, config: str) -> int:
        return self.call("POST", "/api/projects", {"title": title, "label_config": config})["id"]

    def tasks(self, project: int) -> list[dict]:
        return self.call("GET", f"/api/tasks?project={project}&fields=all&page_size=1000")["tasks"]

    def annotate(self, task: int, result: list[dict], cancelled: bool = False) -> None:
        self.call("POST", f"/api/tasks/{task}/annotations",
                  {"result": result, "was_cancelled": cancelled, "ground_truth": False})

    def export(self, project: int) -> list[dict]:
        return self.call("GET", f"/api/projects/{project}/export?exportType=JSON")


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("ls-data")
    port = free_port()
    env = dict(os.environ, LABEL_STUDIO_BASE_DATA_DIR=str(data_dir), HOME=str(data_dir),
               LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true")
    # legacy "Authorization: Token" auth is off by default since 1.2x; --enable-legacy-api-token
    # turns it on for the organization created at first start.
    command = [str(LS_BIN), "start", "--no-browser", "--data-dir", str(data_dir),
               "--internal-host", "127.0.0.1", "--host", f"http://127.0.0.1:{port}",
               "--port", str(port), "--username", USER, "--password", "secret-pass-123",
               "--user-token", TOKEN, "--enable-legacy-api-token"]
    url = f"http://127.0.0.1:{port}"
    with serving(command, url=url, name="label-studio", cwd=data_dir, env=env,
                 log_path=data_dir / "server.log", seconds=240, poll=2):
        yield LabelStudio(url)


def _export(tmp_path: Path, mode: str, *extra: str) -> tuple[list[dict], str]:
    out = tmp_path / f"{mode}.json"
    assert main(["export", "labelstudio", str(EXAMPLES / "seed_000_154b73dca2851f36.txt"),
                 "--rules", "-o", str(out), "--mode", mode, *extra]) == 0
    return (json.loads(out.read_text(encoding="utf-8")),
            (tmp_path / f"{mode}.config.xml").read_text(encoding="utf-8"))


def _validate_with_sdk(config: str, predictions: list[dict], tmp_path: Path) -> list:
    """Label Studio's own validator, run in its environment: errors per prediction."""
    (tmp_path / "config.xml").write_text(config, encoding="utf-8")
    (tmp_path / "preds.json").write_text(json.dumps(predictions, ensure_ascii=False))
    code = ("import json,sys\nfrom label_studio_sdk.label_interface import LabelInterface\n"
            "li = LabelInterface(open(sys.argv[1]).read())\n"
            "preds = json.load(open(sys.argv[2]))\n"
            "print(json.dumps([li.validate_prediction(p, return_errors=True) for p in preds]))")
    done = subprocess.run([str(LS_VENV / "bin" / "python"), "-c", code,
                           str(tmp_path / "config.xml"), str(tmp_path / "preds.json")],
                          capture_output=True, text=True, check=True, cwd=tmp_path)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_sdk_validator_accepts_our_predictions_and_rejects_a_wrong_label(tmp_path):
    tasks, config = _export(tmp_path, "clause")
    predictions = [t["predictions"][0] for t in tasks if t["predictions"][0]["result"]]
    bad = json.loads(json.dumps(predictions[0]))
    bad["result"][0]["value"].setdefault("labels", ["PERSON"])
    bad["result"][0]["value"]["labels" if bad["result"][0]["type"] == "labels"
                              else "choices"] = ["PERSON"]
    errors = _validate_with_sdk(config, [*predictions, bad], tmp_path)
    assert all(e == [] for e in errors[:-1]), errors[:-1]
    assert errors[-1], "the validator must reject a label that the config does not define"
    doc_tasks, doc_config = _export(tmp_path, "document")
    assert _validate_with_sdk(doc_config, [doc_tasks[0]["predictions"][0]], tmp_path) == [[]]


def test_clause_tasks_round_trip_through_label_studio(label_studio, tmp_path):
    tasks, config = _export(tmp_path, "clause", "--select", "uncertain", "12")
    project = label_studio.project("policy-clauses clause review", config)
    label_studio.call("POST", f"/api/projects/{project}/import", tasks)
    stored = label_studio.tasks(project)
    assert len(stored) == len(tasks) == 12
    by_clause = {t["data"]["clause_id"]: t for t in stored}
    for sent in tasks:
        got = by_clause[sent["data"]["clause_id"]]
        assert len(got["predictions"]) == 1
        prediction = got["predictions"][0]
        assert prediction["model_version"] == RuleScorer().version
        assert prediction["result"] == sent["predictions"][0]["result"]
        assert prediction["score"] == pytest.approx(sent["predictions"][0]["score"])

    # reviewer 1 accepts the proposal for one task, edits another, disagrees with
    # themselves on a third (two annotations), skips a fourth
    with_entity = next(t for t in stored if any(r["type"] == "labels"
                                               for r in t["predictions"][0]["result"]))
    others = [t for t in stored if t["id"] != with_entity["id"]]
    accepted, disputed, skipped = others[0], others[1], others[2]
    label_studio.annotate(accepted["id"], accepted["predictions"][0]["result"])
    edited = [r for r in with_entity["predictions"][0]["result"] if r["type"] != "labels"]
    edited = [r for r in edited if r["type"] != "choices"] + [{
        "id": "manual-1", "from_name": "labels", "to_name": "text", "type": "choices",
        "value": {"choices": ["responsibility", "goal"]}}]
    label_studio.annotate(with_entity["id"], edited)
    label_studio.annotate(disputed["id"], disputed["predictions"][0]["result"])
    label_studio.annotate(disputed["id"], [{
        "id": "manual-2", "from_name": "labels", "to_name": "text", "type": "choices",
        "value": {"choices": ["principle"]}}])
    label_studio.annotate(skipped["id"], [], cancelled=True)

    exported = label_studio.export(project)
    export_path = tmp_path / "export.json"
    export_path.write_text(json.dumps(exported, ensure_ascii=False), encoding="utf-8")
    gold = tmp_path / "gold_reviewed.jsonl"
    assert main(["import", "labelstudio", str(export_path), "-o", str(gold)]) == 0
    records = {r["clause_id"]: r for r in map(json.loads, gold.read_text().splitlines())}
    conflicts = [json.loads(x) for x in
                 (tmp_path / "gold_reviewed.conflicts.jsonl").read_text().splitlines()]

    assert set(records) == {accepted["data"]["clause_id"], with_entity["data"]["clause_id"]}
    edited_record = records[with_entity["data"]["clause_id"]]
    assert edited_record["labels"] == ["goal", "responsibility"]
    assert edited_record["entities"] == []
    assert edited_record["reviewed"] is True
    assert edited_record["annotator"] in (USER, "ls-user-1")  # completed_by: user or id
    kept = records[accepted["data"]["clause_id"]]
    proposed = accepted["predictions"][0]["result"]
    assert kept["labels"] == sorted(c for r in proposed if r["type"] == "choices"
                                    for c in r["value"]["choices"])
    assert [(e["start"], e["end"], e["type"]) for e in kept["entities"]] == [
        (r["value"]["start"], r["value"]["end"], r["value"]["labels"][0])
        for r in proposed if r["type"] == "labels"]
    assert [(c["clause_id"], c["reason"]) for c in conflicts] == [
        (disputed["data"]["clause_id"], "reviewers_disagree")]


def test_document_task_round_trip_through_label_studio(label_studio, tmp_path):
    tasks, config = _export(tmp_path, "document")
    project = label_studio.project("policy-clauses document review", config)
    label_studio.call("POST", f"/api/projects/{project}/import", tasks)
    (stored,) = label_studio.tasks(project)
    assert stored["predictions"][0]["result"] == tasks[0]["predictions"][0]["result"]
    label_studio.annotate(stored["id"], stored["predictions"][0]["result"])
    export_path = tmp_path / "export.json"
    export_path.write_text(json.dumps(label_studio.export(project), ensure_ascii=False))
    gold = tmp_path / "gold.jsonl"
    assert main(["import", "labelstudio", str(export_path), "-o", str(gold)]) == 0
    records = [json.loads(x) for x in gold.read_text().splitlines()]
    predicted = tmp_path / "pred.jsonl"
    assert main(["predict", "--rules", str(EXAMPLES / "seed_000_154b73dca2851f36.txt"),
                 "-o", str(predicted)]) == 0
    (document,) = [json.loads(x) for x in predicted.read_text().splitlines()]
    assert len(records) == len(document["clauses"])
    for record, clause in zip(records, document["clauses"], strict=True):
        assert record["text"] == clause["text"]
        assert record["labels"] == clause["labels"]
        assert [(e["start"], e["end"], e["type"]) for e in record["entities"]] == [
            (e["start"], e["end"], e["type"]) for e in clause["entities"]]
