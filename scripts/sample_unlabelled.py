"""Unlabelled documents for distillation: a fixed, per-corpus sample of the shared corpus.

    python scripts/sample_unlabelled.py ../shared/data/corpus/*.jsonl \
        -o out/distill/unlabelled.jsonl
    policy-clauses labels weak out/distill/unlabelled.jsonl -o out/distill/teacher.jsonl \
        --model models/default --fast bf16

Leaves out every document of the gold data (labels/documents.jsonl: dev and test documents
must stay unseen, and on train documents the gold wins) and of the hand-segmented references
(labels/segmentation*/sources.jsonl), then takes each corpus file's documents in sha256-of-id
order until a character budget is spent, so that a large corpus (MEE notices, city work
reports) does not drown the small ones. Documents longer than ``--max-chars`` are skipped: a
whole statute book would fill a corpus's budget alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from training.data.gold import jsonl_ids, reference_document_ids
from training.fit.data import document_order_key

ROOT = Path(__file__).resolve().parent.parent


def excluded_ids(root: Path = ROOT) -> set[str]:
    """Ids of the gold documents and of every hand-segmented reference document."""
    return jsonl_ids(root / "labels" / "documents.jsonl") | reference_document_ids(root)


def sample(paths: list[Path], budget: int, max_chars: int, exclude: set[str]
           ) -> tuple[list[dict], dict[str, tuple[int, int]]]:
    """The sampled documents and, per file, (documents, characters) taken."""
    taken: list[dict] = []
    report: dict[str, tuple[int, int]] = {}
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            documents = [json.loads(line) for line in handle if line.strip()]
        candidates = sorted((d for d in documents
                             if d.get("id") not in exclude and len(d.get("text", "")) <= max_chars),
                            key=lambda d: document_order_key(str(d["id"])))
        used = count = 0
        for document in candidates:
            if used >= budget:
                break
            taken.append(document)
            used += len(document["text"])
            count += 1
        report[path.name] = (count, used)
    return taken, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="corpus JSONL files")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--budget", type=int, default=400_000,
                        help="characters per corpus file (default 400,000)")
    parser.add_argument("--max-chars", type=int, default=60_000,
                        help="skip documents longer than this (default 60,000)")
    args = parser.parse_args(argv)
    documents, report = sample(args.paths, args.budget, args.max_chars, excluded_ids())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", encoding="utf-8") as handle:
        for document in documents:
            handle.write(json.dumps(document, ensure_ascii=False) + "\n")
    for name, (count, chars) in report.items():
        print(f"{name}: {count} documents, {chars:,} characters", file=sys.stderr)
    print(f"wrote {len(documents)} documents to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
