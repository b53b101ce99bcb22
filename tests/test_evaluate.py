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


def test_agreement_label_micro_f1_pools_labels_and_can_skip_entities() -> None:
    """Micro-F1 over the five labels, as evaluate computes it: here 2 matched, 1 only
    first, 1 only second -> 2*2 / (2*2 + 1 + 1)."""
    def clause(cid: int, labels: list[str], entities: list[Entity]) -> GoldClause:
        return GoldClause(doc_id="d", clause_id=cid, kind="body", section="",
                          text="市财政局拨付500万元", labels=labels, entities=entities)
    agency = [Entity(0, 4, "AGENCY", "市财政局")]
    first = [clause(0, ["goal", "incentive"], agency), clause(1, ["timeline"], agency)]
    second = [clause(0, ["goal", "incentive"], []), clause(1, ["responsibility"], [])]
    report = agreement_report(first, second, entities=False)
    assert report["label_micro_f1"] == 0.6667
    assert "AGENCY_span_f1" not in report and "AMOUNT_span_f1" not in report
    assert agreement_report(first, second)["AGENCY_span_f1"]["f1"] == 0.0


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


# --- per corpus, per layout, calibration ------------------------------------------------------

LINES_TEXT = "一、总体要求\n到2025年，建成示范区。\n加强组织领导，落实工作责任。\n强化督查考核。\n" * 3
FLAT_TEXT = "加强组织领导，落实工作责任，强化督查考核，确保各项任务落到实处。" * 12


