"""Cleaning on each seed: boilerplate gone, script converted, metadata extracted exactly."""

from __future__ import annotations

import pytest

from inference.text.clean import clean_text, parse_meta_line, traditional_ratio

BOILERPLATE = ["当前位置", "首页", "字体大小", "留言与评论", "验证码", "版权所有", "ICP备", "主办单位",
               "联系电话", "网站标识码", "{ganrao}", "15选5", "建议使用IE", "标 题", "索引号", "发文字号",
               "发布日期", "成文日期", "发文机关", "主题分类"]


@pytest.mark.parametrize("number", range(5))
def test_boilerplate_is_gone(seeds, number):
    text = clean_text(seeds[number]).text
    for marker in BOILERPLATE:
        assert marker not in text, f"seed {number} still holds {marker!r}"
    assert "\n\n" not in text and text == text.strip()


@pytest.mark.parametrize("number", range(5))
def test_offsets_map_back_to_the_raw_text(seeds, number):
    raw = seeds[number]
    cleaned = clean_text(raw)
    assert len(cleaned.source_offsets) == len(cleaned.text)
    # outside the script-converted seed, every kept character is the raw character it maps to
    if number != 2:
        assert all(raw[o] == ch for ch, o in zip(cleaned.text, cleaned.source_offsets, strict=True)
                   if not ch.isspace())
    assert cleaned.source_offsets == sorted(cleaned.source_offsets)


def test_seed_002_is_converted_to_simplified_and_flags_mojibake(seeds):
    cleaned = clean_text(seeds[2])
    assert cleaned.quality["script"] == "traditional"
    assert "浙江省技术转移体系建设实施方案" in cleaned.text
    assert "實施方案" not in cleaned.text and "體系" not in cleaned.text
    assert traditional_ratio(cleaned.text) < 0.02
    assert cleaned.quality["mojibake"] is True
    assert cleaned.quality["mojibake_signals"]["kana_in_chinese"] >= 1
    # the conversion keeps offsets: the converted character maps to its traditional original
    index = cleaned.text.index("浙江省技术转移体系")
    assert seeds[2][cleaned.source_offsets[index + 5]] == "轉"


@pytest.mark.parametrize("number", [0, 1, 3, 4])
def test_clean_seeds_are_simplified_and_not_flagged(seeds, number):
    cleaned = clean_text(seeds[number])
    assert cleaned.quality["script"] == "simplified"
    assert cleaned.quality["mojibake"] is False


def test_seed_000_metadata(seeds):
    meta = clean_text(seeds[0]).meta
    assert meta == {
        "title": "鹤壁市人民政府办公室关于印发《鹤壁市促进科技成果转移转化工作实施方案》的通知",
        "index_no": "F1000-0201-2018-2372095",
        "doc_number": "鹤政办〔2018〕28号",
        "published": "2018-10-09",
        "written": "2018-09-25",
        "issuer": "鹤壁市人民政府办公室",
    }


def test_seed_004_metadata(seeds):
    meta = clean_text(seeds[4]).meta
    assert meta["index_no"] == "GS2337/2019-5178"
    assert meta["topic"] == "平政办发"
    assert meta["issuer"] == "平川区人民政府"
    assert meta["written"] == "2019-08-21"
    assert meta["published"] == "2019-08-21"
    assert meta["doc_number"] == "平政办发〔2019〕137号"
    assert meta["title"] == ("白银市平川区人民政府办公室关于印发《平川区推进落实白银市省级科技成果转移转化"
                             "示范区建设的实施方案》的通知")


def test_title_line_repeated_in_header_is_dropped_but_body_kept(seeds):
    text = clean_text(seeds[0]).text
    assert not text.startswith("鹤壁市人民政府办公室关于印发")
    assert text.startswith("各县区人民政府,市人民政府各部门:")
    assert "全市技术合同交易额达到3000万元" in text
    assert text.endswith("重点任务分工及进度安排表")


def test_meta_line_parsing_splits_run_together_fields():
    assert parse_meta_line("发文机关:平川区人民政府成文日期:2019-08-21") == {
        "issuer": "平川区人民政府", "written": "2019-08-21"}
    assert parse_meta_line("为贯彻落实发文字号的要求") is None


def test_long_line_mentioning_a_phone_number_is_kept():
    body = "各地要公布举报电话，" + "加强监督检查，" * 12 + "联系电话由各地自行确定。"
    assert body in clean_text(body).text


def test_html_main_text_extracted():
    html = ("<html><head><title>关于印发某方案的通知</title><script>var x='首页';</script></head><body>"
            "<div class='nav'>当前位置：首页 > 通知</div><div class='content'><p>一、总体要求</p>"
            "<p>到2025年，建成技术转移体系。</p></div><div class='footer'>版权所有 ICP备1号</div>"
            "</body></html>")
    cleaned = clean_text(html, is_html=True)
    assert cleaned.text == "一、总体要求\n到2025年，建成技术转移体系。"
    assert cleaned.meta["title"] == "关于印发某方案的通知"


def test_wiki_licence_lines_and_related_links_are_not_text():
    raw = "加强组织领导。\n相关文章：\nPublic domain\nPublic domain\nfalse\nfalse"
    assert clean_text(raw).text == "加强组织领导。"


def test_a_standalone_document_number_line_stays_as_text():
    cleaned = clean_text("关于印发方案的通知\n偃政〔2021〕2号\n各有关单位：\n现印发给你们。")
    assert "偃政〔2021〕2号" in cleaned.text.split("\n")
    assert cleaned.meta["doc_number"] == "偃政〔2021〕2号"
