"""Metadata read from a document's own head and tail (inference.text.docmeta)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inference.text.docmeta import DOC_NUMBER, find_doc_number, find_meta, parse_date

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "corpus"


@pytest.mark.parametrize(("text", "iso"), [
    ("二○一一年五月十日", "2011-05-10"),
    ("二〇二一年十二月三十一日", "2021-12-31"),
    ("2018年12月5日", "2018-12-05"),
    ("一九八〇年三月三十一日", "1980-03-31"),
    ("2021年13月5日", None),
    ("今年五月", None),
])
def test_parse_date_reads_digits_and_chinese_numerals(text: str, iso: str | None) -> None:
    assert parse_date(text) == iso


def test_run_together_head_and_signature() -> None:
    text = ("国务院关于促进稀土行业持续健康发展的若干意见国发〔2011〕12号各省、自治区、直辖市人民政府，"
            "国务院各部委、各直属机构：稀土是不可再生的重要战略资源。要加强管理。国务院二○一一年五月十日")
    assert find_meta(text) == {
        "title": "国务院关于促进稀土行业持续健康发展的若干意见",
        "doc_number": "国发〔2011〕12号",
        "addressees": ["各省、自治区、直辖市人民政府", "国务院各部委、各直属机构"],
        "issuer": "国务院",
        "written": "2011-05-10",
    }


def test_number_after_a_title_ending_in_a_document_type() -> None:
    assert find_doc_number("国务院关于全国矿产资源规划（2016—2020年）的批复国函〔2016〕178号国土资源部：") \
        == "国函〔2016〕178号"


def test_seed_003_gets_title_issuer_and_date_from_its_cover_letter() -> None:
    text = (EXAMPLES / "seed_003_706b429a5d8fc070.txt").read_text(encoding="utf-8")
    meta = find_meta(text)
    assert meta["title"] == "偃师市人民政府关于印发偃师市技术转移体系建设实施方案的通知"
    assert meta["issuer"] == "偃师市人民政府"
    assert meta["written"] == "2021-01-18"
    assert meta["doc_number"] == "偃政〔2021〕2号"


def test_a_number_cited_in_the_body_is_not_the_documents() -> None:
    body = "为贯彻落实" + "加快推进技术转移体系建设。" * 40 + "根据《通知》（国发〔2017〕44号）精神，制定本方案。"
    assert find_doc_number(body) is None


@pytest.mark.skipif(not CORPUS.is_dir(), reason="needs ../shared/data/corpus")
def test_inline_numbers_of_the_govcn_corpus_are_found() -> None:
    near_start = found = 0
    with (CORPUS / "govcn_documents.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            text = json.loads(line)["text"]
            if DOC_NUMBER.search(text[:200]):
                near_start += 1
                found += find_doc_number(text) is not None
    assert near_start >= 70 and found / near_start >= 0.95


def test_doc_number_after_a_masthead_leaves_the_masthead_out():
    assert find_doc_number("生态环境部办公厅商务部办公厅文件环办环评〔2022〕2号关于印发《指南》的通知") == (
        "环办环评〔2022〕2号")
