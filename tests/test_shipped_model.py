"""The shipped default in models/default: loads with no flag, opens in transformers.pipeline,
fits the size budget, and labels a few fixed clauses the way the guidelines say."""

from __future__ import annotations

import pytest

from inference.scoring.components import ClauseInput
from inference.scoring.models import DEFAULT_MODEL_DIR, ModelScorer, load_scorer

pytestmark = pytest.mark.slow

CASES = [
    # (clause, section, labels that must be predicted, entities that must be found)
    ("到2025年，全市技术合同成交额累计突破5亿元。", "一、总体要求 > （二）建设目标。",
     {"goal", "timeline"}, {("5亿元", "AMOUNT")}),
    ("（责任单位：市科技局、财政局、工信局）", "二、优化技术转移体系基础架构",
     {"responsibility"}, {("市科技局", "AGENCY"), ("财政局", "AGENCY"), ("工信局", "AGENCY")}),
    ("对新认定的省级技术转移示范机构，给予30万元的一次性奖励。", "三、支持政策",
     {"incentive"}, {("30万元", "AMOUNT")}),
    ("坚持市场主导、政府推动的原则，充分发挥企业主体作用。", "一、总体要求 > （一）基本原则",
     {"principle"}, set()),
]


@pytest.fixture(scope="module")
def scorer():
    if not (DEFAULT_MODEL_DIR / "classifier").is_dir():
        pytest.fail("models/default is missing: the shipped default must be committed")
    return load_scorer()


def test_predict_without_flags_loads_the_shipped_model(scorer):
    assert isinstance(scorer, ModelScorer)
    # the shipped default is a shared-encoder model: one encoder pass per clause
    assert scorer.shared is not None and scorer.tagger is None


@pytest.mark.parametrize(("text", "section", "labels", "entities"), CASES)
def test_fixed_clauses(scorer, text, section, labels, entities):
    (result,) = scorer.predict([ClauseInput(text, section)])
    assert labels <= set(result.labels), result.scores
    found = {(e.text, e.type) for e in result.entities}
    assert entities <= found, found


def test_a_date_line_gets_no_label(scorer):
    (result,) = scorer.predict([ClauseInput("2018年9月21日")])
    assert result.labels == []


def test_folders_open_in_transformers_pipeline_and_fit_the_budget():
    from transformers import pipeline

    classify = pipeline("text-classification", model=str(DEFAULT_MODEL_DIR / "classifier"))
    scores = {d["label"]: d["score"] for d in classify("（责任单位：市科技局、财政局）", top_k=None)}
    assert set(scores) == {"goal", "incentive", "responsibility", "timeline", "principle"}
    tag = pipeline("token-classification", model=str(DEFAULT_MODEL_DIR / "tagger"))
    assert any(t["entity"].endswith("AGENCY") for t in tag("由市财政局负责。"))
    size = sum(f.stat().st_size for f in DEFAULT_MODEL_DIR.rglob("*") if f.is_file())
    assert size <= 100 * 1024 * 1024
