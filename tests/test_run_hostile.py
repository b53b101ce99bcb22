"""Careless and hostile use of a run (issue 10): nothing lost, nothing injected, no hang.

Each test reproduces one report: the output named as an input, a run feeding on its own
output, bad JSONL lines, a kill before the first checkpoint, two runs on one output, documents
without bounds, CSV formula injection, and the messages a person gets instead of tracebacks.
"""

from __future__ import annotations

import csv
import fcntl
import json
import subprocess
import sys
from pathlib import Path

import pytest

from inference.batch import writers
from inference.batch.run import run_clauses, run_documents
from inference.records import ErrorRecord
from inference.scoring.rules import RuleScorer
from inference.text.ingest import read_inputs
from policy_clauses.cli import main
from tests.conftest import EXAMPLES, ROOT

GOOD_TEXT = "一、主要目标\n到2025年，全市技术合同成交额达到5亿元。\n二、保障\n由市科技局负责。"


def _doc_line(doc_id: str, text: str = GOOD_TEXT, **fields) -> str:
    return json.dumps({"id": doc_id, "text": text, **fields}, ensure_ascii=False)


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# ----------------------------------------------------------------------------- 1, 2: outputs


def test_output_equal_to_an_input_is_refused_and_the_input_kept(tmp_path, capsys):
    crawl = tmp_path / "same.jsonl"
    crawl.write_bytes((EXAMPLES / "jiangxi_crawl.jsonl").read_bytes())
    before = crawl.read_bytes()
    assert main(["predict", "--rules", str(crawl), "-o", str(crawl)]) == 1
    assert crawl.read_bytes() == before
    assert "both an input and an output" in capsys.readouterr().err
    # the errors file named as an input is refused the same way
    errors = tmp_path / "other.jsonl"
    errors.write_bytes(before)
    assert main(["predict", "--rules", str(errors), "-o", str(tmp_path / "o.jsonl"),
                 "--errors", str(errors)]) == 1
    assert errors.read_bytes() == before


def test_output_inside_an_input_directory_is_never_read(tmp_path):
    for n in range(3):
        (tmp_path / f"doc{n}.txt").write_text(GOOD_TEXT + f"第{n}条。", encoding="utf-8")
    out = tmp_path / "z.jsonl"
    for _ in range(2):  # the second run finds the first run's output (and errors) in DIR
        assert main(["segment", str(tmp_path), "-o", str(out), "--chunk-documents", "1"]) == 0
        records = _records(out)
        assert sorted(Path(r["source"]).name for r in records) == ["doc0.txt", "doc1.txt",
                                                                  "doc2.txt"]
        assert not (tmp_path / "z.errors.jsonl").read_text()


# ----------------------------------------------------------------------------- 3: bad lines


def test_each_bad_jsonl_line_is_one_error_record_and_the_rest_go_through(tmp_path):
    lines = [_doc_line(f"d{i}").encode() for i in range(300)]
    lines[1] = b'{"id": "bad-utf8", "text": "\xff\xfe abc"}'  # inside the first 64 KiB
    lines[10] = b'{"id": ' + b"9" * 5000 + b', "text": "x"}'
    lines[20] = b"[" * 100_000
    lines[30] = ('{"id": "\\ud800", "text": ' + json.dumps(GOOD_TEXT, ensure_ascii=False)
                 + "}").encode()
    crawl = tmp_path / "crawl.jsonl"
    crawl.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out.jsonl"
    summary = run_documents([crawl], str(out), RuleScorer(), chunk_documents=16)
    assert summary.documents == 296 and summary.errors == 4
    assert len(_records(out)) == 296
    errors = _records(tmp_path / "out.errors.jsonl")  # every error record is written and parses
    assert sorted(e["source"] for e in errors) == sorted(
        f"{crawl}:{n}" for n in (2, 11, 21, 31))
    assert all(e["stage"] == "ingest" for e in errors)


def test_predict_clauses_skips_an_undecodable_line(tmp_path):
    src = tmp_path / "clauses.jsonl"
    src.write_bytes(json.dumps({"text": "到2025年达到5亿元。"}, ensure_ascii=False).encode()
                    + b'\n{"text": "\xff\xfe"}\n'
                    + json.dumps({"text": "由市科技局负责。"}, ensure_ascii=False).encode()
                    + b"\n")
    out = tmp_path / "out.jsonl"
    summary = run_clauses(str(src), str(out), RuleScorer())
    assert summary.clauses == 2 and summary.errors == 1
    (error,) = _records(tmp_path / "out.errors.jsonl")
    assert error["source"] == f"{src}:2" and "undecodable" in error["error"]


