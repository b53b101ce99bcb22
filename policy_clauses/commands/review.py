"""``policy-clauses export | import | render``: the review loop's commands (docs/review.md).

export: scored clauses → Label Studio tasks (+ labeling config) or doccano JSONL;
import:  the tools' exports → gold records (labels/ format) + a conflicts file;
render:  scored documents → self-contained HTML pages.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from policy_clauses.arguments import add_scorer_arguments, positive_int

DEFAULT_CONFIG_PATH = (Path(__file__).resolve().parents[2] / "labels"
                       / "labelstudio_config.xml")


def _add_scoring_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="crawl inputs as for predict (files, directories, - for stdin)")
    add_scorer_arguments(parser)
    parser.add_argument("--from-predictions", metavar="PRED.jsonl", default=None,
                        help="use an existing 'predict' output instead of scoring PATHs "
                        "(--model DIR then only supplies the thresholds)")


def _add_select_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--select", nargs=2, metavar=("uncertain", "N"), default=None,
                        help="export only the N clauses the model is least sure of, spread "
                        "across documents")
    parser.add_argument("--per-document", type=positive_int, default=None, metavar="K",
                        help="with --select: at most K clauses from one document")


def _scored(args: argparse.Namespace):
    from inference.errors import UserError
    from inference.review.select import CHECK_STAGE, scored_documents

    if args.from_predictions and args.paths:
        raise UserError("give either PATH... or --from-predictions PRED.jsonl, not both")
    if not args.from_predictions and not args.paths:
        raise UserError(f"{args.command} needs at least one PATH (or --from-predictions)")
    if args.from_predictions and args.rules:
        raise UserError("--rules scores PATHs; with --from-predictions the scores are read")
    scored = scored_documents(args.paths, model=args.model, rules=args.rules,
                              from_predictions=args.from_predictions, fast=args.fast)
    for error in scored.errors:
        what = "" if error.stage == CHECK_STAGE else f"{error.stage} failed: "
        print(f"warning: {error.source}: {what}{error.reason}", file=sys.stderr)
    if not scored.documents:
        raise UserError("no document could be read and scored")
    return scored


def _warn_shared_ids(scored) -> None:
    """Documents exported under one doc_id cannot be told apart on import (their clauses
    become same_id_different_text conflicts): say so now, while the ids can still be fixed."""
    counts = Counter(document.doc_id for document in scored.documents)
    shared = sorted(doc_id for doc_id, n in counts.items() if n > 1)
    if shared:
        print(f"warning: {len(shared)} doc_id(s) are held by more than one document (e.g. "
              f"{shared[0]!r}); their clauses will be conflicts on import, not gold: give the "
              "documents distinct ids", file=sys.stderr)


def _selection(args: argparse.Namespace, scored):
    from inference.errors import UserError
    from inference.review.select import select_uncertain

    if args.select is None:
        return None
    how, count = args.select
    if how != "uncertain" or not count.isdigit() or int(count) < 1:
        raise UserError(f"--select expects 'uncertain N' with N ≥ 1, got "
                        f"{' '.join(args.select)!r}")
    return select_uncertain(scored.documents, int(count), scored.thresholds,
                            per_document=args.per_document)


def cmd_export_labelstudio(args: argparse.Namespace) -> int:
    from inference.review.labelstudio import build_tasks, labeling_config

    scored = _scored(args)
    _warn_shared_ids(scored)
    tasks = build_tasks(scored.documents, model_version=scored.model_version,
                        thresholds=scored.thresholds, mode=args.mode,
                        selected=_selection(args, scored))
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    config = Path(args.config_out) if args.config_out else out.with_name(
        out.name.removesuffix(".json") + ".config.xml")
    config.write_text(labeling_config(mode=args.mode), encoding="utf-8")
    print(f"export labelstudio: {len(tasks)} {args.mode} tasks → {out}; labeling config → "
          f"{config} (model {scored.model_version})")
    return 0


def cmd_export_doccano(args: argparse.Namespace) -> int:
    from inference.review.doccano import build_records

    scored = _scored(args)
    _warn_shared_ids(scored)
    records = build_records(scored.documents, args.task, _selection(args, scored))
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"export doccano: {len(records)} {args.task} lines → {out}")
    return 0


def cmd_export_config(args: argparse.Namespace) -> int:
    from inference.review.labelstudio import labeling_config

    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(labeling_config(mode=args.mode), encoding="utf-8")
    print(f"export labelstudio-config: {args.mode} config → {out}")
    return 0


def _report(result, args: argparse.Namespace, what: str) -> int:
    from inference.gold import read_jsonl
    from inference.review.reconcile import merge_into_gold, write_result
    from training.data import gold as data

    extra = ""
    if args.merge_into:
        gold = read_jsonl(Path(args.merge_into))
        merge = merge_into_gold(gold, result.records, where=args.merge_into)
        result.records = merge.records
        result.conflicts += merge.conflicts
        result.summary.count(merge.conflicts)
        result.summary.records -= len(merge.conflicts)
        extra = (f" (merged into {args.merge_into}: {merge.replaced} replaced, {merge.added} "
                 f"added, {len(merge.conflicts)} held back as conflicts)")
        merged = merge.records
        if data.SPLITS_PATH.is_file():
            known = {d for ids in data.load_splits().values() for d in ids}
            outside = sorted({r["doc_id"] for r in merged} - known)
            if outside:
                print(f"warning: {len(outside)} document(s) are in no split of "
                      f"{data.SPLITS_PATH} (e.g. {outside[0]}); training reads only split "
                      "documents, so add them to 'train' to learn from them", file=sys.stderr)
    conflicts = write_result(result, args.output, args.conflicts)
    print(f"{what}: {result.summary.line()}{extra} → {args.output}; conflicts → {conflicts}")
    return 0


def cmd_import_labelstudio(args: argparse.Namespace) -> int:
    from inference.review.labelstudio import import_labelstudio
    from inference.review.reconcile import load_reference

    reference = load_reference(args.against) if args.against else None
    result = import_labelstudio(args.export, reference=reference)
    return _report(result, args, "import labelstudio")


def cmd_import_doccano(args: argparse.Namespace) -> int:
    from inference.review.doccano import import_doccano
    from inference.review.reconcile import load_reference

    reference = load_reference(args.against) if args.against else None
    result = import_doccano(args.files, annotator=args.annotator, partial=args.partial,
                            reference=reference)
    return _report(result, args, "import doccano")


def cmd_render(args: argparse.Namespace) -> int:
    from inference.review.render import write_pages

    scored = _scored(args)
    pages = write_pages(scored.documents, args.output, model_version=scored.model_version)
    print(f"render: {len(pages)} page(s) → {args.output}")
    return 0


def add_cli(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser("export", help="export clauses with the model's proposals "
                                 "for review (Label Studio, doccano)")
    targets = export.add_subparsers(dest="target", metavar="TARGET", required=True)

    ls = targets.add_parser(
        "labelstudio", help="Label Studio tasks JSON + labeling config",
        description="Label Studio tasks with predictions (choices for the clause labels, "
        "labels spans for AMOUNT/AGENCY, end-exclusive offsets) and the labeling config "
        "generated from labels/schema.yaml beside them.")
    _add_scoring_arguments(ls)
    ls.add_argument("-o", "--output", required=True, metavar="TASKS.json")
    ls.add_argument("--mode", choices=["clause", "document"], default="clause",
                    help="one task per clause (default) or per document with clauses as "
                    "regions")
    ls.add_argument("--config-out", metavar="CONFIG.xml", default=None,
                    help="where the labeling config goes (default TASKS.config.xml)")
    _add_select_arguments(ls)
    ls.set_defaults(func=cmd_export_labelstudio)

    dc = targets.add_parser("doccano", help="doccano JSONL (text classification or sequence "
                            "labeling)")
    _add_scoring_arguments(dc)
    dc.add_argument("-o", "--output", required=True, metavar="OUT.jsonl")
    dc.add_argument("--task", choices=["classification", "ner"], required=True)
    _add_select_arguments(dc)
    dc.set_defaults(func=cmd_export_doccano)

    cfg = targets.add_parser("labelstudio-config", help="write the Label Studio labeling "
                             "config generated from labels/schema.yaml")
    cfg.add_argument("-o", "--output", default=str(DEFAULT_CONFIG_PATH), metavar="CONFIG.xml")
    cfg.add_argument("--mode", choices=["clause", "document"], default="clause")
    cfg.set_defaults(func=cmd_export_config)

    imp = commands.add_parser("import", help="turn reviewed exports into gold records")
    sources = imp.add_subparsers(dest="source", metavar="SOURCE", required=True)
    ils = sources.add_parser("labelstudio", help="a Label Studio JSON export")
    ils.add_argument("export", metavar="EXPORT.json")
    idc = sources.add_parser("doccano", help="doccano JSONL export(s): classification and/or "
                             "sequence labeling")
    idc.add_argument("files", nargs="+", metavar="FILE.jsonl")
    idc.add_argument("--annotator", default=None,
                     help="reviewer name (default: the file name, which doccano sets to the "
                     "username)")
    idc.add_argument("--partial", action="store_true",
                     help="accept clauses reviewed in one project only, taking the model's "
                     "proposal for the other half")
    for parser, func in ((ils, cmd_import_labelstudio), (idc, cmd_import_doccano)):
        parser.add_argument("-o", "--output", required=True, metavar="GOLD.jsonl")
        parser.add_argument("--conflicts", default=None, metavar="CONFLICTS.jsonl",
                            help="default: GOLD.conflicts.jsonl beside the output")
        parser.add_argument("--against", default=None, metavar="DOCS.jsonl",
                            help="segment/predict output or gold file: every clause must "
                            "match its clause there (text), and takes kind/section from it")
        parser.add_argument("--merge-into", default=None, metavar="GOLD.jsonl",
                            help="write GOLD with the reviewed records replacing the same "
                            "clauses and new ones appended (use the output as data.gold_path)")
        parser.set_defaults(func=func)

    render = commands.add_parser("render", help="HTML review pages, one per document")
    _add_scoring_arguments(render)
    render.add_argument("-o", "--output", required=True, metavar="DOC.html|DIR")
    render.set_defaults(func=cmd_render)
