"""Clause segmentation scored against a hand-segmented reference (GUIDELINES §1).

The gold clauses in labels/gold.jsonl are the segmenter's own output (train and serve must
agree), so they cannot measure the segmenter. labels/segmentation/ holds documents segmented
by hand instead: ``texts/DOC.txt`` is the cleaned text as the annotator saw it, and
``gold/DOC.txt`` one clause per line as ``KIND<TAB>CLAUSE`` (KIND ``heading``, ``body``,
``head`` or ``tail``), each clause copied from the text, in order. A clause that a page-layout
line break runs through is written joined (GUIDELINES §1, R1): it is found in the text with
whitespace ignored and page-number lines skipped. ``sources.jsonl`` says each document's
``layout`` (``lines``, ``wrapped``, ``flat``); scores are reported per layout.

Every reference document is also rendered twice, with the same reference clauses: as PDF text
(wrapped at 34 characters, paragraphs indented by two spaces, a page-number line ``—N—`` every
30 lines) and flattened (every line break removed). They are reported as the layouts
``wrapped (synthetic)`` and ``flat (synthetic)``.

Two scores, micro-averaged over documents:

* **boundary F1**: over the set of clause boundaries, a boundary being the character offset
  where a clause ends (whitespace and punctuation-only gaps between clauses do not move it);
* **clause F1**: over whole clauses, a clause counting only when both its ends match.

Kind accuracy (heading, body, head, tail) is reported over the clauses that match. The segmenter
runs as in the pipeline: clean, layout, segment, with its clauses mapped back to the text.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.data import gold as data
from training.eval.metrics import prf

SEGMENTATION_DIR = data.LABELS_DIR / "segmentation"
KINDS = ("heading", "body", "head", "tail")
LAYOUTS = ("lines", "wrapped", "flat")
SYNTHETIC_WIDTH = 34
SYNTHETIC_PAGE_LINES = 30


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str


class _Compact:
    """The non-whitespace characters of a text with their offsets, optionally without the
    page-number lines (a reference clause that runs across a page break skips them)."""

    def __init__(self, text: str, skip_page_lines: bool) -> None:
        from inference.text.layout import is_page_number

        chars: list[str] = []
        self.offsets: list[int] = []
        line_start = 0
        for line in text.split("\n"):
            stripped = line.strip()
            if not (skip_page_lines and is_page_number(stripped, bare=True)):
                for index, ch in enumerate(line):
                    if not ch.isspace():
                        chars.append(ch)
                        self.offsets.append(line_start + index)
            line_start += len(line) + 1
        self.text = "".join(chars)

    def find(self, clause: str, cursor: int) -> tuple[int, int] | None:
        """Span in the original text of ``clause`` found at or after original offset ``cursor``."""
        import bisect

        needle = "".join(clause.split())
        position = self.text.find(needle, bisect.bisect_left(self.offsets, cursor))
        if position < 0 or not needle:
            return None
        return self.offsets[position], self.offsets[position + len(needle) - 1] + 1


def read_reference(gold_file: Path, text: str) -> list[Span]:
    """The hand-made clauses of one document as spans of ``text``; a line that is not found
    in order is an error naming the file and the line."""
    return parse_reference(gold_file.read_text(encoding="utf-8").splitlines(), text, gold_file)


def parse_reference(lines: list[str], text: str, gold_file: Path) -> list[Span]:
    """``read_reference`` of the lines of ``gold_file`` against ``text``."""
    spans: list[Span] = []
    cursor = 0
    compact: list[_Compact] = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        kind, sep, clause = line.partition("\t")
        if not sep or kind not in KINDS or not clause.strip():
            raise ValueError(f"{gold_file}:{lineno}: expected '{'|'.join(KINDS)}<TAB>clause text'")
        clause = clause.strip()
        start = text.find(clause, cursor)
        candidates = [(start, start + len(clause))] if start >= 0 else []
        if start < 0 or "\n" in text[cursor:start]:
            # The clause may run across a line break or a page-number line before that:
            # the earliest way to find it wins (the same sentence can come back later).
            if not compact:
                compact = [_Compact(text, False), _Compact(text, True)]
            candidates += [span for c in compact if (span := c.find(clause, cursor))]
        found = min(candidates) if candidates else None
        if found is None:
            raise ValueError(f"{gold_file}:{lineno}: clause not found in the text after "
                             f"offset {cursor}: {clause[:40]!r}")
        spans.append(Span(found[0], found[1], kind))
        cursor = found[1]
    return spans


def segment_like_pipeline(text: str) -> tuple[list[Span], str]:
    """The pipeline's clauses of ``text`` (clean, layout, segment) as spans of ``text``, and
    the layout it found."""
    from inference.text.pipeline import segment_text

    spans, layout = segment_text(text)
    return [Span(start, end, kind) for start, end, kind in spans], layout


def predicted_spans(text: str) -> list[Span]:
    return segment_like_pipeline(text)[0]


def render_pdf(text: str, width: int = SYNTHETIC_WIDTH,
               page_lines: int = SYNTHETIC_PAGE_LINES) -> str:
    """``text`` as PDF-extracted text: each paragraph indented two spaces and hard-wrapped at
    ``width`` characters, a page-number line ``—N—`` after every ``page_lines`` lines."""
    wrapped: list[str] = []
    for paragraph in (line.strip() for line in text.split("\n")):
        if not paragraph:
            continue
        rendered = "  " + paragraph
        wrapped += [rendered[i:i + width] for i in range(0, len(rendered), width)]
    out: list[str] = []
    for index, line in enumerate(wrapped, 1):
        out.append(line)
        if index % page_lines == 0:
            out.append(f"—{index // page_lines}—")
    return "\n".join(out)


def without_page_numbers(text: str) -> str:
    """``text`` less its page-number lines (a rendering starts from the document's words)."""
    from inference.text.layout import is_page_number

    return "\n".join(line for line in text.split("\n") if not is_page_number(line, bare=True))


def render_flat(text: str) -> str:
    """``text`` with every line break removed."""
    return "".join(line.strip() for line in text.split("\n"))


def _prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    return prf(tp, n_pred - tp, n_gold - tp).to_dict()


def load_document(folder: Path, doc: str) -> tuple[str, list[Span], list[Span]]:
    """Text, reference spans and the segmenter's spans of one hand-segmented document."""
    gold_file = folder / "gold" / f"{doc}.txt"
    text_file = folder / "texts" / f"{doc}.txt"
    if not text_file.is_file():
        raise FileNotFoundError(f"{gold_file}: no text {text_file} to score it against")
    text = text_file.read_text(encoding="utf-8")
    return text, read_reference(gold_file, text), predicted_spans(text)


def document_layouts(folder: Path) -> dict[str, str]:
    """{document: layout} from ``sources.jsonl`` (documents without one are left out)."""
    import json

    layouts: dict[str, str] = {}
    sources = folder / "sources.jsonl"
    if sources.is_file():
        for lineno, line in enumerate(sources.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{sources}:{lineno}: not JSON ({error.msg})") from None
            if row.get("layout"):
                if row["layout"] not in LAYOUTS:
                    raise ValueError(f"{sources}:{lineno}: layout {row['layout']!r} is not one "
                                     f"of {', '.join(LAYOUTS)}")
                layouts[row["id"]] = row["layout"]
    return layouts


def compare(gold: list[Span], predicted: list[Span]) -> dict[str, Any]:
    """Counts for one document (add them up across documents for micro scores)."""
    gold_ends, pred_ends = {s.end for s in gold}, {s.end for s in predicted}
    gold_by_span = {(s.start, s.end): s.kind for s in gold}
    matched = [(gold_by_span[(s.start, s.end)], s.kind) for s in predicted
               if (s.start, s.end) in gold_by_span]
    return {"gold": len(gold), "predicted": len(predicted),
            "boundary_tp": len(gold_ends & pred_ends), "gold_boundaries": len(gold_ends),
            "predicted_boundaries": len(pred_ends), "clause_tp": len(matched),
            "kind_correct": sum(g == p for g, p in matched)}


def micro_totals(per_doc: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Boundary and clause P/R/F1 and kind accuracy over ``compare``'s per-document counts,
    micro-averaged (summed counts)."""
    total = {key: sum(doc[key] for doc in per_doc.values())
             for key in next(iter(per_doc.values()))}
    return {
        "documents": len(per_doc),
        "clauses": total["gold"],
        "boundary": _prf(total["boundary_tp"], total["predicted_boundaries"],
                         total["gold_boundaries"]),
        "clause": _prf(total["clause_tp"], total["predicted"], total["gold"]),
        "kind_accuracy": round(total["kind_correct"] / max(1, total["clause_tp"]), 4),
    }


def score_directory(folder: Path = SEGMENTATION_DIR, synthetic: bool = True) -> dict[str, Any]:
    """Per-document counts and micro boundary / clause F1 over every ``gold/*.txt``, overall
    (real documents) and per layout (``by_layout``; with ``synthetic`` the PDF and flattened
    renderings too, and ``wrapped (all)`` / ``flat (all)`` real and synthetic together)."""
    layouts = document_layouts(folder)
    per_doc: dict[str, dict[str, Any]] = {}
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for gold_file in sorted((folder / "gold").glob("*.txt")):
        doc = gold_file.stem
        text, gold, predicted_real = load_document(folder, doc)
        per_doc[doc] = compare(gold, predicted_real)
        found_layout = segment_like_pipeline(text)[1]
        per_doc[doc]["layout"] = layouts.get(doc, found_layout)
        groups.setdefault(per_doc[doc]["layout"], {})[doc] = dict(per_doc[doc])
        if not synthetic:
            continue
        lines = gold_file.read_text(encoding="utf-8").splitlines()
        renderings = [("flat (synthetic)", render_flat)]
        if per_doc[doc]["layout"] != "wrapped":
            renderings.insert(0, ("wrapped (synthetic)", render_pdf))
        for name, render in renderings:
            rendered = render(without_page_numbers(text))
            reference = parse_reference(lines, rendered, gold_file)
            groups.setdefault(name, {})[doc] = compare(reference, predicted_spans(rendered))
    if not per_doc:
        raise FileNotFoundError(f"no hand-segmented documents in {folder / 'gold'}")
    for layout in ("wrapped", "flat"):
        both = {f"{group}:{doc}": counts for group in (layout, f"{layout} (synthetic)")
                for doc, counts in groups.get(group, {}).items()}
        if both and f"{layout} (synthetic)" in groups:
            groups[f"{layout} (all)"] = both
    for counts in per_doc.values():
        counts.pop("layout")
    for group in groups.values():
        for counts in group.values():
            counts.pop("layout", None)
    result = micro_totals(per_doc)
    result["by_layout"] = {name: micro_totals(group) for name, group in sorted(groups.items())}
    result["per_document"] = {doc: {
        "layout": groups_of(groups, doc),
        "boundary_f1": _prf(c["boundary_tp"], c["predicted_boundaries"],
                            c["gold_boundaries"])["f1"],
        "clause_f1": _prf(c["clause_tp"], c["predicted"], c["gold"])["f1"],
        "gold": c["gold"], "predicted": c["predicted"]} for doc, c in per_doc.items()}
    return result


def groups_of(groups: dict[str, dict[str, Any]], doc: str) -> str:
    """The real layout group a document was scored in."""
    return next((name for name in LAYOUTS if doc in groups.get(name, {})), "")


def differences(folder: Path, doc: str, limit: int = 20) -> list[str]:
    """Clauses of one document that only the reference or only the segmenter has."""
    text, gold_spans, predicted = load_document(folder, doc)
    gold = {(s.start, s.end) for s in gold_spans}
    pred = {(s.start, s.end) for s in predicted}
    rows = [f"reference only: {text[a:b]}" for a, b in sorted(gold - pred)]
    rows += [f"segmenter only: {text[a:b]}" for a, b in sorted(pred - gold)]
    return rows[:limit]


def cmd_segmentation(args: argparse.Namespace) -> int:
    import json

    result = score_directory(Path(args.dir))
    print(f"segmentation vs hand reference: {result['documents']} documents, "
          f"{result['clauses']} clauses; boundary F1 {result['boundary']['f1']:.3f} "
          f"(P {result['boundary']['precision']:.3f} / R {result['boundary']['recall']:.3f}), "
          f"clause F1 {result['clause']['f1']:.3f}, kind accuracy {result['kind_accuracy']:.3f}")
    for name, row in result["by_layout"].items():
        print(f"  layout {name}: {row['documents']} documents, {row['clauses']} clauses; "
              f"boundary F1 {row['boundary']['f1']:.3f}, clause F1 {row['clause']['f1']:.3f}, "
              f"kind accuracy {row['kind_accuracy']:.3f}")
    for doc, row in result["per_document"].items():
        print(f"  {doc} ({row['layout']}): boundary F1 {row['boundary_f1']:.3f}, "
              f"clause F1 {row['clause_f1']:.3f} "
              f"({row['gold']} reference / {row['predicted']} predicted clauses)")
        if args.show:
            for line in differences(Path(args.dir), doc):
                print(f"    {line}")
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


def add_cli(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "segmentation", help="score the segmenter against the hand-segmented documents",
        description="Boundary F1 and clause F1 of the segmenter against labels/segmentation "
        "(documents segmented by hand to GUIDELINES §1).")
    parser.add_argument("--dir", default=str(SEGMENTATION_DIR),
                        help="folder with texts/ and gold/ (default labels/segmentation)")
    parser.add_argument("--show", action="store_true", help="print the clauses that differ")
    parser.add_argument("--json", action="store_true", help="also print the scores as JSON")
    parser.set_defaults(func=cmd_segmentation)
