"""One case per segmentation rule of GUIDELINES §1, plus offsets, kinds and sections."""

from __future__ import annotations

import pytest

from inference.text.clean import clean_text
from inference.text.segment import segment, split_line


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


def test_a_marked_body_clause_that_goes_on_from_a_sibling_closes_the_titles_since_it():
    # 2. and （二） are items (they end in 。 and their next sibling follows straight away), yet
    # each goes on from the 1. or （一） title before it and closes it: the path never carries
    # a closed sibling.
    text = ("一、主要任务\n（一）加快产业升级\n1.培育龙头企业。\n支持龙头企业做大做强。\n"
            "2.建设创新平台。\n（二）优化营商环境。\n（三）深化改革开放\n推进高水平开放。")
    sections = {c.text: (c.kind, c.section) for c in segment(text)}
    assert sections["支持龙头企业做大做强。"] == (
        "body", "一、主要任务 > （一）加快产业升级 > 1.培育龙头企业。")
    assert sections["2.建设创新平台。"] == ("body", "一、主要任务 > （一）加快产业升级")
    assert sections["（二）优化营商环境。"] == ("body", "一、主要任务")
    assert sections["推进高水平开放。"] == ("body", "一、主要任务 > （三）深化改革开放")
    # an article of a law ends the sub-item title of the article before it
    law = ("第五条 对试验区的新技术企业，实行下列优惠：\n（一）免征所得税\n"
           "新技术企业自开办之日起，三年内免征所得税。\n第六条 试验区内的建设项目，简化审批手续。\n"
           "海关可在试验区内设置机构。")
    clauses = segment(law)
    assert [(c.kind, c.section) for c in clauses[1:]] == [
        ("heading", ""), ("body", "（一）免征所得税"), ("body", ""), ("body", "")]


@pytest.mark.parametrize("text, kept", [
    # a number, not a marker: 一、 does not go on from the title 二、
    ("二、经济运行\n（二）工业生产\n全市工业增加值增长6%。一、二季度分别增长5%和7%。",
     "二、经济运行 > （二）工业生产"),
    # a list that starts again at 1. under the title 1.
    ("1.产业目标\n到2025年：\n1.工业总产值突破1000亿元；\n2.培育企业10家。", "1.产业目标"),
    # a quoted article under a section of another style
    ("三、关于法律责任\n（一）关于罚款数额\n第三十条 违反本条例规定的，处罚款。",
     "三、关于法律责任 > （一）关于罚款数额"),
    # numbering that runs on across sections: （三） closes nothing above its level
    ("一、总体要求\n（一）指导思想。\n（二）基本原则。\n二、主要任务\n（三）加快产业升级；",
     "二、主要任务"),
])
def test_a_marked_body_clause_that_goes_on_from_no_sibling_closes_nothing(text, kept):
    assert segment(text)[-1].section == kept


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


# --- run-together text, head and tail blocks (GUIDELINES §1, R2-R5) ---------------------------


def kinds(text: str, layout: str = "flat") -> list[tuple[str, str]]:
    return [(c.kind, c.text) for c in segment(text, layout)]


def test_r2_run_in_heading_is_cut_from_its_body():
    text = "稀土是重要资源。（一）指导思想全面贯彻党的十九大精神，推进稀土行业持续健康发展。"
    assert kinds(text)[1:] == [
        ("heading", "（一）指导思想"), ("body", "全面贯彻党的十九大精神，推进稀土行业持续健康发展。")]
    text = "做好工作。二、加大对深度贫困地区支持力度集中力量支持深度贫困地区脱贫攻坚，加大投入。"
    assert [t for _, t in kinds(text)][1:] == [
        "二、加大对深度贫困地区支持力度", "集中力量支持深度贫困地区脱贫攻坚，加大投入。"]


def test_r2_a_body_named_after_a_heading_word_is_not_cut_inside_its_name():
    # 领导 ends headings (一、加强组织领导), but 领导小组 is one name: the marked sentence stays whole
    text = ("对于无证开采者，立即取缔。四、中国有色金属工业总公司和国务院稀土领导小组分别制定"
            "钨、锡、锑和离子型稀土的生产总量计划，并组织实施。")
    assert texts(text)[1] == ("四、中国有色金属工业总公司和国务院稀土领导小组分别制定钨、锡、锑和"
                              "离子型稀土的生产总量计划，并组织实施。")


def test_r2_a_body_that_repeats_its_heading_is_cut_after_the_heading():
    text = "（三）技术装备推广工程实施技术装备推广工程，加强技术试验验证和工程化攻关。"
    assert kinds(text) == [("heading", "（三）技术装备推广工程"),
                           ("body", "实施技术装备推广工程，加强技术试验验证和工程化攻关。")]


