"""The plain-torch encoder (``inference.scoring.encoder_lite``) computes what transformers'
BERT computes, ``predict`` runs on it for a shared-encoder model and gives what the
transformers path gives, any config it does not implement falls back to transformers, and a
predict run no longer imports transformers' model code. No timing is asserted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from inference.scoring import joint, models
from inference.scoring.components import ClauseInput
from inference.scoring.encoder_lite import (
    JointModule,
    load_classifier,
    read_config,
    unsupported,
)
from inference.scoring.models import load_scorer
from tests.fixtures.tiny_training import fixture_records
from tests.helpers.predict_probe import modules_imported_by_predict
from tests.test_train_joint import _trained

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / "default"


@pytest.fixture(scope="module")
def joint_model(tmp_path_factory) -> Path:
    folder, _ = _trained(str(tmp_path_factory.mktemp("joint_lite")))
    return folder


def fixture_inputs() -> list[ClauseInput]:
    return [ClauseInput(r["text"], r.get("section", "")) for r in fixture_records()]


def hf_classifier(folder: Path, dtype: torch.dtype = torch.float32):
    from transformers import AutoModelForSequenceClassification

    options = {"dtype": dtype} if dtype != torch.float32 else {}
    return AutoModelForSequenceClassification.from_pretrained(folder, **options).eval()


def batches(folder: Path) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Token ids of the fixture clauses: one batch of different lengths padded and masked
    (with a padding row as ``pad_windows`` makes them), and one with no padding at all."""
    from inference.scoring.align import pad_windows

    tokenizer = models._load_tokenizer(folder)
    texts = [r["text"] for r in fixture_records()[:6]]
    ids = [tokenizer(t, truncation=True, max_length=48)["input_ids"] for t in texts]
    assert len({len(i) for i in ids}) > 2, "the batch must mix lengths"
    padded = pad_windows(ids, tokenizer.pad_token_id, row_step=8)
    same = torch.tensor([ids[0], ids[0][::-1]])
    return [padded, (same, torch.ones_like(same))]


def compare(folder: Path, dtype: torch.dtype, atol: float, rtol: float) -> None:
    reference = hf_classifier(folder, dtype)
    lite = load_classifier(folder, read_config(folder), dtype)
    assert lite is not None
    assert lite.state_dict().keys() == reference.state_dict().keys()
    with torch.inference_mode():
        for ids, mask in batches(folder):
            expected = reference(input_ids=ids, attention_mask=mask, output_hidden_states=True)
            logits, hidden = lite(ids, mask)
            assert logits.dtype == hidden.dtype == dtype
            real = mask.bool()
            torch.testing.assert_close(logits.float(), expected.logits.float(),
                                       atol=atol, rtol=rtol)
            torch.testing.assert_close(hidden[real].float(),
                                       expected.hidden_states[-1][real].float(),
                                       atol=atol, rtol=rtol)


def test_lite_classifier_equals_transformers_in_float32(joint_model) -> None:
    compare(joint_model / "classifier", torch.float32, atol=1e-5, rtol=1e-5)


def test_lite_classifier_equals_transformers_in_bf16(joint_model) -> None:
    # both load the weights as bfloat16 and run the same operations; bf16 keeps 8 bits
    compare(joint_model / "classifier", torch.bfloat16, atol=2e-2, rtol=2e-2)


@pytest.mark.skipif(not (SHIPPED / "classifier" / "config.json").is_file(),
                    reason="no shipped model in this checkout")
def test_shipped_model_is_lite_and_equals_transformers() -> None:
    """The shipped default (float16 storage, 4 layers) is what the lite encoder computes, and
    the tokenizer it loads encodes as ``AutoTokenizer``'s does."""
    from transformers import AutoTokenizer

    folder = SHIPPED / "classifier"
    assert unsupported(read_config(folder)) is None
    texts = [r["text"] for r in fixture_records()[:6]]
    assert models._load_tokenizer(folder)(texts)["input_ids"] == \
        AutoTokenizer.from_pretrained(folder)(texts)["input_ids"]
    compare(folder, torch.float32, atol=1e-4, rtol=1e-4)


