"""Reliability bins, ECE and the reliability diagram (training/eval/calibration.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.eval.calibration import (
    LabelCalibration,
    calibrate,
    plot_reliability,
    reliability,
)

PNG = b"\x89PNG\r\n\x1a\n"


def test_bins_and_ece_by_hand() -> None:
    result = reliability("goal", [0.05, 0.15, 0.15, 0.95, 1.0],
                         [False, True, False, True, True], bins=10)
    filled = [b for b in result.bins if b.count]
    assert [(b.lower, b.count, b.positives) for b in filled] == [(0.0, 1, 0), (0.1, 2, 1),
                                                                 (0.9, 2, 2)]
    assert [b.mean_predicted for b in filled] == [0.05, 0.15, 0.975]
    assert [b.observed_frequency for b in filled] == [0.0, 0.5, 1.0]
    # 1/5·0.05 + 2/5·0.35 + 2/5·0.025
    assert result.ece == pytest.approx(0.16, abs=1e-4)
    assert (result.clauses, result.positives) == (5, 3)
    assert result.bins[5].mean_predicted is None and result.bins[5].count == 0
    assert result.to_dict()["bins"][9] == {"lower": 0.9, "upper": 1.0, "count": 2,
                                           "positives": 2, "mean_predicted": 0.975,
                                           "observed_frequency": 1.0}
    assert LabelCalibration.from_dict("goal", json.loads(json.dumps(result.to_dict()))) == result


def test_a_calibrated_label_has_zero_ece() -> None:
    probs = [0.25] * 4 + [0.75] * 4
    truth = [True, False, False, False, True, True, True, False]
    assert reliability("goal", probs, truth).ece == 0.0


def test_scores_that_are_not_probabilities_are_refused() -> None:
    with pytest.raises(ValueError, match="not a probability"):
        reliability("goal", [1.5], [True])
    with pytest.raises(ValueError, match="2 probabilities but 1"):
        reliability("goal", [0.5, 0.5], [True])


def test_calibrate_per_label_leaves_out_clauses_without_scores() -> None:
    scores = [{"goal": 0.9, "timeline": 0.2}, None, {"goal": 0.1}]
    result = calibrate(scores, [["goal"], ["goal"], []], ["goal", "timeline"])
    assert (result["goal"].clauses, result["goal"].positives) == (2, 1)
    assert result["goal"].ece == pytest.approx(0.1, abs=1e-4)
    assert result["timeline"].clauses == 1 and result["timeline"].ece == 0.2


def test_reliability_diagram_is_a_png(tmp_path: Path) -> None:
    result = reliability("goal", [0.05, 0.15, 0.95], [False, True, True])
    path = plot_reliability(result, tmp_path / "reliability_goal.png")
    assert path.read_bytes()[:8] == PNG
