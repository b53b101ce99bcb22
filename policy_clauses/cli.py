"""``policy-clauses``: a thin command line over the library.

Each command parses its arguments, calls one library function with keyword arguments and
prints a summary. The library raises; only this module turns errors into messages and exit
codes (0: the run completed, even with per-document errors; 1: nothing could run, or a bad
option or path; 2: usage; 130: interrupted by Ctrl-C after writing the chunks finished so far).

A ``UserError`` is one line. Any other exception is a bug or an outside failure: one line on
screen that says where its traceback went (the run's errors file, else a file in the temp
folder), and the traceback itself on screen too with ``-v``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

from inference import __version__
from inference.batch.core import DEFAULT_CHUNK_CLAUSES
from inference.errors import UserError
from policy_clauses.arguments import add_scorer_arguments, positive_int

log = logging.getLogger("policy_clauses")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, not {text}")
    return value


def _add_io_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="files (.txt .html .htm .jsonl), directories (recursive) or - for "
                        "JSONL on stdin")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output file (JSONL, one document per line, unless --format says "
                        "otherwise); - for stdout")
    parser.add_argument("--format", dest="output_format", choices=("jsonl", "csv", "parquet"),
                        default=None,
                        help="jsonl: one document per line (the default); csv / parquet: one "
                        "clause per row with doc_id, source, clause_id, start, end, kind, "
                        "section, text, labels (';'-joined), score_<label> per schema label, "
                        "entities (JSON). Default: from the suffix of OUT (.csv, .parquet), "
                        "else jsonl")
    parser.add_argument("--errors", metavar="ERRORS.jsonl", default=None,
                        help="where error records go (default: OUT.errors.jsonl beside the "
                        "output, or stderr when the output is stdout)")
    parser.add_argument("--max-bytes", type=positive_int, default=20 * 1024 * 1024,
                        help="refuse a file (or a JSONL line) larger than this (default 20 MB)")
    parser.add_argument("--chunk-documents", type=positive_int, default=64,
                        help="documents scored and written together (default 64): the unit of "
                        "batching, flushing, resume and Ctrl-C")
    parser.add_argument("--chunk-clauses", type=positive_int, default=DEFAULT_CHUNK_CLAUSES,
                        help="also close a chunk once it holds this many clauses (default "
                        f"{DEFAULT_CHUNK_CLAUSES}), so a few huge documents cannot blow the "
                        "memory bound")
    parser.add_argument("--resume", action="store_true",
                        help="continue a run that was killed or interrupted: OUT and the errors "
                        "file are cut back to the last completed chunk (OUT.progress.json) and "
                        "the inputs already done are skipped; same PATHs and options needed; "
                        "starts fresh when there is nothing to resume (jsonl and csv only)")
    parser.add_argument("--document-seconds", type=_positive_float, default=60.0,
                        metavar="S",
                        help="time limit for cleaning and segmenting one document (default "
                        "60); a document over it becomes an error record and the run goes on")
    parser.add_argument("--no-progress", "--quiet", dest="no_progress", action="store_true",
                        help="no progress bar (it is shown only when stderr is a terminal)")


def _finish(summary, what: str, scorer: tuple[str, str] | None = None) -> int:
    """Print the run summary line (naming the scorer: name and version) and pick the exit
    code."""
    by = f"; scorer {scorer[0]} ({scorer[1]})" if scorer else ""
    print(f"{what}: {summary.line()}{by}", file=sys.stderr)
    if summary.interrupted:
        print(f"{what}: interrupted; the output holds every chunk finished so far; rerun the "
              "same command with --resume to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    if summary.documents == 0 and summary.clauses == 0 and summary.errors:
        print(f"{what}: nothing could be processed", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _progress(args: argparse.Namespace) -> bool | None:
    return False if args.no_progress or getattr(args, "quiet", False) else None


def cmd_segment(args: argparse.Namespace) -> int:
    from inference.batch.run import run_documents

    if not args.paths:
        raise UserError("segment needs at least one PATH (or - for stdin)")
    summary = run_documents(args.paths, args.output, None, errors_path=args.errors,
                            chunk_documents=args.chunk_documents,
                            chunk_clauses=args.chunk_clauses, max_bytes=args.max_bytes,
                            output_format=args.output_format, resume=args.resume,
                            progress=_progress(args), document_seconds=args.document_seconds)
    return _finish(summary, "segment")


def _quiet_model_loading(args: argparse.Namespace) -> None:
    """transformers' "Loading weights" bars go with -q; its tokenizer warning "Token indices
    sequence length is longer than the specified maximum" always goes: the tagger scores long
    clauses in windows, so the length it warns about is handled."""
    logging.getLogger("transformers.tokenization_utils_base").setLevel(logging.ERROR)
    if getattr(args, "quiet", False) or args.no_progress:
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        try:
            from transformers.utils import logging as hf_logging
        except ImportError:  # the rule baseline needs no transformers
            return
        hf_logging.disable_progress_bar()


def cmd_predict(args: argparse.Namespace) -> int:
    from inference.batch.run import run_clauses, run_documents
    from inference.scoring.models import load_scorer, model_identity, resolve_model
    from inference.scoring.runtime import configure_allocator, configure_threads

    if args.clauses and args.paths:
        raise UserError("give either PATH... or --clauses IN.jsonl, not both")
    if not args.clauses and not args.paths:
        raise UserError("predict needs at least one PATH (or --clauses IN.jsonl)")
    if args.engine == "ray":
        from inference.batch.ray_driver import run_ray

        if args.clauses or args.resume:
            raise UserError("--engine ray runs PATH inputs without --resume (--clauses and "
                            "--resume are local-engine features)")
        summary = run_ray(args.paths, args.output, model=args.model, rules=args.rules,
                          fast=args.fast, address=args.address, num_actors=args.num_actors,
                          num_gpus=args.num_gpus, errors_path=args.errors,
                          output_format=args.output_format,
                          chunk_documents=args.chunk_documents, max_bytes=args.max_bytes,
                          document_seconds=args.document_seconds)
        return _finish(summary, "predict",
                       model_identity(resolve_model(args.model, rules=args.rules), args.fast))
    _quiet_model_loading(args)
    threads = configure_threads(args.threads)
    configure_allocator()
    scorer = load_scorer(args.model, rules=args.rules, fast=args.fast)
    identity = (scorer.name, scorer.version)
    log.info("scoring with %s on %d threads", scorer.name, threads)
    if args.clauses:
        if args.output_format not in (None, "jsonl"):
            raise UserError("--clauses writes JSONL clause records; drop --format")
        summary = run_clauses(args.clauses, args.output, scorer, errors_path=args.errors,
                              resume=args.resume, progress=_progress(args))
        return _finish(summary, "predict", identity)
    summary = run_documents(args.paths, args.output, scorer, errors_path=args.errors,
                            chunk_documents=args.chunk_documents,
                            chunk_clauses=args.chunk_clauses, max_bytes=args.max_bytes,
                            output_format=args.output_format, resume=args.resume,
                            progress=_progress(args), document_seconds=args.document_seconds)
    return _finish(summary, "predict", identity)


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
        "scores and entities (offsets into the clause text, end-exclusive), and the scorer "
        "that produced them. The model: --model DIR, else $POLICY_CLAUSES_MODEL, else "
        "models/default of a source checkout; with none of them it stops. The rule baseline "
        "runs only with --rules. A clause the model has already read in the run (same text, "
        "same context) is answered from memory, the last 8,192 of them; "
        "$POLICY_CLAUSES_REPEAT_MEMORY=N changes the count, 0 encodes every clause.")
    _add_io_arguments(predict)
    predict.add_argument("--clauses", metavar="IN.jsonl", default=None,
                         help="label clause records (one JSON object with 'text' per line; "
                         "other fields kept) instead of documents; - for stdin")
    add_scorer_arguments(predict)
    predict.add_argument("--threads", type=positive_int, default=None,
                         help="torch intra-op threads (default: the cores this process may use; "
                         "inter-op threads are 1)")
    predict.add_argument("--engine", choices=("local", "ray"), default="local",
                         help="local: this process (default); ray: Ray Data with an actor pool, "
                         "one model load per actor, on this machine or a cluster (--address)")
    predict.add_argument("--address", default=None, metavar="ADDR",
                         help="--engine ray: the Ray cluster to join (e.g. ray://head:10001 or "
                         "auto); default: start a local Ray instance")
    predict.add_argument("--num-actors", type=int, default=None, metavar="N",
                         help="--engine ray: scoring actors (default: one per 2 CPUs of the "
                         "cluster, at least 1; one per GPU when GPUs are present)")
    predict.add_argument("--num-gpus", type=float, default=None, metavar="G",
                         help="--engine ray: GPUs per actor (default 1 when the cluster has "
                         "GPUs, else 0)")
    predict.set_defaults(func=cmd_predict)

    for register in _extra_commands():
        register(commands)
    return parser


def _extra_commands() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Commands that live beside their library modules."""
    from policy_clauses import commands as training_cli

    return training_cli.registrations()


