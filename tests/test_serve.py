"""The pre-annotation server (inference/serve) through FastAPI's TestClient: the same records as
``predict``, the Label Studio ML backend protocol, batching and its limits, the token."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Sequence

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from inference.review.labelstudio import build_tasks, labeling_config
from inference.review.select import scored_documents
from inference.scoring.components import ClauseInput, ClauseScores
from inference.scoring.models import load_scorer
from inference.scoring.rules import RuleScorer
from inference.serve.app import ServeSettings, create_app
from inference.serve.batching import Batcher, QueueFullError
from policy_clauses.cli import main
from tests.conftest import EXAMPLES
from tests.helpers.tiny_model import build_tiny_model

CRAWL = EXAMPLES / "jiangxi_crawl.jsonl"
SEED = EXAMPLES / "seed_000_154b73dca2851f36.txt"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


def _client(scorer, tmp_path, **settings) -> TestClient:
    settings.setdefault("reviewed_out", tmp_path / "reviewed" / "ls.jsonl")
    return TestClient(create_app(scorer, ServeSettings(**settings)))


def _jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class FailingScorer(RuleScorer):
    """The rule baseline, except that any batch holding a text with BOOM raises."""

    def predict(self, inputs: Sequence[ClauseInput]) -> list[ClauseScores]:
        if any("BOOM" in item.text for item in inputs):
            raise RuntimeError("cannot score BOOM")
        return super().predict(inputs)


class GatedScorer(RuleScorer):
    """The rule baseline that waits for ``gate`` before each batch and records batch sizes."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.started = threading.Event()
        self.batches: list[int] = []

    def predict(self, inputs: Sequence[ClauseInput]) -> list[ClauseScores]:
        self.started.set()
        assert self.gate.wait(30), "test gate never opened"
        self.batches.append(len(inputs))
        return super().predict(inputs)


# ----------------------------------------------------------------------------- /v1/predict


@pytest.mark.parametrize("which", ["rules", "tiny"])
def test_v1_predict_documents_gives_the_lines_predict_writes(which, tiny_model, tmp_path):
    args = ["--rules"] if which == "rules" else ["--model", str(tiny_model)]
    assert main(["predict", str(CRAWL), *args, "-o", str(tmp_path / "p.jsonl"),
                 "--no-progress"]) == 0
    expected = _jsonl(tmp_path / "p.jsonl")
    scorer = load_scorer(None if which == "rules" else tiny_model, rules=which == "rules",
                         fast="auto")  # predict's default, as serve's
    documents = _jsonl(CRAWL)
    with _client(scorer, tmp_path) as client:
        answer = client.post("/v1/predict", json={"documents": documents, "source": str(CRAWL)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["errors"] == []
    assert body["records"] == expected
    assert len(expected) == 3 and all(c.get("scores") for r in expected for c in r["clauses"])


def test_v1_predict_clauses_gives_the_lines_predict_clauses_writes(tiny_model, tmp_path):
    clauses = [{"text": c["text"], "section": c["section"], "doc_id": d["doc_id"], "n": i}
               for i, d in enumerate(_jsonl(CRAWL)) for c in d.get("clauses", [])]
    if not clauses:  # the crawl file holds raw documents: segment them first
        assert main(["segment", str(CRAWL), "-o", str(tmp_path / "s.jsonl")]) == 0
        clauses = [{"text": c["text"], "section": c["section"], "doc_id": d["doc_id"]}
                   for d in _jsonl(tmp_path / "s.jsonl") for c in d["clauses"]]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(c, ensure_ascii=False) + "\n"
                                               for c in clauses), encoding="utf-8")
    assert main(["predict", "--clauses", str(tmp_path / "in.jsonl"), "--model", str(tiny_model),
                 "-o", str(tmp_path / "out.jsonl"), "--no-progress"]) == 0
    with _client(load_scorer(tiny_model, fast="auto"), tmp_path) as client:
        answer = client.post("/v1/predict", json={"clauses": clauses})
    assert answer.status_code == 200, answer.text
    assert answer.json()["records"] == _jsonl(tmp_path / "out.jsonl")
    assert len(clauses) > 10


