"""The layout step between cleaning and segmentation (inference/text/layout.py, GUIDELINES §1
R1) and what the pipeline makes of PDF-wrapped, run-together and head/tail text."""

from __future__ import annotations

import logging

from inference.text.clean import clean_text
from inference.text.ingest import RawDocument
from inference.text.layout import apply_layout, is_page_number
from inference.text.pipeline import build_document
from training.eval.segment_eval import render_pdf

# A paragraph as a PDF gives it: wrapped at 26 columns, paragraphs indented, page numbers.
WRAPPED = "\n".join([
    "  第一条为贯彻落实济南市人民政府与华为软件技术有限公",
    "司签署的《三个创新中心落地战略合作框架协议》，确保财政资",
    "—2—",
    "金使用规范高效，制定本办法。",
    "  第二条本办法所称资金是指市级财政安排的专项资金，用于支",
    "持创新中心建设和运营，每年不超过5000万元，由市科技局负",
    "责管理，市财政局负责监督，资金使用情况每年向社会公开。",
    "  第三条申报单位应当在济南市注册，具有独立法人资格，近三",
    "年内无重大违法违规记录，财务管理制度健全，按规定报送统计",
    "数据，并承诺所报材料真实有效，不得重复申报其他市级资金。",
])


def laid_out(raw: str) -> tuple[str, str, list[int]]:
    cleaned = clean_text(raw)
    result = apply_layout(cleaned.text, cleaned.source_offsets, cleaned.line_indents)
    return result.text, result.layout, result.offsets


def test_wrapped_lines_are_joined_and_page_numbers_dropped() -> None:
    text, layout, offsets = laid_out(WRAPPED)
    assert layout == "wrapped"
    lines = text.split("\n")
    assert lines[0] == ("第一条为贯彻落实济南市人民政府与华为软件技术有限公司签署的《三个创新中心落地"
                        "战略合作框架协议》，确保财政资金使用规范高效，制定本办法。")
    assert len(lines) == 3 and all(line.startswith("第") for line in lines)
    assert "—2—" not in text
    # every character still points at the character it came from in the raw text
    for index, ch in enumerate(text):
        if ch != "\n":
            assert WRAPPED[offsets[index]] == ch


def test_pipeline_makes_one_clause_per_article_of_wrapped_text() -> None:
    document = build_document(RawDocument("d", "d.txt", WRAPPED))
    assert document.quality["layout"] == "wrapped"
    assert document.quality["removed_lines"]["page_number"] == 1
    assert [c.text[:4] for c in document.clauses] == ["第一条为", "第二条本", "第三条申"]
    first = document.clauses[0]
    assert WRAPPED[first.extra["source_start"]:first.extra["source_end"]].startswith("第一条")
    assert WRAPPED[first.extra["source_end"] - 1] == "。"


def test_one_paragraph_a_line_is_left_alone() -> None:
    raw = "一、总体要求\n到2025年，建成示范区。\n加强组织领导，落实工作责任。\n强化督查考核。\n" * 3
    text, layout, _ = laid_out(raw)
    assert layout == "lines"
    assert text == "\n".join(line for line in raw.split("\n") if line)


def test_text_without_line_breaks_is_flat() -> None:
    raw = "加强组织领导，落实工作责任，强化督查考核，确保各项任务落到实处。" * 12
    assert laid_out(raw)[1] == "flat"


def test_running_headers_and_bare_page_numbers_go_in_wrapped_text() -> None:
    page = WRAPPED.replace("—2—", "济南市人民政府公报\n7").split("\n")
    raw = "\n".join(page * 3)
    text, layout, _ = laid_out(raw)
    assert layout == "wrapped"
    assert "济南市人民政府公报" not in text and "\n7\n" not in text


def test_page_number_forms() -> None:
    for line in ("—2—", "- 3 -", "-2-", "第 2 页 共 5 页", "第2页", "— 12 —"):
        assert is_page_number(line), line
    for line in ("2", "二、主要目标", "2019年"):
        assert not is_page_number(line), line
    assert is_page_number("2", bare=True)


