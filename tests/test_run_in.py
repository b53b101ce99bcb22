"""Run-in headings in flat text: the learned boundary model (inference.text.run_in), its
training data (training.fit.run_in), and the flat-text rules written with heldout4."""

from __future__ import annotations

import json

import pytest

from inference.text import run_in
from inference.text.segment import learned_run_in_end, run_in_heading_end, segment


def kinds_and_texts(text: str, layout: str = "flat") -> list[tuple[str, str]]:
    return [(c.kind, c.text) for c in segment(text, layout)]


@pytest.mark.parametrize(("text", "heading"), [
    ("（一）工作目标依法逐步将产生工业固体废物单位的工业固体废物环境管理要求纳入其排污许可证。",
     "（一）工作目标"),
    ("三、竞赛方式本次竞赛通过微信小程序开展，无需下载APP或关注微信公众号。", "三、竞赛方式"),
    ("一、统一宣传主题2021年六五环境日统一使用宣传主题为“人与自然和谐共生”。", "一、统一宣传主题"),
])
def test_the_model_cuts_a_heading_the_rule_leaves_in_flat_text(text, heading):
    assert run_in_heading_end(text, 0) is None  # the hand-written rule is not sure
    assert learned_run_in_end(text, 0) == len(heading)
    assert kinds_and_texts(text) == [("heading", heading), ("body", text[len(heading):])]


def test_the_model_is_not_asked_in_text_with_its_line_breaks():
    # One paragraph a line: the author's breaks decide, so the gold of such documents does
    # not move with the model.
    text = "三、竞赛方式本次竞赛通过微信小程序开展，无需下载APP或关注微信公众号。"
    assert kinds_and_texts(text, "lines") == [("body", text)]


def test_no_candidate_end_breaks_a_word_a_number_or_a_conjunction():
    line = "二、将本行政区域内本年度行动计划工作总结和下年度工作安排报送我部3.2019年各单位要面向社会"
    ends, _ = run_in.candidate_ends(line, 2)
    for end in ends:
        assert line[end - 1] not in "和要、", line[:end]
        assert not line.startswith(("计划", "工作"), end), line[:end]
        assert not (line[end - 1].isdigit() or line[end - 1] == "."), line[:end]


def test_an_item_that_a_signature_follows_is_not_a_heading():
    text = "4.反馈意见建议格式生态环境部办公厅2022年10月31日"
    assert run_in.candidate_ends(text, 2)[0] == []
    assert kinds_and_texts(text)[1:] == [("tail", "生态环境部办公厅"), ("tail", "2022年10月31日")]


def test_the_weights_file_names_itself_when_broken(tmp_path):
    broken = tmp_path / "run_in_weights.json"
    broken.write_text('{"weights": {}', encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"run_in_weights\.json.*training\.fit\.run_in"):
        run_in.RunInModel.load(broken)


def test_the_shipped_weights_record_how_they_were_chosen():
    data = json.loads(run_in.WEIGHTS_FILE.read_text(encoding="utf-8"))
    assert 0.5 <= data["threshold"] < 1 and data["weights"]
    assert data["cross_validation"]["precision_mean"] >= 0.9


def test_training_examples_come_from_flattening_a_document_with_its_line_breaks():
    from training.fit.run_in import examples_of

    heading = "三、竞赛方式"
    body = "本次竞赛通过微信小程序开展，无需下载APP或关注微信公众号。"
    lines = f"关于举办知识竞赛的通知\n{heading}\n{body}\n四、奖项设置\n本次竞赛设一等奖10名。"
    examples = examples_of("doc", lines)
    flat = lines.replace("\n", "")
    first = next(ex for ex in examples if flat[ex.phrase_start - 2:].startswith(heading))
    assert first.boundary == flat.index(heading) + len(heading)
    assert first.boundary in first.ends


def test_a_reply_letter_addressee_and_its_topics():
    text = ("张玉珍等5位代表：你们提出的“关于推进排污权有偿使用和交易工作的建议”，由我部会同财政部"
            "办理。现答复如下：一、关于加大政策宣传力度从试点情况来看，部分试点省份把排污权有偿"
            "使用工作与污染减排紧密结合。二、关于加强飞行监测为确保水质监测数据真实、准确，我部持续"
            "加强质量管理工作。")
    got = kinds_and_texts(text)
    assert got[0] == ("head", "张玉珍等5位代表：")
    assert ("heading", "一、关于加大政策宣传力度") in got
    assert ("heading", "二、关于加强飞行监测") in got


def test_as_follows_with_a_noun_ends_its_clause():
    assert kinds_and_texts("请你市督促相关单位做好如下工作：一是限期整治。") == [
        ("body", "请你市督促相关单位做好如下工作："), ("body", "一是限期整治。")]


def test_the_next_letter_of_several_sent_together_opens_with_its_addressee():
    text = ("特此函告。生态环境部办公厅2020年2月20日（此件社会公开）抄送：山西省人民政府办公厅，"
            "山西省生态环境厅。长治市人民政府，壶关县人民政府：2019年12月17日至31日，我部工作组"
            "在你市发现3个突出环境问题。")
    got = kinds_and_texts(text)
    assert ("tail", "抄送：山西省人民政府办公厅，山西省生态环境厅。") in got
    assert ("head", "长治市人民政府，壶关县人民政府：") in got


def test_flattened_lists_are_cut_into_rows_that_are_not_headings():
    text = ("附件：主要成员企业名单国 务 院一九九八年七月二十一日附件：主要成员企业名单一、直属企业"
            "(4个)1.北京燕山石油化工集团有限公司2.中国石化长城润滑油集团有限公司3.中国石化天津石油"
            "化工公司4.中国石化石家庄炼油厂")
    got = kinds_and_texts(text)
    assert got[1:3] == [("tail", "国 务 院"), ("tail", "一九九八年七月二十一日")]
    assert got[-4:] == [("body", "1.北京燕山石油化工集团有限公司"),
                        ("body", "2.中国石化长城润滑油集团有限公司"),
                        ("body", "3.中国石化天津石油化工公司"), ("body", "4.中国石化石家庄炼油厂")]
    places = ("现予公告。附件示范区名单（4个）北京市海淀区、怀柔区天津市宝坻区上海市青浦区"
              "河北省张家口市崇礼区、保定市阜平县")
    assert kinds_and_texts(places)[-4:] == [
        ("body", "北京市海淀区、怀柔区"), ("body", "天津市宝坻区"), ("body", "上海市青浦区"),
        ("body", "河北省张家口市崇礼区、保定市阜平县")]


def test_two_numbers_in_a_sentence_are_not_a_list():
    text = "按要求报送1.工作方案2.经费预算。"
    assert kinds_and_texts(text) == [("body", text)]
