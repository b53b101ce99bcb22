"""Scoring alone, in this process (not a test): clauses/s and the minor page faults of one
``--fast`` path over gold clauses, with and without the allocator settings ``predict`` uses.

    .venv/bin/python benchmarks/bench_scoring.py --fast int8 --clauses 1300
    .venv/bin/python benchmarks/bench_scoring.py --fast int8 --default-allocator

Where ``bench_predict.py`` times the whole pipeline against the plain loop, this isolates the
scorer (``load_scorer`` + ``predict`` on body clauses of labels/gold.jsonl in a fixed shuffled
order), which is what the allocator and batch-size figures in benchmarks/README.md ("Round 9")
come from. Run each setting in its own process: glibc's settings cannot be undone in one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def gold_clauses(path: Path, count: int, seed: int = 0) -> list[tuple[str, str]]:
    """(text, section) of ``count`` body clauses of the gold file, in a fixed shuffled order."""
    from inference.gold import read_gold

    records = read_gold(path)
    random.Random(seed).shuffle(records)
    return [(r.text, r.section) for r in records if r.kind == "body"][:count]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "models" / "default"),
                        help="model folder (default models/default)")
    parser.add_argument("--fast", default="auto",
                        help="predict's --fast mode: auto, none, bf16, int8 or onnx (default auto)")
    parser.add_argument("--clauses", type=int, default=1300,
                        help="body clauses of the gold file to score (default 1300)")
    parser.add_argument("--gold", default=str(ROOT / "labels" / "gold.jsonl"),
                        help="gold clause records (default labels/gold.jsonl)")
    parser.add_argument("--default-allocator", action="store_true",
                        help="leave glibc's malloc settings as they are (predict sets them)")
    args = parser.parse_args()
    # every clause encoded: the rate is the model's work, not the repeat memory's
    os.environ["POLICY_CLAUSES_REPEAT_MEMORY"] = "0"

    from bench_predict import cpu_info

    from inference.scoring.components import ClauseInput
    from inference.scoring.models import load_scorer
    from inference.scoring.runtime import configure_allocator, configure_threads

    threads = configure_threads()
    tuned = False if args.default_allocator else configure_allocator()
    inputs = [ClauseInput(text=t, section=s)
              for t, s in gold_clauses(Path(args.gold), args.clauses)]
    scorer = load_scorer(args.model, fast=args.fast)
    scorer.predict(inputs[:64])  # warm-up: first-use costs are no part of the rate
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    started, cpu = time.perf_counter(), time.process_time()
    scorer.predict(inputs)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    print(json.dumps({"cpu": cpu_info(), "threads": threads, "scorer": scorer.name,
                      "allocator_tuned": tuned, "clauses": len(inputs),
                      "clauses_per_s": round(len(inputs) / seconds, 1),
                      "cpu_seconds": round(cpu, 2), "minor_page_faults": faults},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