def test_r2_a_marked_sentence_and_an_article_stay_whole():
    for text in ("5.支持社会力量举办婴幼儿照护服务机构。",
                 "（一）中国生态文明奖评选表彰工作严格执行中央八项规定精神，不收取费用。",
                 "第一条为了规范科技成果转化，根据有关法律，制定本办法。"):
        assert [t for _, t in kinds(text, "lines")] == [text]


def test_r2_chapter_heading_ends_before_its_first_article():
    assert kinds("第一章总则第一条为了规范管理，制定本办法。") == [
        ("heading", "第一章总则"), ("body", "第一条为了规范管理，制定本办法。")]


def test_r3_run_together_head_is_title_number_addressee():
    text = ("国务院关于促进稀土行业持续健康发展的若干意见国发〔2011〕12号各省、自治区、直辖市人民政府，"
            "国务院各部委、各直属机构：稀土是不可再生资源。")
    assert kinds(text) == [
        ("head", "国务院关于促进稀土行业持续健康发展的若干意见"), ("head", "国发〔2011〕12号"),
        ("head", "各省、自治区、直辖市人民政府，国务院各部委、各直属机构："),
        ("body", "稀土是不可再生资源。")]


def test_r3_a_number_cited_in_the_first_sentence_is_not_head():
    text = "为贯彻《国务院关于印发方案的通知》(国办发〔2016〕28号)要求，制定本方案。"
    assert kinds(text, "lines") == [("body", text)]


def test_r4_run_together_tail_pieces():
    assert kinds("做好各项工作。生态环境部2018年12月5日抄送：各省环境厅。") == [
        ("body", "做好各项工作。"), ("tail", "生态环境部"), ("tail", "2018年12月5日"),
        ("tail", "抄送：各省环境厅。")]
    assert kinds("请认真执行。国务院二○一一年五月十日（此件公开发布）") == [
        ("body", "请认真执行。"), ("tail", "国务院"), ("tail", "二○一一年五月十日"),
        ("tail", "（此件公开发布）")]


def test_r4_signature_lines_and_printed_line_are_tail():
    text = "请认真执行。\n济南市人民政府办公厅\n2019年1月3日\n济南市人民政府办公厅 2019年1月3日印发"
    assert [k for k, _ in kinds(text, "lines")] == ["body", "tail", "tail", "tail"]


def test_r5_garbled_question_mark_is_not_a_sentence_end():
    assert texts("政府设立的研究开发机构、高等院?校，要做好转化。?江河水质良好。") == [
        "政府设立的研究开发机构、高等院?校，要做好转化。", "?江河水质良好。"]
    assert texts("是否可行?好!") == ["是否可行?", "好!"]


# --- issue 11, second round: misses found on the held-out reference -------------------------


def test_a_section_number_with_a_space_opens_a_heading_and_a_quantity_does_not():
    assert kinds("…提高安全管理水平。1 范围\n本文件给出了标识的方法。\n2.1 显式水印标识", "lines") == [
        ("body", "…提高安全管理水平。"), ("heading", "1 范围"), ("body", "本文件给出了标识的方法。"),
        ("heading", "2.1 显式水印标识")]
    # a number and its unit or a Latin word, and a line with a comma, are not sections
    assert [k for k, _ in kinds("3 个部门参加\n1 GHz - 12.75 GHz -30dBm\n8 部分，如图 5 所示。",
                                "lines")] == ["body", "body", "body"]


def test_a_heading_run_in_after_the_sentence_that_ends_its_line_is_a_heading():
    assert kinds("构建完善产业生态。（二）供给能力提升工程\n实施供给能力提升工程，加强攻关。", "lines") == [
        ("body", "构建完善产业生态。"), ("heading", "（二）供给能力提升工程"),
        ("body", "实施供给能力提升工程，加强攻关。")]


def test_the_items_under_an_attachment_line_are_body():
    text = "附件：\n1.粮库智能化升级改造项目月度建设进展情况表\n2.粮库智能化升级改造项目基本情况说明提纲"
    assert [k for k, _ in kinds(text, "lines")] == ["body", "body", "body"]


