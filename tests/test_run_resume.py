"""Resume and Ctrl-C for real: a subprocess run is killed (SIGKILL) or interrupted (SIGINT)
mid-run, resumed, and its output compared with an uninterrupted run's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inference.batch.run import run_documents
from inference.scoring.models import load_scorer
from tests.conftest import ROOT

N_DOCS = 2500


def _write_crawl(path: Path, n: int = N_DOCS) -> Path:
    lines = []
    for i in range(n):
        if i % 97 == 13:
            lines.append("{oops")  # an ingest error: must appear once in the errors file
            continue
        text = (f"一、主要目标\n到2025年，全市技术合同成交额达到{i}亿元。\n"
                f"二、保障措施\n由市科技局负责第{i}项工作，给予最高{i % 50}万元奖励。")
        lines.append(json.dumps({"id": f"d{i}", "text": text}, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "policy_clauses.cli", "predict", *args]


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _wait_for_lines(path: Path, at_least: int, process: subprocess.Popen, limit: float = 60):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size and len(_lines(path)) >= at_least:
            return
        if process.poll() is not None:
            pytest.fail(f"the run ended before it could be stopped: {process.stderr.read()}")
        time.sleep(0.02)
    pytest.fail("the run wrote nothing in time")


@pytest.fixture(scope="module")
def crawl(tmp_path_factory) -> Path:
    return _write_crawl(tmp_path_factory.mktemp("crawl") / "crawl.jsonl")


@pytest.fixture(scope="module")
def reference(crawl, tmp_path_factory) -> dict[str, list[str]]:
    """The uninterrupted run, in both resumable formats (rules: no model needed)."""
    out = tmp_path_factory.mktemp("ref")
    result = {}
    for fmt in ("jsonl", "csv"):
        path = out / f"ref.{fmt}"
        summary = run_documents([crawl], str(path), load_scorer(rules=True), chunk_documents=20)
        assert summary.errors == len([i for i in range(N_DOCS) if i % 97 == 13])
        result[fmt] = _lines(path)
        result[f"{fmt}.errors"] = _lines(out / "ref.errors.jsonl")
    return result


def test_sigkill_at_a_random_point_then_resume_gives_the_uninterrupted_output(
        crawl, reference, tmp_path):
    out = tmp_path / "pred.jsonl"
    args = _cli(str(crawl), "-o", str(out), "--rules", "--chunk-documents", "20")
    process = subprocess.Popen(args, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    _wait_for_lines(out, 60 + int.from_bytes(os.urandom(1), "little") // 2, process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    killed_at = len(_lines(out))
    assert 0 < killed_at < len(reference["jsonl"])
    # a torn last line, as a kill in the middle of a write leaves
    with out.open("a", encoding="utf-8") as handle:
        handle.write('{"doc_id": "d99999", "source": "half a rec')
    with (tmp_path / "pred.errors.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"source": "tor')

    resumed = subprocess.run([*args, "--resume"], cwd=ROOT, capture_output=True, text=True,
                             check=False, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed after" in resumed.stderr
    assert _lines(out) == reference["jsonl"]  # same records, same order: none lost, none twice
    assert _lines(tmp_path / "pred.errors.jsonl") == reference["jsonl.errors"]

    again = subprocess.run([*args, "--resume"], cwd=ROOT, capture_output=True, text=True,
                           check=False, timeout=60)
    assert again.returncode == 0 and _lines(out) == reference["jsonl"]  # complete: a no-op


def test_sigint_finishes_the_chunk_exits_cleanly_and_resumes(crawl, reference, tmp_path):
    out = tmp_path / "pred.csv"
    args = _cli(str(crawl), "-o", str(out), "--rules", "--chunk-documents", "20")
    process = subprocess.Popen(args, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    _wait_for_lines(out, 100, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "--resume" in stderr
    assert "Traceback" not in stderr
    partial = _lines(out)
    assert 1 < len(partial) < len(reference["csv"])
    assert partial == reference["csv"][:len(partial)]  # whole rows only, in order

    resumed = subprocess.run([*args, "--resume"], cwd=ROOT, capture_output=True, text=True,
                             check=False, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert _lines(out) == reference["csv"]
    assert _lines(tmp_path / "pred.errors.jsonl") == reference["csv.errors"]


def test_resume_refuses_other_inputs_and_unresumable_outputs(crawl, tmp_path):
    from policy_clauses.cli import main

    out = tmp_path / "o.jsonl"
    other = _write_crawl(tmp_path / "other.jsonl", 30)
    assert main(["predict", str(other), "-o", str(out), "--rules"]) == 0
    assert main(["predict", str(crawl), "-o", str(out), "--rules", "--resume"]) == 1
    assert main(["predict", str(other), "-o", str(tmp_path / "o.parquet"), "--rules",
                 "--resume"]) == 1
    # an output without a progress file cannot be resumed safely
    (tmp_path / "o.jsonl.progress.json").unlink()
    assert main(["predict", str(other), "-o", str(out), "--rules", "--resume"]) == 1
    # nothing there yet: --resume starts fresh (a nightly job can always pass it)
    fresh = tmp_path / "fresh.jsonl"
    assert main(["predict", str(other), "-o", str(fresh), "--rules", "--resume"]) == 0
    assert len(_lines(fresh)) == 30 - 1
