"""Show that a refactor left behaviour unchanged: run ``predict`` from two git revisions on the
same inputs and compare the outputs byte for byte.

    python scripts/compare_predict.py OLD_REV [NEW_REV] [--corpus-docs 50] [--rules-only]

NEW_REV defaults to the working tree. Inputs: examples/ (of the working tree) and the first
``--corpus-docs`` documents taken round-robin from ../shared/data/corpus/*.jsonl. Each
revision runs in a temporary ``git worktree`` with its own code on PYTHONPATH and the
models/default of that revision; both use this interpreter. Runs the rule baseline and the
shipped model (``--rules-only`` skips the model). Exit 0 when every output is identical.
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "corpus"


def corpus_sample(count: int, out: Path) -> Path:
    """The first ``count`` documents taken round-robin over the corpus files (stable)."""
    handles = [path.open(encoding="utf-8") for path in sorted(CORPUS.glob("*.jsonl"))]
    if not handles:
        raise SystemExit(f"compare_predict: no corpus under {CORPUS}")
    lines = []
    for line in itertools.chain.from_iterable(itertools.zip_longest(*handles)):
        if line is not None and line.strip():
            lines.append(line if line.endswith("\n") else line + "\n")
        if len(lines) == count:
            break
    out.write_text("".join(lines), encoding="utf-8")
    return out


def checkout(rev: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(where), rev],
                   check=True)
    return where


def cli_module(tree: Path) -> str:
    new_layout = (tree / "policy_clauses" / "cli.py").exists()
    return "policy_clauses.cli" if new_layout else "inference.cli"


def run_predict(tree: Path, inputs: list[Path], out: Path, extra: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-m", cli_module(tree), "-q", "predict", *map(str, inputs),
               "-o", str(out), "--no-progress", *extra]
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"compare_predict: {' '.join(command)} failed in {tree}:\n"
                         f"{done.stderr[-2000:]}")


def first_difference(old: Path, new: Path) -> str:
    old_lines = old.read_text(encoding="utf-8").splitlines()
    new_lines = new.read_text(encoding="utf-8").splitlines()
    for number, (a, b) in enumerate(zip(old_lines, new_lines, strict=False), start=1):
        if a != b:
            a_doc, b_doc = json.loads(a), json.loads(b)
            keys = sorted(k for k in set(a_doc) | set(b_doc) if a_doc.get(k) != b_doc.get(k))
            diff = "\n".join(itertools.islice(difflib.unified_diff(
                json.dumps(a_doc, ensure_ascii=False, indent=1).splitlines(),
                json.dumps(b_doc, ensure_ascii=False, indent=1).splitlines(), lineterm=""), 40))
            return f"line {number}: fields {keys} differ\n{diff}"
    return f"{len(old_lines)} vs {len(new_lines)} lines"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old_rev")
    parser.add_argument("new_rev", nargs="?", default=None,
                        help="default: the working tree as it is")
    parser.add_argument("--corpus-docs", type=int, default=50)
    parser.add_argument("--rules-only", action="store_true")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="compare_predict_"))
    trees: list[Path] = []
    try:
        inputs = [ROOT / "examples", corpus_sample(args.corpus_docs, scratch / "corpus.jsonl")]
        old_tree = checkout(args.old_rev, scratch / "old")
        trees.append(old_tree)
        new_tree = ROOT
        if args.new_rev:
            new_tree = checkout(args.new_rev, scratch / "new")
            trees.append(new_tree)
        modes = {"rules": ["--rules"]}
        if not args.rules_only:
            modes["model"] = ["--model", "models/default"]
        same = True
        for name, extra in modes.items():
            outputs = []
            for label, tree in (("old", old_tree), ("new", new_tree)):
                out = scratch / f"{name}-{label}.jsonl"
                run_predict(tree, inputs, out, extra)
                outputs.append(out)
            if outputs[0].read_bytes() == outputs[1].read_bytes():
                size = outputs[0].stat().st_size
                print(f"{name}: identical ({size:,} bytes)")
            else:
                same = False
                print(f"{name}: DIFFERENT: {first_difference(*outputs)}")
        return 0 if same else 1
    finally:
        for tree in trees:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           check=False)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