def test_a_title_broken_over_two_lines_is_one_head_clause() -> None:
    raw = "关于印发偃师市技术转移体系建设实施\n方案的通知\n各镇人民政府，各有关单位：\n现将方案印发给你们，请认真贯彻执行。"
    document = build_document(RawDocument("d", "d.txt", raw))
    assert [(c.kind, c.text) for c in document.clauses[:2]] == [
        ("head", "关于印发偃师市技术转移体系建设实施方案的通知"),
        ("head", "各镇人民政府，各有关单位："),
    ]


def test_latin_words_keep_a_space_across_a_wrap_and_numbers_join() -> None:
    # 34 columns: the two-space indent and 28 characters, then "Open" ends the first line;
    # the second line ends inside 2019.
    paragraph = ("本办法适用于在本市注册并开展开源软件研发的企业，支持企业" + "Open"
                 + "Source项目建设，单个项目最高支持资金额度为二百万元，按照201" + "9年度预算执行，"
                 + "资金由市财政局统一拨付到项目单位，项目单位应当按规定使用资金并接受监督检查。")
    raw = "\n".join(render_pdf("\n".join([paragraph] * 4)).split("\n"))
    assert "Open\nSource" in raw and "201\n9" in raw
    text, layout, _ = laid_out(raw)
    assert layout == "wrapped"
    assert "OpenSource" not in text and "Open Source" in text and "2019年度" in text


def test_a_single_huge_line_still_gives_clauses() -> None:
    raw = "加强组织领导，落实工作责任。" * 700_000  # about 10 MB of UTF-8 on one line
    document = build_document(RawDocument("big", "big.txt", raw))
    assert document.quality["layout"] == "flat"  # the layout step read it and decided
    assert "layout_error" not in document.quality
    assert len(document.clauses) == 700_000


def test_meta_from_the_text_and_input_fields_win() -> None:
    raw = ("国务院关于促进稀土行业持续健康发展的若干意见国发〔2011〕12号各省、自治区、直辖市人民政府，"
           "国务院各部委、各直属机构：稀土是不可再生的重要战略资源。国务院二○一一年五月十日")
    document = build_document(RawDocument("d", "d.txt", raw))
    assert document.meta["doc_number"] == "国发〔2011〕12号"
    assert document.meta["written"] == "2011-05-10"
    assert document.meta["issuer"] == "国务院"
    with_fields = build_document(RawDocument("d", "d.jsonl", raw, meta={"title": "稀土意见"}))
    assert with_fields.meta["title"] == "稀土意见"
    assert with_fields.meta["detected"]["title"] == "国务院关于促进稀土行业持续健康发展的若干意见"
    assert with_fields.meta["doc_number"] == "国发〔2011〕12号"


def test_a_document_whose_layout_detection_breaks_still_gets_its_clauses(monkeypatch,
                                                                         caplog) -> None:
    import inference.text.layout as layout

    def broken(*args: object) -> None:
        raise IndexError("list index out of range")

    monkeypatch.setattr(layout, "apply_layout", broken)
    with caplog.at_level(logging.WARNING, logger="inference.text.layout"):
        document = build_document(RawDocument("doc-7", "crawl/doc-7.txt", WRAPPED))
    assert document.quality["layout"] == "lines"
    assert document.quality["layout_error"] == "IndexError: list index out of range"
    assert len(document.clauses) == 10  # one a line, the page number too: nothing is lost
    # never silent: the warning names the document, its source and the reason
    [record] = [r for r in caplog.records if r.name == "inference.text.layout"]
    assert record.levelno == logging.WARNING
    assert "doc-7" in record.getMessage() and "crawl/doc-7.txt" in record.getMessage()
    assert "IndexError" in record.getMessage()


def test_a_layout_that_works_leaves_no_error_in_quality() -> None:
    document = build_document(RawDocument("d", "d.txt", WRAPPED))
    assert "layout_error" not in document.quality
    assert document.quality["layout"] == "wrapped"


