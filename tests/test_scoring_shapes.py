"""Scoring pads its batches to a few fixed shapes (bounded memory over a crawl) without
changing what it predicts; loading is kept lean (bf16 loaded as bf16, no bs4 or training-only
module on the predict path). No timing is asserted."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from inference.scoring import align
from inference.scoring.align import pad_windows
from inference.scoring.components import ClauseInput
from inference.scoring.model_folder import model_digest
from inference.scoring.models import load_scorer, model_identity
from tests.fixtures.tiny_training import fixture_records
from tests.helpers.predict_probe import modules_imported_by_predict
from tests.helpers.tiny_model import build_tiny_model
from tests.test_train_joint import _trained

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def every_input_encoded(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests watch the encoder's batches: scoring the same inputs twice must reach the
    encoder twice, not the repeat memory (tests/test_repeats.py)."""
    monkeypatch.setenv("POLICY_CLAUSES_REPEAT_MEMORY", "0")


@pytest.fixture(scope="module")
def joint_model(tmp_path_factory) -> Path:
    folder, _ = _trained(str(tmp_path_factory.mktemp("joint_shapes")))
    return folder


@pytest.fixture(scope="module")
def two_part_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("two_part") / "model")


def clause_inputs() -> list[ClauseInput]:
    """The fixture clauses, plus prefixes of them: many different lengths, so batches of
    many different exact shapes."""
    records = fixture_records()
    inputs = [ClauseInput(r["text"], r.get("section", "")) for r in records]
    inputs += [ClauseInput(r["text"][:cut], r.get("section", ""))
               for r in records for cut in (3, 11, 29) if len(r["text"]) > cut]
    return inputs


def exact_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(align, "SCORING_WIDTH_STEP", 1)
    monkeypatch.setattr(align, "SCORING_ROW_STEP", 1)


def test_pad_windows_rounds_width_and_rows_and_masks_the_padding() -> None:
    ids, mask = pad_windows([[5, 6, 7], [8]], 0, width_step=8, row_step=8)
    assert tuple(ids.shape) == (8, 8) and tuple(mask.shape) == (8, 8)
    assert ids[0, :3].tolist() == [5, 6, 7] and ids[1, 0].item() == 8
    assert mask[0].tolist() == [1, 1, 1, 0, 0, 0, 0, 0]
    assert mask[1].tolist() == [1, 0, 0, 0, 0, 0, 0, 0]
    # padding rows attend to one pad token (a fully masked row is a softmax over nothing)
    assert all(mask[row].tolist() == [1] + [0] * 7 for row in range(2, 8))
    assert (ids[2:] == 0).all()
    # the width is rounded up only as far as max_width, and never below the longest window
    assert pad_windows([[1] * 10], 0, width_step=8, max_width=12)[0].shape[1] == 12
    assert pad_windows([[1] * 13], 0, width_step=8, max_width=12)[0].shape[1] == 13
    # training's call (no steps) keeps exact shapes
    assert tuple(pad_windows([[1, 2], [3]], -100)[0].shape) == (2, 2)


def _record_shapes(module: torch.nn.Module) -> list[tuple[int, ...]]:
    shapes: list[tuple[int, ...]] = []
    module.register_forward_pre_hook(lambda _, args, kwargs: shapes.append(
        tuple((kwargs.get("input_ids") if "input_ids" in kwargs else args[0]).shape)),
        with_kwargs=True)
    return shapes


def test_padded_batches_predict_what_exact_batches_predict(joint_model, monkeypatch) -> None:
    inputs = clause_inputs()
    scorer = load_scorer(joint_model, fast="none")
    assert scorer.shared is not None
    shapes = _record_shapes(scorer.shared.module)
    padded = scorer.predict(inputs) + scorer.predict(inputs[:5]) + scorer.predict(inputs[7:20])
    padded_shapes = set(shapes)
    shapes.clear()
    exact_shapes(monkeypatch)
    exact = scorer.predict(inputs) + scorer.predict(inputs[:5]) + scorer.predict(inputs[7:20])
    exact_shape_set = set(shapes)

    assert any(p.entities for p in exact), "the fixture must exercise the tag head"
    for a, b in zip(exact, padded, strict=True):
        assert a.labels == b.labels
        assert [(e.start, e.end, e.type) for e in a.entities] == [
            (e.start, e.end, e.type) for e in b.entities]
        assert max(abs(a.scores[k] - b.scores[k]) for k in a.scores) < 1e-4
    max_length = scorer.shared.settings.max_length
    assert all(rows % 8 == 0 and (width % 8 == 0 or width == max_length)
               for rows, width in padded_shapes)
    assert len(padded_shapes) < len(exact_shape_set)


