"""The evaluation report: metrics.json, report.md and PNG plots (per-label F1 of the model
beside the rules, label co-occurrence, per-label confusion counts, a reliability diagram per
label for a model), with the scores per corpus and per layout beside the overall ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inference.schema import default_schema

if TYPE_CHECKING:
    from training.eval.metrics import Metrics
    from training.eval.results import EvaluationResult

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"
F1_PLOT = "per_label_f1.png"
COOCCURRENCE_PLOT = "cooccurrence.png"
CONFUSION_PLOT = "confusion.png"
RELIABILITY_PLOT = "reliability_{label}.png"


def reliability_plot_name(label: str) -> str:
    return RELIABILITY_PLOT.format(label=label)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def plot_f1(result: EvaluationResult, path: Path) -> Path:
    """Grouped bars: F1 per clause label and entity type, model beside rules."""
    schema = default_schema()
    names = schema.label_names + schema.entity_names
    columns = [result.model] + ([result.baseline] if result.baseline else [])

    def f1(metrics: Metrics, name: str) -> float:
        if name in metrics.labels.labels:
            return metrics.labels.labels[name].f1
        return metrics.entities.types[name].f1

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 2, 4))
    width = 0.8 / len(columns)
    for k, column in enumerate(columns):
        xs = [i + (k - (len(columns) - 1) / 2) * width for i in range(len(names))]
        values = [f1(column.metrics, name) for name in names]
        bars = ax.bar(xs, values, width, label=column.name)
        ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=7)
    ax.set_xticks(range(len(names)), names, rotation=20)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("F1")
    ax.set_title(f"F1 per label and entity type ({result.split} split)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_cooccurrence(result: EvaluationResult, path: Path) -> Path:
    """Label co-occurrence counts: gold beside the model's predictions."""
    names = default_schema().label_names
    matrices = [("gold", result.data["gold_cooccurrence"]),
                (result.model.name, result.model.metrics.predicted_cooccurrence)]
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for ax, (title, matrix) in zip(axes, matrices, strict=True):
        image = ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
        ax.set_yticks(range(len(names)), names)
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                ax.text(j, i, str(value), ha="center", va="center", fontsize=8)
        ax.set_title(f"co-occurrence: {title}", fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_confusion(result: EvaluationResult, path: Path) -> Path:
    """One 2×2 confusion matrix per label (rows gold no/yes, columns predicted no/yes)."""
    names = default_schema().label_names
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(names), figsize=(2.6 * len(names), 3))
    for ax, name in zip(axes, names, strict=True):
        row = result.model.metrics.labels.labels[name]
        matrix = [[row.tn, row.fp], [row.fn, row.tp]]
        ax.imshow(matrix, cmap="Oranges")
        for i in range(2):
            for j in range(2):
                ax.text(j, i, str(matrix[i][j]), ha="center", va="center")
        ax.set_xticks([0, 1], ["pred no", "pred yes"], fontsize=7)
        ax.set_yticks([0, 1], ["gold no", "gold yes"], fontsize=7)
        ax.set_title(name, fontsize=9)
    fig.suptitle(f"per-label confusion: {result.model.name}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def slice_table(result: EvaluationResult, dimension: str) -> str:
    """A Markdown table per slice of ``dimension`` (corpus or layout): support, label micro F1
    of each scorer, and the model's per-label and per-type F1 with their gold support."""
    schema = default_schema()
    columns = [result.model] + ([result.baseline] if result.baseline else [])
    slices = result.model.slices.get(dimension, {})
    header = ([dimension, "documents", "clauses", "positives"]
              + [f"micro F1 {c.name}" for c in columns]
              + [f"{name} F1 (n)" for name in schema.label_names + schema.entity_names])
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for name, row in slices.items():
        cells = [name, str(row.documents), str(row.clauses), str(row.positives)]
        for column in columns:
            other = column.slices.get(dimension, {}).get(name)
            cells.append(f"{other.labels.micro_f1:.3f}" if other else "")
        for label in schema.label_names:
            scores = row.labels.labels[label]
            cells.append(f"{scores.f1:.3f} ({scores.support})")
        for etype in schema.entity_names:
            scores = row.entities.types[etype]
            cells.append(f"{scores.f1:.3f} ({scores.support})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def calibration_section(result: EvaluationResult) -> list[str]:
    """The calibration part of report.md: ECE per label with links to the diagrams, or the
    reason it was skipped."""
    model = result.model
    lines = ["## Calibration", ""]
    if model.calibration is None:
        return [*lines, f"Skipped for {model.name}: {model.calibration_note or 'no scores'}.", ""]
    lines += [f"Reliability of {model.name}'s per-label probabilities: equal-width bins of "
              "predicted probability against the share of their clauses that carry the label; "
              "ECE is the clause-weighted mean gap between the two (0 is perfect).", "",
              "| label | ECE | clauses | positives | diagram |", "|---|---|---|---|---|"]
    for label, row in model.calibration.items():
        plot = reliability_plot_name(label)
        lines.append(f"| {label} | {row.ece:.3f} | {row.clauses} | {row.positives} | "
                     f"[{plot}]({plot}) |")
    lines.append("")
    for label in model.calibration:
        lines += [f"![reliability: {label}]({reliability_plot_name(label)})", ""]
    if result.baseline is not None and result.baseline.calibration_note:
        lines += [f"Skipped for {result.baseline.name}: {result.baseline.calibration_note}.", ""]
    return lines


def render_markdown(result: EvaluationResult) -> str:
    from training.eval.results import summary_table

    schema = default_schema()
    data = result.data
    lines = [
        f"# Evaluation: {result.model.name} on the {result.split} split",
        "",
        f"- data: `{data['gold_path']}` (sha256 `{data['gold_sha256'][:16]}…`), splits sha256 "
        f"`{data['splits_sha256'][:16]}…`; {data['clauses']} clauses from "
        f"{data['documents']} documents",
        "- clause labels: per-label precision/recall/F1; micro F1 pools all label decisions, "
        "macro F1 averages the per-label F1",
        "- entities: seqeval, strict mode, IOB2 scheme, over character-level tag sequences "
        "(a span counts only with the exact type and character boundaries)",
        "- every scorer runs through `annotate_clauses`, exactly as `policy-clauses predict`",
        "",
        "## Summary",
        "",
        summary_table(result),
        "",
        "## Clause labels",
        "",
    ]
    columns = [result.model] + ([result.baseline] if result.baseline else [])
    for column in columns:
        lines += [f"### {column.name}", "",
                  "| label | precision | recall | F1 | support | tp | fp | fn |",
                  "|---|---|---|---|---|---|---|---|"]
        for name in schema.label_names:
            row = column.metrics.labels.labels[name]
            lines.append(f"| {name} | {row.precision:.3f} | {row.recall:.3f} | "
                         f"{row.f1:.3f} | {row.support} | {row.tp} | {row.fp} | {row.fn} |")
        labels = column.metrics.labels
        lines.append(f"| **micro** | {labels.micro_precision:.3f} | "
                     f"{labels.micro_recall:.3f} | {labels.micro_f1:.3f} | | | | |")
        lines += ["", f"macro F1 {labels.macro_f1:.3f}; exact label-set match "
                  f"{labels.exact_match:.3f}", ""]
    lines += ["## Entities (seqeval strict, IOB2, character level)", ""]
    for column in columns:
        lines += [f"### {column.name}", "",
                  "| type | precision | recall | F1 | gold | predicted |",
                  "|---|---|---|---|---|---|"]
        entities = column.metrics.entities
        for name in schema.entity_names:
            row = entities.types[name]
            lines.append(f"| {name} | {row.precision:.3f} | {row.recall:.3f} | "
                         f"{row.f1:.3f} | {row.support} | {row.predicted} |")
        micro = entities.micro
        lines += [f"| **micro** | {micro.precision:.3f} | {micro.recall:.3f} | "
                  f"{micro.f1:.3f} | {micro.support} | |", ""]
    for dimension, title in (("corpus", "By corpus"), ("layout", "By layout")):
        if result.model.slices.get(dimension):
            lines += [f"## {title}", "",
                      f"The same scores on the clauses of each {dimension}; (n) is the gold "
                      "support (clauses with the label, spans of the type). Read a score "
                      "beside its support.", "", slice_table(result, dimension), ""]
    lines += calibration_section(result)
    lines += [
        "## Plots", "",
        f"![F1 per label]({F1_PLOT})", "",
        f"![label co-occurrence]({COOCCURRENCE_PLOT})", "",
        f"![per-label confusion]({CONFUSION_PLOT})", "",
    ]
    return "\n".join(lines)


def write_report(result: EvaluationResult, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = out_dir / METRICS_FILE
    metrics.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=1) + "\n",
                       encoding="utf-8")
    files = [metrics,
             plot_f1(result, out_dir / F1_PLOT),
             plot_cooccurrence(result, out_dir / COOCCURRENCE_PLOT),
             plot_confusion(result, out_dir / CONFUSION_PLOT)]
    if result.model.calibration is not None:
        from training.eval.calibration import plot_reliability

        files += [plot_reliability(row, out_dir / reliability_plot_name(label))
                  for label, row in result.model.calibration.items()]
    report = out_dir / REPORT_FILE
    report.write_text(render_markdown(result), encoding="utf-8")
    return [*files, report]