def test_a_stray_break_inside_a_sentence_is_joined_in_one_paragraph_a_line_text() -> None:
    raw = ("第十条 科技、经贸、公安、工商行政管理等有关部门应当按照各自\n职责,共同做好专利保护工作。\n"
           "第十一条 专利管理部门负责专利纠纷的调处。\n二、主要目标\n到2025年，建成示范区。")
    text, layout, _ = laid_out(raw)
    assert layout == "lines"
    assert text.split("\n") == [
        "第十条科技、经贸、公安、工商行政管理等有关部门应当按照各自职责,共同做好专利保护工作。",
        "第十一条专利管理部门负责专利纠纷的调处。", "二、主要目标", "到2025年，建成示范区。"]


def test_a_line_that_lost_its_period_or_a_note_line_is_not_joined_to_the_next() -> None:
    raw = ("对于条件限制无法实现冗余改造的，应评估核心功能设备失效带来的事故风险，并具备相应的应急预案\n"
           "调速系统应具备转速监测及充足的储能单元，在失去外电网电源情况下可靠关机。\n"
           "隐式水印标识中至少包含服务提供者名称，也可包含内容 ID等其他内容\n"
           "注:内容ID是服务提供者对生成内容的唯一编号。\n"
           "宜对水轮发电机组振动实现自动监测，有冗余配置的设备应能无扰动自动切\n换。")
    text, layout, _ = laid_out(raw)
    assert layout == "lines"
    assert text.split("\n") == [
        "对于条件限制无法实现冗余改造的，应评估核心功能设备失效带来的事故风险，并具备相应的应急预案",
        "调速系统应具备转速监测及充足的储能单元，在失去外电网电源情况下可靠关机。",
        "隐式水印标识中至少包含服务提供者名称，也可包含内容 ID等其他内容",
        "注:内容ID是服务提供者对生成内容的唯一编号。",
        "宜对水轮发电机组振动实现自动监测，有冗余配置的设备应能无扰动自动切换。"]


def test_a_heading_run_in_after_a_sentence_end_keeps_its_line() -> None:
    raw = "为贯彻落实有关要求，本文件给出了内容标识方法，提高安全管理水平。1 范围\n本文件给出了标识的方法。"
    text, _, _ = laid_out(raw)
    assert text.split("\n") == ["为贯彻落实有关要求，本文件给出了内容标识方法，提高安全管理水平。1 范围",
                                "本文件给出了标识的方法。"]


def test_text_wrapped_at_a_number_of_characters_is_found_wrapped() -> None:
    from inference.text.layout import wrap_widths

    # every line holds 34 characters, but digits make most of them look short by display width
    lines = ["请各省粮食部门进一步转变观念压实责任加强组织领导和督导检查多措并举全面加快粮库"[:34]] * 3
    lines += [("联系电话" + "0" * digits + "请各地粮食部门严格履行粮库智能化升级改造项目计划执行资金管理")[:34]
              for digits in (8, 12, 16, 20, 24, 28, 10)]
    assert all(len(line) == 34 for line in lines)
    widths = wrap_widths(lines)
    assert widths is not None and set(widths) == {34.0}


def test_a_draft_note_under_a_title_belongs_to_the_title() -> None:
    raw = "智慧商店建设技术指南（试行）\n（征求意见稿）\n一、术语定义和适用范围\n智慧商店是指运用现代信息技术的商店。"
    document = build_document(RawDocument("d", "t", raw))
    assert (document.clauses[0].kind, document.clauses[0].text) == (
        "head", "智慧商店建设技术指南（试行）（征求意见稿）")


def test_a_sentence_broken_into_two_paragraphs_is_joined_in_wrapped_text() -> None:
    long_paragraph = "市和区人民政府管理专利工作的部门按照职责负责专利保护工作，加强专利行政执法。" * 4
    raw = "\n".join([long_paragraph, "科技、经贸、公安、工商行政管理等有关部门应当按照各自",
                     "职责，共同做好专利保护工作。", long_paragraph])
    text, layout, _ = laid_out(render_pdf(raw))
    assert layout == "wrapped"
    assert "科技、经贸、公安、工商行政管理等有关部门应当按照各自职责，共同做好专利保护工作。" in (
        text.split("\n"))


