"""A run never overwrites a document it was given, by name or inside an input directory, and
never reads a run's side files (errors, checkpoint) as documents."""

from __future__ import annotations

import json
from pathlib import Path

from policy_clauses.cli import main


def _crawl(folder: Path) -> Path:
    folder.mkdir()
    for n in range(3):
        (folder / f"d{n}.txt").write_text(f"第{n}条 市科技局负责组织实施。\n", encoding="utf-8")
    crawl = folder / "crawl.jsonl"
    crawl.write_text(json.dumps({"id": "c1", "text": "各单位要抓好落实。"}, ensure_ascii=False)
                     + "\n", encoding="utf-8")
    return crawl


def test_output_over_a_document_inside_an_input_directory_is_refused(tmp_path, capsys):
    crawl = _crawl(tmp_path / "in")
    before = crawl.read_bytes()
    code = main(["predict", "--rules", str(tmp_path / "in"), "-o", str(crawl), "--no-progress"])
    assert code == 1
    assert "would overwrite" in capsys.readouterr().err
    assert crawl.read_bytes() == before
    page = tmp_path / "in" / "d1.txt"
    code = main(["predict", "--rules", str(tmp_path / "in"), "-o", str(tmp_path / "o.jsonl"),
                 "--errors", str(page), "--no-progress"])
    assert code == 1 and page.read_text(encoding="utf-8").startswith("第1条")


def test_a_rerun_into_the_input_directory_skips_its_own_earlier_output(tmp_path):
    _crawl(tmp_path / "in")
    out = tmp_path / "in" / "z.jsonl"
    args = ["segment", str(tmp_path / "in"), "-o", str(out), "--no-progress"]
    assert main(args) == 0
    first = out.read_bytes()
    assert main(args) == 0  # its progress file says z.jsonl is this run's output, not an input
    assert out.read_bytes() == first and len(first.splitlines()) == 4


def test_error_files_of_earlier_runs_are_not_documents(tmp_path):
    _crawl(tmp_path / "in")
    (tmp_path / "in" / "old.errors.jsonl").write_text("", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["segment", str(tmp_path / "in"), "-o", str(out), "--no-progress"]) == 0
    errors = tmp_path / "out.errors.jsonl"
    assert not errors.exists() or errors.read_text(encoding="utf-8") == ""
    assert len(out.read_text(encoding="utf-8").splitlines()) == 4
