"""``policy-clauses serve`` as the ML backend of a real Label Studio (1.23, .venv-ls) on loopback.

Starts ``serve --rules --token`` and Label Studio, creates a project with the exported labeling
config, connects the backend through Label Studio's API (Basic auth with the token, the only
auth Label Studio sends to an ML backend; the webhook it registers gets the Bearer header),
imports tasks without predictions, asks Label Studio to retrieve predictions, checks they are on
the tasks with the right spans, posts an annotation and checks the webhook stored it as a gold
record. A project whose config names other labels cannot connect, and the error names them.

Set up with scripts/setup_labelstudio.sh; skipped when that environment is absent.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request

import pytest

from inference.scoring.rules import RuleScorer
from policy_clauses.cli import main
from tests.conftest import EXAMPLES, ROOT
from tests.helpers.servers import free_port, serving
from tests.test_labelstudio_integration import LS_BIN, LS_VENV, label_studio  # noqa: F401

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not LS_BIN.exists(),
                       reason=f"Label Studio is not installed in {LS_VENV}; run "
                       "scripts/setup_labelstudio.sh"),
]

SERVE_TOKEN = "serve-test-token"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``policy-clauses serve`` in its own process: (url, reviewed-annotations path)."""
    folder = tmp_path_factory.mktemp("serve")
    port = free_port()
    reviewed = folder / "reviewed.jsonl"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("POLICY_CLAUSES_TOKEN", None)
    command = [sys.executable, "-m", "policy_clauses.cli", "serve", "--rules", "--port", str(port),
               "--token", SERVE_TOKEN, "--reviewed-out", str(reviewed), "--threads", "1"]
    url = f"http://127.0.0.1:{port}"
    with serving(command, url=url, name="serve", cwd=folder, env=env,
                 log_path=folder / "serve.log", seconds=60, poll=0.5):
        yield url, reviewed, folder / "serve.log"


def _raw(ls, method: str, path: str, body=None) -> tuple[int, object]:
    from tests.test_labelstudio_integration import TOKEN

    request = urllib.request.Request(
        ls.url + path, method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Token {TOKEN}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            payload = response.read()
            return response.status, json.loads(payload) if payload else None
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def _connect(ls, project: int, url: str) -> tuple[int, object]:
    return _raw(ls, "POST", "/api/ml", {
        "url": url, "project": project, "title": "policy-clauses",
        "auth_method": "BASIC_AUTH", "basic_auth_user": "labelstudio",
        "basic_auth_pass": SERVE_TOKEN})


def test_label_studio_gets_predictions_and_the_webhook_stores_annotations(
        label_studio, served, tmp_path):  # noqa: F811
    url, reviewed, _ = served
    out = tmp_path / "tasks.json"
    assert main(["export", "labelstudio", str(EXAMPLES / "seed_000_154b73dca2851f36.txt"),
                 "--rules", "-o", str(out), "--select", "uncertain", "8"]) == 0
    exported = json.loads(out.read_text(encoding="utf-8"))
    config = (tmp_path / "tasks.config.xml").read_text(encoding="utf-8")
    project = label_studio.project("serve: pre-annotation", config)

    status, backend = _connect(label_studio, project, url)
    assert status == 201, backend
    assert backend["state"] == "CO", backend  # connected: /health and /setup answered
    assert backend["model_version"] == RuleScorer().version
    # the webhook Label Studio registered for the backend needs the token too
    hooks = label_studio.call("GET", f"/api/webhooks?project={project}")
    (hook,) = [h for h in hooks if h["url"].rstrip("/") == url + "/webhook"]
    label_studio.call("PATCH", f"/api/webhooks/{hook['id']}",
                      {"headers": {"Authorization": f"Bearer {SERVE_TOKEN}"}})

    label_studio.call("POST", f"/api/projects/{project}/import",
                      [{"data": t["data"]} for t in exported])
    assert all(not t["predictions"] for t in label_studio.tasks(project))
    done = label_studio.call(
        "POST", f"/api/dm/actions?id=retrieve_tasks_predictions&project={project}",
        {"selectedItems": {"all": True, "excluded": []}})
    assert done["processed_items"] == len(exported) == 8

    stored = {t["data"]["clause_id"]: t for t in label_studio.tasks(project)}
    spans = 0
    for sent in exported:
        task = stored[sent["data"]["clause_id"]]
        (prediction,) = task["predictions"]
        assert prediction["model_version"] == RuleScorer().version
        assert prediction["result"] == sent["predictions"][0]["result"]
        assert prediction["score"] == pytest.approx(sent["predictions"][0]["score"])
        text = task["data"]["text"]
        for item in prediction["result"]:
            if item["type"] == "labels":
                value = item["value"]
                assert text[value["start"]:value["end"]] == value["text"]  # end-exclusive
                spans += 1
    assert spans > 0, "pick a document with AMOUNT/AGENCY spans"

    # a reviewer accepts the proposal with an entity: the webhook stores a gold record
    with_entity = next(t for t in stored.values()
                       if any(r["type"] == "labels" for r in t["predictions"][0]["result"]))
    label_studio.annotate(with_entity["id"], with_entity["predictions"][0]["result"])
    deadline = time.monotonic() + 30
    while not (reviewed.is_file() and reviewed.read_text(encoding="utf-8").strip()):
        assert time.monotonic() < deadline, "the webhook did not store the annotation"
        time.sleep(0.5)
    (record,) = [json.loads(x) for x in reviewed.read_text(encoding="utf-8").splitlines()]
    proposal = with_entity["predictions"][0]["result"]
    assert record["clause_id"] == with_entity["data"]["clause_id"]
    assert record["doc_id"] == with_entity["data"]["doc_id"]
    assert record["reviewed"] is True and record["review_source"] == "labelstudio"
    assert record["labels"] == sorted(c for r in proposal if r["type"] == "choices"
                                      for c in r["value"]["choices"])
    assert [(e["start"], e["end"], e["type"]) for e in record["entities"]] == [
        (r["value"]["start"], r["value"]["end"], r["value"]["labels"][0])
        for r in proposal if r["type"] == "labels"]


def test_a_project_with_other_labels_cannot_connect(label_studio, served):  # noqa: F811
    url, _, log = served
    from inference.review.labelstudio import labeling_config

    config = labeling_config().replace('value="timeline"', 'value="deadline"')
    project = label_studio.project("serve: wrong labels", config)
    status, answer = _connect(label_studio, project, url)
    assert status == 400, answer
    # Label Studio shows the HTTP status and sends the reviewer to the backend's console,
    # where the refusal names the labels that differ
    assert "/setup" in str(answer)
    refusal = next(line for line in log.read_text(encoding="utf-8").splitlines()
                   if "refused a labeling config" in line)
    assert "['deadline']" in refusal and "['timeline']" in refusal


def test_a_backend_without_the_token_cannot_connect(label_studio, served):  # noqa: F811
    url, _, _ = served
    from inference.review.labelstudio import labeling_config

    project = label_studio.project("serve: no token", labeling_config())
    status, answer = _raw(label_studio, "POST", "/api/ml", {
        "url": url, "project": project, "title": "no token"})
    assert status == 400, answer
    assert "401" in str(answer)