def test_one_bad_item_fails_alone(tmp_path):
    with _client(FailingScorer(), tmp_path) as client:
        answer = client.post("/v1/predict", json={"clauses": [
            {"text": "各地要在2025年底前完成改造任务。"}, {"text": "BOOM 条款"}, {"txt": "no text"},
            {"text": "对符合条件的企业给予最高50万元奖励。"}]})
        assert answer.status_code == 200
        body = answer.json()
        assert [r["text"] for r in body["records"]] == ["各地要在2025年底前完成改造任务。",
                                                        "对符合条件的企业给予最高50万元奖励。"]
        assert body["records"][1]["labels"] == ["incentive"]
        assert sorted((e["source"], e["stage"]) for e in body["errors"]) == [
            ("request", "predict"), ("request:3", "ingest")]
        assert "cannot score BOOM" in next(e["error"] for e in body["errors"]
                                           if e["stage"] == "predict")

        documents = client.post("/v1/predict", json={"documents": [
            {"id": "ok", "text": "第一条 各地要在2025年底前完成改造任务。"},
            {"id": "bad", "text": "第一条 BOOM 条款。"}, {"id": "empty", "text": ""}]}).json()
        assert [r["doc_id"] for r in documents["records"]] == ["ok"]
        assert [(e["doc_id"], e["stage"]) for e in documents["errors"]] == [
            ("bad", "predict"), (None, "ingest")]


