"""The agency grammar (inference/scoring/agency_grammar.py) moves, splits or drops AGENCY spans
the tagger proposed, as the guidelines write body names, and leaves everything else alone."""

from __future__ import annotations

from inference.records import Entity
from inference.scoring.agency_grammar import apply_agency_grammar
from inference.scoring.postprocess import malformed_reasons, postprocess_entities


def _agency(text: str, surface: str, occurrence: int = 0) -> Entity:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(surface, start + 1)
    return Entity(start, start + len(surface), "AGENCY", surface)


def _surfaces(entities: list[Entity]) -> list[str]:
    return [e.text for e in entities]


def test_joining_words_at_an_edge_are_not_part_of_the_body() -> None:
    text = "最高人民法院和最高人民检察院联合发布，报经北京市人民政府指定的机构审核。"
    spans = [_agency(text, "最高人民法院和"), _agency(text, "北京市人民政府指定的")]
    assert _surfaces(apply_agency_grammar(text, spans)) == ["最高人民法院", "北京市人民政府"]
    text = "申请人应当向上级人民政府计划生育行政部门报告。"
    assert _surfaces(apply_agency_grammar(text, [_agency(text, "向上级人民政府计划生育行政部门")])) \
        == ["上级人民政府计划生育行政部门"]


def test_a_party_committee_and_a_government_written_together_are_two_bodies() -> None:
    text = "省委省政府高度重视，党中央国务院作出部署，市委市人民政府抓落实。"
    spans = [_agency(text, "省委省政府"), _agency(text, "党中央国务院"),
             _agency(text, "市委市人民政府")]
    out = apply_agency_grammar(text, spans)
    assert _surfaces(out) == ["省委", "省政府", "党中央", "国务院", "市委", "市人民政府"]
    assert all(text[e.start:e.end] == e.text for e in out)
    # different levels are not a pair: left as the model wrote them
    text = "省委市政府"
    assert _surfaces(apply_agency_grammar(text, [_agency(text, "省委市政府")])) == ["省委市政府"]


def test_words_that_name_no_body_are_dropped_and_names_that_start_alike_are_kept() -> None:
    text = "国家鼓励政府有关部门和经济和信息化委员会、联合国开发计划署合作。"
    spans = [_agency(text, "国家"), _agency(text, "政府"), _agency(text, "有关部门"),
             _agency(text, "经济和信息化委员会"), _agency(text, "联合国开发计划署")]
    assert _surfaces(apply_agency_grammar(text, spans)) == ["经济和信息化委员会", "联合国开发计划署"]


def test_other_types_pass_and_nothing_is_added() -> None:
    text = "市财政局给予50万元奖励。"
    amount = Entity(text.index("50"), text.index("元") + 1, "AMOUNT", "50万元")
    agency = _agency(text, "市财政局")
    assert apply_agency_grammar(text, [agency, amount]) == [agency, amount]
    assert apply_agency_grammar(text, []) == []


def test_postprocess_output_after_the_grammar_is_never_malformed() -> None:
    text = "由省委省政府、和市财政局共同负责。"
    spans = [Entity(0, 7, "AGENCY", text[0:7]), Entity(7, 13, "AGENCY", text[7:13])]
    out = postprocess_entities(text, spans)
    assert out and all(not malformed_reasons(text, e) for e in out)
    assert "省委" in _surfaces(out) and "省政府" in _surfaces(out)
