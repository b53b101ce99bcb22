"""Output formats (JSONL, CSV, Parquet), the fast path and speed settings."""

from __future__ import annotations

import csv
import json
import os

import pytest

from inference.batch.writers import clause_columns, format_for_path, neutralise_formula
from inference.errors import UserError
from inference.schema import default_schema
from policy_clauses.cli import main
from tests.conftest import EXAMPLES, ROOT
from tests.helpers.tiny_model import build_tiny_model


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


def _jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _expected_rows(records):
    names = default_schema().label_names
    rows = []
    for record in records:
        for clause in record["clauses"]:
            rows.append({
                "doc_id": record["doc_id"], "source": record["source"],
                "clause_id": clause["clause_id"], "text": clause["text"],
                "labels": ";".join(clause["labels"]),
                **{f"score_{n}": clause["scores"][n] for n in names},
                "entities": clause["entities"],
            })
    return rows


def test_csv_and_parquet_hold_the_jsonl_clauses(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    args = [str(EXAMPLES), "--rules", "--no-progress"]
    assert main(["predict", *args, "-o", str(tmp_path / "p.jsonl")]) == 0
    assert main(["predict", *args, "-o", str(tmp_path / "p.csv")]) == 0  # format from suffix
    assert main(["predict", *args, "-o", str(tmp_path / "p.out"), "--format", "parquet",
                 "--chunk-documents", "3"]) == 0
    expected = _expected_rows(_jsonl(tmp_path / "p.jsonl"))
    assert len(expected) > 100

    with (tmp_path / "p.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == clause_columns(default_schema().label_names)
        csv_rows = list(reader)
    table = pq.read_table(tmp_path / "p.out")
    assert table.column_names == clause_columns(default_schema().label_names)
    assert pq.ParquetFile(tmp_path / "p.out").num_row_groups > 1  # one per chunk
    for rows in (csv_rows, table.to_pylist()):
        assert len(rows) == len(expected)
        # CSV neutralises cells a spreadsheet would run as formulas; Parquet keeps them exact
        exact = neutralise_formula if rows is csv_rows else str
        for row, want in zip(rows, expected, strict=True):
            assert row["doc_id"] == exact(want["doc_id"]) and row["text"] == exact(want["text"])
            assert row["labels"] == want["labels"]
            assert int(row["clause_id"]) == want["clause_id"]
            for name in default_schema().label_names:
                assert float(row[f"score_{name}"]) == pytest.approx(want[f"score_{name}"],
                                                                    abs=1e-4)
            assert json.loads(row["entities"]) == want["entities"]


def test_format_from_suffix_and_flag():
    assert format_for_path("a/b.csv", None) == "csv"
    assert format_for_path("a/b.parquet", None) == "parquet"
    assert format_for_path("a/b.jsonl", None) == "jsonl" == format_for_path("-", None)
    assert format_for_path("a/b.csv", "jsonl") == "jsonl"
    with pytest.raises(UserError, match="unknown output format"):
        format_for_path("x", "xml")


def test_segment_writes_csv_without_scores(tmp_path):
    out = tmp_path / "seg.csv"
    assert main(["segment", str(EXAMPLES), "-o", str(out)]) == 0
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(r["labels"] == "" and r["score_goal"] == "" for r in rows)


@pytest.mark.parametrize("fast", ["int8", "bf16"])
def test_fast_paths_agree_with_fp32_on_the_tiny_model(tiny_model, tmp_path, fast):
    src = EXAMPLES / "seed_003_706b429a5d8fc070.txt"
    assert main(["predict", str(src), "-o", str(tmp_path / "fp32.jsonl"), "--model",
                 str(tiny_model), "--fast", "none"]) == 0
    assert main(["predict", str(src), "-o", str(tmp_path / f"{fast}.jsonl"), "--model",
                 str(tiny_model), "--fast", fast, "--threads", "1"]) == 0
    (fp32,), (other,) = _jsonl(tmp_path / "fp32.jsonl"), _jsonl(tmp_path / f"{fast}.jsonl")
    diffs = [abs(a["scores"][k] - b["scores"][k]) for a, b in
             zip(fp32["clauses"], other["clauses"], strict=True) for k in a["scores"]]
    assert 0 < max(diffs) < 0.05  # the fast path really ran, and moves scores only a little
    assert [c["text"] for c in fp32["clauses"]] == [c["text"] for c in other["clauses"]]


def test_bf16_fast_path_runs_the_models_in_bfloat16(tiny_model):
    import torch

    from inference.scoring.models import load_scorer

    scorer = load_scorer(tiny_model, fast="bf16")
    assert scorer.name.endswith("(bf16)")
    for part in (scorer.classifier.model, scorer.tagger.model):
        assert {p.dtype for p in part.parameters()} == {torch.bfloat16}


def test_configure_threads_uses_the_cores_available():
    import torch

    from inference.scoring.runtime import available_cores, configure_threads

    assert configure_threads() == available_cores() == torch.get_num_threads()
    assert configure_threads(1) == 1 == torch.get_num_threads()
    configure_threads()


# Whether a 20 MiB malloc is served by its own mmap (mallinfo2's hblks grows), in a fresh
# process, after configure_allocator() when argv[1] is "configured".
_MMAP_PROBE = """
import ctypes, sys
from inference.scoring.runtime import configure_allocator
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena ordblks smblks hblks hblkhd "
                "usmblks fsmblks uordblks fordblks keepcost").split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
if sys.argv[1] == "configured":
    assert configure_allocator()
before = libc.mallinfo2().hblks
block = libc.malloc(20 << 20)
print(libc.mallinfo2().hblks - before)
"""


def test_configure_allocator_keeps_large_activations_in_the_heap(monkeypatch):
    import ctypes
    import platform
    import subprocess
    import sys

    from inference.scoring.runtime import configure_allocator

    if platform.libc_ver()[0] != "glibc" or not hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2"):
        pytest.skip("glibc 2.33 or later only")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}

    def mmapped(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", _MMAP_PROBE, mode], env=env, cwd=ROOT,
                             capture_output=True, text=True, check=True)
        return int(out.stdout)

    assert mmapped("default") == 1  # glibc's default: a fresh mapping, faulted in page by page
    assert mmapped("configured") == 0
    # a user who tunes malloc through the environment keeps their settings
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert configure_allocator() is False
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=65536")
    assert configure_allocator() is False

def test_progress_bar_only_when_asked_or_on_a_terminal(capsys):
    from inference.batch.progress import Progress

    silent = Progress(None)  # pytest's stderr is not a terminal
    silent.update(3, 10)
    silent.close()
    assert capsys.readouterr().err == ""  # the silent one drew nothing
    # (the shown bar may be redrawn by its 2-second ticker on a slow machine: not counted)
    shown = Progress(True)
    shown.update(3, 10)
    shown.close()
    err = capsys.readouterr().err
    assert err.startswith("\rpredict") and "clauses/s" in err and "3doc" in err


def test_clause_records_get_amount_values_and_times_like_documents(tmp_path):
    from policy_clauses.cli import main

    clauses = tmp_path / "c.jsonl"
    clauses.write_text(json.dumps({"text": "对新认定的企业给予50万元奖励，到2025年底前完成。",
                                   "id": "k1"}, ensure_ascii=False) + "\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    assert main(["predict", "--rules", "--clauses", str(clauses), "-o", str(out),
                 "--no-progress"]) == 0
    (record,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    (amount,) = [e for e in record["entities"] if e["type"] == "AMOUNT"]
    assert amount["text"] == "50万元" and amount["yuan"] == [500000, 500000]
    assert [(t["kind"], t["to"]) for t in record["times"]] == [("deadline", "2025-12-31")]


def test_predict_counts_relative_times_from_the_same_document_date_as_card(tmp_path):
    from inference.analysis.times import document_date
    from policy_clauses.cli import main

    # published is not a date; the corpus's own `date` field is: both predict and card use it
    meta = {"published": "2022.0", "date": "2021-03-05"}
    assert str(document_date(meta)) == "2021-03-05"
    crawl = tmp_path / "c.jsonl"
    crawl.write_text(json.dumps({"id": "d1", "text": "各单位要在年底前完成改造。", **meta},
                                ensure_ascii=False) + "\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    assert main(["predict", "--rules", str(crawl), "-o", str(out), "--no-progress"]) == 0
    (record,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    times = [t for c in record["clauses"] for t in c.get("times", [])]
    assert [(t["kind"], t["to"]) for t in times] == [("deadline", "2021-12-31")]
