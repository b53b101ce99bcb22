"""One encoder pass per clause: the label head and the tag head of a shared-encoder model.

A model trained by ``policy-clauses train joint`` is stored as the usual two standard folders
(``classifier/`` opens as a sequence classifier, ``tagger/`` as a token classifier, each with
``transformers.pipeline``), whose encoder weights are the same tensors. Their metadata says so
(``shared_encoder``, with the same ``encoder_sha256`` in both parts). This module runs such a
pair as one model: the classifier's encoder once over (clause piece, context) windows
(``encode_joint``), its own head on the first window's [CLS] for labels, and the tagger's
linear layer on the last hidden state of every window for tags. That halves (or better) the
work per clause against running the two parts one after the other.

Training uses the same ``JointModule`` and the same ``joint_scores`` function, so what is
trained is what is served. This module imports torch; ``inference.scoring.models`` imports it
only when a shared-encoder model is loaded.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from inference.records import Entity
from inference.scoring.encoding import encode_joint, length_sorted_batches
from inference.scoring.model_folder import WEIGHTS_FILE, ModelFolderError, SharedEncoderMeta
from inference.scoring.postprocess import entities_from_windows

log = logging.getLogger(__name__)

TAG_HEAD_KEYS = ("classifier.weight", "classifier.bias")


class JointModule(torch.nn.Module):
    """A sequence-classification model plus a linear tag head over its last hidden state."""

    def __init__(self, sequence_model: Any, tag_head: Any) -> None:
        super().__init__()
        self.sequence_model = sequence_model
        self.tag_head = tag_head

    def forward(self, input_ids: Any, attention_mask: Any) -> tuple[Any, Any]:
        out = self.sequence_model(input_ids=input_ids, attention_mask=attention_mask,
                                  output_hidden_states=True)
        # The token-classification models of transformers apply dropout then a linear layer
        # to the last hidden state; dropout is off at inference, so this is what tagger/ does.
        hidden = out.hidden_states[-1]
        if self.training and hasattr(self.sequence_model, "dropout"):
            hidden = self.sequence_model.dropout(hidden)
        return out.logits, self.tag_head(hidden)


def encoder_state(classifier: Any) -> dict[str, Any]:
    """The encoder tensors of a sequence classifier (its base model without a pooler)."""
    prefix = classifier.base_model_prefix + "."
    return {k: v for k, v in classifier.state_dict().items()
            if k.startswith(prefix) and ".pooler." not in k}


def encoder_sha256(classifier: Any, dtype: Any = None) -> str:
    """A hash of the encoder tensors as stored (``dtype``: the storage dtype)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(encoder_state(classifier).items()):
        value = tensor.detach().cpu()
        if dtype is not None and value.is_floating_point():
            value = value.to(dtype)
        digest.update(name.encode())
        digest.update(value.contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def tagger_from_joint(module: JointModule, tagger_config: Any) -> Any:
    """A standard token-classification model holding the joint model's encoder and tag
    head: what tagger/ stores, so it opens alone in ``pipeline()``."""
    from transformers import AutoModelForTokenClassification

    tagger = AutoModelForTokenClassification.from_config(tagger_config)
    state = dict(encoder_state(module.sequence_model))
    state["classifier.weight"] = module.tag_head.weight.detach().clone()
    state["classifier.bias"] = module.tag_head.bias.detach().clone()
    missing, unexpected = tagger.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise RuntimeError(f"tagger from joint model: missing {missing}, unexpected {unexpected}")
    return tagger


def load_tag_head(folder: Path, hidden_size: int, n_tags: int) -> Any:
    """Only the tag head of a tagger folder (its encoder is the classifier's)."""
    from safetensors import safe_open

    try:
        with safe_open(str(folder / WEIGHTS_FILE), framework="pt") as handle:
            weight, bias = (handle.get_tensor(key).float() for key in TAG_HEAD_KEYS)
    except Exception as exc:  # safetensors raises its own error types
        raise ModelFolderError(f"{folder}: the tag head could not be read ({exc}); retrain "
                               "the model or copy the folder again") from None
    if tuple(weight.shape) != (n_tags, hidden_size):
        raise ModelFolderError(f"{folder}: tag head of shape {tuple(weight.shape)}, expected "
                               f"({n_tags}, {hidden_size}); the parts come from different "
                               "models: retrain or copy both parts of one model")
    head = torch.nn.Linear(hidden_size, n_tags)
    with torch.no_grad():
        head.weight.copy_(weight)
        head.bias.copy_(bias)
    return head


def joint_scores(module: Any, tokenizer: Any, texts: Sequence[str], contexts: Sequence[str],
                 tags: Sequence[str], settings: SharedEncoderMeta, *, batch_size: int = 64,
                 device: str = "cpu") -> tuple[list[list[float]], list[list[Entity]]]:
    """Label probabilities (sigmoid of the first window's logits) and entities (windows
    merged by ``decode_windows``, then span repair) of each clause, in one encoder pass."""
    from inference.scoring.align import (
        SCORING_MAX_TOKENS,
        SCORING_ROW_STEP,
        SCORING_WIDTH_STEP,
        pad_windows,
    )

    encoded = encode_joint(tokenizer, texts, contexts, max_length=settings.max_length,
                           stride=settings.stride,
                           max_context_tokens=settings.max_context_tokens)
    window_doc = encoded["overflow_to_sample_mapping"]
    ids_list = encoded["input_ids"]
    lengths = [len(ids) for ids in ids_list]
    first_window: dict[int, int] = {}
    for window, doc in enumerate(window_doc):
        first_window.setdefault(doc, window)
    is_first = set(first_window.values())
    label_probs: list[list[float]] = [[] for _ in texts]
    window_probs: list[Any] = [None] * len(ids_list)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    with torch.inference_mode():
        for batch in length_sorted_batches(lengths, batch_size, max_tokens=SCORING_MAX_TOKENS,
                                           width_step=SCORING_WIDTH_STEP,
                                           row_step=SCORING_ROW_STEP):
            ids, mask = pad_windows([ids_list[i] for i in batch], pad_id,
                                    width_step=SCORING_WIDTH_STEP, row_step=SCORING_ROW_STEP,
                                    max_width=settings.max_length)
            label_logits, tag_logits = module(ids.to(device), mask.to(device))
            label_rows = torch.sigmoid(label_logits.float()).tolist()
            tag_probs = torch.softmax(tag_logits.float(), dim=-1).cpu()
            for row, index in enumerate(batch):
                if index in is_first:
                    label_probs[window_doc[index]] = label_rows[row]
                window_probs[index] = tag_probs[row, :lengths[index]].numpy()
    return label_probs, entities_from_windows(texts, window_doc, encoded["offset_mapping"],
                                              window_probs, tags)


def shared_settings(classifier_meta: Any, tagger_meta: Any) -> SharedEncoderMeta | None:
    """The shared-encoder settings when both parts say they share one encoder (same hash);
    else None (the parts run one after the other)."""
    a: SharedEncoderMeta | None = classifier_meta.shared_encoder
    b: SharedEncoderMeta | None = tagger_meta.shared_encoder
    if a is None or b is None:
        return None
    if a != b:
        log.warning("classifier/ and tagger/ name different shared encoders; running them as "
                    "two models")
        return None
    return a