# ----------------------------------------------------------------------------- 4, 5: resume, lock


def test_a_kill_before_the_first_checkpoint_can_be_resumed(tmp_path, monkeypatch):
    crawl = tmp_path / "crawl.jsonl"
    crawl.write_text("\n".join(_doc_line(f"d{i}") for i in range(10)) + "\n", encoding="utf-8")
    reference = tmp_path / "ref.jsonl"
    run_documents([crawl], str(reference), RuleScorer(), chunk_documents=4)
    out = tmp_path / "out.jsonl"
    real_flush = writers.JsonlWriter.flush

    def killed_at_first_flush(self):
        raise KeyboardInterrupt  # dies after writing its first records, before checkpointing

    monkeypatch.setattr(writers.JsonlWriter, "flush", killed_at_first_flush)
    with pytest.raises(KeyboardInterrupt):
        run_documents([crawl], str(out), RuleScorer(), chunk_documents=4)
    monkeypatch.setattr(writers.JsonlWriter, "flush", real_flush)
    assert out.read_text(encoding="utf-8")  # records reached the output
    run_documents([crawl], str(out), RuleScorer(), chunk_documents=4, resume=True)
    assert out.read_bytes() == reference.read_bytes()


def test_a_second_run_on_a_locked_output_is_refused(tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    with open(str(out) + ".lock", "a+") as held:  # what a running predict holds
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(["predict", "--rules", str(EXAMPLES / "jiangxi_crawl.jsonl"), "-o",
                     str(out), "--resume"]) == 1
        assert "another run" in capsys.readouterr().err
        assert not out.exists()
    assert main(["predict", "--rules", str(EXAMPLES / "jiangxi_crawl.jsonl"), "-o",
                 str(out)]) == 0
    # released at the end: this process can take it again
    with open(str(out) + ".lock", "a+") as again:
        fcntl.flock(again.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_corrupt_progress_files_give_a_message_naming_the_file(tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    marker = Path(str(out) + ".progress.json")
    for content in ("{not json", '{"job": {}, "items": 0, "surprise": 1}', "[1, 2]"):
        out.write_text("x\n", encoding="utf-8")
        marker.write_text(content, encoding="utf-8")
        assert main(["predict", "--rules", str(EXAMPLES / "jiangxi_crawl.jsonl"), "-o",
                     str(out), "--resume"]) == 1
        err = capsys.readouterr().err
        assert str(marker) in err and "Traceback" not in err
        assert "surprise" in err or "surprise" not in content


# ----------------------------------------------------------------------------- 6: bounds


def test_fifty_thousand_nested_divs_become_an_error_record(tmp_path):
    (tmp_path / "deep.html").write_text(
        "<html><body>" + "<div>" * 50_000 + "到2025年。" + "</div>" * 50_000 + "</body></html>",
        encoding="utf-8")
    (tmp_path / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    summary = run_documents([tmp_path / "deep.html", tmp_path / "good.txt"], str(out),
                            RuleScorer(), document_seconds=60)
    assert summary.documents == 1 and summary.errors == 1
    (error,) = _records(tmp_path / "out.errors.jsonl")
    assert error["stage"] == "clean" and "nests more than" in error["error"]


def test_a_document_over_the_time_limit_becomes_an_error_record(tmp_path):
    # one line of 3.3 million characters takes about a second to clean and segment (segmentation
    # is linear; 600,000 characters took 0.18 s, too close to the limit): far over 0.2 s
    slow = "到2025年，全市技术合同成交额达到5亿元，" * 150_000
    crawl = tmp_path / "crawl.jsonl"
    crawl.write_text(_doc_line("slow", slow) + "\n" + _doc_line("good") + "\n",
                     encoding="utf-8")
    out = tmp_path / "out.jsonl"
    summary = run_documents([crawl], str(out), RuleScorer(), document_seconds=0.2,
                            isolate_chars=0)
    assert [r["doc_id"] for r in _records(out)] == ["good"]
    (error,) = _records(tmp_path / "out.errors.jsonl")
    assert error["doc_id"] == "slow" and "time limit" in error["error"]
    assert summary.documents == 1


def test_a_huge_single_line_document_is_cut_into_bounded_clauses(tmp_path):
    from inference.text.pipeline import MAX_CLAUSE_CHARS

    huge = "到2025年，全市技术合同成交额达到5亿元，" * 50_000  # 1 MiB+, no sentence end
    crawl = tmp_path / "crawl.jsonl"
    crawl.write_text(_doc_line("huge", huge) + "\n" + _doc_line("good") + "\n",
                     encoding="utf-8")
    out = tmp_path / "out.jsonl"
    run_documents([crawl], str(out), RuleScorer())
    huge_record, good = _records(out)
    assert good["doc_id"] == "good" and len(good["clauses"]) == 4
    assert huge_record["quality"]["split_long_clauses"] == 1
    clauses = huge_record["clauses"]
    assert len(clauses) > 1 and all(len(c["text"]) <= MAX_CLAUSE_CHARS for c in clauses)
    assert all(huge_record["text"][c["start"]:c["end"]] == c["text"] for c in clauses)
    assert "".join(c["text"] for c in clauses) == huge


def test_stdin_honours_max_bytes_per_line():
    lines = _doc_line("big", "到2025年达到5亿元。" * 500) + "\n" + _doc_line("small") + "\n"
    run = subprocess.run(
        [sys.executable, "-m", "policy_clauses.cli", "segment", "-", "-o", "-",
         "--max-bytes", "2000"], input=lines, capture_output=True, text=True, cwd=ROOT,
        check=False)
    assert run.returncode == 0, run.stderr
    assert [json.loads(line)["doc_id"] for line in run.stdout.splitlines()] == ["small"]
    assert '"source": "<stdin>:1"' in run.stderr and "over the" in run.stderr


def test_plain_text_on_stdin_gets_one_clear_message():
    run = subprocess.run(
        [sys.executable, "-m", "policy_clauses.cli", "segment", "-", "-o", "-"],
        input="第一条 为了规范科技成果转化活动。\n第二条 本办法适用于全市。\n",
        capture_output=True, text=True, cwd=ROOT, check=False)
    assert run.returncode == 1
    assert run.stderr.count("stdin takes JSONL (one document per line); pass a file path "
                            "for text") == 1
    assert "invalid JSON" not in run.stderr


# ----------------------------------------------------------------------------- 8: CSV


def test_csv_neutralises_formulas_and_jsonl_keeps_the_text(tmp_path):
    text = "=SUM(A1:A9)\n+1+2\n-3\n@SUM(A1)\n\t制表\n普通条款。"
    crawl = tmp_path / "crawl.jsonl"
    crawl.write_text(_doc_line("=cmd|' /C calc'!A0", text) + "\n", encoding="utf-8")
    run_documents([crawl], str(tmp_path / "out.csv"), None)
    run_documents([crawl], str(tmp_path / "out.jsonl"), None)
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["doc_id"] for row in rows} == {"'=cmd|' /C calc'!A0"}
    texts = [row["text"] for row in rows]
    assert texts[:4] == ["'=SUM(A1:A9)", "'+1+2", "'-3", "'@SUM(A1)"]
    assert "普通条款。" in texts
    (record,) = _records(tmp_path / "out.jsonl")
    assert record["doc_id"] == "=cmd|' /C calc'!A0"
    assert record["clauses"][0]["text"] == "=SUM(A1:A9)"


# ----------------------------------------------------------------------------- 11: messages


@pytest.mark.parametrize("argv, expected_code, words", [
    (["-o", "{tmp}"], 1, "is a directory"),
    (["-o", "{tmp}/o.jsonl", "--errors", "{tmp}/o.jsonl"], 1, "is the output file itself"),
    (["-o", "{tmp}/o.jsonl", "--threads", "-3"], 2, "--threads: must be at least 1"),
    (["-o", "{tmp}/o.jsonl", "--chunk-documents", "0"], 2,
     "--chunk-documents: must be at least 1"),
    (["-o", "{tmp}/o.jsonl", "--document-seconds", "-1"], 2, "--document-seconds: must be"),
])
def test_bad_options_get_one_line_and_no_traceback(tmp_path, capsys, argv, expected_code,
                                                   words):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if expected_code == 2:
        with pytest.raises(SystemExit) as stop:
            main(["predict", "--rules", str(EXAMPLES / "jiangxi_crawl.jsonl"), *argv])
        code = stop.value.code
    else:
        code = main(["predict", "--rules", str(EXAMPLES / "jiangxi_crawl.jsonl"), *argv])
    err = capsys.readouterr().err
    assert code == expected_code and words in err and "Traceback" not in err


def test_unexpected_errors_keep_their_traceback(tmp_path, capsys, monkeypatch):
    import inference.batch.run as run_module

    def broken(*args, **kwargs):
        raise ValueError("zip() argument 2 is shorter than argument 1")

    monkeypatch.setattr(run_module, "run_documents", broken)
    out = tmp_path / "o.jsonl"
    assert main(["segment", str(EXAMPLES), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "unexpected error: ValueError" in err and "rerun with -v" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    (crash,) = _records(tmp_path / "o.errors.jsonl")
    assert crash["stage"] == "crash" and "Traceback" in crash["traceback"]
    assert "def broken" in crash["traceback"] or "broken" in crash["traceback"]
    assert main(["-v", "segment", str(EXAMPLES), "-o", str(out)]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_a_title_that_is_a_list_or_a_number_keeps_the_document(tmp_path):
    crawl = tmp_path / "crawl.jsonl"
    crawl.write_text(_doc_line("a", title=["关于", "印发"]) + "\n" + _doc_line("b", title=2021)
                     + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    summary = run_documents([crawl], str(out), RuleScorer())
    assert summary.errors == 0
    assert [r["meta"]["title"] for r in _records(out)] == ["关于 印发", "2021"]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_read(tmp_path, encoding):
    path = tmp_path / "doc.txt"
    path.write_bytes(("Policy 2021\n" + GOOD_TEXT).encode(encoding))
    (document,) = read_inputs([path])
    assert not isinstance(document, ErrorRecord), document
    assert document.encoding == encoding and document.content.startswith("Policy 2021")


# ----------------------------------------------------------------------------- watching a run


def test_progress_has_a_total_and_an_eta_for_files(tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    run_documents([EXAMPLES], str(out), RuleScorer(), progress=True)
    err = capsys.readouterr().err
    assert "100%" in err and "<" in err and "docs" in err  # tqdm: [elapsed<remaining]


def test_quiet_silences_model_loading_bars_and_the_tokenizer_length_warning(tmp_path):
    import logging

    from transformers.utils import logging as hf_logging

    try:
        assert main(["-q", "predict", "--rules", str(EXAMPLES / "jiangxi_crawl.jsonl"), "-o",
                     str(tmp_path / "o.jsonl")]) == 0
        assert not hf_logging.is_progress_bar_enabled()
        tokenizer_log = logging.getLogger("transformers.tokenization_utils_base")
        assert not tokenizer_log.isEnabledFor(logging.WARNING)
    finally:
        hf_logging.enable_progress_bar()


def test_utf16_jsonl_gets_one_clear_error_not_one_per_line(tmp_path):
    path = tmp_path / "crawl.jsonl"
    path.write_bytes(("\n".join(_doc_line(f"d{i}") for i in range(5)) + "\n")
                     .encode("utf-16-le"))
    (error,) = read_inputs([path])
    assert isinstance(error, ErrorRecord) and "convert it to UTF-8" in error.reason


def test_an_error_record_quoting_a_lone_surrogate_is_still_written(tmp_path):
    from inference.batch.run import ErrorSink

    sink = ErrorSink(str(tmp_path / "errors.jsonl"))
    sink.write(ErrorRecord(source="x.jsonl:3", doc_id="\ud800", stage="write", reason="bad"))
    sink.close()
    (record,) = _records(tmp_path / "errors.jsonl")
    assert record["source"] == "x.jsonl:3" and record["doc_id"] == "\ud800"


def test_an_unwritable_output_is_one_line(tmp_path, capsys):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    assert main(["segment", str(EXAMPLES), "-o", str(tmp_path / "afile" / "out.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "cannot write" in err and "unexpected" not in err and "Traceback" not in err
