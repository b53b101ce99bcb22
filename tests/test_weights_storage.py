"""Half-precision storage of saved weights: smaller folder, float32 compute, same outputs."""

from __future__ import annotations

import torch
from transformers import (
    AutoModelForSequenceClassification,
    BertConfig,
    BertForSequenceClassification,
)

from training.fit.storage import store_weights_half


def test_float16_storage_halves_the_file_and_loads_as_float32(tmp_path):
    torch.manual_seed(0)
    config = BertConfig(vocab_size=300, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=128, num_labels=5)
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(tmp_path)
    full_size = (tmp_path / "model.safetensors").stat().st_size
    ids = torch.tensor([[2, 17, 99, 240, 3]])
    with torch.inference_mode():
        before = torch.sigmoid(model(input_ids=ids).logits)

    store_weights_half(tmp_path)

    assert (tmp_path / "model.safetensors").stat().st_size < 0.6 * full_size
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    assert next(loaded.parameters()).dtype == torch.float32
    with torch.inference_mode():
        after = torch.sigmoid(loaded(input_ids=ids).logits)
    assert torch.allclose(before, after, atol=2e-3)
