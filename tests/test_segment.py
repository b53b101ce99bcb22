"""One case per segmentation rule of GUIDELINES §1, plus offsets, kinds and sections."""

from __future__ import annotations

import pytest

from inference.text.clean import clean_text
from inference.text.segment import segment


def texts(text: str) -> list[str]:
    return [c.text for c in segment(text)]


def test_rule1_split_after_sentence_ends_and_line_breaks():
    assert texts("加强领导。落实责任！是否可行？明确分工；完善机制\n强化保障") == [
        "加强领导。", "落实责任！", "是否可行？", "明确分工；", "完善机制", "强化保障"]


def test_rule1_half_width_forms():
    assert texts("加强领导.落实责任;是否可行?好!") == ["加强领导.", "落实责任;", "是否可行?", "好!"]


@pytest.mark.parametrize("text", [
    "根据《关于印发方案的通知。附件》要求，制定本方案。",
    "坚持“市场主导。政府推动”的原则。",
    "设立基金（资金来源：财政；社会资本）支持转化。",
    "引用(国办发〔2016〕28号。)文件精神。",
    "称为「示范区。」的载体。",
    "见【说明。】部分。",
    "他说‘好。’就走了。",
])
def test_rule2_never_split_inside_brackets_or_quotes(text):
    assert texts(text) == [text]


def test_rule2_standalone_note_after_sentence_end_is_its_own_clause():
    assert texts("加大资金投入。（责任单位：市科技局、财政局）") == [
        "加大资金投入。", "（责任单位：市科技局、财政局）"]
    assert texts("加大资金投入。(责任单位:市财政局)二、保障措施") == [
        "加大资金投入。", "(责任单位:市财政局)", "二、保障措施"]


def test_rule2_unbalanced_bracket_does_not_swallow_the_line():
    assert texts("浙科发成〔2019114。加强领导。") == ["浙科发成〔2019114。", "加强领导。"]


def test_rule3_no_split_at_comma_colon_enumeration_comma_or_in_numbers():
    text = "主要指标：全市技术合同交易额达到1.35亿元，增长2019.01个百分点、新增3家。"
    assert texts(text) == [text]


@pytest.mark.parametrize("marker", ["一、", "（一）", "(二)", "1.", "1、", "（1）", "①", "第三条"])
def test_rule4_enumeration_marker_opens_a_clause_and_stays_with_it(marker):
    clauses = texts(f"工作任务如下：{marker}加强组织领导，明确分工")
    assert clauses == ["工作任务如下：", f"{marker}加强组织领导，明确分工"]


def test_rule4_marker_after_sentence_end_and_run_in_heading():
    assert texts("完善机制。2.实施登记制度。建立机制。") == ["完善机制。", "2.实施登记制度。", "建立机制。"]
    assert texts("一、坚持党的领导（一）生态环境是重大问题。") == [
        "一、坚持党的领导", "（一）生态环境是重大问题。"]


def test_rule4_citations_do_not_open_clauses():
    for text in ["依照本条例第三条规定执行。", "按照第（一）项规定执行。", "统一、规范管理。"]:
        assert texts(text) == [text]


def test_rule5_headings_and_sections():
    text = ("二、主要目标\n到2020年，力争培育科技型企业达到40家以上。\n三、重点任务\n"
            "（一）建立科技成果转化信息共享与发布体系。\n1.推动科技成果供需结合。围绕重点产业开展对接。\n"
            "（三）加快科技成果转化载体建设。")
    clauses = segment(text)
    kinds = [(c.text, c.kind) for c in clauses]
    assert kinds == [
        ("二、主要目标", "heading"),
        ("到2020年，力争培育科技型企业达到40家以上。", "body"),
        ("三、重点任务", "heading"),
        ("（一）建立科技成果转化信息共享与发布体系。", "heading"),
        ("1.推动科技成果供需结合。", "heading"),
        ("围绕重点产业开展对接。", "body"),
        ("（三）加快科技成果转化载体建设。", "heading"),
    ]
    assert clauses[1].section == "二、主要目标"
    assert clauses[5].section == "三、重点任务 > （一）建立科技成果转化信息共享与发布体系。 > 1.推动科技成果供需结合。"
    # a sibling heading replaces its predecessor in the path, not appends to it
    assert clauses[6].section == "三、重点任务"


def test_rule5_enumerated_measure_with_amount_is_body():
    clause = segment("（1）企业获得国家级奖励的，给予50万元奖励。")[0]
    assert clause.kind == "body"


def test_rule6_strip_and_drop_empty_or_punctuation_only():
    assert texts("  加强领导。  \n\n  。。  \n——\n落实责任。") == ["加强领导。", "落实责任。"]


def test_offsets_index_the_cleaned_text(seeds):
    for raw in seeds.values():
        cleaned = clean_text(raw).text
        clauses = segment(cleaned)
        assert clauses, "every seed has clauses"
        assert [c.clause_id for c in clauses] == list(range(len(clauses)))
        for clause in clauses:
            assert cleaned[clause.start:clause.end] == clause.text
            assert clause.kind in ("heading", "body", "head", "tail")


def test_seed_003_responsibility_notes_are_clauses(seeds):
    clauses = texts(clean_text(seeds[3]).text)
    assert "（责任单位：市科技局、发改委、财政局、工信局、市场监管局，各镇、街道）" in clauses
    assert "（二）建设目标。" in clauses
    assert "全市技术合同成交额累计突破5亿元。" in clauses
