"""Evaluation: metrics by hand-checkable cases, the report files, the CLI, model vs rules."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from inference.errors import UserError
from inference.gold import GoldClause
from inference.records import Entity
from inference.schema import default_schema
from inference.scoring.components import ClauseInput, ClauseScores
from policy_clauses.cli import main
from tests.fixtures.tiny_training import GOLD, SPLITS, fixture_records, trained_model
from training.data.gold import records_for_split
from training.eval.agreement import agreement_report
from training.eval.evaluate import evaluate, evaluate_scorer
from training.eval.metrics import char_tags, cooccurrence, entity_metrics, label_metrics, prf
from training.eval.report import (
    CONFUSION_PLOT,
    COOCCURRENCE_PLOT,
    F1_PLOT,
    METRICS_FILE,
    REPORT_FILE,
)

LABELS = default_schema().label_names
PNG = b"\x89PNG\r\n\x1a\n"


class GoldScorer:
    """Answers with the gold labels/entities of known texts (a perfect model)."""

    name = "gold"
    version = "gold@test"

    def __init__(self, records: Sequence[dict]) -> None:
        self.thresholds: dict[str, float] = {}
        self.by_text = {r["text"]: r for r in records}
        self.seen: list[ClauseInput] = []

    def predict(self, inputs: Sequence[ClauseInput]) -> list[ClauseScores]:
        self.seen += inputs
        out = []
        for item in inputs:
            record = self.by_text[item.text]
            out.append(ClauseScores(
                scores={name: float(name in record["labels"]) for name in LABELS},
                labels=list(record["labels"]),
                entities=[Entity.from_dict(e) for e in record["entities"]]))
        return out


def test_label_metrics_by_hand() -> None:
    gold = [["goal"], ["goal", "timeline"], [], ["incentive"]]
    pred = [["goal"], ["timeline"], ["goal"], []]
    metrics = label_metrics(gold, pred, LABELS)
    goal = metrics.labels["goal"]
    assert (goal.tp, goal.fp, goal.fn, goal.tn) == (1, 1, 1, 1)
    assert goal.f1 == 0.5
    assert metrics.labels["timeline"].f1 == 1.0
    assert metrics.labels["incentive"].f1 == 0.0
    # micro: tp 2, fp 1, fn 2 → P 2/3, R 1/2, F1 4/7
    assert metrics.micro_f1 == pytest.approx(4 / 7, abs=1e-4)
    assert metrics.macro_f1 == pytest.approx((0.5 + 0 + 0 + 1 + 0) / 5, abs=1e-4)
    assert metrics.exact_match == 0.25
    assert list(metrics.to_dict()) == ["labels", "micro_precision", "micro_recall", "micro_f1",
                                       "macro_f1", "exact_match"]
    assert list(metrics.to_dict()["labels"]["goal"]) == ["precision", "recall", "f1", "support",
                                                         "tp", "fp", "fn", "tn"]


def test_empty_sets_score_zero_in_evaluate_and_agreement() -> None:
    """One convention: nothing to find and nothing found is 0.0 everywhere (agreement used
    to say 1.0 where evaluate said 0.0)."""
    text = "各地要抓好落实"
    clause = GoldClause(doc_id="d", clause_id=0, kind="body", section="", text=text,
                        labels=[], entities=[])
    evaluated = entity_metrics([text], [[]], [[]], ["AMOUNT", "AGENCY"])
    agreed = agreement_report([clause], [clause])
    assert evaluated.types["AGENCY"].f1 == 0.0 and evaluated.types["AGENCY"].support == 0
    assert agreed["AGENCY_span_f1"]["f1"] == evaluated.types["AGENCY"].f1
    assert label_metrics([[]], [[]], LABELS).labels["goal"].f1 == 0.0
    assert prf(0, 0, 0).f1 == 0.0


def test_entity_metrics_are_strict_and_character_level() -> None:
    text = "市财政局拨付500万元"
    gold = [[Entity(0, 4, "AGENCY", "市财政局"), Entity(6, 11, "AMOUNT", "500万元")]]
    assert char_tags(len(text), gold[0])[:5] == ["B-AGENCY", "I-AGENCY", "I-AGENCY",
                                                 "I-AGENCY", "O"]
    exact = entity_metrics([text], gold, gold, ["AMOUNT", "AGENCY"])
    assert exact.micro.f1 == 1.0
    off_by_one = [[Entity(1, 4, "AGENCY", "财政局"), Entity(6, 11, "AMOUNT", "500万元")]]
    partial = entity_metrics([text], gold, off_by_one, ["AMOUNT", "AGENCY"])
    assert partial.types["AGENCY"].f1 == 0.0 and partial.types["AMOUNT"].f1 == 1.0
    assert partial.micro.f1 == 0.5
    assert list(partial.to_dict()) == ["AMOUNT", "AGENCY", "micro"]
    assert "predicted" in partial.to_dict()["AGENCY"] and "predicted" not in partial.to_dict()[
        "micro"]
    wrong_type = [[Entity(0, 4, "AMOUNT", "市财政局")]]
    assert entity_metrics([text], gold, wrong_type, ["AMOUNT", "AGENCY"]).micro.f1 == 0.0


def test_cooccurrence_counts_pairs() -> None:
    matrix = cooccurrence([["goal", "timeline"], ["goal"], []], LABELS)
    goal, timeline = LABELS.index("goal"), LABELS.index("timeline")
    assert matrix[goal][goal] == 2 and matrix[goal][timeline] == 1
    assert matrix[timeline][goal] == 1 and matrix[timeline][timeline] == 1


def test_a_perfect_scorer_scores_one_and_sees_context() -> None:
    records = fixture_records()
    scorer = GoldScorer(records)
    clauses = [GoldClause.from_dict(r) for r in records]
    result = evaluate_scorer(scorer, clauses, titles={records[0]["doc_id"]: "某某通知"})
    assert result.metrics.labels.micro_f1 == 1.0
    assert result.metrics.entity_micro_f1 == 1.0
    assert result.metrics.clauses == len(records)
    assert [i.section for i in scorer.seen] == [r["section"] for r in records]
    assert scorer.seen[0].title == "某某通知"


def test_evaluate_rules_writes_report(tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = evaluate("rules", "dev", gold_path=GOLD, splits_path=SPLITS, documents_path=None,
                      report_dir=out)
    assert result.baseline is None
    for name in (METRICS_FILE, REPORT_FILE, F1_PLOT, COOCCURRENCE_PLOT, CONFUSION_PLOT):
        assert (out / name).is_file(), name
    for name in (F1_PLOT, COOCCURRENCE_PLOT, CONFUSION_PLOT):
        assert (out / name).read_bytes()[:8] == PNG
    metrics = json.loads((out / METRICS_FILE).read_text(encoding="utf-8"))
    dev = records_for_split([GoldClause.from_dict(r) for r in fixture_records()], "dev",
                            json.loads(SPLITS.read_text(encoding="utf-8"))["splits"])
    assert metrics["data"]["clauses"] == len(dev)
    assert metrics["model"]["name"] == "rules"
    assert set(metrics["model"]["labels"]) == set(LABELS)
    assert "character-level" in metrics["entity_scoring"]
    report = (out / REPORT_FILE).read_text(encoding="utf-8")
    assert "seqeval" in report and "strict" in report and F1_PLOT in report


def test_evaluate_model_beside_rules_via_cli(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    model_dir, _, _ = trained_model()
    out = tmp_path / "report"
    code = main(["evaluate", "--model", str(model_dir), "--data", "test", "--gold", str(GOLD),
                 "--splits", str(SPLITS), "--documents", "", "--report", str(out)])
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "micro F1" in printed and "rules" in printed
    metrics = json.loads((out / METRICS_FILE).read_text(encoding="utf-8"))
    assert metrics["model"]["name"].startswith("model:")
    assert metrics["rules"]["name"] == "rules"
    assert metrics["split"] == "test"
    assert (out / F1_PLOT).read_bytes()[:8] == PNG


def test_evaluate_fast_int8_scores_the_quantised_model() -> None:
    model_dir, _, _ = trained_model()
    runs = {fast: evaluate(model_dir, "train", gold_path=GOLD, splits_path=SPLITS,
                           documents_path=None, baseline=False, fast=fast)
            for fast in ("none", "int8")}
    assert not runs["none"].model.name.endswith("(int8)")
    assert runs["int8"].model.name.endswith("(int8)")
    assert runs["int8"].data["clauses"] == runs["none"].data["clauses"]
    # int8 moves scores a little; on an overfitted model the decisions barely move
    assert abs(runs["int8"].model.metrics.labels.micro_f1
               - runs["none"].model.metrics.labels.micro_f1) <= 0.1


def test_evaluate_matches_predict_path(tmp_path: Path) -> None:
    """evaluate scores through load_scorer → annotate_clauses: same labels as predict."""
    from inference.batch.run import run_clauses
    from inference.scoring.models import load_scorer

    model_dir, _, _ = trained_model()
    result = evaluate(model_dir, "train", gold_path=GOLD, splits_path=SPLITS,
                      documents_path=None, baseline=False)
    train = records_for_split([GoldClause.from_dict(r) for r in fixture_records()], "train",
                              json.loads(SPLITS.read_text(encoding="utf-8"))["splits"])
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"doc_id": r.doc_id, "text": r.text,
                                       "section": r.section}, ensure_ascii=False) + "\n"
                           for r in train), encoding="utf-8")
    run_clauses(str(inp), str(tmp_path / "out.jsonl"), load_scorer(model_dir))
    predicted = [sorted(json.loads(line)["labels"])
                 for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [sorted(p) for p in result.model.predicted_labels] == predicted


def test_missing_gold_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="labels build"):
        evaluate("rules", "test", gold_path=tmp_path / "none.jsonl", splits_path=SPLITS)