def _scores(joint_model: Path, fast: str, monkeypatch, *, lite: bool):
    with monkeypatch.context() as patch:
        if not lite:
            patch.setattr(models, "lite_classifier", lambda *args, **kwargs: None)
        scorer = load_scorer(joint_model, fast=fast)
    assert scorer.shared is not None
    assert scorer.shared.engine == ("lite" if lite else "transformers")
    assert isinstance(scorer.shared.module, JointModule if lite else joint.JointModule)
    return scorer, scorer.predict(fixture_inputs())


@pytest.mark.parametrize(("fast", "tolerance"), [("none", 1e-4), ("int8", 1e-4),
                                                 ("bf16", 2e-2)])
def test_predict_through_lite_equals_transformers(joint_model, monkeypatch, fast,
                                                  tolerance) -> None:
    lite_scorer, lite = _scores(joint_model, fast, monkeypatch, lite=True)
    hf_scorer, reference = _scores(joint_model, fast, monkeypatch, lite=False)
    assert (lite_scorer.name, lite_scorer.version) == (hf_scorer.name, hf_scorer.version)
    assert lite_scorer.thresholds == hf_scorer.thresholds
    assert any(s.entities for s in reference), "the fixture must exercise the tag head"
    drift = max(abs(a.scores[k] - b.scores[k])
                for a, b in zip(lite, reference, strict=True) for k in a.scores)
    assert drift <= tolerance
    if fast != "bf16":  # bf16 may flip a score that sits on its threshold
        for a, b in zip(lite, reference, strict=True):
            assert a.labels == b.labels
            assert [(e.start, e.end, e.type) for e in a.entities] == [
                (e.start, e.end, e.type) for e in b.entities]


@pytest.mark.parametrize(("field", "value"), [
    ("position_embedding_type", "relative_key"),
    ("hidden_act", "gelu_new"),
    ("is_decoder", True),
    ("model_type", "roberta"),
    ("dtype", "float16"),
])
def test_a_config_it_does_not_implement_falls_back_to_transformers(joint_model, tmp_path,
                                                                   field, value) -> None:
    folder = tmp_path / "model"
    shutil.copytree(joint_model, folder)
    config_path = folder / "classifier" / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    assert unsupported(config) is None
    config[field] = value
    assert unsupported(config) is not None
    if field == "model_type":  # transformers itself cannot load that folder: the check only
        return
    config_path.write_text(json.dumps(config), encoding="utf-8")
    scorer = load_scorer(folder, fast="none")
    assert scorer.shared is not None and scorer.shared.engine == "transformers"
    assert isinstance(scorer.shared.module, joint.JointModule)


def test_tensors_other_than_the_architecture_fall_back(joint_model, tmp_path) -> None:
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "classifier"
    shutil.copytree(joint_model / "classifier", folder)
    state = load_file(str(folder / "model.safetensors"))
    del state["bert.pooler.dense.bias"]
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    assert load_classifier(folder, read_config(folder)) is None


def test_sizes_and_values_are_checked() -> None:
    base = read_config(SHIPPED / "classifier") if (SHIPPED / "classifier").is_dir() else None
    if base is None:
        pytest.skip("no shipped model in this checkout")
    for field, value in (("num_attention_heads", 5), ("hidden_size", "384"),
                         ("layer_norm_eps", None), ("embedding_size", 128),
                         ("_attn_implementation", "flash_attention_2"), ("id2label", {})):
        changed = dict(base, **{field: value})
        assert unsupported(changed) is not None, field


def test_predict_imports_no_transformers_model_code(joint_model, tmp_path) -> None:
    watched = ["transformers.models.bert.modeling_bert", "transformers.modeling_utils",
               "torch._dynamo"]
    assert modules_imported_by_predict(joint_model, tmp_path, watched,
                                       ["--fast", "none"]) == []