def test_a_title_run_into_an_addressee_that_lists_places_and_ends_in_a_half_width_colon():
    text = ("关于全面排查处理长江沿线自然保护地违法违规开发活动的通知上海、江苏、浙江、云南省（市）"
            "环境保护厅（局）:党中央、国务院高度重视长江流域生态环境保护。")
    assert kinds(text) == [
        ("head", "关于全面排查处理长江沿线自然保护地违法违规开发活动的通知"),
        ("head", "上海、江苏、浙江、云南省（市）环境保护厅（局）:"),
        ("body", "党中央、国务院高度重视长江流域生态环境保护。")]
    # an organ's name in the addressee list is not a sentence (政策研究室, 经济委员会)
    text = "关于开展评选工作的通知中共中央组织部、中央政策研究室、国家经济委员会：为深入贯彻落实，现通知如下。"
    assert [k for k, _ in kinds(text)][:3] == ["head", "head", "body"]


def test_issuers_run_together_in_a_signature_are_one_tail_clause_each():
    assert kinds("以上意见当否，请批示。煤炭工业部山西省人民政府一九八五年三月二十九日") == [
        ("body", "以上意见当否，请批示。"), ("tail", "煤炭工业部"), ("tail", "山西省人民政府"),
        ("tail", "一九八五年三月二十九日")]
    assert [t for _, t in kinds("当否，请示。国家计划委员会财\u3000\u3000政\u3000\u3000部国 家 物 价 局"
                                "一九八五年十二月二十一日")][1:4] == [
        "国家计划委员会", "财\u3000\u3000政\u3000\u3000部", "国 家 物 价 局"]
    # an organ and its office are one issuer
    assert [t for _, t in kinds("请认真执行。生态环境部办公厅2018年5月10日")][1] == "生态环境部办公厅"


def test_a_signature_right_after_a_phone_number_and_a_seal_note_are_tail():
    assert kinds("电话：（010）66556318、66556323生态环境部办公厅2018年5月10日抄送：各省环境厅。") == [
        ("body", "电话：（010）66556318、66556323"), ("tail", "生态环境部办公厅"),
        ("tail", "2018年5月10日"), ("tail", "抄送：各省环境厅。")]
    assert kinds("5.粮食行业信息化建设省级管理机构工作通讯录（国家粮食局办公室代章）2018年5月2日")[-2:] == [
        ("tail", "（国家粮食局办公室代章）"), ("tail", "2018年5月2日")]


def test_an_embedded_report_after_the_cover_letter_has_its_own_head():
    text = ("望参照执行。国务院办公厅一九八五年四月二十二日关于实行煤炭行业归口管理简政放权的意见国务院："
            "我们认真学习了有关文件。")
    assert kinds(text)[3:5] == [("head", "关于实行煤炭行业归口管理简政放权的意见"), ("head", "国务院：")]


def test_a_field_label_inside_a_longer_label_does_not_cut():
    line = "请按时报送。省工业和信息化厅科技处，联系电话：0531-86062354传真：0531-86062355"
    assert [line[a:b] for a, b in split_line(line)] == [
        "请按时报送。", "省工业和信息化厅科技处，联系电话：0531-86062354", "传真：0531-86062355"]


def test_the_next_section_run_in_without_a_sentence_end_opens_a_clause():
    text = ("三、电源\n应具备可靠的操作电源和后备储能电源，并按要求配备防汛备用电源四、通信电站通信系统"
            "设计应满足有关标准要求。")
    assert texts(text.replace("\n", ""))[-1].startswith("四、通信")
    # a numeral that does not continue the sections (统一、规范) does not
    assert texts("三、工作要求各地要加强领导，推进统一、规范管理。")[-1] == "各地要加强领导，推进统一、规范管理。"


def test_a_directive_title_run_into_a_directive_sentence_is_cut():
    assert texts("（一）强化统筹协调加强部门协同，统筹支持智能检测装备技术创新。") == [
        "（一）强化统筹协调", "加强部门协同，统筹支持智能检测装备技术创新。"]
    # the words after the title that continue it (落实情况督办) stay with it
    assert texts("五、加强生态环境保护工作落实情况督办生态环境部将开展督办，确保落实。")[0] == (
        "五、加强生态环境保护工作落实情况督办生态环境部将开展督办，确保落实。")


# --- run-together crawls (round 6): fields, attachment lists, signatures, list items ---------

RUN_TOGETHER_LETTER = (
    "关于公开征求《实施方案》（征求意见稿）意见的函为进一步做好配额分配工作，现公开征求意见。"
    "联系人：应对气候变化司邓朝阳电话：（010）65645635邮箱：climate@mee.gov.cn"
    "地址：北京市东城区东长安街12号邮编：100006附件：1.征求意见单位名单"
    "2.2021、2022年度实施方案（征求意见稿）3.反馈意见建议格式生态环境部办公厅2022年10月31日"
    "（此件社会公开）附件1征求意见单位名单国家发展改革委办公厅工业和信息化部办公厅中国电力企业联合会")


