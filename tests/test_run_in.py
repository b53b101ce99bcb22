"""Run-in headings in flat text: the learned boundary model (inference.text.run_in), its
training data (training.fit.run_in), and the flat-text rules written with heldout4 and
heldout5."""

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
    chosen = data["cross_validation"]
    # chosen for the gain in clauses over held-out folds, which the real flat documents share
    assert chosen["gain"] > 0 and chosen["gain_flat"] > 0
    assert chosen["precision_mean"] >= 0.85


def test_decide_counts_the_clauses_a_split_wins_and_loses():
    from training.fit.run_in import Example, decide

    line = "（一）工作目标依法逐步将产生工业固体废物单位的工业固体废物环境管理要求纳入其排污许可证。"
    ends, stop_at = run_in.candidate_ends(line, 3)
    right = Example(line, 3, 4, ends, stop_at, 7, "a")
    none = Example(line, 3, 4, ends, stop_at, None, "b")
    always = run_in.RunInModel({"lvl=4": 10.0}, 0.0, 0.5)  # splits at its first candidate
    never = run_in.RunInModel({}, -10.0, 0.5)
    assert decide(never, [right, none])["gain"] == 0
    first = always.best_end(line, 3, 4)
    wins = 2 if first == 7 else -1  # a right split wins two clauses, a wrong one costs one
    assert decide(always, [right, none])["gain"] == wins - 1


def test_training_reads_the_gold_without_the_model_it_replaces(monkeypatch):
    # The flattened documents' clauses come from segmenting them; a line that runs paragraphs
    # together would ask the shipped model, so training must not depend on the weights file.
    from training.fit import run_in as trainer

    lines = ("关于举办知识竞赛的通知\n三、竞赛方式\n本次竞赛通过微信小程序开展，无需下载APP或关注"
             "微信公众号。\n四、奖项设置\n本次竞赛设一等奖10名。")
    before = trainer.examples_of("doc", lines)
    monkeypatch.setattr(run_in, "default_model",
                        lambda: run_in.RunInModel({"lvl=1": 50.0}, 0.0, 0.5))
    assert trainer.examples_of("doc", lines) == before
    with run_in.switched_off():
        assert learned_run_in_end("三、竞赛方式本次竞赛通过微信小程序开展，无需下载。", 0) is None


def test_the_real_flat_gold_documents_give_examples():
    from training.fit.run_in import flat_gold_examples

    examples = flat_gold_examples("dev")
    assert examples and all(ex.line for ex in examples)
    run_in_headings = [ex for ex in examples if ex.boundary is not None]
    assert all(ex.boundary in ex.ends for ex in run_in_headings)


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


# Round 9: rules written from labels/segmentation_heldout5 (README there).

@pytest.mark.parametrize(("text", "heading"), [
    # a title, then a sentence whose subject is who acts
    ("（二）强化技术支持生态环境部负责相关法律法规、标准和技术规范制修订工作，组建专家团队。",
     "（二）强化技术支持"),
    ("（一）质量保证体系运转情况营运单位针对7、8号机组工程项目建立了质量保证体系，施工组织机构健全。",
     "（一）质量保证体系运转情况"),
    # a notice's topic, then its value
    ("一、培训时间2019年10月21日至25日（21日全天报到，25日返程），请按时报到。", "一、培训时间"),
    # a sub-item marker where the heading's scan stops
    ("（一）预申请1. 预申请提交时间为2020年5月5日-6月5日16时。", "（一）预申请"),
    ("3．交通运行监管与协调3.1民用飞机典型航电设备适航安全性设计，及测试验证。",
     "3．交通运行监管与协调"),
])
def test_round_9_run_in_headings(text, heading):
    assert run_in_heading_end(text, 0) == len(heading)


@pytest.mark.parametrize("text", [
    "（一）鼓励和支持地方政府开展生态补偿试点，探索建立多元化补偿机制。",  # 支持 takes who acts
    "二、各地区和各有关部门要对已经批准项目建议书的项目进行清理，确实需要继续建设的。",
    "一、竞赛时间和参与对象竞赛时间为2020年10月20日至11月20日。",  # not 竞赛时间|和…
    "1. 预申请提交时间为2020年5月5日-6月5日16时，逾期不候。",  # not …时间|为…
    "一、经济增长2.1个百分点以上，全年完成目标任务。",  # a number, not a sub-item
])
def test_round_9_rules_leave_one_sentence_whole(text):
    assert run_in_heading_end(text, 0) is None


