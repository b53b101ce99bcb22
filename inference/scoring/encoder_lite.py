"""A plain-torch BERT sequence classifier: what ``predict`` runs instead of transformers' model
classes, so that a first record does not wait for their import.

``transformers.models.bert.modeling_bert`` pulls torch._dynamo, torch.distributed.tensor,
jinja2, PIL and more: about 1.5 CPU seconds before the first record (issue 14). The model
folders ``policy-clauses train joint`` writes hold one small architecture, the BERT encoder
of ``BertForSequenceClassification`` (absolute position embeddings, token type embeddings,
post-LayerNorm layers, exact GELU, a dense + tanh pooler on [CLS]), and this module computes
exactly that, with the module names of transformers (so a folder's ``model.safetensors``
loads as it is and ``state_dict()`` keys are the same) and the same operations in the same
order (scaled-dot-product attention with the boolean key-padding mask transformers builds,
none when nothing is padded), so the outputs equal transformers' (tests/test_encoder_lite.py).

``unsupported(config)`` says why a ``config.json`` is not this architecture; any reason sends
the caller back to transformers (``inference.scoring.models``): a field this module does not
implement is never silently computed differently. Training and ``--fast onnx`` keep
transformers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"

# config.json fields that change the computation, and the one value each may have here
# (a field that is absent takes transformers' BertConfig default, the same value)
REQUIRED_VALUES: dict[str, Any] = {
    "model_type": "bert",
    "architectures": ["BertForSequenceClassification"],
    "position_embedding_type": "absolute",
    "hidden_act": "gelu",
    "is_decoder": False,
    "add_cross_attention": False,
    "chunk_size_feed_forward": 0,
    "pruned_heads": {},
    "torchscript": False,
}
# fields the architecture is built from; each must be a positive integer
SIZE_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
               "intermediate_size", "max_position_embeddings", "type_vocab_size")
# attention implementations whose results equal scaled-dot-product attention's
ATTENTION_IMPLEMENTATIONS = (None, "sdpa", "eager")


def unsupported(config: dict[str, Any]) -> str | None:
    """Why the classifier of this ``config.json`` is not what this module computes, or None
    when it is (then ``load_classifier`` computes what transformers computes)."""
    for field, value in REQUIRED_VALUES.items():
        if field in config and config[field] != value:
            return f"{field} is {config[field]!r}, not {value!r}"
    for field in SIZE_FIELDS:
        value = config.get(field)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            return f"{field} is {value!r}, not a positive integer"
    if config["hidden_size"] % config["num_attention_heads"]:
        return "hidden_size is not a multiple of num_attention_heads"
    if config.get("embedding_size", config["hidden_size"]) != config["hidden_size"]:
        return "embedding_size differs from hidden_size"
    eps = config.get("layer_norm_eps", 1e-12)
    if not isinstance(eps, float | int) or isinstance(eps, bool) or not 0 < eps < 1:
        return f"layer_norm_eps is {eps!r}"
    if config.get("_attn_implementation", config.get("attn_implementation")) \
            not in ATTENTION_IMPLEMENTATIONS:
        return "an attention implementation other than sdpa/eager is asked for"
    # transformers loads a folder in the dtype its config names (float32 is what training
    # writes); another would run the transformers model in that dtype
    if config.get("dtype", config.get("torch_dtype")) not in (None, "float32"):
        return f"dtype is {config.get('dtype', config.get('torch_dtype'))!r}, not float32"
    if not isinstance(config.get("id2label"), dict) or not config["id2label"]:
        return "id2label is missing"
    return None


@dataclass(frozen=True)
class LiteConfig:
    """The sizes of a BERT sequence classifier, from its ``config.json``."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    num_labels: int
    id2label: dict[int, str]

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> LiteConfig:
        id2label = {int(k): str(v) for k, v in config["id2label"].items()}
        return cls(**{field: config[field] for field in SIZE_FIELDS},
                   layer_norm_eps=float(config.get("layer_norm_eps", 1e-12)),
                   num_labels=len(id2label), id2label=id2label)