def test_a_run_together_letter_is_cut_into_head_fields_attachments_and_tail():
    kinds = [(c.kind, c.text) for c in segment(RUN_TOGETHER_LETTER, "flat")]
    assert kinds == [
        ("head", "关于公开征求《实施方案》（征求意见稿）意见的函"),  # a title run into the body
        ("body", "为进一步做好配额分配工作，现公开征求意见。"),
        ("body", "联系人：应对气候变化司邓朝阳"),
        ("body", "电话：（010）65645635"),
        ("body", "邮箱：climate@mee.gov.cn"),  # after a value that is not Chinese
        ("body", "地址：北京市东城区东长安街12号"),
        ("body", "邮编：100006"),
        ("body", "附件："),
        ("body", "1.征求意见单位名单"),
        ("body", "2.2021、2022年度实施方案（征求意见稿）"),  # an item that starts with a digit
        ("body", "3.反馈意见建议格式"),
        ("tail", "生态环境部办公厅"),  # the signature run into the last item
        ("tail", "2022年10月31日"),
        ("tail", "（此件社会公开）"),
        ("body", "附件1"),
        ("heading", "征求意见单位名单"),  # the attachment's title, under its label
        # a list of organs that no date follows: names, not signatures
        ("body", "国家发展改革委办公厅"),
        ("body", "工业和信息化部办公厅"),
        ("body", "中国电力企业联合会"),
    ]


def test_contact_labels_inside_longer_labels_and_an_organ_before_its_contact_person():
    assert texts("电子邮箱：kjc@shandong.cn邮寄地址：省府前街1号省工业和信息化厅科技处。"
                 "联系电话：0531-1234，邮箱：a@sd.cn山东省能源局联系人：施喜书，联系电话：0531-6862") == [
        "电子邮箱：kjc@shandong.cn", "邮寄地址：省府前街1号省工业和信息化厅科技处。",
        # a field that a comma opens stays in its clause; the organ opens the next contact line
        "联系电话：0531-1234，邮箱：a@sd.cn", "山东省能源局联系人：施喜书，联系电话：0531-6862"]


def test_a_marked_sentence_with_nothing_under_it_or_with_a_modal_verb_is_body():
    kinds = [(c.kind, c.text) for c in segment(
        "一、同意辽河油田划归中国石油天然气总公司管理。二、地质队要十分珍惜森林、树木。保护好林地。"
        "三、加强组织领导。各地要明确责任。", "flat")]
    assert kinds == [
        ("body", "一、同意辽河油田划归中国石油天然气总公司管理。"),  # its sibling follows at once
        ("body", "二、地质队要十分珍惜森林、树木。"),  # a subject and 要: a sentence
        ("body", "保护好林地。"),
        ("heading", "三、加强组织领导。"),  # a run-in title over the sentences under it
        ("body", "各地要明确责任。"),
    ]
    assert segment("二、主要任务\n（一）加强组织领导。")[-1].kind == "heading"  # the text ends


def test_run_in_headings_before_a_subjectless_duty_and_before_their_own_words():
    assert texts("二、设备应具备自动操作机构，使机组可靠运行。") == [
        "二、设备", "应具备自动操作机构，使机组可靠运行。"]
    assert texts("四、你公司应落实生态环境保护的主体责任，加强监管。") == [
        "四、你公司应落实生态环境保护的主体责任，加强监管。"]  # the phrase is its subject
    assert texts("一、新安江流域生态保护补偿试点情况新安江流域生态保护补偿工作得到关注和支持，"
                 "累计投入18亿元。") == [
        "一、新安江流域生态保护补偿试点情况", "新安江流域生态保护补偿工作得到关注和支持，累计投入18亿元。"]


def test_a_first_section_run_into_the_text_opens_when_its_second_follows():
    assert texts("宜配置在线监测系统一、水情测报电站宜具有测报系统。二、设备要求。") == [
        "宜配置在线监测系统", "一、水情测报电站宜具有测报系统。", "二、设备要求。"]
    assert texts("坚持统一、规范的原则。") == ["坚持统一、规范的原则。"]


def test_first_article_after_run_together_enactment_lines():
    assert texts("北京市专业技术人员继续教育规定（1995年6月8日北京市第十届人民代表大会常务委员会"
                 "第十七次会议通过）第一条 为促进本市继续教育发展，制定本规定。")[-1] == (
        "第一条 为促进本市继续教育发展，制定本规定。")


