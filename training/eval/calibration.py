"""Calibration of a classifier's per-label probabilities: reliability bins and the expected
calibration error (ECE), and the reliability diagram drawn from them.

Bins are equal-width over [0, 1] (the last bin includes 1.0). Per bin: how many clauses fall
in it, their mean predicted probability and the share of them that really carry the label.
ECE is the count-weighted mean of ``|observed frequency - mean predicted|`` over the non-empty
bins: 0 for a perfectly calibrated model, and what a reader should subtract from "a 0.8 score
means 80 % of such clauses carry the label".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.eval.metrics import DIGITS

BINS = 10


@dataclass(frozen=True)
class CalibrationBin:
    """One probability bin: [lower, upper), the last one [lower, 1.0]; ``mean_predicted`` and
    ``observed_frequency`` are None for an empty bin."""

    lower: float
    upper: float
    count: int
    positives: int
    mean_predicted: float | None
    observed_frequency: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"lower": self.lower, "upper": self.upper, "count": self.count,
                "positives": self.positives, "mean_predicted": self.mean_predicted,
                "observed_frequency": self.observed_frequency}


@dataclass(frozen=True)
class LabelCalibration:
    """One label's reliability bins and expected calibration error over ``clauses`` clauses,
    ``positives`` of them carrying the label."""

    label: str
    bins: list[CalibrationBin]
    ece: float
    clauses: int
    positives: int

    def to_dict(self) -> dict[str, Any]:
        return {"ece": self.ece, "clauses": self.clauses, "positives": self.positives,
                "bins": [b.to_dict() for b in self.bins]}

    @classmethod
    def from_dict(cls, label: str, data: Mapping[str, Any]) -> LabelCalibration:
        return cls(label=label, bins=[CalibrationBin(**row) for row in data["bins"]],
                   ece=data["ece"], clauses=data["clauses"], positives=data["positives"])


def reliability(label: str, probabilities: Sequence[float], truth: Sequence[bool],
                bins: int = BINS) -> LabelCalibration:
    """Reliability bins and ECE of one label's probabilities against whether each clause
    carries the label. Probabilities outside [0, 1] are a ValueError (not probabilities)."""
    if len(probabilities) != len(truth):
        raise ValueError(f"{len(probabilities)} probabilities but {len(truth)} gold values")
    if bins < 1:
        raise ValueError(f"bins must be at least 1, not {bins}")
    counts = [0] * bins
    positives = [0] * bins
    sums = [0.0] * bins
    for p, gold in zip(probabilities, truth, strict=True):
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{label}: score {p} is not a probability in [0, 1]")
        index = min(int(p * bins), bins - 1)
        counts[index] += 1
        positives[index] += int(bool(gold))
        sums[index] += p
    total = len(probabilities)
    rows: list[CalibrationBin] = []
    gap = 0.0
    for i in range(bins):
        mean = sums[i] / counts[i] if counts[i] else None
        observed = positives[i] / counts[i] if counts[i] else None
        if mean is not None and observed is not None:
            gap += counts[i] / total * abs(observed - mean)
        rows.append(CalibrationBin(
            lower=round(i / bins, DIGITS), upper=round((i + 1) / bins, DIGITS),
            count=counts[i], positives=positives[i],
            mean_predicted=round(mean, DIGITS) if mean is not None else None,
            observed_frequency=round(observed, DIGITS) if observed is not None else None))
    return LabelCalibration(label=label, bins=rows, ece=round(gap, DIGITS), clauses=total,
                            positives=sum(positives))


def calibrate(scores: Sequence[dict[str, float] | None], gold: Sequence[Sequence[str]],
              labels: Sequence[str], bins: int = BINS) -> dict[str, LabelCalibration]:
    """Per label, the reliability of per-clause ``scores`` (label → probability) against the
    gold label sets; a clause without a score for a label is left out of that label."""
    if len(scores) != len(gold):
        raise ValueError(f"{len(scores)} score rows but {len(gold)} gold label sets")
    out: dict[str, LabelCalibration] = {}
    for label in labels:
        pairs = [(row[label], label in g) for row, g in zip(scores, gold, strict=True)
                 if row is not None and row.get(label) is not None]
        out[label] = reliability(label, [p for p, _ in pairs], [t for _, t in pairs], bins)
    return out


def plot_reliability(calibration: LabelCalibration, path: Path, title: str = "") -> Path:
    """The reliability diagram of one label: observed frequency against mean predicted
    probability per bin (the diagonal is perfect calibration), with each bin's clause count,
    and the counts per bin as bars below (log scale). Needs matplotlib (the ``analysis`` extra)."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(4.8, 5.6), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1,
             label="perfect calibration")
    filled = [b for b in calibration.bins if b.count]
    xs = [b.mean_predicted for b in filled]
    ys = [b.observed_frequency for b in filled]
    top.plot(xs, ys, marker="o", color="tab:blue", label="observed")
    for b in filled:
        top.annotate(str(b.count), (b.mean_predicted, b.observed_frequency),
                     textcoords="offset points", xytext=(4, 4), fontsize=7)
    top.set_xlim(0, 1)
    top.set_ylim(0, 1.05)
    top.set_ylabel("observed frequency")
    top.set_title(title or f"{calibration.label}: ECE {calibration.ece:.3f} "
                  f"({calibration.clauses} clauses, {calibration.positives} positive)",
                  fontsize=9)
    top.legend(loc="upper left", fontsize=7)
    width = calibration.bins[0].upper - calibration.bins[0].lower if calibration.bins else 0.1
    bottom.bar([b.lower for b in calibration.bins], [b.count for b in calibration.bins],
               width=width, align="edge", color="tab:grey", edgecolor="white")
    if any(b.count for b in calibration.bins):
        # most clauses sit in the lowest bin; a log scale keeps the others readable
        bottom.set_yscale("log")
    bottom.set_xlabel("predicted probability")
    bottom.set_ylabel("clauses (log)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