class Embeddings(nn.Module):
    """Word + token type (all type 0) + absolute position embeddings, then LayerNorm."""

    def __init__(self, config: LiteConfig) -> None:
        super().__init__()
        # uninitialised tables (the weights are loaded over them): a random init of an
        # embedding on the meta device imports torch._dynamo (0.7 s), one on the CPU costs time
        def table(rows: int) -> nn.Embedding:
            return nn.Embedding(rows, config.hidden_size,
                                _weight=torch.empty(rows, config.hidden_size))

        self.word_embeddings = table(config.vocab_size)
        self.position_embeddings = table(config.max_position_embeddings)
        self.token_type_embeddings = table(config.type_vocab_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        width = input_ids.shape[1]
        positions = torch.arange(width, device=input_ids.device).unsqueeze(0)
        # transformers' order: (words + token types) + positions
        hidden = self.word_embeddings(input_ids) + self.token_type_embeddings(
            torch.zeros_like(positions))
        hidden = hidden + self.position_embeddings(positions)
        return self.LayerNorm(hidden)


class SelfAttention(nn.Module):
    """Query, key and value projections of one layer."""

    def __init__(self, config: LiteConfig) -> None:
        super().__init__()
        self.heads = config.num_attention_heads
        self.head_size = config.hidden_size // config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        shape = (*hidden.shape[:-1], -1, self.head_size)
        query = self.query(hidden).view(shape).transpose(1, 2)
        key = self.key(hidden).view(shape).transpose(1, 2)
        value = self.value(hidden).view(shape).transpose(1, 2)
        out = functional.scaled_dot_product_attention(
            query, key, value, attn_mask=mask, dropout_p=0.0,
            scale=self.head_size ** -0.5, is_causal=False)
        return out.transpose(1, 2).contiguous().reshape(*hidden.shape[:-1], -1)


class DenseLayerNorm(nn.Module):
    """A projection added to the layer's input, then LayerNorm (post-LN)."""

    def __init__(self, inputs: int, config: LiteConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(inputs, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(hidden) + residual)


class Attention(nn.Module):
    def __init__(self, config: LiteConfig) -> None:
        super().__init__()
        self.self = SelfAttention(config)
        self.output = DenseLayerNorm(config.hidden_size, config)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.output(self.self(hidden, mask), hidden)


class Intermediate(nn.Module):
    def __init__(self, config: LiteConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return functional.gelu(self.dense(hidden))  # exact (erf) GELU: hidden_act "gelu"


class Layer(nn.Module):
    def __init__(self, config: LiteConfig) -> None:
        super().__init__()
        self.attention = Attention(config)
        self.intermediate = Intermediate(config)
        self.output = DenseLayerNorm(config.intermediate_size, config)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        attended = self.attention(hidden, mask)
        return self.output(self.intermediate(attended), attended)


class Encoder(nn.Module):
    def __init__(self, config: LiteConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(config) for _ in range(config.num_hidden_layers))

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        for layer in self.layer:
            hidden = layer(hidden, mask)
        return hidden


class Pooler(nn.Module):
    """dense + tanh on the first token ([CLS])."""

    def __init__(self, config: LiteConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(hidden[:, 0]))


class BertModel(nn.Module):
    def __init__(self, config: LiteConfig) -> None:
        super().__init__()
        self.embeddings = Embeddings(config)
        self.encoder = Encoder(config)
        self.pooler = Pooler(config)


def attention_mask(mask: torch.Tensor | None, width: int) -> torch.Tensor | None:
    """The mask scaled-dot-product attention takes, as transformers builds it: None when no
    token is padding, else boolean (batch, 1, query, key), true where the key is a token."""
    if mask is None or bool(mask.all()):
        return None
    keys = mask.bool()[:, None, None, :]
    return keys.expand(mask.shape[0], 1, width, width)


class SequenceClassifier(nn.Module):
    """``BertForSequenceClassification`` at inference: label logits from the pooled [CLS],
    and the last hidden state (what a token-classification head reads)."""

    def __init__(self, config: LiteConfig) -> None:
        super().__init__()
        self.config = config
        self.bert = BertModel(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids: torch.Tensor,
                attention: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        mask = attention_mask(attention, input_ids.shape[1])
        hidden = self.bert.encoder(self.bert.embeddings(input_ids), mask)
        return self.classifier(self.bert.pooler(hidden)), hidden


class JointModule(nn.Module):
    """The lite classifier plus a linear tag head over its last hidden state: the same inputs
    and outputs as ``inference.scoring.joint.JointModule`` at inference."""

    def __init__(self, sequence_model: SequenceClassifier, tag_head: nn.Module) -> None:
        super().__init__()
        self.sequence_model = sequence_model
        self.tag_head = tag_head

    def forward(self, input_ids: torch.Tensor,
                attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, hidden = self.sequence_model(input_ids, attention_mask)
        return logits, self.tag_head(hidden)


def read_config(folder: Path) -> dict[str, Any]:
    """A part's ``config.json`` as a dict."""
    return json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))


def load_classifier(folder: Path, config: dict[str, Any],
                    dtype: torch.dtype = torch.float32) -> SequenceClassifier | None:
    """The classifier of ``folder`` (its ``config.json`` already passed ``unsupported``) with
    its weights in ``dtype`` (float16 storage is cast straight to it, as transformers does);
    None when the stored tensors are not exactly this architecture's (transformers would
    initialise the missing ones at random: the caller falls back to it)."""
    from safetensors.torch import load_file

    lite = LiteConfig.from_dict(config)
    with torch.device("meta"):  # no memory and no random init for what the file replaces
        model = SequenceClassifier(lite)
    state = load_file(str(folder / WEIGHTS_FILE))
    expected = {name: tuple(p.shape) for name, p in model.state_dict().items()}
    if {name: tuple(t.shape) for name, t in state.items()} != expected:
        return None
    state = {name: tensor.to(dtype) if tensor.is_floating_point() else tensor
             for name, tensor in state.items()}
    model.load_state_dict(state, assign=True)
    return model.eval()
