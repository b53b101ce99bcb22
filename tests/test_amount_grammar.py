"""The money grammar sets the extent of the model's AMOUNT spans (inference/scoring/
amount_grammar.py); the model still decides which sums there are."""

from __future__ import annotations

from inference.records import Entity
from inference.scoring.amount_grammar import snap_amounts
from inference.scoring.postprocess import malformed_reasons, postprocess_entities


def _span(text: str, surface: str, kind: str = "AMOUNT") -> Entity:
    start = text.index(surface)
    return Entity(start, start + len(surface), kind, surface)


def test_a_model_amount_takes_the_grammar_extent() -> None:
    text = "违法所得不足5000元的，并处罚款。"
    out = snap_amounts(text, [_span(text, "5000元的")])
    assert [e.text for e in out] == ["5000元"]


def test_one_model_span_over_two_sums_becomes_two() -> None:
    text = "全年投入266亿元、394亿元用于民生。"
    out = snap_amounts(text, [_span(text, "266亿元、394亿元")])
    assert [e.text for e in out] == ["266亿元", "394亿元"]


def test_the_grammar_adds_nothing_the_model_did_not_propose() -> None:
    text = "对认定的企业给予30万元奖励，市财政局负责。"
    agency = _span(text, "市财政局", "AGENCY")
    assert snap_amounts(text, [agency]) == [agency]
    # a model sum the grammar does not see is kept as the model wrote it
    odd = _span(text, "30万元奖励")
    assert snap_amounts(text, [odd, agency])[0].text == "30万元"


def test_postprocess_keeps_the_grammar_extent_against_a_wider_token() -> None:
    text = "不足5000元的部分"
    tokens = [(0, 2), (2, 6), (6, 8), (8, 10)]  # 不足|5000|元的|部分: a piece runs past the sum
    out = postprocess_entities(text, [_span(text, "5000元的")], tokens)
    assert [e.text for e in out] == ["5000元"]
    assert not malformed_reasons(text, out[0], tokens)
    # an agency cut inside a token is still widened and still counts as malformed
    text = "人行偃师支行负责"
    tokens = [(0, 2), (2, 4), (4, 6), (6, 8)]
    cut = Entity(3, 6, "AGENCY", text[3:6])
    assert any("token" in reason for reason in malformed_reasons(text, cut, tokens))
    assert [e.text for e in postprocess_entities(text, [cut], tokens)] == ["偃师支行"]
