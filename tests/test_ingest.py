"""Ingestion: encodings, file kinds, ids, and every kind of bad input the issue lists."""

from __future__ import annotations

import codecs
import json

from inference.records import ErrorRecord
from inference.text.ingest import decode_bytes, read_inputs, stable_doc_id

TEXT = "为深入贯彻落实党中央、国务院决策部署，充分发挥技术转移对提升我省科技创新能力的重要作用，现提出如下实施方案。"
TRADITIONAL = "為深入貫徹落實黨中央、國務院決策部署，充分發揮技術轉移對提升我省科技創新能力的重要作用，現提出如下實施方案。"


def test_decode_detects_each_encoding():
    assert decode_bytes(TEXT.encode("utf-8")) == (TEXT, "utf-8")
    assert decode_bytes(TEXT.encode("gb18030")) == (TEXT, "gb18030")
    assert decode_bytes(TEXT.encode("gbk")) == (TEXT, "gb18030")
    assert decode_bytes(TRADITIONAL.encode("big5")) == (TRADITIONAL, "big5")
    assert decode_bytes(codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le")) == (TEXT, "utf-16")
    assert decode_bytes(codecs.BOM_UTF8 + TEXT.encode("utf-8"))[0] == TEXT


def _read(paths):
    return list(read_inputs([str(p) for p in paths]))


def test_reads_txt_html_jsonl_and_directories_recursively(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "doc.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "a" / "page.htm").write_text(f"<p>{TEXT}</p>", encoding="utf-8")
    (tmp_path / "crawl.jsonl").write_text(
        json.dumps({"id": "x1", "text": TEXT, "url": "http://gov.cn/1"}, ensure_ascii=False)
        + "\n" + json.dumps({"html": f"<div>{TEXT}</div>"}, ensure_ascii=False) + "\n",
        encoding="utf-8")
    (tmp_path / "notes.md").write_text("ignored in directories", encoding="utf-8")
    docs = _read([tmp_path])
    assert [d.source.replace(str(tmp_path), "") for d in docs] == [
        "/a/doc.txt", "/a/page.htm", "/crawl.jsonl:1", "/crawl.jsonl:2"]
    assert [d.is_html for d in docs] == [False, True, False, True]
    assert docs[2].doc_id == "x1" and docs[2].meta == {"url": "http://gov.cn/1"}
    assert docs[3].doc_id.startswith("doc-")


def test_doc_id_is_stable_and_depends_on_path_and_content():
    assert stable_doc_id("a.txt", TEXT) == stable_doc_id("a.txt", TEXT)
    assert stable_doc_id("a.txt", TEXT) != stable_doc_id("b.txt", TEXT)
    assert stable_doc_id("a.txt", TEXT) != stable_doc_id("a.txt", TEXT + "。")


def test_bad_inputs_become_error_records_and_the_rest_goes_on(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text(TEXT, encoding="utf-8")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.txt"
    garbage.write_bytes(bytes([0xFF, 0xFE - 1, 0x80, 0x81]) * 50 + b"\xff\xff")
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:
        handle.seek(50 * 1024 * 1024)
        handle.write(b"x")
    bad_json = tmp_path / "lines.jsonl"
    bad_json.write_text('{"id": "ok", "text": "加强领导。"}\nnot json\n[1, 2]\n{"id": "n"}\n',
                        encoding="utf-8")
    items = _read([binary, empty, garbage, big, bad_json, tmp_path / "missing.txt", good])
    errors = {e.source.replace(str(tmp_path) + "/", ""): e.reason for e in items
              if isinstance(e, ErrorRecord)}
    assert "binary" in errors["binary.txt"]
    assert errors["empty.txt"] == "empty file"
    assert "undecodable" in errors["garbage.txt"]
    assert "over the 20 MiB limit" in errors["big.txt"]
    assert "invalid JSON" in errors["lines.jsonl:2"]
    assert "expected an object" in errors["lines.jsonl:3"]
    assert "no non-empty 'text' or 'html'" in errors["lines.jsonl:4"]
    assert "no such file" in errors["missing.txt"]
    docs = [d for d in items if not isinstance(d, ErrorRecord)]
    assert [d.source.replace(str(tmp_path) + "/", "") for d in docs] == ["lines.jsonl:1", "good.txt"]



def _cut_mid_character(encoding: str) -> bytes:
    """A JSONL crawl whose first 64 KiB end inside a multi-byte character."""
    line = json.dumps({"id": "x", "text": "第一条 为了规范科技成果转化活动。"}, ensure_ascii=False)
    body = (line + "\n").encode(encoding) * 50
    for width in range(64_000, 65_536):
        pad = (json.dumps({"id": "pad", "text": "a" * width}) + "\n").encode(encoding)
        data = pad + body
        try:
            data[:65_536].decode(encoding)
        except UnicodeDecodeError:
            return data
    raise AssertionError("no padding puts the cut inside a character")


def test_jsonl_whose_sniffed_head_ends_mid_character_is_read(tmp_path):
    # The encoding of a JSONL crawl is sniffed from its first 64 KiB; that cut usually falls
    # inside a multi-byte character, which must not reject the whole file.
    for encoding in ("utf-8", "gb18030"):
        path = tmp_path / f"crawl-{encoding}.jsonl"
        path.write_bytes(_cut_mid_character(encoding))
        records = list(read_inputs([str(path)]))
        assert not [r for r in records if isinstance(r, ErrorRecord)], encoding
        assert sum(r.doc_id == "x" for r in records) == 50, encoding
