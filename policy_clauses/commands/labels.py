"""``policy-clauses labels …``: build gold from sheets, validate, split, count, agree,
weak-label."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from inference.errors import UserError
from inference.schema import default_schema
from policy_clauses.arguments import add_fast_argument
from training.data import gold as data
from training.data.sheets import read_sheet_file
from training.eval import segment_eval

SHEETS_DIR = data.LABELS_DIR / "sheets"
AGREEMENT_DIR = data.LABELS_DIR / "agreement"


def _corpus_of_documents(documents: Path = data.DOCUMENTS_PATH) -> dict[str, str]:
    return {obj["id"]: obj.get("corpus", "unknown") for obj in data.read_jsonl(documents)}


def build_gold(sheets_dir: Path, out: Path, annotator: str) -> int:
    """Sheets → gold records (one file, documents in name order), with each record's corpus."""
    corpus = _corpus_of_documents()
    records: list[data.GoldClause] = []
    for sheet in sorted(sheets_dir.glob("*.txt")):
        for record in read_sheet_file(sheet, annotator=annotator):
            record.corpus = corpus.get(record.doc_id, "unknown")
            records.append(record)
    return data.write_jsonl(out, records)


def cmd_build(args: argparse.Namespace) -> int:
    count = build_gold(Path(args.sheets), Path(args.output), args.annotator)
    print(f"wrote {count} clause records to {args.output}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    files = [Path(f) for f in args.files] or [data.GOLD_PATH]
    problems: list[str] = []
    gold_ids: set[str] = set()
    for path in files:
        if not path.is_file():
            problems.append(f"{path}: no such file")
            continue
        try:
            raw = data.read_jsonl(path)
        except data.GoldRecordError as exc:
            problems.append(str(exc))
            continue
        records, found = data.check_records(raw, str(path))
        problems += found
        if path.resolve() == data.GOLD_PATH.resolve():
            gold_ids = {r.doc_id for r in records}
            problems += data.validate_against_segmenter(records)
            if any(r.weak for r in records):
                problems.append(f"{path}: weak records in the gold file")
    if gold_ids:
        if data.SPLITS_PATH.is_file():
            problems += data.validate_splits(data.load_splits(), gold_ids)
            problems += data.validate_no_copies(data.load_splits())
        else:
            problems.append(f"{data.SPLITS_PATH}: missing (run 'policy-clauses labels splits')")
    for problem in problems:
        print(f"ERROR {problem}", file=sys.stderr)
    print(f"labels validate: {len(files)} file(s), {len(problems)} problem(s)")
    return 1 if problems else 0


def _document_strata(doc_ids: set[str]) -> dict[str, str]:
    """corpus/layout of each document of labels/documents.jsonl, as the pipeline sees it."""
    from inference.records import ErrorRecord
    from inference.text.ingest import iter_jsonl_lines
    from inference.text.pipeline import build_document

    strata = {}
    with data.DOCUMENTS_PATH.open(encoding="utf-8") as handle:
        for raw in iter_jsonl_lines(handle, str(data.DOCUMENTS_PATH)):
            if isinstance(raw, ErrorRecord) or raw.doc_id not in doc_ids:
                continue
            layout = build_document(raw).quality.get("layout", "lines")
            strata[raw.doc_id] = f"{raw.meta.get('corpus', 'unknown')}/{layout}"
    return strata


def extend_split_manifest(min_clauses: int) -> dict[str, list[str]]:
    """Assign the gold documents that no split holds yet; existing assignments stay."""
    manifest = json.loads(data.SPLITS_PATH.read_text(encoding="utf-8"))
    splits = data.load_splits(data.SPLITS_PATH)
    records = data.read_gold(data.GOLD_PATH)
    assigned = {d for ids in splits.values() for d in ids}
    clauses: Counter[str] = Counter(r.doc_id for r in records)
    new = {d for d in clauses if d not in assigned}
    if not new:
        return splits
    strata = _document_strata(new)
    missing = sorted(new - set(strata))
    if missing:
        raise UserError(f"{len(missing)} gold document(s) not in {data.DOCUMENTS_PATH}, first "
                        f"{missing[0]}: add them there (or drop their clauses) and run "
                        "'policy-clauses labels validate' before extending the splits")
    current = {name: sum(clauses[d] for d in ids) for name, ids in splits.items()}
    extended = data.extend_splits(splits, {d: (strata.get(d, "unknown"), clauses[d])
                                           for d in new},
                                  {"dev": min_clauses, "test": min_clauses}, current,
                                  existing_corpus=dict(manifest.get("sources", {})))
    manifest["splits"] = extended
    manifest["gold_sha256"] = data.file_sha256(data.GOLD_PATH)
    manifest.setdefault("sources", {}).update(
        {r.doc_id: "unknown" if r.corpus is None else r.corpus for r in records
         if r.doc_id in new})
    manifest["sources"] = dict(sorted(manifest["sources"].items()))
    manifest.setdefault("extensions", []).append({
        "documents": sorted(new),
        "method": (f"labels splits --extend --min-clauses {min_clauses}: documents already "
                   "assigned keep their split; new documents are taken round-robin over "
                   "corpus/layout strata (fixed order: sha256 of the id) and each goes to the "
                   "split furthest below its share, dev and test getting what they lack to "
                   f"reach {min_clauses} clauses and train the rest; label counts and model "
                   "results play no part"),
    })
    data.SPLITS_PATH.write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n",
                                encoding="utf-8")
    return extended