def test_form_fields_and_marked_contact_entries():
    text = ("二、检查依据和范围检查单位：国家核安全局受检单位：江苏核电有限公司检查日期：2022年2月14日"
            "至16日。四、联系方式（一）联系人：生态环境部卫星环境应用中心张雪电话：（010）58311312")
    texts = [t for _, t in kinds_and_texts(text)]
    assert "受检单位：江苏核电有限公司" in texts
    assert "检查日期：2022年2月14日至16日。" in texts
    assert "（一）联系人：生态环境部卫星环境应用中心张雪" in texts  # the marker keeps its field
    assert "电话：（010）58311312" in texts
    # at the head of a forwarded report a field is not an addressee line
    report = ("关于田湾核电站8号机组核安全检查报告一、检查依据和范围检查单位：国家核安全局受检单位："
              "江苏核电有限公司检查日期：2022年2月14日至16日。")
    assert ("body", "检查单位：国家核安全局") in kinds_and_texts(report)


def test_the_next_section_after_a_closing_bracket():
    text = ("现将有关事项通知如下：一、培训时间2019年10月21日至25日（21日全天报到，25日返程）"
            "二、培训地点中共宜昌市委党校新校区（三峡干部学院）三、培训对象各省从事相关工作的人员。")
    texts = [t for _, t in kinds_and_texts(text)]
    assert "2019年10月21日至25日（21日全天报到，25日返程）" in texts
    assert any(t.startswith("二、培训地点") for t in texts)


def test_signatures_after_attachment_items():
    receipt = ("请于10月15日前报名。附件：培训班报名回执生态环境部办公厅2019年10月8日（此件社会公开）")
    assert kinds_and_texts(receipt)[1:4] == [
        ("body", "附件：培训班报名回执"), ("tail", "生态环境部办公厅"), ("tail", "2019年10月8日")]
    before_attachment = ("特此通知。附件：1.征求意见单位名单2.编制说明生态环境部办公厅2018年6月7日"
                         "附件1征求意见单位名单")
    got = kinds_and_texts(before_attachment)
    assert ("tail", "生态环境部办公厅") in got and ("tail", "2018年6月7日") in got
    issued = "特此通知。生态环境部办公厅 2022年11月18日印发"
    assert kinds_and_texts(issued, "lines")[-1] == ("tail", "生态环境部办公厅 2022年11月18日印发")


def test_an_attachment_label_after_a_signature_stands_alone_over_its_title():
    dated = ("特此通知。生态环境部办公厅2018年6月7日附件1征求意见单位名单1.发展改革委办公厅"
             "2.工业和信息化部办公厅3.中国环境科学研究院")
    got = kinds_and_texts(dated)
    assert got[3:5] == [("body", "附件1"), ("heading", "征求意见单位名单")]
    printed = ("现予公告（名单见附件）。生态环境部办公厅2022年11月18日印发"
               "附件第六批生态文明建设示范区名单（106个）北京市平谷区天津市津南区")
    texts = [t for _, t in kinds_and_texts(printed)]
    assert texts[2] == "附件" and texts[3].startswith("第六批生态文明建设示范区名单（106个）")
    numeral = ("按照有关规定执行。国家计划委员会一九八七年二月十六日附件二关于发行电力建设债券的"
               "暂行规定第一条为了筹集资金，制定本规定。")
    got = kinds_and_texts(numeral)
    assert ("body", "附件二") in got
    # a title that runs into a sentence is no heading, and a bare 附件 with no signature
    # before it may open a sentence: it stays whole
    assert got[-1][0] == "body"
    sentence = "请各地认真执行。附件所列单位应于3月底前报送材料。"
    assert [t for _, t in kinds_and_texts(sentence)] == [
        "请各地认真执行。", "附件所列单位应于3月底前报送材料。"]
    # 附件 as a word of a sentence that holds a date is no label, and the date no signature
    for text in ("按照2020年3月1日附件1所列标准执行。", "2019年12月31日附件所列目录同时废止。"):
        assert [t for _, t in kinds_and_texts(text)] == [text]
    # a numeral that counts something is the title's: 附件 | 二十三项…
    counted = "特此通知。某某部2018年6月7日附件二十三项重点任务分工"
    assert [t for _, t in kinds_and_texts(counted)][-2:] == ["附件", "二十三项重点任务分工"]
    # a table's header row under a lone 附件 line is no title
    header = kinds_and_texts("附件\n序号 单位名称 联系人 电话\n1 北京 张三 123", "lines")
    assert header[1] == ("body", "序号 单位名称 联系人 电话")


