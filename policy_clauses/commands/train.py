"""``policy-clauses train joint|classifier|tagger|thresholds`` and ``policy-clauses evaluate``:
parse, call the library with keyword arguments, print. Config fields and their descriptions
come from training.fit.config, so ``--help`` and the schema cannot drift apart."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from policy_clauses.arguments import FAST_HELP, add_fast_argument
from training.data import gold as gold_data
from training.fit.config import CONFIG_CLASSES, field_help, load_config, parse_overrides
from training.paths import PROJECT_ROOT


class _OverridesParser(argparse.ArgumentParser):
    """Collects ``--section.field VALUE`` arguments (spaCy-style overrides) into
    ``args.overrides`` instead of rejecting them as unknown options."""

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        namespace, extras = super().parse_known_args(args, namespace)
        overrides: list[str] = []
        rest: list[str] = []
        taking_value = False
        for arg in extras:
            if arg.startswith("--") and "." in arg.split("=", 1)[0]:
                overrides.append(arg)
                taking_value = "=" not in arg
            elif taking_value and not arg.startswith("--"):
                overrides.append(arg)
                taking_value = False
            else:
                rest.append(arg)
                taking_value = False
        namespace.overrides = [*getattr(namespace, "overrides", []), *overrides]
        return namespace, rest


def _fields_epilog(task: str) -> str:
    rows = field_help(CONFIG_CLASSES[task])
    lines = ["config fields (set in the YAML file or override with --SECTION.FIELD VALUE):"]
    for key, default, description in rows:
        if key == "task":
            continue
        lines.append(f"  {key} (default {default})")
        lines += textwrap.wrap(description, width=88, initial_indent="      ",
                               subsequent_indent="      ")
    return "\n".join(lines)


def cmd_train(args: argparse.Namespace) -> int:
    overrides = parse_overrides(args.overrides)
    config = load_config(args.config, args.task, overrides)
    if args.task == "classifier":
        from training.fit.classifier import train_classifier

        result = train_classifier(config, resume=args.resume)
        dev = result.dev_metrics
        nan = float("nan")
        at_default = dev.micro_f1_at_default_threshold if dev else None
        headline = (f"dev micro-F1 {dev.micro_f1 if dev else nan:.4f} (at 0.5: "
                    f"{nan if at_default is None else at_default:.4f}), "
                    f"macro-F1 {dev.macro_f1 if dev else nan:.4f}")
    elif args.task == "joint":
        from training.fit.joint import train_joint

        result = train_joint(config, resume=args.resume)
        dev = result.dev_metrics
        nan = float("nan")
        headline = (f"dev label micro-F1 {dev.labels.micro_f1 if dev else nan:.4f}, entity F1 "
                    f"{dev.entities.micro.f1 if dev else nan:.4f}")
    else:
        from training.fit.tagger import train_tagger

        result = train_tagger(config, resume=args.resume)
        entity_f1 = result.dev_metrics.micro.f1 if result.dev_metrics else float("nan")
        headline = (f"dev entity F1 {entity_f1:.4f}; alignment loss "
                    f"{100 * result.alignment['train']['round_trip_share']:.2f}% of train "
                    "entities")
    print(f"train {args.task}: best epoch {result.fit.best_epoch}/{result.fit.epochs_done}, "
          f"{headline}; {result.fit.seconds:.0f} s; saved {result.folder}")
    return 0


def cmd_thresholds(args: argparse.Namespace) -> int:
    """Choose a trained model's thresholds again on today's dev split: after the dev gold or
    the segmenter's sections changed, without training again."""
    from inference.errors import UserError
    from inference.schema import default_schema
    from inference.scoring.model_folder import ClassifierMeta, open_part
    from training.fit.config import config_from_dict
    from training.fit.joint import record_threshold_choice
    from training.fit.model_card import write_combined_card

    folder = Path(args.model)
    if not (folder / "classifier").is_dir():
        raise UserError(f"{folder}: no classifier/ folder (train thresholds wants a model "
                        "folder made by `policy-clauses train joint`)")
    # label set and schema version checked before any data is read or anything written
    meta = open_part(folder / "classifier", "classifier", default_schema())
    assert isinstance(meta, ClassifierMeta)
    if meta.shared_encoder is None:
        raise UserError(f"{folder}: not a shared-encoder model (train thresholds wants a model "
                        "folder made by `policy-clauses train joint`)")
    overrides = parse_overrides(args.overrides)
    # by default the run's own resolved config, so dev is read as the model was trained to
    # read it (context, titles); --config replaces it, --SECTION.FIELD changes one field
    config = (load_config(args.config, "joint", overrides) if args.config
              else config_from_dict(dict(meta.config), "joint", overrides))
    if config.model.context != meta.context:
        raise UserError(f"{folder} was trained with context {meta.context!r}, the config says "
                        f"{config.model.context!r}: its dev scores would not be the ones it "
                        "serves (drop --config or --model.context)")
    before = dict(meta.thresholds)
    choice = record_threshold_choice(folder, config, refresh_dev_metrics=True)
    write_combined_card(folder)
    for label, threshold in choice.thresholds.items():
        spread = choice.spread.get(label)
        folds = (f"; folds {spread.threshold_min} / {spread.threshold_median} / "
                 f"{spread.threshold_max}" if spread else "")
        print(f"{label}: {before.get(label)} -> {threshold} (dev F1 "
              f"{choice.labels[label].f1}{folds})")
    print(f"train thresholds: wrote {folder / 'classifier'} and {folder / 'README.md'}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from training.eval.evaluate import evaluate
    from training.eval.results import summary_table

    result = evaluate(args.model, args.data, gold_path=Path(args.gold),
                      splits_path=Path(args.splits),
                      documents_path=Path(args.documents) if args.documents else None,
                      report_dir=Path(args.report) if args.report else None,
                      baseline=not args.no_baseline, fast=args.fast)
    print(f"evaluate: {result.model.name} on {args.data} ({result.data['clauses']} clauses, "
          f"{result.data['documents']} documents)")
    print(summary_table(result))
    from training.eval.report import slice_table

    for dimension in ("corpus", "layout"):
        if result.model.slices.get(dimension):
            print(f"\nby {dimension}:\n{slice_table(result, dimension)}")
    if result.model.calibration:
        print("\ncalibration (ECE per label): " + ", ".join(
            f"{label} {row.ece:.3f}" for label, row in result.model.calibration.items()))
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
    if result.report_files:
        print(f"report: {Path(args.report) / 'report.md'}", file=sys.stderr)
    return 0


def _add_train(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train", help="fine-tune the shared-encoder model, or the clause classifier or the "
        "entity tagger alone; or choose a trained model's thresholds again",
        description="Fine-tune a model from a YAML config; any config field can be overridden "
        "on the command line as --SECTION.FIELD VALUE (e.g. --train.lr 3e-5 "
        "--model.backbone models/backbone/e5-small-trim). The model folder gets the resolved "
        "config, thresholds, data hashes, dev metrics and a model card.")
    tasks = train.add_subparsers(dest="task", metavar="TASK", parser_class=_OverridesParser)
    for task, what in (("joint", "shared-encoder model (labels and entities, one encoder)"),
                       ("classifier", "multi-label clause classifier"),
                       ("tagger", "AMOUNT/AGENCY token tagger")):
        parser = tasks.add_parser(
            task, help=f"train the {what}", allow_abbrev=False,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            description=f"Train the {what} (saved to OUTPUT.DIR/"
            f"{'classifier and OUTPUT.DIR/tagger' if task == 'joint' else task}).",
            epilog=_fields_epilog(task))
        parser.add_argument("--config", "-c",
                            default=str(PROJECT_ROOT / "configs" / f"{task}.yaml"),
                            help=f"YAML config (default configs/{task}.yaml of the project)")
        parser.add_argument("--resume", action="store_true",
                            help="continue from the last per-epoch checkpoint of this config")
        parser.set_defaults(func=cmd_train, overrides=[])
    thresholds = tasks.add_parser(
        "thresholds", help="choose a trained model's label thresholds again on dev",
        allow_abbrev=False,
        description="Score today's dev split with a saved model (the serving path), choose each "
        "label's threshold on all of dev and measure its spread over 5 document folds of dev; "
        "rewrite the thresholds, the dev table and the cards in MODEL. For use after the dev "
        "gold or the segmenter's sections changed; the weights are not touched, but the "
        "model's version (the digest output records carry) changes with its thresholds.")
    thresholds.add_argument("--model", required=True, help="model folder (classifier/, tagger/)")
    thresholds.add_argument("--config", "-c", default=None,
                            help="YAML config to use instead of the one the model was trained "
                            "with (recorded in MODEL/classifier); its model.context must be "
                            "the model's. Single fields: --data.gold_path PATH and the like")
    thresholds.set_defaults(func=cmd_thresholds, overrides=[])


def _add_evaluate(subparsers: argparse._SubParsersAction) -> None:
    evaluate = subparsers.add_parser(
        "evaluate", help="score a model (or the rules) on a gold split, beside the rules",
        description="Per-label P/R/F1, micro/macro F1 and entity F1 (seqeval strict IOB2 over "
        "character-level tags) of a model folder, with the rule baseline beside it, overall, "
        "per corpus and per detected layout, and the calibration (reliability bins, ECE) of "
        "the model's probabilities; --report writes metrics.json, report.md and PNG plots.")
    evaluate.add_argument("--model", default="models/default",
                          help="model folder (classifier/ and tagger/), or 'rules' for the "
                          "baseline alone (default models/default)")
    evaluate.add_argument("--data", default="test", choices=list(gold_data.SPLIT_NAMES),
                          help="split to score (default test)")
    evaluate.add_argument("--report", metavar="OUT_DIR", default=None,
                          help="write metrics.json, report.md and plots here")
    evaluate.add_argument("--gold", default=str(gold_data.GOLD_PATH), help="gold records")
    evaluate.add_argument("--splits", default=str(gold_data.SPLITS_PATH),
                          help="split manifest")
    evaluate.add_argument("--documents", default=str(gold_data.DOCUMENTS_PATH),
                          help="raw documents, for titles as predict sees them ('' for none)")
    evaluate.add_argument("--no-baseline", action="store_true",
                          help="do not score the rule baseline beside the model")
    evaluate.add_argument("--json", action="store_true", help="also print all metrics as JSON")
    add_fast_argument(evaluate, help="score through a predict fast path (default auto, as "
                      "predict) to measure what it costs in quality; " + FAST_HELP)
    evaluate.set_defaults(func=cmd_evaluate)


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    _add_train(subparsers)
    _add_evaluate(subparsers)


__all__ = ["add_cli", "cmd_evaluate", "cmd_thresholds", "cmd_train"]