def test_r3_a_masthead_of_two_issuers_then_number_title_and_addressee():
    text = ("生态环境部办公厅商务部办公厅文件环办环评〔2022〕2号关于印发《对外投资合作建设项目生态环境保护"
            "指南》的通知各省、自治区、直辖市、计划单列市及新疆生产建设兵团生态环境部门、商务主管部门，"
            "有关中央企业：为深入贯彻习近平生态文明思想，制定本指南。")
    assert kinds(text) == [
        ("head", "生态环境部办公厅"), ("head", "商务部办公厅文件"), ("head", "环办环评〔2022〕2号"),
        ("head", "关于印发《对外投资合作建设项目生态环境保护指南》的通知"),
        ("head", "各省、自治区、直辖市、计划单列市及新疆生产建设兵团生态环境部门、商务主管部门，有关中央企业："),
        ("body", "为深入贯彻习近平生态文明思想，制定本指南。")]


def test_r3_a_long_masthead_stays_one_clause_and_a_letter_masthead_ends_in_han():
    issuers = "生态环境部国家发展和改革委员会中国人民银行中国银行保险监督管理委员会中国证券监督管理委员会"
    text = f"{issuers}文件环气候〔2020〕57号关于促进应对气候变化投融资的指导意见各省、自治区、直辖市生态环境厅：为全面贯彻落实党中央决策部署，提出如下意见。"
    assert kinds(text)[:3] == [("head", f"{issuers}文件"), ("head", "环气候〔2020〕57号"),
                               ("head", "关于促进应对气候变化投融资的指导意见")]
    text = "生态环境部办公厅中央文明办秘书局函关于开展宣传活动的通知各省、自治区、直辖市生态环境厅：为做好宣传工作，现通知如下。"
    assert [c for _, c in kinds(text)][:3] == ["生态环境部办公厅", "中央文明办秘书局函", "关于开展宣传活动的通知"]


def test_r3_an_addressee_list_grouped_by_semicolons_is_one_clause():
    text = ("关于举办新媒体培训研讨班的通知山西省、吉林省生态环境厅；内蒙古自治区满洲里市，吉林省辽源市、"
            "延边州生态环境局：为提升政务新媒体工作水平，拟举办培训研讨班。")
    assert kinds(text) == [
        ("head", "关于举办新媒体培训研讨班的通知"),
        ("head", "山西省、吉林省生态环境厅；内蒙古自治区满洲里市，吉林省辽源市、延边州生态环境局："),
        ("body", "为提升政务新媒体工作水平，拟举办培训研讨班。")]


def test_r3_r4_an_order_its_signature_and_the_statute_it_publishes():
    text = ("环境监管重点单位名录管理办法《环境监管重点单位名录管理办法》已于2022年8月15日由生态环境部部务会议"
            "审议通过，现予公布，自2023年1月1日起施行。部长黄润秋2022年11月28日环境监管重点单位名录管理办法"
            "第一条为了加强对环境监管重点单位的监督管理，制定本办法。")
    assert kinds(text) == [
        ("head", "环境监管重点单位名录管理办法"),
        ("body", "《环境监管重点单位名录管理办法》已于2022年8月15日由生态环境部部务会议审议通过，现予公布，"
                 "自2023年1月1日起施行。"),
        ("tail", "部长黄润秋"), ("tail", "2022年11月28日"), ("head", "环境监管重点单位名录管理办法"),
        ("body", "第一条为了加强对环境监管重点单位的监督管理，制定本办法。")]


def test_r4_the_title_of_a_published_text_after_the_tail_is_cut_from_its_first_article():
    text = ("我部制定了《执法人员着装管理规定》。现印发给你们，请遵照执行。生态环境部2021年2月21日（此件社会公开）"
            "执法人员着装管理规定第一条为规范执法人员着装，制定本规定。")
    assert kinds(text)[-2:] == [("head", "执法人员着装管理规定"),
                                ("body", "第一条为规范执法人员着装，制定本规定。")]
    # the title cited in a sentence, not standing before the article, is not cut
    text = "根据《执法人员着装管理规定》第一条的要求，做好着装管理。"
    assert texts(text) == [text]


@pytest.mark.parametrize("text", [
    "四、项目的性质、规模、地点或者采取的环境保护措施若发生重大变动，应当重新报批项目环境影响报告书。",
    "六、你所应在收到本批复后20个工作日内，按要求将修订后的《报告书》报送监督站。",
    "（一）位于噪声敏感建筑物集中区域或者厂界外200米范围内存在噪声敏感建筑物集中区域，且造成噪声污染的；",
])
def test_r2_a_marked_sentence_is_not_cut_inside_a_word_a_range_or_after_a_pronoun(text):
    # 目的 inside 项目的, 范围|内, 你所|应: none ends a heading phrase
    assert texts("请按以下要求执行。" + text)[1:] == [text]