def cmd_splits(args: argparse.Namespace) -> int:
    if args.extend:
        extended = extend_split_manifest(args.min_clauses)
        print({name: len(ids) for name, ids in extended.items()})
        return 0
    if data.SPLITS_PATH.exists() and not args.force:
        print(f"{data.SPLITS_PATH} exists; the test split must not move (use --force to remake)",
              file=sys.stderr)
        return 1
    records = data.read_gold(data.GOLD_PATH)
    sources = {r.doc_id: "unknown" if r.corpus is None else r.corpus for r in records}
    seed = data.choose_balanced_seed(records) if args.balance else args.seed
    splits = data.make_splits(sources, seed=seed)
    manifest = {
        "description": "Document-level splits of labels/gold.jsonl, stratified by corpus "
                       "source. The test split is never used to choose models, thresholds "
                       "or rules.",
        "seed": seed,
        "seed_choice": ("the seed among 0-199 whose test/dev splits hold every label and entity "
                        "type closest to 22%/17% (label counts only, chosen before any model "
                        "was trained)") if args.balance else "given",
        "gold_sha256": data.file_sha256(data.GOLD_PATH),
        "splits": splits,
        "sources": {doc_id: sources[doc_id] for doc_id in sorted(sources)},
    }
    data.SPLITS_PATH.write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n",
                                encoding="utf-8")
    print({name: len(ids) for name, ids in splits.items()})
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    records = data.read_gold(Path(args.file))
    splits = data.load_splits()
    table: dict[str, Counter[str]] = {}
    for split in data.SPLIT_NAMES:
        subset = data.records_for_split(records, split, splits)
        table[split] = data.label_counts(subset)
        table[split]["documents"] = len({r.doc_id for r in subset})
    table["all"] = sum(table.values(), Counter())
    schema = default_schema()
    keys = ["documents", "clauses", *schema.label_names, "(none)", *schema.entity_names]
    print("| | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for split, counts in table.items():
        print(f"| {split} | " + " | ".join(str(counts.get(k, 0)) for k in keys) + " |")
    return 0


def cmd_agreement(args: argparse.Namespace) -> int:
    from training.eval.agreement import agreement_report

    first = data.read_gold(Path(args.first))
    second = data.read_gold(Path(args.second))
    report = agreement_report(first, second, entities=not args.labels_only)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


def cmd_weak(args: argparse.Namespace) -> int:
    from training.data.weak import weak_label

    summary = weak_label(args.paths, args.output, model=args.model, rules=args.rules,
                         fast=args.fast)
    print(f"labels weak: {summary}", file=sys.stderr)
    return 0


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    labels = subparsers.add_parser(
        "labels", help="gold data: build, validate, splits, stats, agreement, weak labels, "
        "segmentation scores",
        description="Work with the annotated data in labels/.")
    commands = labels.add_subparsers(dest="labels_command", metavar="ACTION")

    build = commands.add_parser("build", help="annotation sheets → gold JSONL")
    build.add_argument("--sheets", default=str(SHEETS_DIR), help="folder of sheets (*.txt)")
    build.add_argument("-o", "--output", default=str(data.GOLD_PATH), help="gold JSONL to write")
    build.add_argument("--annotator", default="A", help="annotator id stored on each record")
    build.set_defaults(func=cmd_build)

    validate = commands.add_parser(
        "validate", help="check label files: schema, offsets, names, duplicates, splits",
        description="Check every record (fields, label and entity names from labels/, "
        "text[start:end] == entity text, duplicates); for the gold file also that its clauses "
        "match the segmenter and that no document is in two splits. Exit 1 on any problem.")
    validate.add_argument("files", nargs="*", help="JSONL files (default labels/gold.jsonl)")
    validate.set_defaults(func=cmd_validate)

    splits = commands.add_parser("splits", help="make the document-level split manifest")
    splits.add_argument("--seed", type=int, default=13, help="shuffle seed")
    splits.add_argument("--balance", action="store_true",
                        help="choose the seed that balances label shares across splits "
                        "(from label counts only)")
    splits.add_argument("--force", action="store_true", help="overwrite an existing manifest")
    splits.add_argument("--extend", action="store_true",
                        help="assign gold documents no split holds yet, keeping every existing "
                        "assignment (the old test documents stay in test)")
    splits.add_argument("--min-clauses", type=int, default=1500,
                        help="--extend: grow dev and test to at least this many clauses "
                        "(default 1500)")
    splits.set_defaults(func=cmd_splits)

    stats = commands.add_parser("stats", help="counts per split, label and entity type")
    stats.add_argument("--file", default=str(data.GOLD_PATH), help="records to count")
    stats.set_defaults(func=cmd_stats)

    agreement = commands.add_parser(
        "agreement", help="Cohen's kappa, label micro-F1 and entity span F1 of two annotations "
        "(--labels-only: no span F1)")
    agreement.add_argument("--first", default=str(AGREEMENT_DIR / "first.jsonl"))
    agreement.add_argument("--second", default=str(AGREEMENT_DIR / "second.jsonl"))
    agreement.add_argument("--labels-only", action="store_true",
                           help="the second annotation has labels only: no entity span F1")
    agreement.set_defaults(func=cmd_agreement)

    weak = commands.add_parser(
        "weak", help="label any corpus with the rules (or a model) as weak records",
        description="Segment and label documents, writing one clause record per line in the "
        "gold format with \"weak\": true and the labeler's name. Do not commit bulk output.")
    weak.add_argument("paths", nargs="+", metavar="PATH", help="files, directories or -")
    weak.add_argument("-o", "--output", required=True, help="weak records JSONL")
    which = weak.add_mutually_exclusive_group()
    which.add_argument("--model", default=None, help="model folder instead of the rules")
    which.add_argument("--rules", action="store_true", help="the rule baseline (default)")
    add_fast_argument(weak, default="none",
                      help="runtime of --model (default none: float32, the teacher's own "
                      "scores; bf16 is faster and within 0.2 points)")
    weak.set_defaults(func=cmd_weak)

    segment_eval.add_cli(commands)
