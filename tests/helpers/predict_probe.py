"""Which modules a fresh ``policy-clauses predict`` process imports: the check that start-up
stays lean, run in a subprocess so the test process's own imports do not count."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = "一、总体要求\n到2025年，全市技术合同成交额达到5亿元。\n"


def modules_imported_by_predict(model: Path, workdir: Path, watched: Sequence[str],
                                extra_args: Sequence[str] = ()) -> list[str]:
    """Predict one small .txt document with ``model`` in a new process; check it exits 0 and
    writes one record, and return which of ``watched`` it imported."""
    doc = workdir / "doc.txt"
    doc.write_text(DOCUMENT, encoding="utf-8")
    out = workdir / "out.jsonl"
    args = ["-q", "predict", str(doc), "-o", str(out), "--model", str(model),
            *extra_args, "--no-progress"]
    probe = ("import json, sys\n"
             "from policy_clauses.cli import main\n"
             f"code = main({args!r})\n"
             f"print(json.dumps([code, sorted(m for m in {list(watched)!r}"
             " if m in sys.modules)]))\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    code, imported = json.loads(result.stdout.strip().splitlines()[-1])
    assert code == 0
    assert out.read_text(encoding="utf-8").count("\n") == 1
    return imported