def test_r4_a_department_signs_after_an_attachment_and_a_table_header_follows_its_title():
    text = ("请各试点地区报送联系人信息。附件：遥感监测试点工作联系人信息表生态环境部生态环境监测司"
            "2019年11月28日")
    assert texts(text)[1:] == ["附件：遥感监测试点工作联系人信息表", "生态环境部生态环境监测司",
                               "2019年11月28日"]
    rows = "".join(f"{n}海洋作品宣传片" for n in range(1, 6))
    text = f"附件：2021年度优秀生态环境宣传产品名单序号作品名作品类型{rows}"
    assert [clause for _, clause in kinds(text)][:3] == [
        "附件：2021年度优秀生态环境宣传产品名单", "序号作品名作品类型", "1海洋作品宣传片"]


def test_r4_an_order_signed_by_name_at_the_end_of_the_text():
    assert kinds("本办法自公布之日起施行。部长黄润秋2022年11月28日") == [
        ("body", "本办法自公布之日起施行。"), ("tail", "部长黄润秋"), ("tail", "2022年11月28日")]
    assert kinds("部长黄润秋2022年11月28日", "lines") == [
        ("tail", "部长黄润秋"), ("tail", "2022年11月28日")]
    # the date is cut from the decision the order signs before
    assert texts("总理温家宝二○○七年九月十八日国务院关于修改《条例》的决定国务院决定对条例做如下修改。") == [
        "总理温家宝", "二○○七年九月十八日", "国务院关于修改《条例》的决定国务院决定对条例做如下修改。"]


@pytest.mark.parametrize("text", [
    "市长李明2022年6月1日在会上指出，要加强管理。",  # a sentence, not a signature
    "县长办公会2021年3月5日研究决定，加强管理。",
    "主任会议2022年6月1日审议通过了该办法。",
])
def test_r4_an_official_and_a_date_inside_a_sentence_are_not_a_signature(text):
    assert kinds("会议召开。" + text)[1:] == [("body", text)]


def test_r3_a_published_title_is_the_longest_quoted_one_and_stands_after_a_boundary():
    text = ("现将《排污许可管理办法》和《重点排污许可管理办法》印发给你们。生态环境部2021年2月21日"
            "重点排污许可管理办法第一条为了规范管理，制定本办法。")
    assert kinds(text)[-2:] == [("head", "重点排污许可管理办法"), ("body", "第一条为了规范管理，制定本办法。")]
    text = "现将《排污许可管理办法》印发。附件二排污许可管理办法第一条为了规范管理，制定本办法。"
    assert "排污许可管理办法" in texts(text)  # after an attachment's label
    # an article cited, and a title inside a sentence, are not cut
    assert texts("依照《大气污染防治条例》实施。大气污染防治条例第一条规定了立法目的。") == [
        "依照《大气污染防治条例》实施。", "大气污染防治条例第一条规定了立法目的。"]
    text = "依照《大气污染防治条例》，江西省大气污染防治条例第一条为了防治污染，制定本条例。"
    assert texts(text) == [text]


def test_r3_sentences_separated_by_semicolons_are_not_an_addressee_line():
    text = "关于开展安全检查的通知各单位按时上报材料；逾期不报将予以通报批评；联系人：张三，电话：12345678。"
    assert [k for k, _ in kinds(text)] == ["body"] * 3
    assert texts(text)[-1] == "联系人：张三，电话：12345678。"


def test_r3_a_sentence_citing_a_document_is_not_a_masthead():
    text = "根据市委文件关于加强基层治理的要求，现将有关事项通知如下：一、加强领导。"
    assert texts(text)[0] == "根据市委文件关于加强基层治理的要求，现将有关事项通知如下："


@pytest.mark.parametrize("text", ["请按照推荐名单序号顺序依次上报。", "根据评审结果序号靠前的单位优先入选。"])
def test_a_table_header_needs_a_first_row_after_it(text):
    assert [clause for _, clause in kinds(text)] == [text]


def test_r4_an_attachment_titled_results_before_its_signature_and_form_fields_named():
    text = "请做好宣传。附件：首批最美水站推选结果生态环境部办公厅2021年3月1日"
    assert texts(text)[1:] == ["附件：首批最美水站推选结果", "生态环境部办公厅", "2021年3月1日"]
    text = "核电厂运行许可证颁发前综合检查报告检查单位名称：国家核安全局受检单位名称：福建福清核电有限公司"
    assert texts(text)[1:] == ["检查单位名称：国家核安全局", "受检单位名称：福建福清核电有限公司"]


