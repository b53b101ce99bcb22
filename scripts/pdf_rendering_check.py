"""How well the layout step undoes PDF wrapping, on documents nobody segmented by hand.

    .venv/bin/python scripts/pdf_rendering_check.py --source gold --limit 400
    .venv/bin/python scripts/pdf_rendering_check.py --source corpus --limit 400 --show

Each one-paragraph-a-line document is typeset as PDF text and segmented again; its clauses on
the lines text are the reference (the segmenter is good there: labels/segmentation's `lines`
layout scores 0.994), so a difference is what wrapping costs. Unlike `labels segmentation`'s
fixed synthetic rendering (34 columns, two spaces, `—N—`), each document draws its own setting
(seeded by its id): 28-40 cells a line, a paragraph's first line two cells short for its indent,
the indent kept as two spaces, two full-width spaces, four spaces or nothing, wrapping by
display width (Latin letters and digits half a cell) or, for three documents in ten, by
characters, and a page-number line every 24-36 lines in one of four styles (`—N—`, `- N -`,
`第 N 页 共 M 页`, a bare number).

``--source gold`` takes the train and dev documents of labels/documents.jsonl; ``corpus`` takes
../shared/data/corpus less the gold documents, the test split and every segmentation
reference. A rendering the reference's clauses cannot be found in is skipped. Prints clause F1,
boundary F1 and kind accuracy over all documents (micro), and with ``--show`` each document's
differences. Not a test: it measures the layout step on hundreds of documents at once.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.eval.segment_eval import (  # noqa: E402
    compare,
    micro_totals,
    parse_reference,
    segment_like_pipeline,
    without_page_numbers,
)

LABELS = ROOT / "labels"
CORPUS = ROOT.parent / "shared" / "data" / "corpus"
PAGE_STYLES: list[Callable[[int, int], str]] = [
    lambda n, m: f"—{n}—", lambda n, m: f"- {n} -", lambda n, m: f"第 {n} 页 共 {m} 页",
    lambda n, m: f"{n}"]
INDENTS = ["", "  ", "\u3000\u3000", "    "]


def cells(ch: str) -> float:
    return 0.5 if ord(ch) < 0x2000 else 1.0


def typeset(paragraph: str, columns: int, by_chars: bool) -> list[str]:
    """``paragraph`` in lines of ``columns`` cells (or characters), the first two short."""
    if by_chars:
        padded = "\0\0" + paragraph  # the indent's two cells
        chunks = [padded[i:i + columns] for i in range(0, len(padded), columns)]
        return [chunk.lstrip("\0") for chunk in chunks if chunk.lstrip("\0")]
    lines: list[str] = []
    current: list[str] = []
    used, limit = 0.0, columns - 2.0
    for ch in paragraph:
        if used + cells(ch) > limit and current:
            lines.append("".join(current))
            current, used, limit = [], 0.0, float(columns)
        current.append(ch)
        used += cells(ch)
    if current:
        lines.append("".join(current))
    return lines


def render(text: str, rng: random.Random) -> str:
    """``text`` (one paragraph a line) as PDF-extracted text, with settings drawn from ``rng``."""
    columns, indent = rng.randint(28, 40), rng.choice(INDENTS)
    page_lines, page = rng.randint(24, 36), rng.choice(PAGE_STYLES)
    by_chars = rng.random() < 0.3
    wrapped: list[str] = []
    for paragraph in (line.strip() for line in text.split("\n")):
        if paragraph:
            lines = typeset(paragraph, columns, by_chars)
            wrapped += [indent + lines[0], *lines[1:]]
    pages = len(wrapped) // page_lines + 1
    out: list[str] = []
    for number, line in enumerate(wrapped, 1):
        out.append(line)
        if number % page_lines == 0:
            out.append(page(number // page_lines, pages))
    return "\n".join(out)


def documents(source: str, corpus: Path) -> Iterator[tuple[str, str]]:
    splits = json.loads((LABELS / "splits.json").read_text(encoding="utf-8"))["splits"]
    gold = [json.loads(line) for line in
            (LABELS / "documents.jsonl").read_text(encoding="utf-8").splitlines()]
    if source == "gold":
        wanted = set(splits["train"]) | set(splits["dev"])
        yield from ((d["id"], d["text"]) for d in gold if d["id"] in wanted)
        return
    excluded = set(splits["test"]) | {d["id"] for d in gold}
    for reference in LABELS.glob("segmentation*"):
        excluded |= {path.stem for path in (reference / "gold").glob("*.txt")}
    for path in sorted(corpus.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["id"] not in excluded:
                yield record["id"], record["text"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", choices=("gold", "corpus"), default="gold")
    parser.add_argument("--corpus", type=Path, default=CORPUS,
                        help="corpus folder for --source corpus (default ../shared/data/corpus)")
    parser.add_argument("--limit", type=int, default=400,
                        help="at most this many documents rendered (default 400)")
    parser.add_argument("--show", action="store_true", help="print each document's differences")
    args = parser.parse_args()
    per_doc: dict[str, dict[str, int]] = {}
    layouts: Counter[str] = Counter()
    for doc, text in documents(args.source, args.corpus):
        if len(per_doc) >= args.limit:
            break
        spans, layout = segment_like_pipeline(text)
        if layout != "lines":
            continue
        rendered = render(without_page_numbers(text), random.Random(doc))
        try:
            reference = parse_reference([f"{s.kind}\t{text[s.start:s.end]}" for s in spans],
                                        rendered, Path(doc))
        except ValueError:
            continue
        predicted, found = segment_like_pipeline(rendered)
        per_doc[doc] = compare(reference, predicted)
        layouts[found] += 1
        if args.show:
            wanted = {(s.start, s.end) for s in reference}
            got = {(s.start, s.end) for s in predicted}
            if wanted != got:
                print(f"=== {doc} ({found})")
                for start, end in sorted(wanted - got):
                    print("  reference", rendered[start:end][:100].replace("\n", "⏎"))
                for start, end in sorted(got - wanted):
                    print("  segmenter", rendered[start:end][:100].replace("\n", "⏎"))
    if not per_doc:
        raise SystemExit("no document rendered")
    totals = micro_totals(per_doc)
    print(f"{args.source}: {totals['documents']} documents, {totals['clauses']} clauses; "
          f"clause F1 {totals['clause']['f1']:.4f}, boundary F1 {totals['boundary']['f1']:.4f} "
          f"(P {totals['boundary']['precision']:.4f} / R {totals['boundary']['recall']:.4f}), "
          f"kind accuracy {totals['kind_accuracy']:.4f}; layout found: {dict(layouts)}")


if __name__ == "__main__":
    main()
