"""Training steps in bf16 autocast (``train.precision``): which arithmetic ``auto`` picks, that
the step's products run in bf16 while the losses stay float32, and that a bf16 run trains and
saves a float32 model that scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from inference.schema import default_schema
from inference.scoring.components import ClauseInput
from inference.scoring.model_folder import META_FILE
from inference.scoring.models import load_scorer
from inference.scoring.runtime import CPU_FLAGS_ENV
from tests.fixtures.tiny_training import build_tiny_backbone, tiny_config
from training.fit.checkpoints import check_fingerprint, fingerprint
from training.fit.classifier import label_loss_fn
from training.fit.config import TrainSection
from training.fit.joint import train_joint
from training.fit.loop import fit
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


def test_auto_on_a_gpu_counts_only_native_bf16(monkeypatch) -> None:
    """A GPU older than Ampere emulates bf16 (slower than float32): auto keeps float32."""
    def supported(including_emulation: bool = True) -> bool:
        return including_emulation  # a GPU that has bf16 only by emulation

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", supported)
    assert resolve_precision(TrainSection(precision="auto", device="cuda")) == "float32"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    assert resolve_precision(TrainSection(precision="auto", device="cuda:0")) == "bf16"


def test_bf16_steps_multiply_in_bf16_and_keep_float32_weights() -> None:
    layer = torch.nn.Linear(8, 4)
    x = torch.randn(2, 8)
    with step_precision("bf16", "cpu"):
        assert layer(x).dtype == torch.bfloat16
    with step_precision("float32", "cpu"):
        assert layer(x).dtype == torch.float32
    assert layer.weight.dtype == torch.float32


@pytest.mark.parametrize(("precision", "dtype"), [("bf16", torch.bfloat16),
                                                  ("float32", torch.float32)])
def test_fit_runs_each_step_in_the_chosen_precision(tmp_path, precision, dtype) -> None:
    """The epoch loop itself puts the step under autocast, and records what it ran."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    seen: list[torch.dtype] = []

    def loss_for_batch(model, batch):
        out = model(torch.randn(len(batch), 4))
        seen.append(out.dtype)
        return out.float().pow(2).mean()

    config = tiny_config("joint", tmp_path / "unused-backbone", tmp_path / "model",
                         train__epochs=1, train__batch_size=2, train__precision=precision)
    result = fit(model, config=config, lengths=[3] * 4, loss_for_batch=loss_for_batch,
                 evaluate=lambda model: (None, None))
    assert seen == [dtype, dtype]
    assert result.precision == precision
    assert model.weight.dtype == torch.float32


def test_a_checkpoint_from_before_precision_resumes_as_float32(tmp_path) -> None:
    config = tiny_config("joint", tmp_path / "b", tmp_path / "m", train__precision="float32")
    old = fingerprint(config)
    del old["train"]["precision"]
    check_fingerprint({"config": old}, config, tmp_path)  # float32 then, float32 now
    bf16 = tiny_config("joint", tmp_path / "b", tmp_path / "m", train__precision="bf16")
    with pytest.raises(ValueError, match=r"\['train'\] differ"):
        check_fingerprint({"config": old}, bf16, tmp_path)


def test_the_checkpoint_records_what_auto_chose(monkeypatch, tmp_path) -> None:
    config = tiny_config("joint", tmp_path / "b", tmp_path / "m", train__precision="auto")
    monkeypatch.setenv(CPU_FLAGS_ENV, "avx2 avx512_bf16")
    on_bf16 = fingerprint(config)
    assert on_bf16["train"]["precision"] == "bf16"
    monkeypatch.setenv(CPU_FLAGS_ENV, "avx2")
    # the same config resumed on a CPU where auto means float32 is refused, not mixed
    with pytest.raises(ValueError, match="different config"):
        check_fingerprint({"config": on_bf16}, config, tmp_path)


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
    assert result.fit.precision == "bf16"
    meta = json.loads((out / "classifier" / META_FILE).read_text())
    assert meta["training"]["precision"] == "bf16"
    scorer = load_scorer(out)
    assert scorer.shared is not None
    assert all(p.dtype == torch.float32 for p in scorer.shared.module.parameters())
    prediction = scorer.predict([ClauseInput(TEXT, section="二、支持政策")])[0]
    assert set(prediction.scores) == set(default_schema().label_names)
