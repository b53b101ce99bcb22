"""Fault isolation: a document that fails anywhere becomes an error record; the rest of its
batch is still scored, and the run goes on to a summary."""

from __future__ import annotations

import json
from pathlib import Path

from inference.batch.run import iter_documents, run_clauses, run_documents, score_chunk
from inference.records import Document
from inference.scoring.components import ClauseInput, ClauseScores
from inference.scoring.rules import RuleScorer

POISON = "毒丸条款"


class PoisonScorer:
    """The rule baseline, except that any batch holding the poison clause raises."""

    name = "poison"
    version = "poison@test"

    def __init__(self) -> None:
        self.rules = RuleScorer()
        self.thresholds = self.rules.thresholds
        self.calls = 0

    def predict(self, inputs: list[ClauseInput]) -> list[ClauseScores]:
        self.calls += 1
        if any(POISON in item.text for item in inputs):
            raise RuntimeError("CUDA-like failure on one clause")
        return self.rules.predict(inputs)


def _crawl(path: Path, n: int, poisoned: set[int]) -> Path:
    lines = []
    for i in range(n):
        extra = f"{POISON}。" if i in poisoned else ""
        text = f"一、主要目标\n到2025年，成交额达到{i}亿元。{extra}\n二、保障\n由市科技局负责。"
        lines.append(json.dumps({"id": f"d{i}", "text": text}, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_score_chunk_isolates_the_failing_document_and_scores_the_rest(tmp_path):
    crawl = _crawl(tmp_path / "c.jsonl", 64, {5, 40})
    documents = [d for d in iter_documents([crawl]) if isinstance(d, Document)]
    scorer = PoisonScorer()
    results = score_chunk(scorer, documents)
    assert [r.doc_id for r in results] == [f"d{i}" for i in range(64)]  # order kept
    failed = [r for r in results if not isinstance(r, Document)]
    assert [(e.doc_id, e.stage) for e in failed] == [("d5", "predict"), ("d40", "predict")]
    assert "CUDA-like failure" in failed[0].reason
    good = [r for r in results if isinstance(r, Document)]
    assert all(c.labels is not None for d in good for c in d.clauses)
    assert scorer.calls < 64  # halving, not one call per document


def test_a_run_with_failures_writes_the_rest_and_summarises(tmp_path):
    crawl = _crawl(tmp_path / "c.jsonl", 50, {7})
    (tmp_path / "broken.txt").write_bytes(b"abc\x00\x00def")
    out = tmp_path / "out.jsonl"
    summary = run_documents([crawl, tmp_path / "broken.txt"], str(out), PoisonScorer(),
                            chunk_documents=16)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 49 and "d7" not in {r["doc_id"] for r in records}
    errors = [json.loads(line) for line in
              (tmp_path / "out.errors.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {(e["doc_id"], e["stage"]) for e in errors} == {("d7", "predict"), (None, "ingest")}
    assert summary.documents == 49 and summary.errors == 2
    assert summary.error_reasons == {"predict": 1, "ingest": 1}
    assert "errors by stage: ingest 1, predict 1" in summary.line()


def test_clause_records_isolate_a_failing_clause(tmp_path):
    src = tmp_path / "clauses.jsonl"
    src.write_text("\n".join(json.dumps({"text": t, "n": i}, ensure_ascii=False) for i, t in
                             enumerate(["到2025年达到5亿元。", POISON, "由市科技局负责。"])) + "\n",
                   encoding="utf-8")
    out = tmp_path / "out.jsonl"
    summary = run_clauses(str(src), str(out), PoisonScorer(), chunk_clauses=8)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["n"] for r in records] == [0, 2] and summary.errors == 1
    (error,) = [json.loads(x) for x in (tmp_path / "out.errors.jsonl").read_text().splitlines()]
    assert error["stage"] == "predict" and "CUDA-like" in error["error"]