def test_a_consultation_note_a_bracketed_value_and_a_contact_organ():
    listed = ("征求意见单位名单1.发展改革委办公厅2.工业和信息化部办公厅3.中国环境科学研究院"
              "4.北京大学（部内征求政法司、科技司、环评司意见）")
    assert [t for _, t in kinds_and_texts(listed)][-2:] == [
        "4.北京大学", "（部内征求政法司、科技司、环评司意见）"]
    draft = "现将《办法》（部内征求意见稿）印发给你们，请提出意见。"
    assert [t for _, t in kinds_and_texts(draft)] == [draft]
    place = ("一、培训时间2019年10月21日至25日二、培训地点格林美（武汉）城市矿产循环产业园"
             "报到地址:湖北省武汉市洪山区欢乐大道218号三、培训对象各省生态环境厅有关人员。")
    texts = [t for _, t in kinds_and_texts(place)]
    assert texts[1:3] == ["二、培训地点", "格林美（武汉）城市矿产循环产业园"]
    contacts = ("六、联系人及联系方式（一）生态环境部宣传教育司李晓电话：（010）66556057"
                "（二）生态环境部宣传教育中心云昊杨俊电话：（010）84665677")
    texts = [t for _, t in kinds_and_texts(contacts)]
    assert "（二）生态环境部宣传教育中心云昊杨俊" in texts
    # an organ that opens the body after a title is still cut off it
    opened = kinds_and_texts("（二）强化技术支持生态环境部负责组织开展技术培训，各地要积极配合。")
    assert opened[0] == ("heading", "（二）强化技术支持")
    # 部门 names no organ: the body's own subject (各研究所) still opens the body
    duty = kinds_and_texts("（三）明确部门职责各研究所要加强科研诚信建设，规范科研行为，营造良好氛围。",
                           "lines")
    assert duty[0] == ("heading", "（三）明确部门职责")


def test_a_report_section_over_a_sentence_that_opens_on_a_date():
    report = ("三、检查活动2022年2月14日至16日，国家核安全局组织检查组对田湾核电站8号机组核岛"
              "进行了核安全检查。")
    assert [t for _, t in kinds_and_texts(report)][:1] == ["三、检查活动"]
    # a phrase that runs on into the date is no title: 力争到|2025年, 提交时间为|2020年
    for text in ("（三）力争到2025年底，全省新能源汽车产量达到50万辆，产值突破千亿元。",
                 "1. 预申请提交时间为2020年5月5日-6月5日16时，逾期不予受理。"):
        assert len(kinds_and_texts(text)) == 1


def test_a_flattened_table_whose_rows_open_with_a_bare_number():
    rows = ["1内蒙古呼伦贝尔市成吉思汗未开工", "2甘珠花（拴马桩）在建", "3辽宁铁岭市柴河水库在建",
            "4沈阳市卧龙湖未开工", "5吉林松原市查干湖未开工", "6白城市镇西大桥未开工"]
    text = "附件3：进度严重滞后的国家投资水站序号承建省份承建地市断面名称建设进度" + "".join(rows)
    assert [t for _, t in kinds_and_texts(text)][-6:] == rows
    assert {k for k, _ in kinds_and_texts(text)[-6:]} == {"body"}
    # a coordinate is not a row number, and four numbers in order are not yet a table
    coordinates = "1AHCZ-0001安徽省池州市贵池区117.24802530.553058白色垃圾2AHCZ-0002生活垃圾"
    assert len(kinds_and_texts(coordinates)) == 1
    short = "第1批2家3个4项"
    assert kinds_and_texts(short) == [("body", short)]
    # numbers inside a row, or a sentence's 1 before the table, do not break the run
    inner = ["1甲公司共3个点位在建", "2乙公司第1批4个未开工", "3丙公司在建", "4丁公司在建", "5戊公司在建"]
    text = "附件序号名称建设进度" + "".join(inner)
    assert [t for _, t in kinds_and_texts(text)][-5:] == inner
