"""``policy-clauses card | report``: what predictions mean per document and per corpus.

card:   predict output → one policy card per document (JSONL), optionally an HTML page each;
report: predict outputs → one corpus page (tables, SVG plots) and a CSV per table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def cmd_card(args: argparse.Namespace) -> int:
    from inference.analysis.card import build_card
    from inference.analysis.card_html import write_card_pages
    from inference.analysis.corpus_report import CorpusTotals, read_records
    from inference.errors import UserError

    for path in args.paths:
        if not Path(path).is_file():
            raise UserError(f"{path}: no such file (card reads predict output JSONL)")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    problems = CorpusTotals()
    count = incomplete = 0
    html_dir = Path(args.html) if args.html else None
    page_names: set[str] = set()
    with open(out, "w", encoding="utf-8") as handle:
        for record in read_records(args.paths, problems):
            card = build_card(record)
            handle.write(json.dumps(card, ensure_ascii=False) + "\n")
            count += 1
            incomplete += bool(card["missing"])
            if html_dir is not None:
                write_card_pages([card], html_dir, page_names)
    for problem in problems.problems:
        print(f"warning: {problem.source}:{problem.line}: {problem.reason}", file=sys.stderr)
    print(f"card: {count} cards ({incomplete} with something missing), "
          f"{problems.problem_count} unreadable lines → {out}"
          + (f", pages in {html_dir}" if html_dir else ""), file=sys.stderr)
    return 0 if count or not problems.problem_count else 1


def cmd_report(args: argparse.Namespace) -> int:
    from inference.analysis.corpus_report import write_report
    from inference.errors import UserError

    for path in args.paths:
        if not Path(path).is_file():
            raise UserError(f"{path}: no such file (report reads predict output JSONL)")
    totals = write_report(args.paths, args.output)
    for problem in totals.problems:
        print(f"warning: {problem.source}:{problem.line}: {problem.reason}", file=sys.stderr)
    print(f"report: {totals.documents} documents, {totals.problem_count} unreadable lines → "
          f"{args.output} (+ one CSV per table beside it)", file=sys.stderr)
    return 0 if totals.documents or not totals.problem_count else 1


def add_cli(commands: argparse._SubParsersAction) -> None:
    card = commands.add_parser(
        "card", help="one policy card per predicted document (duties, money, targets)",
        description="Read predict output and write one card per document: issuer, number, "
        "dates, title; duties (agency → clauses, lead/supporting); money (amounts in yuan, "
        "recipient, caps, totals where they add up); targets with due dates; principles; "
        "label counts. What cannot be known is listed under 'missing'.")
    card.add_argument("paths", nargs="+", metavar="PRED.jsonl")
    card.add_argument("-o", "--output", required=True, metavar="CARDS.jsonl")
    card.add_argument("--html", metavar="DIR", default=None,
                      help="also write a self-contained HTML page per card into DIR")
    card.set_defaults(func=cmd_card)

    report = commands.add_parser(
        "report", help="corpus view of predict outputs: HTML page, SVG plots, CSV tables",
        description="Label mix by issuer and year, top agencies by duties, money by year and "
        "issuer, targets due by year. Streams the input, so memory does not grow with the "
        "number of documents. Plots need matplotlib (pip install 'policy-clauses[analysis]').")
    report.add_argument("paths", nargs="+", metavar="PRED.jsonl")
    report.add_argument("-o", "--output", required=True, metavar="REPORT.html")
    report.set_defaults(func=cmd_report)
