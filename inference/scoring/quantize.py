"""``--fast int8``: the encoder's large matmuls in int8, where that costs no measurable quality.

Which Linear layers become int8 (chosen on the dev split, benchmarks/README.md "int8 recipe"):
the query, key, value, attention-output and feed-forward input projections of every encoder
layer. The feed-forward **output** projections take the GELU output, whose few large values a
per-batch int8 range cannot hold without flattening the rest (quantising them that way cost
most of the drift): where the CPU has VNNI they run in int8 with one activation scale per token
(``PerTokenInt8Linear``, round 7), elsewhere in float32. Kept in float32: the pooler and the
two heads (a few thousand multiply-adds per token, and their outputs are what the thresholds
read).

How each chosen layer is quantised (``Int8Linear``):

* weights int8, symmetric, **one scale per output channel** (torch's default dynamic recipe
  uses one scale for the whole matrix);
* activations uint8, quantised per batch at run time from their min and max (dynamic: no
  calibration data), over the **full 0-255 range** where the CPU has AVX-512 VNNI, whose
  int8 dot products accumulate in 32 bits. Without VNNI, FBGEMM's AVX2/AVX-512 kernels add
  pairs of u8×s8 products in saturating 16-bit lanes, so activations there use 7 bits
  (``reduce_range``, what torch's own dynamic Linear always does), at some cost in accuracy.

The matmuls run on FBGEMM (``torch.ops.quantized.linear_dynamic``), in the torch wheel: no
extra dependency and nothing to export or cache.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable

import torch
from torch import nn

log = logging.getLogger(__name__)

# the Linear layers of the encoder's layers (transformers' and encoder_lite's names alike)
ENCODER_LINEAR = re.compile(r"(^|\.)encoder\.layer\.\d+\.")
# the feed-forward output projection of a layer (not attention.output.dense): per-token int8
# where the CPU has VNNI, else float32
FFN_OUTPUT = re.compile(r"(^|\.)layer\.\d+\.output\.dense$")


def encoder_linear_names(model: nn.Module, *, ffn_output: bool) -> list[str]:
    """The names of ``model``'s encoder-layer Linear layers: the feed-forward output
    projections (``ffn_output``) or all the others."""
    return [name for name, module in model.named_modules()
            if isinstance(module, nn.Linear) and ENCODER_LINEAR.search(name)
            and bool(FFN_OUTPUT.search(name)) == ffn_output]


def int8_layer_names(model: nn.Module) -> list[str]:
    """The names of the Linear layers of ``model`` that the int8 recipe quantises per batch."""
    return encoder_linear_names(model, ffn_output=False)


class Int8Linear(nn.Module):
    """A Linear layer with int8 weights (per output channel) and dynamically quantised uint8
    activations, computed by FBGEMM; float32 in, float32 out."""

    def __init__(self, linear: nn.Linear, *, reduce_range: bool) -> None:
        super().__init__()
        weight = linear.weight.detach().float()
        scales = (weight.abs().amax(dim=1).clamp(min=1e-12) / 127).double()
        zero_points = torch.zeros(weight.shape[0], dtype=torch.long)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch's deprecation note on qint8
            qweight = torch.quantize_per_channel(weight, scales, zero_points, 0, torch.qint8)
        bias = None if linear.bias is None else linear.bias.detach().float()
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        self.reduce_range = reduce_range
        self._packed = torch.ops.quantized.linear_prepack(qweight, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.quantized.linear_dynamic(x, self._packed, reduce_range=self.reduce_range)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"per-channel int8 weights, reduce_range={self.reduce_range}")


# Below this many rows (tokens) a per-token matmul is not worth its quantisation passes.
_PER_TOKEN_MIN_ROWS = 17


class PerTokenInt8Linear(nn.Module):
    """A Linear layer with int8 weights (per output channel) and int8 activations quantised
    with **one scale per token** (symmetric), int32 accumulation (``torch._int_mm``);
    float32 in, float32 out.

    For the feed-forward output projections: their input is the GELU output, where a few
    large values in some tokens would flatten every other token under one per-batch range
    (the FBGEMM recipe above), but one token's own range keeps its values. Its matmul is the
    encoder's largest float32 one (43% of the int8 path's time on the AMD EPYC project
    machine before this class).
    """

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        weight = linear.weight.detach().float()
        scales = weight.abs().amax(dim=1).clamp(min=1e-12) / 127
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        self.register_buffer("weight_scale", scales)
        self.register_buffer("qweight_t",
                             torch.round(weight / scales[:, None]).to(torch.int8).t().contiguous())
        bias = torch.zeros(self.out_features) if linear.bias is None else linear.bias.detach()
        self.register_buffer("bias", bias.float())
        self.register_buffer("weight", weight)  # for inputs of a few tokens

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features)
        if flat.shape[0] < _PER_TOKEN_MIN_ROWS:
            return nn.functional.linear(x, self.weight, self.bias)
        # max |x| per token as max(max x, -min x), and the quotient rounded in place: the
        # same values as abs().amax() and torch.round(flat / token_scale), without the two
        # full-size temporaries, whose fresh pages cost more than the int8 matmul itself
        # (12% of the end-to-end rate on the AMD EPYC project machine, benchmarks/README.md,
        # "Round 12")
        largest = torch.maximum(flat.amax(dim=1, keepdim=True),
                                flat.amin(dim=1, keepdim=True).neg_())
        token_scale = largest.clamp(min=1e-12) / 127
        quantised = torch.div(flat, token_scale).round_().to(torch.int8)
        products = torch._int_mm(quantised, self.qweight_t)
        out = torch.addcmul(self.bias, products.float(), token_scale * self.weight_scale)
        return out.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                "per-channel int8 weights, per-token int8 activations")


def quantize_int8(model: nn.Module, *, reduce_range: bool) -> nn.Module:
    """``model`` (changed in place and returned) with the layers ``int8_layer_names`` names
    swapped for ``Int8Linear`` and, without ``reduce_range``, the feed-forward output
    projections for ``PerTokenInt8Linear``. ``reduce_range``: 7-bit activations, for CPUs
    without VNNI (module docstring). A model with no encoder layers of these names is left
    float32 and says so at WARNING (the recipe was chosen for BERT-style encoders only)."""
    names = int8_layer_names(model)
    if not names:
        log.warning("--fast int8: no encoder Linear layers found in %s; it runs in float32",
                    type(model).__name__)
        return model

    def per_batch(linear: nn.Linear) -> nn.Module:
        return Int8Linear(linear, reduce_range=reduce_range)

    swaps: dict[str, Callable[[nn.Linear], nn.Module]] = dict.fromkeys(names, per_batch)
    if not reduce_range:
        # int32 accumulation without saturation: what VNNI gives (module docstring)
        swaps |= dict.fromkeys(encoder_linear_names(model, ffn_output=True), PerTokenInt8Linear)
    modules = dict(model.named_modules())
    for name, quantised in swaps.items():
        parent_name, _, attr = name.rpartition(".")
        parent = modules[parent_name] if parent_name else model
        setattr(parent, attr, quantised(modules[name]))
    log.debug("--fast int8: %d Linear layers in int8 (reduce_range=%s)", len(swaps),
              reduce_range)
    return model


__all__ = ["Int8Linear", "PerTokenInt8Linear", "encoder_linear_names", "int8_layer_names",
           "quantize_int8"]