def _traceback_file(args: argparse.Namespace, text: str) -> str:
    """Where an unexpected error's traceback is kept: the run's errors file (as one JSON
    record), else a file in the temp folder. Returns the place, for the message."""
    errors = getattr(args, "errors", None)
    output = getattr(args, "output", None)
    if errors is None and output not in (None, "-"):
        from inference.batch.sinks import default_errors_path

        errors = default_errors_path(output)
    if errors is not None and not Path(errors).is_dir():
        record = {"source": "policy-clauses", "doc_id": None, "stage": "crash",
                  "error": text.strip().splitlines()[-1], "traceback": text}
        try:
            with open(errors, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, ensure_ascii=True) + "\n")
            return errors
        except OSError:
            pass
    handle, path = tempfile.mkstemp(prefix="policy-clauses-traceback-", suffix=".txt")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(text)
    return path


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
    except KeyboardInterrupt:
        print("policy-clauses: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `policy-clauses ... -o - | head`: the reader left; not an error of ours. Point stdout
        # at devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # a bug or an outside failure: keep its traceback
        text = traceback.format_exc()
        where = _traceback_file(args, text)
        if args.verbose:
            sys.stderr.write(text)
        message = " ".join(str(exc).split())
        if len(message) > 400:
            message = message[:400] + "…"
        print(f"policy-clauses: unexpected error: {type(exc).__name__}: {message} (the "
              f"traceback is in {where}; rerun with -v to see it here)", file=sys.stderr)
        return EXIT_FAILED


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()


__all__ = ["Path", "UserError", "build_parser", "main"]
