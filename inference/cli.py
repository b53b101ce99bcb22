"""``policy-clauses``: a thin command line over the library.

Each command parses its arguments, calls one library function with keyword arguments and
prints a summary. The library raises; only this module turns errors into messages and exit
codes (0: the run completed, even with per-document errors; 1: nothing could run; 2: usage).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from inference import __version__

log = logging.getLogger("policy_clauses")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UserError(Exception):
    """An error the user can fix (bad path, bad config, label mismatch): printed, no traceback."""


def _add_io_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="files (.txt .html .htm .jsonl), directories (recursive) or - for "
                        "JSONL on stdin")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.jsonl",
                        help="output JSONL, one document per line; - for stdout")
    parser.add_argument("--errors", metavar="ERRORS.jsonl", default=None,
                        help="where error records go (default: OUT.errors.jsonl beside the "
                        "output, or stderr when the output is stdout)")
    parser.add_argument("--max-bytes", type=int, default=20 * 1024 * 1024,
                        help="refuse a file (or a JSONL line) larger than this (default 20 MB)")
    parser.add_argument("--chunk-documents", type=int, default=64,
                        help="documents scored and written together (default 64)")


def _finish(summary, what: str) -> int:
    print(f"{what}: {summary.line()}", file=sys.stderr)
    if summary.documents == 0 and summary.clauses == 0 and summary.errors:
        print(f"{what}: nothing could be processed", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_segment(args: argparse.Namespace) -> int:
    from inference.run import run_documents

    if not args.paths:
        raise UserError("segment needs at least one PATH (or - for stdin)")
    summary = run_documents(args.paths, args.output, None, errors_path=args.errors,
                            chunk_documents=args.chunk_documents, max_bytes=args.max_bytes)
    return _finish(summary, "segment")


def cmd_predict(args: argparse.Namespace) -> int:
    from inference.run import run_clauses, run_documents
    from inference.scorers import load_scorer

    scorer = load_scorer(args.model, rules=args.rules)
    log.info("scoring with %s", scorer.name)
    if args.clauses:
        if args.paths:
            raise UserError("give either PATH... or --clauses IN.jsonl, not both")
        summary = run_clauses(args.clauses, args.output, scorer, errors_path=args.errors)
        return _finish(summary, "predict")
    if not args.paths:
        raise UserError("predict needs at least one PATH (or --clauses IN.jsonl)")
    summary = run_documents(args.paths, args.output, scorer, errors_path=args.errors,
                            chunk_documents=args.chunk_documents, max_bytes=args.max_bytes)
    return _finish(summary, "predict")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policy-clauses",
        description="Split Chinese policy documents into clauses, label them (goal, incentive, "
        "responsibility, timeline, principle) and tag AMOUNT and AGENCY.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    segment = commands.add_parser(
        "segment", help="clean and segment documents into clauses",
        description="Clean and segment documents; one JSON object per document: doc_id, "
        "source, meta, quality, text, clauses[clause_id, start, end, kind, section, text].")
    _add_io_arguments(segment)
    segment.set_defaults(func=cmd_segment)

    predict = commands.add_parser(
        "predict", help="segment and label documents (or label clause records)",
        description="Segment and label documents: the segment output plus, per clause, labels, "
        "scores and entities (offsets into the clause text, end-exclusive). Uses "
        "models/default when present, else the rule baseline.")
    _add_io_arguments(predict)
    predict.add_argument("--clauses", metavar="IN.jsonl", default=None,
                         help="label clause records (one JSON object with 'text' per line; "
                         "other fields kept) instead of documents; - for stdin")
    which = predict.add_mutually_exclusive_group()
    which.add_argument("--model", metavar="DIR", default=None,
                       help="model folder (classifier/ and tagger/), default models/default")
    which.add_argument("--rules", action="store_true", help="use the rule baseline")
    predict.set_defaults(func=cmd_predict)

    for register in _extra_commands():
        register(commands)
    return parser


def _extra_commands() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Commands that live beside their library modules."""
    from training import cli as training_cli

    return list(training_cli.REGISTER)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"policy-clauses: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (FileNotFoundError, ValueError) as exc:
        print(f"policy-clauses: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("policy-clauses: interrupted", file=sys.stderr)
        return 130


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()


__all__ = ["Path", "UserError", "build_parser", "main"]