def test_r2_a_marker_whose_siblings_are_run_in_headings_is_read_as_one_on_weaker_evidence():
    body = "各地要加强组织领导，明确责任分工，确保各项任务落实到位。"
    second = "二、有关要求上述城市受干扰，反映出部分地方重视不够。"
    text = (f"请认真贯彻执行。一、指导思想坚持以习近平新时代中国特色社会主义思想为指导，{body}"
            f"{second}三、保障措施加强组织领导，{body}")
    assert [clause for _, clause in kinds(text)][1:7] == [
        "一、指导思想", f"坚持以习近平新时代中国特色社会主义思想为指导，{body}",
        "二、有关要求", "上述城市受干扰，反映出部分地方重视不够。",
        "三、保障措施", f"加强组织领导，{body}"]
    # alone, 二、有关要求 (a title word, then a short first phrase) is not sure enough to be cut
    assert [clause for _, clause in kinds("请认真贯彻执行。" + second)][1:] == [second]


def test_r2_no_heading_ends_on_截至_or_inside_a_phrase_where_an_organ_acts():
    assert "一、总体情况截至" not in texts(
        "请认真执行。一、总体情况截至2019年底，地方各级生态环境部门均已建立监管制度。")
    for text in ("（五）生态环境部对生态破坏严重、整改行动缓慢、责任不落实的，视情采取约谈等措施督促整改。",
                 "三、各地生态环境部门要保障VOCs监测所需人员、工作经费和工作条件，组织开展人员培训。"):
        assert texts("请认真执行。" + text)[1:] == [text]


def test_rows_are_not_cited_attachments_or_counts_and_two_items_after_a_label_are_a_list():
    text = ("对10个省级表现突出组织单位（见附件1）、90个表现突出集体（见附件2）和100名表现突出个人（见附件3）"
            "予以表扬。对进步明显的4个省级进步单位（见附件4）、山西6个集体（见附件5）予以表扬。")
    assert texts(text) == ["对10个省级表现突出组织单位（见附件1）、90个表现突出集体（见附件2）和100名表现突出个人"
                           "（见附件3）予以表扬。", "对进步明显的4个省级进步单位（见附件4）、山西6个集体（见附件5）予以表扬。"]
    text = "请遵照执行。解读：1.有关负责人就《监督办法》答记者问2.一图读懂《监督办法》"
    assert [clause for _, clause in kinds(text)][1:] == [
        "解读：", "1.有关负责人就《监督办法》答记者问", "2.一图读懂《监督办法》"]


def test_a_decisions_parties_and_a_signature_after_an_e_mail_address():
    text = "行政复议决定书申请人：某某养殖有限公司住所：莆田市荔城区新度镇被申请人：中华人民共和国生态环境部"
    assert texts(text)[1:] == ["申请人：某某养殖有限公司", "住所：莆田市荔城区新度镇", "被申请人：中华人民共和国生态环境部"]
    text = "联系人：连斌邮箱：lianbin0330@sina.com生态环境部办公厅2018年5月21日"
    assert texts(text)[-2:] == ["生态环境部办公厅", "2018年5月21日"]


# An inspection report's findings, run together: no title is sure on its own (质量保证 is no
# title word), but the list's sentences open on 根据…, 营运单位… and the plant's name, which the
# report's other sentences open on too.
_REPORT_FINDINGS = (
    "检查组对福清核电厂6号机组进行了现场查看。营运单位及相关单位对检查给予了积极配合。"
    "营运单位编制了检查大纲。福清核电厂6号机组已具备检查条件。首次装料前的准备工作正按计划进行。四、检查情况"
    "（一）质量保证根据核安全法规的有关要求，营运单位建立了相应的质量保证体系及组织机构；"
    "福清核电厂6号机组不符合项已进行管控。"
    "（二）构筑物和核安全设备福清核电厂6号机组核岛构筑物施工完成；役前检查工作已全部完成。"
    "（三）系统调试福清核电厂6号机组首次装料前需完成调试试验共241项，已完成237项。"
    "首次装料后共139项调试试验，试验程序已全部生效发布。"
    "（四）运行生产准备根据核安全法规要求，营运单位建立了运行领域的组织机构。"
    "（五）消防设施营运单位制定了消防管理和技术程序。")


def test_r2_a_list_of_titles_none_sure_alone_is_cut_where_the_reports_sentences_open():
    clauses = kinds(_REPORT_FINDINGS)
    headings = [text for kind, text in clauses if kind == "heading"]
    assert headings == ["四、检查情况", "（一）质量保证", "（二）构筑物和核安全设备", "（三）系统调试",
                        "（四）运行生产准备", "（五）消防设施"]
    # the earlier end where the plant's name opens, not …6号机组|首次装料…, where another of
    # the report's sentence starts gives a later end the same score
    assert "福清核电厂6号机组首次装料前需完成调试试验共241项，已完成237项。" in [t for _, t in clauses]