def test_bare_page_numbers_go_in_text_with_one_paragraph_a_line() -> None:
    # numbered on one side of the sheet only: 2, 4, 6, a page apart
    paragraphs = [f"第{n}条本市各部门应当按照职责做好第{n}项工作。" for n in range(1, 31)]
    lines = [*paragraphs[:9], "2", *paragraphs[9:18], "4", *paragraphs[18:27], "6"]
    text, layout, _ = laid_out("\n".join(lines + paragraphs[27:]))
    assert layout == "lines" and text.split("\n") == paragraphs
    # numbers a few lines apart are a table's cells, not page numbers
    table = "项目\n1\n数字化改造\n2\n智能工厂\n3\n工业互联网"
    assert laid_out(table)[0].split("\n") == table.split("\n")


def test_lines_left_open_by_lost_link_text_are_joined() -> None:
    # A crawl put the linked words and the sentence's 。 on lines of their own.
    raw = ("第十四届全国人民代表大会第一次会议关于政府工作报告的决议\n"
           "第十四届全国人民代表大会第一次会议听取和审议了国务院总理李克强所作的\n政府工作报告\n"
           "。会议高度评价新时代十年我国经济社会发展取得的历史性成就。\n"
           "现有公众移动通信终端接收频段内无用发射限值为\n-50dBm/MHz，按峰值检波方式测试。\n"
           "四、违法行为\n第十条 有下列行为的，依法处理。")
    text, layout, _ = laid_out(raw)
    assert layout == "lines"
    assert text.split("\n") == [
        "第十四届全国人民代表大会第一次会议关于政府工作报告的决议",
        "第十四届全国人民代表大会第一次会议听取和审议了国务院总理李克强所作的政府工作报告"
        "。会议高度评价新时代十年我国经济社会发展取得的历史性成就。",
        "现有公众移动通信终端接收频段内无用发射限值为-50dBm/MHz，按峰值检波方式测试。",
        "四、违法行为",  # 行为 is a noun: the heading keeps its line
        "第十条有下列行为的，依法处理。"]


def test_a_document_s_own_contact_lines_are_kept_and_site_footers_dropped() -> None:
    raw = ("三、联系方式\n省工业和信息化厅科技处，联系电话：0531-86062354\n电子邮箱：kjc@shandong.cn\n"
           "山东省能源局联系人：施喜书，联系电话：0531-68627672\n"
           "请认真贯彻执行。\n联系电话：010-12345678\n联系电话：010-12345678 技术支持：某公司")
    assert clean_text(raw).text.split("\n") == [
        "三、联系方式", "省工业和信息化厅科技处，联系电话：0531-86062354", "电子邮箱：kjc@shandong.cn",
        "山东省能源局联系人：施喜书，联系电话：0531-68627672", "请认真贯彻执行。"]


def test_a_web_address_wrapped_onto_its_own_line_stays_in_the_sentence() -> None:
    raw = ("  为进一步发挥市场机制对控制温室气体排放的重要作用，现公开征求意见（征求意见稿及编制\n"
           "说明等材料可登录我部网站http://www.mee.gov.cn/\n"
           "“意见征集”栏目检索查阅）。各机关团体、企事业单位和个人均可提出意见和建议，有关\n"
           "意见请书面反馈我部，电子版材料请同时发至联系人邮箱。")
    assert "http://www.mee.gov.cn/" in clean_text(raw).text


def test_a_licence_box_run_into_a_flattened_page_ends_the_text() -> None:
    raw = ("会议号召，全国各族人民团结奋斗!本作品来自中华人民共和国全国人民代表大会及其常务委员会的决定、"
           "决议。本模板所指的决定包括…Public domainfalse")
    assert clean_text(raw).text == "会议号召，全国各族人民团结奋斗!"