def test_two_part_tagger_pads_too_and_predicts_the_same(two_part_model, monkeypatch) -> None:
    inputs = clause_inputs()
    scorer = load_scorer(two_part_model, fast="none")
    assert scorer.tagger is not None
    shapes = _record_shapes(scorer.tagger.model)
    padded = scorer.predict(inputs)
    assert shapes and all(rows % 8 == 0 for rows, _ in shapes)
    exact_shapes(monkeypatch)
    exact = scorer.predict(inputs)
    for a, b in zip(exact, padded, strict=True):
        assert a.labels == b.labels
        assert [(e.start, e.end, e.type) for e in a.entities] == [
            (e.start, e.end, e.type) for e in b.entities]


def test_bf16_loads_as_bf16_with_the_weights_a_cast_gives(joint_model) -> None:
    cast = load_scorer(joint_model, fast="none").classifier.model.to(torch.bfloat16)
    loaded = load_scorer(joint_model, fast="bf16").classifier.model
    expected, got = cast.state_dict(), loaded.state_dict()
    assert expected.keys() == got.keys()
    for key, tensor in expected.items():
        assert got[key].dtype == tensor.dtype and torch.equal(got[key], tensor), key
    # the version computed while loading is the one computed afterwards
    assert model_identity(joint_model, "bf16", digest=model_digest(joint_model)) == \
        model_identity(joint_model, "bf16")


# What a predict run over a text file must not import: modules of other commands (training
# metrics, reports, parquet, Ray, ONNX); bs4 is for HTML only. (scipy is not listed:
# transformers' model code imports it for an object-detection loss when it is installed.)
NOT_ON_THE_PREDICT_PATH = ("sklearn", "pandas", "pyarrow", "datasets", "ray",
                           "onnxruntime", "matplotlib", "seqeval", "bs4")


def test_predict_on_a_text_file_imports_no_heavy_module(two_part_model, tmp_path) -> None:
    assert modules_imported_by_predict(two_part_model, tmp_path, NOT_ON_THE_PREDICT_PATH) == []


def test_length_sorted_batches_keep_to_the_token_budget() -> None:
    from inference.scoring.encoding import length_sorted_batches

    lengths = [5, 40, 3, 17, 128, 9, 33, 60, 2, 71, 12, 90]
    batches = length_sorted_batches(lengths, 4, max_tokens=256, width_step=8, row_step=8)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    order = [i for batch in batches for i in batch]
    assert [lengths[i] for i in order] == sorted(lengths)  # still length-sorted
    for batch in batches:
        assert len(batch) <= 4
        rows, width = -(-len(batch) // 8) * 8, -(-max(lengths[i] for i in batch) // 8) * 8
        # within the budget, or within the one step of 8 rows that a wide window pads to
        assert rows * width <= max(256, 8 * width)
    assert [len(b) for b in batches] == [4, 4, 4]  # here the batch size binds first
    # the budget binds: 20 windows of 5 tokens pad to 24 × 8 = 192 positions; windows of 40
    # need 40 per row, and 8 rows (320 positions, one row step) is as few as a batch pads to
    mixed = [5] * 20 + [40] * 20
    assert [len(b) for b in length_sorted_batches(
        mixed, 64, max_tokens=256, width_step=8, row_step=8)] == [20, 8, 8, 4]
    assert [len(b) for b in length_sorted_batches(mixed, 64)] == [40]
    # without a budget only the count limits a batch
    assert [len(b) for b in length_sorted_batches(lengths, 5)] == [5, 5, 2]
    # windows so wide that 8 rows already pass the budget fill those 8 rows, padded anyway
    wide = length_sorted_batches([300] * 16, 64, max_tokens=2048, width_step=8, row_step=8)
    assert [len(b) for b in wide] == [8, 8]
    with pytest.raises(ValueError, match="batch_size"):
        length_sorted_batches([1, 2], 0)


def test_a_token_budget_changes_batches_not_predictions(joint_model, monkeypatch) -> None:
    inputs = clause_inputs()
    scorer = load_scorer(joint_model, fast="none")
    assert scorer.shared is not None
    batches: list[tuple[int, int, int]] = []  # rows, width, windows (padding rows: 1 token)
    scorer.shared.module.register_forward_pre_hook(lambda _, args, kwargs: batches.append(
        (*args[1].shape, int((args[1].sum(dim=1) > 1).sum()))), with_kwargs=True)
    monkeypatch.setattr(align, "SCORING_MAX_TOKENS", 10**9)
    unbounded = scorer.predict(inputs)
    unbounded_batches = len(batches)
    batches.clear()
    monkeypatch.setattr(align, "SCORING_MAX_TOKENS", 64)
    bounded = scorer.predict(inputs)
    assert len(batches) > unbounded_batches
    # 64 positions are one row step (8 rows) of width 8: wider windows go 8 to a batch
    assert all(rows * width <= max(64, 8 * width) for rows, width, _ in batches)
    assert any(windows > 1 for _, width, windows in batches if width > 8)
    for a, b in zip(unbounded, bounded, strict=True):
        assert a.labels == b.labels
        assert [(e.start, e.end, e.type) for e in a.entities] == [
            (e.start, e.end, e.type) for e in b.entities]
        assert max(abs(a.scores[k] - b.scores[k]) for k in a.scores) < 1e-4
