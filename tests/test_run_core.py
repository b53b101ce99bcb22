"""One run core (issue 9, item 3): the Ray driver reads JSONL through ingest's public range
reader and sets up its outputs through ``core.RunCore``, like the local driver."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from inference.records import ErrorRecord
from inference.text.ingest import read_inputs
from tests.conftest import ROOT

BATCH = ROOT / "inference" / "batch"


def _imported_names(path: Path) -> list[tuple[str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.module or "", alias.name) for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) for alias in node.names]


def test_drivers_reach_into_no_private_names_and_copy_no_reading_loop():
    for driver in ("run.py", "ray_driver.py"):
        private = [(module, name) for module, name in _imported_names(BATCH / driver)
                   if name.startswith("_")]
        assert not private, (driver, private)
    ray_source = (BATCH / "ray_driver.py").read_text(encoding="utf-8")
    assert "RunCore" in ray_source and "read_jsonl_range" in ray_source
    assert ".decode(" not in ray_source  # no copy of ingest's line decoding


def test_a_byte_range_reads_exactly_its_lines_with_file_line_numbers(tmp_path):
    from inference.text.ingest import jsonl_encoding, read_jsonl_range

    lines = [json.dumps({"id": f"d{i}", "text": f"第{i}条 由市科技局负责。"}, ensure_ascii=False)
             for i in range(6)]
    lines[3] = "{oops"
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sizes = [len(line.encode("utf-8")) + 1 for line in lines]
    start, end = sum(sizes[:2]), sum(sizes[:5])
    items = list(read_jsonl_range(path, jsonl_encoding(path), start=start, end=end,
                                  first_lineno=3))
    assert [getattr(i, "doc_id", None) for i in items] == ["d2", None, "d4"]
    assert isinstance(items[1], ErrorRecord) and items[1].source == f"{path}:4"
    # the whole file through the local reader gives the same records for those lines
    whole = list(read_inputs([path]))
    assert [w.source for w in whole[2:5]] == [i.source for i in items]