def test_a_statute_of_short_articles_copied_out_of_a_pdf_is_found_wrapped() -> None:
    # Long articles first (most of their lines at the wrap width), then a run of one-line
    # articles: only a quarter of all lines are full, but every full line stops inside a
    # sentence, which only wrapping does.
    long_articles = [f"第{n}条县级以上人民政府应当加强对企业技术改造工作的领导，建立健全工作协调机制，"
                     "统筹解决企业技术改造中的重大问题，并将所需经费列入本级财政预算予以保障。"
                     for n in "一二三四五"]
    short_articles = [f"第{n}条本条例自公布之日起施行。" for n in range(6, 31)]
    articles = long_articles + short_articles
    raw = render_pdf("\n".join(articles))
    assert sum(len(line) >= 30 for line in raw.split("\n")) / len(raw.split("\n")) < 0.4
    text, layout, _ = laid_out(raw)
    assert layout == "wrapped"
    assert text.split("\n") == articles


def _typeset(paragraphs: list[str], columns: int, indent: str = "") -> str:
    """``paragraphs`` as a PDF sets them: ``columns`` cells a line, a paragraph's first line
    two cells short for its indent (which extraction keeps as ``indent`` or loses)."""
    lines = []
    for paragraph in paragraphs:
        first = columns - 2
        lines.append(indent + paragraph[:first])
        lines += [paragraph[i:i + columns] for i in range(first, len(paragraph), columns)]
    return "\n".join(lines)


ARTICLES = [f"第{n}条县级以上人民政府应当加强对企业技术改造工作的领导，建立健全工作协调机制，"
            f"统筹解决第{n}项重大问题，并将所需经费列入本级财政预算予以保障。"
            for n in "一二三四五六七八"]


def test_a_paragraph_s_first_line_is_full_without_its_indent() -> None:
    # The indent was lost in extraction: each first line is two cells short of the wrap width
    # (and the full-width space after 第N条 that cleaning takes out makes it three), and it
    # still runs on into the next line.
    raw = _typeset([a.replace("条", "条\u3000", 1) for a in ARTICLES], 34)
    assert min(len(line) for line in raw.split("\n")[:-1:3]) == 32
    text, layout, _ = laid_out(raw)
    assert layout == "wrapped"
    assert text.split("\n") == ARTICLES


def test_a_statute_typeset_with_indented_first_lines_is_found_wrapped() -> None:
    # A real gold statute (short articles, 第N条　…) typeset at 34 cells with a full-width
    # indent: most articles take two or three lines, so first lines (31 cells once cleaned)
    # outnumber full ones in most blocks of lines. Its lines version is the reference.
    import json

    from tests.conftest import ROOT
    from training.eval.segment_eval import compare, parse_reference, segment_like_pipeline

    documents = (json.loads(line) for line in
                 (ROOT / "labels" / "documents.jsonl").read_text(encoding="utf-8").splitlines())
    text = next(d["text"] for d in documents if d["id"] == "stpolicy-central-004")
    reference, layout = segment_like_pipeline(text)
    assert layout == "lines"
    raw = _typeset([line.strip() for line in text.split("\n") if line.strip()], 34,
                   indent="\u3000\u3000")
    expected = parse_reference([f"{s.kind}\t{text[s.start:s.end]}" for s in reference], raw,
                               ROOT / "stpolicy-central-004")
    predicted, layout = segment_like_pipeline(raw)
    assert layout == "wrapped"
    counts = compare(expected, predicted)
    assert counts["clause_tp"] >= 0.98 * max(counts["gold"], counts["predicted"])


def test_a_numbered_heading_line_near_the_wrap_width_stays_a_line() -> None:
    # 25 cells at a wrap width of 30: full for a paragraph's first line, which may be two
    # cells short, but a heading (a marker and no inner punctuation) gets no such allowance
    heading = "（1）元数据与数据字典标准和主数据管理标准规范体系"
    body = "元数据与数据字典标准主要规定有色金属智能工厂各类数据的命名规则、编码规则、编码管理规范。"
    raw = "\n".join([_typeset(ARTICLES[:3], 30), heading, _typeset([body], 30, indent="  ")[2:],
                     _typeset(ARTICLES[3:], 30)])
    text, layout, _ = laid_out(raw)
    assert layout == "wrapped"
    assert [heading, body] == text.split("\n")[3:5]


