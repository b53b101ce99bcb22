"""No malformed entity span: the checker, the repair, and the shipped model over the whole
test split (issue 13, item 2)."""

from __future__ import annotations

import pytest

from inference.records import Entity
from inference.scoring.postprocess import malformed_reasons, postprocess_entities, repair_spans


def _span(text: str, surface: str, etype: str = "AGENCY", occurrence: int = 0) -> Entity:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(surface, start + 1)
    return Entity(start, start + len(surface), etype, surface, score=0.9)


def _repaired(text: str, *spans: Entity, tokens=None) -> list[str]:
    return [e.text for e in repair_spans(text, list(spans), tokens)]


# (clause, what the tagger gave, type, what the repair must give; None: dropped)
CASES = [
    ("报请中共中央、国务院批准", "中共中央、", "AGENCY", "中共中央"),
    ("给予30万元、10万元、5万元的奖励", "、5万元", "AMOUNT", "5万元"),
    ("奖励、2.59万元。", "、2.59万元", "AMOUNT", "2.59万元"),
    ("全面落实省委、省政府部署", "省委、", "AGENCY", "省委"),
    ("补助2.289万元", "289万元", "AMOUNT", "2.289万元"),
    # widened to 2.289 (no money unit of its own); the money grammar gives the sum's extent
    ("补助2.289万元", "2.2", "AMOUNT", "2.289万元"),
    ("编号2.289", "2.2", "AMOUNT", None),  # no sum there: still dropped
    ("罚款二百九十多元", "九十多元", "AMOUNT", "二百九十多元"),
    ("各省、自治区、直辖市环境保护厅（局）", "直辖市环境保护厅（局）", "AGENCY",
     "直辖市环境保护厅（局）"),
    ("各省、自治区、直辖市及计划单列市科技厅(委、局),新疆", "计划单列市科技厅(委、局", "AGENCY",
     "计划单列市科技厅(委、局)"),
    ("由（局）负责", "（局", "AGENCY", None),
    ("报送BigData中心", "gData中心", "AGENCY", "BigData中心"),
    ("作为对设区市政府", "对", "AGENCY", None),
    ("达到百分百", "分", "AMOUNT", None),
    ("由 市财政局 负责", " 市财政局 ", "AGENCY", "市财政局"),
]


@pytest.mark.parametrize(("text", "surface", "etype", "expected"), CASES)
def test_repair(text, surface, etype, expected):
    repaired = postprocess_entities(text, [_span(text, surface, etype)])
    assert [e.text for e in repaired] == ([expected] if expected else [])
    for e in repaired:
        assert e.text == text[e.start:e.end]
        assert malformed_reasons(text, e) == [], e


@pytest.mark.parametrize(("text", "surface", "etype", "expected"), CASES)
def test_checker_flags_what_the_repair_fixes(text, surface, etype, expected):
    if expected == surface:
        return
    assert malformed_reasons(text, _span(text, surface, etype))


def test_a_cut_token_is_widened_to_the_token():
    text = "人行偃师支行负责"
    tokens = [(0, 2), (2, 4), (4, 6), (6, 8)]  # 人行|偃师|支行|负责
    cut = _span(text, "师支行")
    assert any("token" in r for r in malformed_reasons(text, cut, tokens))
    assert _repaired(text, cut, tokens=tokens) == ["偃师支行"]


def test_spans_that_meet_after_repair_merge():
    text = "补助2.289万元"
    assert _repaired(text, Entity(2, 4, "AMOUNT", "2."), Entity(4, 9, "AMOUNT", "289万元")) \
        == ["2.289万元"]


def test_the_checker_names_each_reason():
    text = "、5万元和人行偃师支行"
    assert malformed_reasons(text, Entity(0, 4, "AMOUNT", "、5万元")) == [
        "starts with punctuation or whitespace '、'"]
    assert malformed_reasons(text, Entity(7, 8, "AGENCY", "偃")) == [
        "shorter than 2 characters"]
    assert malformed_reasons(text, Entity(0, 2, "AMOUNT", "xx"))[0].startswith("text 'xx'")


# --- the shipped model over every test-split gold clause -----------------------------------


@pytest.mark.slow
def test_the_shipped_model_emits_no_malformed_span_on_the_test_split():
    from inference.scoring.components import ClauseInput
    from inference.scoring.models import DEFAULT_MODEL_DIR, load_scorer
    from training.data import gold

    if not gold.GOLD_PATH.is_file() or not gold.SPLITS_PATH.is_file():
        pytest.fail("labels/gold.jsonl and labels/splits.json must be committed")
    records = gold.records_for_split(gold.read_gold(gold.GOLD_PATH), "test",
                                     gold.load_splits())
    assert len(records) > 500
    scorer = load_scorer(DEFAULT_MODEL_DIR)
    texts = [r.text for r in records]
    predictions = scorer.predict([ClauseInput(text=t, section=r.section or "")
                                  for t, r in zip(texts, records, strict=True)])
    # the tokenizer the tags came from: the shared encoder's, or the separate tagger's
    tokenizer = (scorer.shared or scorer.tagger).tokenizer
    malformed, spans = [], 0
    for text, prediction in zip(texts, predictions, strict=True):
        tokens = [(s, e) for s, e in tokenizer(text, add_special_tokens=False,
                                                return_offsets_mapping=True)["offset_mapping"]
                  if s < e]
        for entity in prediction.entities:
            spans += 1
            reasons = malformed_reasons(text, entity, tokens)
            if reasons:
                malformed.append((entity.text, text, reasons))
    assert spans > 200
    assert malformed == [], f"{len(malformed)} malformed of {spans}: {malformed[:5]}"
