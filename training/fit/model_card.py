"""README.md model cards, written from ``policy_clauses.json`` so a card never disagrees with
the model it describes: backbone, data, metrics, intended use, limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inference.scoring.model_folder import META_FILE, read_meta
from training.eval.metrics import EntityMetrics, LabelMetrics

INTENDED_USE = (
    "Chinese government policy documents (通知, 实施方案, 若干措施, 行动计划, 办法, 意见), "
    "segmented into clauses by this project's own segmenter (`policy-clauses segment`). "
    "Use through `policy-clauses predict --model DIR` or "
    "`inference.scoring.models.load_scorer(DIR)`; "
    "each subfolder also opens with `transformers.pipeline`."
)

LIMITS = [
    "Trained on a few thousand clauses from a few dozen documents: expect lower scores on "
    "document types, regions or periods not in the gold data.",
    "Labels follow labels/GUIDELINES.md; the model has no notion of a label outside "
    "labels/schema.yaml, and loading it against a different schema fails.",
    "Scores are not calibrated probabilities; the classifier's per-label thresholds were "
    "tuned on the dev split, so dev metrics are optimistic - read the test-split report.",
    "Inputs are expected in simplified Chinese after the project's cleaning; traditional "
    "script, OCR noise or text with web boilerplate degrade results.",
    "Do not use it for decisions about individuals; it labels policy text, not people.",
]


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _metrics_lines(meta: dict[str, Any]) -> list[str]:
    dev = meta.get("metrics", {}).get("dev", {})
    if not dev:
        return ["No dev metrics (the dev split was empty)."]
    lines = ["| metric | dev |", "|---|---|"]
    if meta.get("kind") == "classifier":
        labels = LabelMetrics.from_dict(dev)
        for label, row in labels.labels.items():
            lines.append(f"| {label} F1 (P/R) | {_fmt(row.f1)} "
                         f"({_fmt(row.precision)}/{_fmt(row.recall)}), "
                         f"support {row.support} |")
        headline = [("micro_f1", labels.micro_f1), ("macro_f1", labels.macro_f1),
                    ("micro_f1_at_default_threshold", labels.micro_f1_at_default_threshold),
                    ("exact_match", labels.exact_match)]
        lines += [f"| {key} | {_fmt(value)} |" for key, value in headline if value is not None]
    else:
        for name, row in EntityMetrics.from_dict(dev).rows():
            lines.append(f"| {name} F1 (P/R) | {_fmt(row.f1)} "
                         f"({_fmt(row.precision)}/{_fmt(row.recall)}), "
                         f"support {row.support} |")
    return lines


def render_card(meta: dict[str, Any]) -> str:
    kind = meta.get("kind", "model")
    data = meta.get("data", {})
    config = meta.get("config", {})
    pipeline_tag = "text-classification" if kind == "classifier" else "token-classification"
    lines = [
        "---",
        "language: zh",
        "library_name: transformers",
        f"pipeline_tag: {pipeline_tag}",
        "tags: [policy-clauses, chinese, policy]",
        "---",
        "",
        f"# policy-clauses {kind}",
        "",
        "## Model",
        f"- backbone: `{meta.get('backbone')}`",
        f"- max_length: {meta.get('max_length')} tokens",
    ]
    if kind == "classifier":
        lines += [
            f"- labels (multi-label, sigmoid): {', '.join(meta.get('labels', []))}",
            f"- context paired with the clause: `{meta.get('context')}`",
            f"- pooler initialisation: {meta.get('pooler_init')}",
            "- thresholds (" + str(meta.get("threshold_source")) + "): "
            + ", ".join(f"{k} {v:.2f}" for k, v in meta.get("thresholds", {}).items()),
        ]
    else:
        alignment = meta.get("alignment_loss", {}).get("train", {})
        lines += [
            f"- tags (IOB2): {', '.join(meta.get('tags', []))}",
            f"- windows: {meta.get('max_length')} tokens with stride {meta.get('stride')}",
            f"- alignment loss on train (gold entities the tokenisation cannot reproduce): "
            f"{100 * alignment.get('round_trip_share', 0.0):.2f}% "
            f"({alignment.get('round_trip_lost', 0)} of {alignment.get('entities', 0)})",
        ]
    shared = meta.get("shared_encoder")
    if shared:
        lines += [
            "- shared encoder: trained together with the other part (one encoder, a label head "
            "and a tag head; `policy-clauses predict` runs the encoder once per clause). Inputs "
            f"are (clause piece, context) windows of {shared.get('max_length')} tokens with "
            f"stride {shared.get('stride')}; context `{shared.get('context')}`, at most "
            f"{shared.get('max_context_tokens')} tokens. Alone (e.g. in `pipeline()`) the part "
            "sees the bare clause, which training also showed it (context dropout).",
        ]
    task = "joint" if shared else kind
    choice = meta.get("metrics", {}).get("threshold_choice")
    if choice and choice.get("spread"):
        lines += ["", "Threshold of each label: tuned on all of dev; beside it, the thresholds "
                  f"tuned on {choice.get('folds')} document folds of dev (each on the other "
                  "folds) and the F1 they get on the fold left out.", "",
                  "| label | dev threshold | fold thresholds min / median / max | "
                  "held-out F1 min / median / max |", "|---|---|---|---|"]
        for label, row in choice["spread"].items():
            t, f = row["threshold"], row["held_out_f1"]
            lines.append(f"| {label} | {choice['thresholds'][label]:.2f} | {_fmt(t['min'])} / "
                         f"{_fmt(t['median'])} / {_fmt(t['max'])} | {_fmt(f['min'])} / "
                         f"{_fmt(f['median'])} / {_fmt(f['max'])} |")
        if dev_data := choice.get("dev_data"):
            lines += ["", f"Chosen on dev: {dev_data['clauses']} clauses from "
                      f"{dev_data['documents']} documents, gold sha256 "
                      f"`{dev_data['gold_sha256'][:16]}…`, splits sha256 "
                      f"`{dev_data['splits_sha256'][:16]}…`."]
    training = meta.get("training", {})
    lines += [
        "",
        "## Data",
        f"- gold: `{data.get('gold_path')}` sha256 `{str(data.get('gold_sha256'))[:16]}…`",
        f"- splits: `{data.get('splits_path')}` sha256 `{str(data.get('splits_sha256'))[:16]}…`",
        f"- train: {data.get('train_clauses')} clauses from {data.get('train_documents')} "
        f"documents; dev: {data.get('dev_clauses')} clauses from {data.get('dev_documents')} "
        "documents",
        f"- weak records mixed in: {data.get('weak_clauses', 0)}"
        + (f" (weight {config.get('data', {}).get('weak_weight')})"
           if data.get("weak_clauses") else ""),
        f"- training: {training.get('epochs')} epochs, best epoch {training.get('best_epoch')}, "
        f"{training.get('seconds')} s, {training.get('precision', 'float32')} steps; "
        f"seed {config.get('train', {}).get('seed')}",
        "",
        "## Metrics (dev split)",
        "",
        *_metrics_lines(meta),
        "",
    ]
    if kind != "classifier":
        lines += ["Entity scores: seqeval strict mode, IOB2, over character-level tag "
                  "sequences.", ""]
    lines += [
        "Test-split numbers: `policy-clauses evaluate --model DIR --data test --report OUT`.",
        "",
        "## Intended use",
        INTENDED_USE,
        "",
        "## Limits",
        *[f"- {item}" for item in LIMITS],
        "",
        "## Reproduce",
        f"The resolved training config is the key `config` of `{META_FILE}`; JSON is YAML, so "
        "it can be passed back as it is (the backbone folder must exist: `make backbone`):",
        "",
        f"    python -c \"import json, sys; print(json.dumps(json.load(open(sys.argv[1]))"
        f"['config']))\" DIR/{kind}/{META_FILE} > {task}.yaml",
        f"    policy-clauses train {task} --config {task}.yaml --output.dir OUT",
        "",
    ]
    return "\n".join(lines)


def write_model_card(folder: Path, meta: dict[str, Any]) -> Path:
    path = Path(folder) / "README.md"
    path.write_text(render_card(meta), encoding="utf-8")
    return path


NOTES_FILE = "NOTES.md"


def write_combined_card(model_dir: Path) -> Path | None:
    """README.md of a model folder: one section per trained part, read from their metadata,
    then the folder's hand-written ``NOTES.md`` when there is one (test-split figures, what
    was tried and dropped: what no single training run knows)."""
    parts = []
    for name in ("classifier", "tagger"):
        if (Path(model_dir) / name / META_FILE).is_file():
            meta = read_meta(Path(model_dir) / name, name).model_dump(mode="json")
            body = render_card(meta).split("---\n", 2)[-1].strip()
            parts.append(body.replace("\n# ", "\n## ").replace("\n## ", "\n### ")
                         .replace("# policy-clauses", "## policy-clauses", 1))
    if not parts:
        return None
    notes = Path(model_dir) / NOTES_FILE
    if notes.is_file():
        parts.append(notes.read_text(encoding="utf-8").strip())
    text = "\n".join([
        "# policy-clauses model",
        "",
        "Clause labels (classifier/) and AMOUNT/AGENCY entities (tagger/) for Chinese policy "
        "documents. Load with `policy-clauses predict --model DIR` or "
        "`inference.scoring.models.load_scorer(DIR)`.",
        "",
        *parts,
        "",
    ])
    path = Path(model_dir) / "README.md"
    path.write_text(text, encoding="utf-8")
    return path