def write_documents(path: Path) -> Path:
    """Documents of the fixture's train split with known corpora and layouts: seed-003 has no
    corpus field, stpolicy-shandong-027 is missing, one line is not JSON."""
    from tests.test_layout import WRAPPED

    rows = [
        {"id": "seed-003", "text": "某市人民政府关于印发某办法的通知\n" + LINES_TEXT},
        {"id": "govcn-0093", "text": FLAT_TEXT, "corpus": "govcn_documents"},
        {"id": "stpolicy-shandong-014", "text": WRAPPED, "corpus": "st_policies"},
        {"id": "stpolicy-shandong-025", "text": LINES_TEXT, "corpus": "st_policies"},
    ]
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    lines.insert(2, "{not json")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_document_facts_give_corpus_layout_and_the_titles_training_uses(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from training.eval.evaluate import document_facts, slice_groups
    from training.fit.data import document_titles

    documents = write_documents(tmp_path / "documents.jsonl")
    doc_ids = {"seed-003", "govcn-0093", "stpolicy-shandong-014", "stpolicy-shandong-025",
               "stpolicy-shandong-027"}
    facts = document_facts(documents, doc_ids)
    assert f"{documents}:3" in caplog.text  # the bad line is named, the rest is read
    groups = slice_groups(doc_ids, facts)
    assert groups["corpus"] == {"seed-003": "seeds", "govcn-0093": "govcn_documents",
                                "stpolicy-shandong-014": "st_policies",
                                "stpolicy-shandong-025": "st_policies",
                                "stpolicy-shandong-027": "unknown"}
    assert groups["layout"] == {"seed-003": "lines", "govcn-0093": "flat",
                                "stpolicy-shandong-014": "wrapped",
                                "stpolicy-shandong-025": "lines",
                                "stpolicy-shandong-027": "unknown"}
    titles = {doc_id: f.title for doc_id, f in facts.items() if f.title}
    assert titles == {k: v for k, v in document_titles(documents, doc_ids).items() if v}
    assert titles["seed-003"] == "某市人民政府关于印发某办法的通知"


class HalfScorer(GoldScorer):
    """Perfect on st_policies clauses, silent elsewhere: a weak source to find."""

    def __init__(self, records: Sequence[dict], good_texts: set[str]) -> None:
        super().__init__(records)
        self.good_texts = good_texts

    def predict(self, inputs: Sequence[ClauseInput]) -> list[ClauseScores]:
        out = super().predict(inputs)
        return [row if item.text in self.good_texts
                else ClauseScores(scores=dict.fromkeys(LABELS, 0.0), labels=[], entities=[])
                for item, row in zip(inputs, out, strict=True)]


def test_a_weak_source_shows_per_corpus_and_per_layout(tmp_path: Path) -> None:
    from training.eval.evaluate import document_facts, slice_groups

    train = records_for_split([GoldClause.from_dict(r) for r in fixture_records()], "train",
                              json.loads(SPLITS.read_text(encoding="utf-8"))["splits"])
    doc_ids = {r.doc_id for r in train}
    groups = slice_groups(doc_ids, document_facts(write_documents(tmp_path / "d.jsonl"),
                                                  doc_ids))
    good = {r.text for r in train if r.doc_id.startswith("stpolicy-shandong-0")
            and r.doc_id != "stpolicy-shandong-027"}
    result = evaluate_scorer(HalfScorer(fixture_records(), good), train, groups=groups)
    by_corpus = result.slices["corpus"]
    assert list(by_corpus) == ["govcn_documents", "seeds", "st_policies", "unknown"]
    st = by_corpus["st_policies"]
    assert (st.documents, st.clauses) == (2, 4)
    assert st.positives == sum(len(r.labels) for r in train if r.doc_id in
                               ("stpolicy-shandong-014", "stpolicy-shandong-025"))
    assert st.labels.micro_f1 == 1.0
    assert by_corpus["unknown"].clauses == 3 and by_corpus["unknown"].labels.micro_f1 == 0.0
    assert sum(s.clauses for s in by_corpus.values()) == len(train)
    assert 0.0 < result.metrics.labels.micro_f1 < 1.0
    by_layout = result.slices["layout"]
    assert by_layout["wrapped"].labels.micro_f1 == 1.0 and by_layout["flat"].documents == 1
    assert by_layout["lines"].documents == 2  # seed-003 (silent) and shandong-025 (perfect)
    written = result.to_dict()
    assert written["by_corpus"]["st_policies"]["label_micro_f1"] == 1.0
    assert set(written["by_layout"]["wrapped"]["entities"]) == {"AMOUNT", "AGENCY", "micro"}
    assert "calibration" not in written  # not asked for, no note given


def test_evaluate_a_model_reports_slices_and_calibration(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    from tests.helpers.tiny_model import build_tiny_model
    from training.eval.report import reliability_plot_name

    model_dir = build_tiny_model(tmp_path / "model",
                                 texts=[r["text"] for r in fixture_records()])
    out = tmp_path / "report"
    code = main(["evaluate", "--model", str(model_dir), "--data", "train", "--gold", str(GOLD),
                 "--splits", str(SPLITS), "--documents",
                 str(write_documents(tmp_path / "documents.jsonl")), "--report", str(out)])
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "by corpus:" in printed and "st_policies" in printed and "ECE" in printed
    metrics = json.loads((out / METRICS_FILE).read_text(encoding="utf-8"))
    clauses = metrics["data"]["clauses"]
    for scorer in ("model", "rules"):
        assert set(metrics[scorer]["by_corpus"]) == {"govcn_documents", "seeds", "st_policies",
                                                     "unknown"}
        assert set(metrics[scorer]["by_layout"]) == {"flat", "lines", "wrapped", "unknown"}
        assert sum(s["clauses"] for s in metrics[scorer]["by_layout"].values()) == clauses
    assert "skipped" in metrics["rules"]["calibration"]
    calibration = metrics["model"]["calibration"]
    assert set(calibration) == set(LABELS)
    train = records_for_split([GoldClause.from_dict(r) for r in fixture_records()], "train",
                              json.loads(SPLITS.read_text(encoding="utf-8"))["splits"])
    for label, row in calibration.items():
        assert sum(b["count"] for b in row["bins"]) == clauses
        assert row["positives"] == sum(label in r.labels for r in train)
        assert 0.0 <= row["ece"] <= 1.0
        assert (out / reliability_plot_name(label)).read_bytes()[:8] == PNG
    report = (out / REPORT_FILE).read_text(encoding="utf-8")
    assert "## By corpus" in report and "## By layout" in report and "| wrapped |" in report
    assert f"]({reliability_plot_name('goal')})" in report
    assert "Skipped for rules" in report


def test_rules_alone_skip_calibration_with_a_note(tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = evaluate("rules", "dev", gold_path=GOLD, splits_path=SPLITS, documents_path=None,
                      report_dir=out)
    assert result.model.calibration is None and "not probabilities" in \
        result.model.calibration_note
    assert not list(out.glob("reliability_*.png"))
    assert "Skipped for rules" in (out / REPORT_FILE).read_text(encoding="utf-8")