def test_a_line_that_cleaning_took_spaces_out_of_is_still_full() -> None:
    # 成 员 企 业 名 单: the spaced title's line is as long as the others in the raw text
    lines = _typeset(ARTICLES[:4], 34).split("\n")
    spaced = "附件：中国石油化工集团公司主要成 员 企 业 名 单一、原直属企"
    raw = "\n".join([*lines, spaced, "业名单（22个）", *_typeset(ARTICLES[4:], 34).split("\n")])
    text, layout, _ = laid_out(raw)
    assert layout == "wrapped"
    assert "附件：中国石油化工集团公司主要成员企业名单一、原直属企业名单（22个）" in text.split("\n")


def test_the_end_of_a_sentence_wrapped_onto_a_line_of_its_own_stays_in_the_sentence() -> None:
    # a wrap without line-start rules pushes 。 or ） to the next line; a punctuation-only
    # line after a finished sentence or at the top is still dropped as boilerplate
    raw = ("城镇新增就业3.7万人，居民人均可支配收入增长6.5%左右\n。\n"
           "（责任单位：市财政局、金融工作局、科技局、市场监管局，人行偃师支行\n）\n"
           "重点做好以下方面工作\n：\n加强组织领导。\n——\n")
    document = build_document(RawDocument("d", "d.txt", raw))
    assert [c.text for c in document.clauses] == [
        "城镇新增就业3.7万人，居民人均可支配收入增长6.5%左右。",
        "（责任单位：市财政局、金融工作局、科技局、市场监管局，人行偃师支行）",
        "重点做好以下方面工作：", "加强组织领导。"]
    assert clean_text("。\n加强组织领导。\n）").text == "加强组织领导。"


def _clauses(raw: str) -> list[str]:
    return [c.text for c in build_document(RawDocument("d", "d.txt", raw)).clauses]


def test_table_rows_and_spaced_headings_between_wrapped_paragraphs_stay_apart() -> None:
    # wide gaps that cleaning collapses are not characters the line held
    rows = ["单位名称            联系人          电话", "市财政局            张三            12345678",
            "市科技局            李四            23456789", "市市场监管局        王五            34567890"]
    raw = "\n".join([_typeset(ARTICLES[:4], 34), "附                              件", "重点企业名单",
                     *rows, _typeset(ARTICLES[4:], 34)])
    clauses = _clauses(raw)
    assert clauses[4:7] == ["附件", "重点企业名单", "单位名称联系人电话"]
    assert clauses[7].startswith("市财政局张三") and clauses[7].endswith("12345678")


def test_headings_near_the_wrap_width_do_not_take_the_first_line_allowance() -> None:
    # the marker's own 、 is no comma; a heading without one is not a sentence's first line
    for heading, columns in (("十三、2022年数字中国发展网民感知情况分析", 27),
                             ("附件：某某市重点企业技术改造项目申报材料清单及其填报格式说明", 34)):
        raw = "\n".join([_typeset(ARTICLES[:4], columns), heading,
                         "申报单位应当如实填写下列材料，并对材料的真实性负责。",
                         _typeset(ARTICLES[4:], columns)])
        assert heading in _clauses(raw)


def test_a_long_line_that_stops_on_a_comma_or_dun_runs_on() -> None:
    # …集成互联、 is four cells short of the wrap width, and no paragraph ends on 、
    lines = _typeset(ARTICLES[:3], 34).split("\n")
    raw = "\n".join([*lines, "加快推进智能制造，实现泛在感知、数据贯通、集成互联、",
                     "人机协作和分析优化，建设智能场景和智能工厂。", _typeset(ARTICLES[3:], 34)])
    assert "加快推进智能制造，实现泛在感知、数据贯通、集成互联、人机协作和分析优化，建设智能场景和智能工厂。" in (
        _clauses(raw))


def test_the_wrap_width_of_a_block_is_the_peak_of_its_full_lines() -> None:
    from inference.text.layout import _block_width

    # justified text: many lines one cell short of the peak
    assert _block_width([27.0] * 9 + [26.0] * 8 + [25.0, 23.0, 17.0])[0] == 27.0
    # short articles: first lines (31) outnumber full lines (34)
    assert _block_width([31.0] * 8 + [34.0] * 6 + [12.0] * 6)[0] == 34.0