@pytest.mark.parametrize(("body", "reason"), [
    (b"{not json", "body is not JSON"),
    (b"[1, 2]", "expected a JSON object, got list"),
    (b'{"clauses": [], "documents": []}', "exactly one of 'clauses'"),
    (b'{"clauses": {"text": "x"}}', "'clauses' must be a list"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"", "empty body"),
])
def test_malformed_bodies_get_400_with_the_reason(body, reason, tmp_path):
    with _client(RuleScorer(), tmp_path) as client:
        answer = client.post("/v1/predict", content=body,
                             headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert reason in answer.json()["detail"]


def test_bodies_over_the_limit_get_413(tmp_path):
    with _client(RuleScorer(), tmp_path, max_body_bytes=200) as client:
        big = {"clauses": [{"text": "各地要在2025年底前完成改造任务。" * 20}]}
        assert client.post("/v1/predict", json=big).status_code == 413

        def chunks():  # no Content-Length: the limit is counted while reading
            yield b'{"clauses": [{"text": "'
            yield "条款".encode() * 200
            yield b'"}]}'

        answer = client.post("/v1/predict", content=chunks(),
                             headers={"Content-Type": "application/json"})
        assert answer.status_code == 413
        assert "200-byte limit" in answer.json()["detail"]


def test_full_queue_answers_503_with_retry_after(tmp_path):
    scorer = GatedScorer()
    app = create_app(scorer, ServeSettings(max_queue_clauses=2, max_batch_clauses=2,
                                           reviewed_out=tmp_path / "r.jsonl"))
    batcher = app.state.batcher
    with TestClient(app) as client:
        running = batcher.submit_inputs([ClauseInput("各地要在2025年底前完成。")])
        assert scorer.started.wait(10)  # the worker holds the first job
        queued = batcher.submit_inputs([ClauseInput("条款一。"), ClauseInput("条款二。")])
        answer = client.post("/v1/predict", json={"clauses": [{"text": "又一条。"}]})
        assert answer.status_code == 503
        assert int(answer.headers["Retry-After"]) >= 1
        assert "queue is full" in answer.json()["detail"]
        too_big = client.post("/v1/predict", json={"clauses": [{"text": "a"}] * 3})
        assert too_big.status_code == 413
        scorer.gate.set()
        assert len(running.result(10)) == 1 and len(queued.result(10)) == 2
        assert client.post("/v1/predict", json={"clauses": [{"text": "又一条。"}]}).status_code \
            == 200


def test_concurrent_jobs_are_scored_in_one_batch_and_each_answered_once():
    scorer = GatedScorer()
    batcher = Batcher(scorer, max_batch_clauses=64, max_queue_clauses=64)
    try:
        first = batcher.submit_inputs([ClauseInput("第一条。")])
        assert scorer.started.wait(10)
        texts = [f"对企业给予{n}万元奖励。" for n in range(10)]
        futures = [batcher.submit_inputs([ClauseInput(t), ClauseInput(t + "另")]) for t in texts]
        scorer.gate.set()
        first.result(10)
        answers = [f.result(10) for f in futures]
    finally:
        batcher.close()
    assert scorer.batches == [1, 20]  # the ten waiting jobs went through one predict call
    assert batcher.stats.jobs == 11 and batcher.stats.clauses == 21
    direct = RuleScorer().predict([ClauseInput(t) for t in texts])
    assert [a[0].scores for a in answers] == [d.scores for d in direct]
    with pytest.raises(RuntimeError, match="shutting down"):
        batcher.submit_inputs([ClauseInput("x")])


def test_batcher_refuses_past_its_queue():
    scorer = GatedScorer()
    batcher = Batcher(scorer, max_batch_clauses=4, max_queue_clauses=4)
    try:
        batcher.submit_inputs([ClauseInput("a")])
        assert scorer.started.wait(10)
        batcher.submit_inputs([ClauseInput("b")] * 4)
        with pytest.raises(QueueFullError) as refused:
            batcher.submit_inputs([ClauseInput("c")])
        assert refused.value.retry_after >= 1
    finally:
        scorer.gate.set()
        batcher.close()


# ----------------------------------------------------------------------------- schema, auth


def test_schema_and_model_version_name_the_folder_not_a_path(tiny_model, tmp_path):
    with _client(load_scorer(tiny_model), tmp_path) as client:
        body = client.get("/v1/schema").json()
        health = client.get("/health").json()
    assert [d["name"] for d in body["labels"]] == [
        "goal", "incentive", "responsibility", "timeline", "principle"]
    assert [d["name"] for d in body["entity_types"]] == ["AMOUNT", "AGENCY"]
    version = body["model_version"]
    assert version == load_scorer(tiny_model).version and version.startswith("tiny@")
    assert str(tmp_path) not in json.dumps(body) and str(tiny_model) not in json.dumps(health)
    assert health["status"] == "UP" and health["model_version"] == version
    assert health["queued_clauses"] == 0 and health["batches"]["clauses"] == 0
    assert set(body["model_card"]) == {"classifier", "tagger"}
    assert set(body["thresholds"]) == {d["name"] for d in body["labels"]}


def test_token_guards_every_route_but_health(tmp_path):
    with _client(RuleScorer(), tmp_path, token="s3cret") as client:
        assert client.get("/health").status_code == 200
        for method, path in (("GET", "/v1/schema"), ("GET", "/docs"), ("GET", "/openapi.json"),
                             ("POST", "/v1/predict"), ("POST", "/predict"), ("POST", "/setup"),
                             ("POST", "/webhook")):
            answer = client.request(method, path, json={})
            assert answer.status_code == 401, path
            assert answer.headers["WWW-Authenticate"] == "Bearer"
        wrong = client.get("/v1/schema", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        bearer = client.get("/v1/schema", headers={"Authorization": "Bearer s3cret"})
        assert bearer.status_code == 200
        basic = base64.b64encode(b"labelstudio:s3cret").decode()
        assert client.get("/docs", headers={"Authorization": f"Basic {basic}"}).status_code \
            == 200


def test_openapi_documents_the_routes(tmp_path):
    with _client(RuleScorer(), tmp_path) as client:
        spec = client.get("/openapi.json").json()
        assert client.get("/docs").status_code == 200
    assert {"/health", "/setup", "/predict", "/webhook", "/v1/predict", "/v1/schema"} <= set(
        spec["paths"])
    body = spec["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert set(body["schema"]["properties"]) == {"clauses", "documents", "source"}


# ----------------------------------------------------------------------------- Label Studio


def _ls_tasks(mode: str = "clause"):
    scored = scored_documents([SEED], rules=True)
    exported = build_tasks(scored.documents, model_version=RuleScorer().version,
                           thresholds=scored.thresholds, mode=mode)
    tasks = [{"id": n + 1, "data": t["data"], "project": 1} for n, t in enumerate(exported)]
    return exported, tasks


@pytest.mark.parametrize("mode", ["clause", "document"])
def test_ls_predict_gives_what_export_labelstudio_attaches(mode, tmp_path):
    exported, tasks = _ls_tasks(mode)
    config = labeling_config(mode=mode)
    with _client(RuleScorer(), tmp_path) as client:
        setup = client.post("/setup", json={"project": "1.1", "schema": config})
        assert setup.status_code == 200 and setup.json()["model_version"] == RuleScorer().version
        answer = client.post("/predict", json={"tasks": tasks, "label_config": config,
                                               "project": "1.1"})
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert len(results) == len(tasks)
    for sent, got in zip(exported, results, strict=True):
        assert got["result"] == sent["predictions"][0]["result"]
        assert got["score"] == sent["predictions"][0]["score"]
        assert got["model_version"] == RuleScorer().version


def test_ls_predict_uses_the_projects_names_and_a_bad_task_fails_alone(tmp_path):
    config = (labeling_config().replace('name="labels"', 'name="clause_labels"')
              .replace('toName="text"', 'toName="body"').replace('name="text" value="$text"',
                                                                 'name="body" value="$content"'))
    tasks = [{"id": 1, "data": {"content": "对符合条件的企业给予最高50万元奖励，由省财政厅负责。"}},
             {"id": 2, "data": {"other": "no text here"}},
             {"id": 3, "data": {"content": "各地要在2025年底前完成改造任务。"}}]
    with _client(RuleScorer(), tmp_path) as client:
        results = client.post("/predict", json={"tasks": tasks, "label_config": config}).json()[
            "results"]
    assert "result" not in results[1] and "data.content" in results[1]["error"]
    first = results[0]["result"]
    assert {(r["from_name"], r["to_name"], r["type"]) for r in first} == {
        ("clause_labels", "body", "choices"), ("entities", "body", "labels")}
    spans = [(r["value"]["start"], r["value"]["end"], r["value"]["text"]) for r in first
             if r["type"] == "labels"]
    text = tasks[0]["data"]["content"]
    assert spans and all(text[s:e] == t for s, e, t in spans)
    assert any("50万元" in t for _, _, t in spans)
    assert "timeline" in results[2]["result"][0]["value"]["choices"]


def test_setup_refuses_a_config_whose_labels_differ_naming_them(tmp_path):
    config = labeling_config().replace('value="incentive"', 'value="subsidy"').replace(
        'value="AGENCY"', 'value="ORG"')
    with _client(RuleScorer(), tmp_path) as client:
        answer = client.post("/setup", json={"project": "1.1", "schema": config})
        predict = client.post("/predict", json={"tasks": [], "label_config": config})
    assert answer.status_code == 400
    detail = answer.json()["detail"]
    assert "['subsidy']" in detail and "['incentive']" in detail
    assert "['ORG']" in detail and "['AGENCY']" in detail
    assert predict.status_code == 400


def _webhook_event(action: str, task: dict, annotation_id: int, result: list) -> dict:
    return {"action": action, "project": {"id": 1},
            "task": {"id": task["id"], "data": task["data"]},
            "annotation": {"id": annotation_id, "completed_by": 7, "result": result,
                           "was_cancelled": False}}


def test_webhook_stores_reviewed_annotations_through_the_import_path(tmp_path):
    exported, tasks = _ls_tasks()
    out = tmp_path / "reviewed" / "ls.jsonl"
    accepted = tasks[0]
    proposal = exported[0]["predictions"][0]["result"]
    with _client(RuleScorer(), tmp_path, reviewed_out=out) as client:
        ignored = client.post("/webhook", json={"action": "PROJECT_UPDATED", "project": {}})
        assert ignored.json()["status"] == "ignored"
        created = client.post("/webhook", json=_webhook_event("ANNOTATION_CREATED", accepted, 11,
                                                              proposal))
        assert created.status_code == 200, created.text
        assert created.json()["records"] == 1
        first = _jsonl(out)
        updated = client.post("/webhook", json=_webhook_event(
            "ANNOTATION_UPDATED", accepted, 11, [{"id": "m", "from_name": "labels",
                                                  "to_name": "text", "type": "choices",
                                                  "value": {"choices": ["principle"]}}]))
        assert updated.status_code == 200
        bad = client.post("/webhook", json={"action": "ANNOTATION_CREATED",
                                            "task": {"id": 9, "data": {"text": "x"}},
                                            "annotation": {"id": 1, "result": []}})
        assert bad.status_code == 400 and "doc_id" in bad.json()["detail"]
    assert first[0]["labels"] == sorted(c for r in proposal if r["type"] == "choices"
                                        for c in r["value"]["choices"])
    (record,) = _jsonl(out)  # the update replaced the first version, no conflict
    assert record["labels"] == ["principle"] and record["entities"] == []
    assert record["reviewed"] is True and record["annotator"] == "ls-user-7"
    assert record["clause_id"] == accepted["data"]["clause_id"]
    # the stored tasks are a Label Studio export: import labelstudio gives the same file
    again = tmp_path / "again.jsonl"
    assert main(["import", "labelstudio", str(out.with_name("ls.tasks.json")),
                 "-o", str(again)]) == 0
    assert _jsonl(again) == _jsonl(out)


def test_reviewed_annotations_never_go_into_gold(tmp_path):
    gold = tmp_path / "gold.jsonl"
    with pytest.raises(ValueError, match="gold file"):
        create_app(RuleScorer(), ServeSettings(reviewed_out=gold, gold_path=gold))


def test_ls_predict_takes_more_tasks_than_the_queue_holds_in_pieces(tmp_path):
    exported, tasks = _ls_tasks()
    tasks = tasks[:10]
    config = labeling_config()
    with _client(RuleScorer(), tmp_path, max_queue_clauses=4, max_batch_clauses=3) as client:
        answer = client.post("/predict", json={"tasks": tasks, "label_config": config})
        stats = client.app.state.batcher.stats
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["result"] for r in results] == [t["predictions"][0]["result"]
                                              for t in exported[:10]]
    assert stats.batches == 4 and stats.largest_batch == 3


def test_reviewed_annotations_survive_a_restart_and_a_broken_store_is_named(tmp_path):
    exported, tasks = _ls_tasks()
    out = tmp_path / "ls.jsonl"
    event = _webhook_event("ANNOTATION_CREATED", tasks[1], 5,
                           exported[1]["predictions"][0]["result"])
    with _client(RuleScorer(), tmp_path, reviewed_out=out) as client:
        assert client.post("/webhook", json=event).status_code == 200
    later = _webhook_event("ANNOTATION_CREATED", tasks[2], 6,
                           exported[2]["predictions"][0]["result"])
    with _client(RuleScorer(), tmp_path, reviewed_out=out) as client:
        assert client.post("/webhook", json=later).json()["records"] == 2
    assert {r["clause_id"] for r in _jsonl(out)} == {tasks[1]["data"]["clause_id"],
                                                    tasks[2]["data"]["clause_id"]}
    out.with_name("ls.tasks.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(ValueError, match=r"ls\.tasks\.json: not a JSON list"):
        create_app(RuleScorer(), ServeSettings(reviewed_out=out))


def test_lone_surrogates_and_deep_nesting_are_400_and_do_not_poison_the_webhook(tmp_path):
    with _client(RuleScorer(), tmp_path) as client:
        bad = '{"clauses": [{"text": "\\ud800给予50万元"}]}'
        answer = client.post("/v1/predict", content=bad,
                             headers={"Content-Type": "application/json"})
        assert answer.status_code == 400 and "surrogate" in answer.text
        deep = '{"clauses": ' + "[" * 100_000 + "]" * 100_000 + "}"
        answer = client.post("/v1/predict", content=deep,
                             headers={"Content-Type": "application/json"})
        assert answer.status_code == 400 and "nested" in answer.text
        good = client.post("/v1/predict", json={"clauses": [{"text": "给予50万元奖励。"}]})
        assert good.status_code == 200
