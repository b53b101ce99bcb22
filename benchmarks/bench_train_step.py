"""Training step cost (not a test): seconds per step of forward, loss, backward and AdamW for
each backbone, with float32 steps and with bf16 autocast steps (``train.precision``),
alternated in one process so the ratio is fair on a machine whose speed drifts.

    .venv/bin/python benchmarks/bench_train_step.py
    .venv/bin/python benchmarks/bench_train_step.py --backbone models/backbone/e5-small-trim \\
        models/backbone/e5-small-trim-l8 --rounds 3 --steps 6

The batches are real: 16 body clauses of labels/gold.jsonl each, tokenized as the backbone
does, cut at 128 tokens, in a fixed shuffled order and grouped by length as training groups
them. The head is a linear layer on the first token with a BCE loss over the five labels, which
is what the label head costs; the tag head adds one more small linear layer. The figures in
models/default/README.md ("Round 10") come from this script.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def length_grouped_batches(tokenizer: Any, texts: list[str], batch_size: int,
                           count: int) -> list[dict[str, Any]]:
    """``count`` padded batches of ``batch_size`` texts, each batch of similar lengths."""
    encoded = [tokenizer(t, truncation=True, max_length=128)["input_ids"] for t in texts]
    pool = sorted(encoded[:batch_size * count], key=len)
    batches = [pool[i:i + batch_size] for i in range(0, len(pool), batch_size)]
    random.Random(0).shuffle(batches)
    return [tokenizer.pad({"input_ids": b}, return_tensors="pt") for b in batches]


def time_steps(backbone: str, batches: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    import torch
    from transformers import AutoModel

    torch.manual_seed(0)
    model = AutoModel.from_pretrained(backbone)
    head = torch.nn.Linear(model.config.hidden_size, 5)
    optimizer = torch.optim.AdamW([*model.parameters(), *head.parameters()], lr=1e-5)
    model.train()

    def step(batch: dict[str, Any], precision: str) -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = head(model(**batch).last_hidden_state[:, 0])
        targets = torch.zeros_like(logits, dtype=torch.float32)
        torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), targets).backward()
        optimizer.step()

    seconds: dict[str, list[float]] = {"float32": [], "bf16": []}
    for _ in range(rounds):
        for precision in seconds:
            step(batches[0], precision)  # warm-up: first use of this precision's kernels
            started = time.perf_counter()
            for batch in batches:
                step(batch, precision)
            seconds[precision].append((time.perf_counter() - started) / len(batches))
    medians = {p: statistics.median(v) for p, v in seconds.items()}
    return {"backbone": backbone, "layers": model.config.num_hidden_layers,
            "tokens_per_batch": round(statistics.mean(int(b["attention_mask"].sum())
                                                      for b in batches), 1),
            "seconds_per_step": {p: round(v, 4) for p, v in medians.items()},
            "runs": {p: [round(x, 4) for x in v] for p, v in seconds.items()},
            "bf16_over_float32": round(medians["bf16"] / medians["float32"], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", nargs="+",
                        default=[str(ROOT / "models/backbone/e5-small-trim")],
                        help="backbone folders (default: the shipped 6-layer one)")
    parser.add_argument("--gold", default=str(ROOT / "labels" / "gold.jsonl"))
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=6, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternations of float32 and bf16 (the median is reported)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    import torch
    from bench_predict import cpu_info
    from transformers import AutoTokenizer

    from inference.gold import read_gold

    if args.threads:
        torch.set_num_threads(args.threads)
    records = [r for r in read_gold(Path(args.gold)) if r.kind == "body"]
    random.Random(0).shuffle(records)
    texts = [r.text for r in records]
    results = []
    for backbone in args.backbone:
        tokenizer = AutoTokenizer.from_pretrained(backbone)
        batches = length_grouped_batches(tokenizer, texts, args.batch_size, args.steps)
        results.append(time_steps(backbone, batches, args.rounds))
        print(json.dumps(results[-1]), flush=True)
    print(json.dumps({"cpu": cpu_info(), "threads": torch.get_num_threads(),
                      "batch_size": args.batch_size, "results": results}, indent=1))


if __name__ == "__main__":
    main()
