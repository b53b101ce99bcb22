"""Training steps in bf16 autocast (``train.precision``): which arithmetic ``auto`` picks, that
the step's products run in bf16 while the losses stay float32, and that a bf16 run trains and
saves a float32 model that scores."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from inference.schema import default_schema
from inference.scoring.components import ClauseInput
from inference.scoring.models import load_scorer
from inference.scoring.runtime import CPU_FLAGS_ENV
from tests.fixtures.tiny_training import build_tiny_backbone, tiny_config
from training.fit.classifier import label_loss_fn
from training.fit.config import TrainSection
from training.fit.joint import train_joint
from training.fit.setup import resolve_precision, step_precision
from training.fit.tagger import weighted_token_loss

TEXT = "对符合条件的项目给予支持，由省财政厅负责，单个项目最高补助500万元。"


@pytest.mark.parametrize(("flags", "expected"), [
    ("avx2 avx512f avx512_bf16", "bf16"),
    ("avx2 amx_bf16 amx_tile", "bf16"),
    ("avx2 avx512f avx512_vnni", "float32"),
    ("avx2", "float32"),
])
def test_auto_trains_in_bf16_only_where_the_cpu_computes_it(monkeypatch, flags, expected) -> None:
    monkeypatch.setenv(CPU_FLAGS_ENV, flags)
    assert resolve_precision(TrainSection(precision="auto")) == expected
    # an explicit choice is kept whatever the CPU has
    assert resolve_precision(TrainSection(precision="bf16")) == "bf16"
    assert resolve_precision(TrainSection(precision="float32")) == "float32"


def test_auto_on_a_gpu_asks_the_gpu(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert resolve_precision(TrainSection(precision="auto", device="cuda")) == "float32"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert resolve_precision(TrainSection(precision="auto", device="cuda:0")) == "bf16"


def test_bf16_steps_multiply_in_bf16_and_keep_float32_weights() -> None:
    layer = torch.nn.Linear(8, 4)
    x = torch.randn(2, 8)
    with step_precision(TrainSection(precision="bf16")):
        assert layer(x).dtype == torch.bfloat16
    with step_precision(TrainSection(precision="float32")):
        assert layer(x).dtype == torch.float32
    assert layer.weight.dtype == torch.float32


@pytest.mark.parametrize("kind", ["bce", "focal"])
def test_label_losses_are_float32_on_bf16_logits(kind) -> None:
    torch.manual_seed(0)
    logits, targets = torch.randn(6, 5) * 3, (torch.rand(6, 5) > 0.5).float()
    loss = label_loss_fn(kind, [2.0] * 5, 2.0, "cpu")
    low = loss(logits.to(torch.bfloat16), targets)
    assert low.dtype == torch.float32
    # only the logits' own rounding to bf16 separates the two
    assert torch.allclose(low, loss(logits.to(torch.bfloat16).float(), targets))


def test_token_loss_is_float32_on_bf16_logits() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 7, 5).to(torch.bfloat16)
    tags = torch.randint(0, 5, (2, 7))
    ce = torch.nn.CrossEntropyLoss(reduction="none")
    value = weighted_token_loss(ce, logits, tags, torch.ones(2))
    assert value.dtype == torch.float32
    assert torch.allclose(value, weighted_token_loss(ce, logits.float(), tags, torch.ones(2)))


def test_a_bf16_run_trains_and_saves_a_float32_model(tmp_path: Path) -> None:
    backbone = build_tiny_backbone(tmp_path / "backbone", extra_texts=(TEXT,))
    out = tmp_path / "model"
    result = train_joint(tiny_config("joint", backbone, out, train__epochs=30,
                                     train__select_best=False, train__tune_thresholds=False,
                                     train__precision="bf16"))
    history = result.fit.history
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]
    scorer = load_scorer(out)
    assert scorer.shared is not None
    assert all(p.dtype == torch.float32 for p in scorer.shared.module.parameters())
    prediction = scorer.predict([ClauseInput(TEXT, section="二、支持政策")])[0]
    assert set(prediction.scores) == set(default_schema().label_names)