def test_stray_closing_marks_that_close_nothing_are_still_dropped() -> None:
    for raw in ("关于加强企业技术改造工作的通知\n》\n政策文件", "关于印发某某办法的通知\n）\n政策文件",
                "他说“我们要加强管理”\n”\n政策文件", "增长率\n%\n政策文件", "加强组织领导。\n。\n政策文件"):
        assert clean_text(raw).text.split("\n")[1] == "政策文件", raw
    assert clean_text("年增长12\n%\n政策文件").text.split("\n") == ["年增长12", "%", "政策文件"]


def test_a_first_line_four_cells_short_runs_on_when_it_holds_a_comma() -> None:
    # a real PDF squeezes the brackets of （三） on top of the indent: four cells short
    first = "（三）放大生态优势，生态文明建设亮点纷呈。协同推进降"
    rest = ["碳、减污、扩绿，生态环境质量保持华北领先。生态名片越来越亮",
            "丽。荣膺国家生态文明建设示范区、中国最具生态竞争力城市。"]
    assert len(first) == 26 and len(rest[0]) == 29
    raw = "\n".join([_typeset(ARTICLES[:4], 30), first, *rest, _typeset(ARTICLES[4:], 30)])
    assert "协同推进降碳、减污、扩绿，生态环境质量保持华北领先。" in _clauses(raw)


def test_a_long_running_title_at_page_breaks_goes_and_a_repeated_sentence_stays() -> None:
    # a 25-character running title every 7 lines cuts into sentences: it goes
    header = "某某市人民政府办公室关于印发科技创新实施方案的通知"
    lines = _typeset(ARTICLES, 30).split("\n")
    paged = [line for index, line in enumerate(lines)
             for line in ([line, header] if index % 7 == 6 else [line])]
    text, layout, _ = laid_out("\n".join(paged))
    assert layout == "wrapped" and header not in text and text.split("\n") == ARTICLES
    # a sentence repeated under three headings, wrapped the same way each time, stays
    repeated = ["主要包括国家相关基础通用标准在石化行业的实施指", "南或具体应用的技术要求标准。"]
    raw = [_typeset(ARTICLES[:3], 26)]
    for heading in ("（4）边缘计算标准", "（5）工业云标准", "（6）数据标准"):
        raw += [heading, *repeated, _typeset(ARTICLES[3:5], 26)]
    clauses = _clauses("\n".join(raw))
    assert clauses.count("主要包括国家相关基础通用标准在石化行业的实施指南或具体应用的技术要求标准。") == 3


def test_a_letter_spaced_heading_is_no_fuller_for_its_spaces() -> None:
    heading = " ".join("保障措施与监督管理工作具体要求")
    raw = "\n".join([_typeset(ARTICLES[:4], 30), heading, "县级以上人民政府应当加强监督管理工作。",
                     _typeset(ARTICLES[4:], 30)])
    clauses = _clauses(raw)
    assert "保障措施与监督管理工作具体要求" in clauses
    assert "县级以上人民政府应当加强监督管理工作。" in clauses


def test_a_kept_closing_mark_does_not_hide_a_contact_heading() -> None:
    raw = ("二、申报时间\n2023年5月1日至5月31日。\n三、联系方式\n：\n联系电话：0371-12345678\n"
           "电子邮箱：abc@163.com\n")
    assert clean_text(raw).text.split("\n")[-2:] == ["联系电话：0371-12345678",
                                                     "电子邮箱：abc@163.com"]


def test_a_percent_sign_wrapped_onto_its_own_line_stays_in_wrapped_text() -> None:
    raw = "\n".join([_typeset(ARTICLES[:4], 30), "全年地区生产总值增长12", "%", "。",
                     _typeset(ARTICLES[4:], 30)])
    assert "全年地区生产总值增长12%。" in _clauses(raw)


def test_a_line_stopping_on_a_comma_does_not_run_into_a_heading() -> None:
    raw = "\n".join([_typeset(ARTICLES[:4], 34), "各地区、各部门要高度重视，加强组织领导，", "保障措施",
                     "县级以上人民政府应当加强监督管理工作。", _typeset(ARTICLES[4:], 34)])
    assert "保障措施" in _clauses(raw)
