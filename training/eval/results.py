"""What an evaluation produces: one scorer's metrics on a split, and a model beside the rule
baseline. Kept apart from the code that computes them so reports and commands can read them
without importing the evaluation itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inference.schema import default_schema
from training.eval.metrics import Metrics, SliceMetrics

if TYPE_CHECKING:
    from training.eval.calibration import LabelCalibration


@dataclass
class ScorerResult:
    """One scorer's predictions and metrics on a split; ``slices`` are the same scores per
    corpus and per layout (dimension → slice name → scores); ``calibration`` is per label, or
    None with ``calibration_note`` saying why it was skipped."""

    name: str
    metrics: Metrics
    predicted_labels: list[list[str]] = field(default_factory=list)
    slices: dict[str, dict[str, SliceMetrics]] = field(default_factory=dict)
    calibration: dict[str, LabelCalibration] | None = None
    calibration_note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, **self.metrics.to_dict()}
        for dimension, slices in self.slices.items():
            out[f"by_{dimension}"] = {name: row.to_dict() for name, row in slices.items()}
        if self.calibration is not None:
            out["calibration"] = {name: row.to_dict() for name, row in self.calibration.items()}
        elif self.calibration_note:
            out["calibration"] = {"skipped": self.calibration_note}
        return out


@dataclass
class EvaluationResult:
    split: str
    model: ScorerResult
    baseline: ScorerResult | None
    data: dict[str, Any]
    report_files: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "data": self.data,
            "entity_scoring": "seqeval strict, IOB2, character-level tag sequences",
            "model": self.model.to_dict(),
            "rules": self.baseline.to_dict() if self.baseline else None,
        }


def summary_table(result: EvaluationResult) -> str:
    """A Markdown table of the headline numbers, model beside rules."""
    schema = default_schema()
    columns = [result.model] + ([result.baseline] if result.baseline else [])
    lines = ["| metric | " + " | ".join(c.name for c in columns) + " |",
             "|---" * (len(columns) + 1) + "|"]

    def row(name: str, values: list[float]) -> None:
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in values) + " |")

    for label in schema.label_names:
        row(f"{label} F1", [c.metrics.labels.labels[label].f1 for c in columns])
    row("micro F1", [c.metrics.labels.micro_f1 for c in columns])
    row("macro F1", [c.metrics.labels.macro_f1 for c in columns])
    for etype in schema.entity_names:
        row(f"{etype} F1", [c.metrics.entities.types[etype].f1 for c in columns])
    row("entity micro F1", [c.metrics.entity_micro_f1 for c in columns])
    return "\n".join(lines)