# govcn-0103 (a State Council reply), items 一 to 八
_GROUP_COMPANY_REPLY = (
    "现就组建中国国电集团公司有关问题批复如下：一、原则同意《中国国电集团公司组建方案》和《中"
    "国国电集团公司章程》。二、中国国电集团公司是在原国家电力公司部分企事业单位基础上组建的国"
    "有企业。主要成员单位包括6个全资企业、41个内部核算单位、53个控股企业和19个参股企业"
    "。中国国电集团公司组建后，要依照《中华人民共和国公司法》(以下简称《公司法》)等有关规定"
    "进行改组和规范，加快建立现代企业制度。三、中国国电集团公司主要从事电源的开发、投资、建设"
    "、经营和管理，组织电力(热力)生产和销售等方面的业务。集团公司暂按人民币120亿元注册资"
    "本，不进行资产评估和审计验资；实有国有资本数额，待公司成立后由财政部会同你委及有关部门另"
    "行核定。四、中国国电集团公司由中央管理。按照《中共中央关于成立中共中央企业工作委员会及有"
    "关问题的通知》(中发〔1999〕18号)和《国务院关于印发电力体制改革方案的通知》(国发"
    "〔2002〕5号)精神，集团公司领导班子和领导人员由中央管理；资产管理及有关的财务关系由"
    "财政部负责；其他关系依照《中共中央办公厅、国务院办公厅关于印发中央党政机关与所办经济实体"
    "和管理的直属企业脱钩的有关配套文件的通知》(中办发〔1999〕8号)精神办理。集团公司实"
    "行总经理负责制。按照《国有企业监事会暂行条例》的有关规定，国务院向集团公司派出国有重点大"
    "型企业监事会，对其国有资产保值增值状况实施监督。五、同意中国国电集团公司进行国家授权投资"
    "的机构和国家控股公司的试点。集团公司对所属全资企业、控股企业、参股企业(以下简称有关企业"
    ")的有关国有资产和国有股权行使出资人权利,对有关企业中国家投资形成并由集团公司拥有的国有"
    "资产和国有股权依法进行经营、管理和监督，并相应承担保值增值责任。在国家宏观调控和监督管理"
    "下，集团公司依法自主进行各项经营活动。六、中国国电集团公司在保证有关企业合法权益和自身发"
    "展需要的前提下，可依照《公司法》等有关规定，集中部分国有资产收益,用于国有资本的再投入和"
    "结构调整。集团公司要进一步规范与有关企业的关系，充分调动有关企业的积极性，提高企业经济效"
    "益。七、中国国电集团公司的资产与财务关系在财政部单列。集团公司为完成国家任务所需的资源和"
    "生产经营条件，凡属国家统一配置范围内的，均在国家相应计划中单列，并由集团公司统一组织实施"
    "。集团公司组建后，国务院及有关部门对有关企业实行的原有优惠政策继续保持不变。八、中国国电"
    "集团公司要根据国家产业政策和行业规划，制定发展战略，在国家宏观调控下，深化企业改革，转变"
    "经营机制和经济增长方式，优化组织结构，强化内部管理，加快结构调整，推动技术创新，增强市场"
    "竞争能力，最大限度地提高投资收益和经济效益。")


def test_r2_items_that_open_on_a_name_the_text_repeats_are_not_titles():
    # 集团公司 opens several of its sentences, but 中国国电集团公司 is one name, repeated
    text = _GROUP_COMPANY_REPLY
    assert not [clause for clause in texts(text) if clause.endswith("中国国电")]


def test_r2_cut_titles_in_an_attachment_list_stay_items_after_a_list_at_their_level():
    attachment = (
        "营运单位对检查给予了积极配合。营运单位编制了检查大纲。福清核电厂6号机组已具备检查条件。附件："
        "1.质量保证根据核安全法规的有关要求，营运单位建立了相应的质量保证体系及组织机构。"
        "福清核电厂6号机组不符合项已进行管控。"
        "2.系统调试福清核电厂6号机组首次装料前需完成调试试验共241项，已完成237项。"
        "3.运行生产准备根据核安全法规要求，营运单位建立了运行领域的组织机构。"
        "4.消防设施营运单位制定了消防管理和技术程序。")
    before = "1.加强监督管理，落实各方责任；2.强化能力建设，提高技术水平；"
    for text in (attachment, before + attachment):
        clauses = kinds(text)
        assert ("body", "2.系统调试") in clauses  # cut, but an item of 附件：'s list
        assert not [clause for kind, clause in clauses if kind == "heading"]
