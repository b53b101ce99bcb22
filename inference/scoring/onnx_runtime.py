"""``--fast onnx``: the shared-encoder model's one pass in ONNX Runtime, int8.

The ``JointModule`` of a shared-encoder model (``inference.scoring.joint``) is exported with
``torch.onnx.export`` (inputs ``input_ids`` and ``attention_mask`` with dynamic batch and
sequence axes; outputs the label logits and the tag logits), then quantised: the weights of
every MatMul with a constant weight (the Linear layers of the encoder; not the attention
products, not the heads) become int8 per output channel. How activations are quantised is
``$POLICY_CLAUSES_ONNX_QUANT``: ``dynamic`` (default; per batch at run time), ``static``
(``quantize_static``, uint8 with MinMax ranges calibrated on a few hundred dev clauses from
labels/gold.jsonl, encoded into the same windows ``joint_scores`` scores, ``encode_joint``),
or ``none`` (the float32 export). Dynamic is the default because it measured both faster and
closer to float32 than static (benchmarks/README.md). The result is cached in
``$POLICY_CLAUSES_CACHE`` (default ``~/.cache/policy-clauses``) under the model's weights
digest and the method, so only the first run with a model pays for the export (seconds to
tens of seconds); later runs open the cached file.

``OnnxJointModule`` is what ``joint_scores`` calls instead of the torch module: called with
(input_ids, attention_mask) it returns the two logits tensors.

onnxruntime and onnx come with the ``fast`` extra (``pip install 'policy-clauses[fast]'``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from inference.errors import UserError

log = logging.getLogger(__name__)

CACHE_ENV = "POLICY_CLAUSES_CACHE"
CALIBRATION_ENV = "POLICY_CLAUSES_CALIBRATION"
QUANT_ENV = "POLICY_CLAUSES_ONNX_QUANT"
QUANT_METHODS = ("dynamic", "static", "none")
# Bump when the export or the quantisation settings change: cached files of an older recipe
# are then not reused.
EXPORT_RECIPE = 2
ONNX_FILE = "joint.onnx"
CALIBRATION_CLAUSES = 300
CALIBRATION_BATCH = 16
OPSET = 17
# torch.onnx.export names nodes after the module path: these are JointModule's two heads
HEAD_SCOPES = ("/sequence_model/classifier/", "/tag_head/")
LABELS_DIR = Path(__file__).resolve().parents[2] / "labels"
EXTRA_HINT = ("--fast onnx needs onnxruntime and onnx: pip install 'policy-clauses[fast]' "
              "(or pip install onnxruntime onnx)")


def require_onnxruntime() -> Any:
    """The onnxruntime module, or a ``UserError`` naming the ``fast`` extra."""
    try:
        import onnx  # noqa: F401  (quantisation reads and writes models with it)
        import onnxruntime
    except ImportError:
        raise UserError(EXTRA_HINT) from None
    return onnxruntime


def cache_root() -> Path:
    """``$POLICY_CLAUSES_CACHE``, else ``$XDG_CACHE_HOME/policy-clauses``, else
    ``~/.cache/policy-clauses``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "policy-clauses"


def cached_model_path(digest: str, cache: Path | None = None, method: str = "dynamic") -> Path:
    """Where the export of the model with weights ``digest``, quantised by ``method``, lives."""
    return (cache or cache_root()) / "onnx" / f"{digest}-{method}-r{EXPORT_RECIPE}" / ONNX_FILE


class OnnxJointModule:
    """An ONNX Runtime session that scores like ``JointModule``: call it with
    (input_ids, attention_mask) tensors, get (label logits, tag logits) tensors."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        import torch

        ort = require_onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = path
        try:
            self.session = ort.InferenceSession(str(path), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own error types
            raise UserError(f"{path}: the cached ONNX model could not be opened ({exc}); "
                            f"delete {path.parent} and run again to re-export it") from None

    def __call__(self, input_ids: Any, attention_mask: Any) -> tuple[Any, Any]:
        import torch

        labels, tags = self.session.run(
            ["label_logits", "tag_logits"],
            {"input_ids": input_ids.cpu().numpy(), "attention_mask": attention_mask.cpu().numpy()})
        return torch.from_numpy(labels), torch.from_numpy(tags)

    def eval(self) -> OnnxJointModule:
        return self


def export_joint(module: Any, path: Path) -> None:
    """``torch.onnx.export`` of a float32 ``JointModule`` with dynamic batch and sequence
    axes (the TorchScript exporter: it needs no extra package)."""
    import warnings

    import torch

    ids = torch.full((2, 16), 5, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 10:] = 0
    module = module.float().eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and deprecation notes, not errors
        torch.onnx.export(
            module, (ids, mask), str(path), input_names=["input_ids", "attention_mask"],
            output_names=["label_logits", "tag_logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                          "attention_mask": {0: "batch", 1: "sequence"},
                          "label_logits": {0: "batch"},
                          "tag_logits": {0: "batch", 1: "sequence"}},
            opset_version=OPSET, dynamo=False)


def calibration_clauses(limit: int = CALIBRATION_CLAUSES,
                        path: Path | None = None) -> list[tuple[str, str, str]]:
    """(text, section, title) of up to ``limit`` dev clauses: ``$POLICY_CLAUSES_CALIBRATION``
    (a JSONL file of records with ``text``, optional ``section`` and ``title``) if set, else
    the dev split of labels/gold.jsonl of a source checkout (every record when the split
    manifest is not there)."""
    env = os.environ.get(CALIBRATION_ENV)
    source = path or (Path(env) if env else LABELS_DIR / "gold.jsonl")
    if not source.is_file():
        raise UserError(f"--fast onnx: calibration clauses not found at {source} (the first "
                        f"run with a model calibrates its int8 ranges on dev clauses); set "
                        f"{CALIBRATION_ENV}=FILE.jsonl (records with 'text', 'section', "
                        "'title') or run from a source checkout")
    dev: set[str] | None = None
    splits = source.with_name("splits.json")
    if path is None and not env and splits.is_file():
        dev = set(json.loads(splits.read_text(encoding="utf-8"))["splits"].get("dev", []))
    out: list[tuple[str, str, str]] = []
    with source.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if len(out) >= limit:
                break
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                text = str(record["text"])
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("%s:%d: skipped as a calibration clause (%s)", source, number, exc)
                continue
            if dev is not None and record.get("doc_id") not in dev:
                continue
            if text.strip():
                out.append((text, str(record.get("section") or ""),
                            str(record.get("title") or "")))
    if not out:
        raise UserError(f"--fast onnx: no calibration clauses in {source}")
    return out


def calibration_batches(tokenizer: Any, settings: Any,
                        clauses: Sequence[tuple[str, str, str]],
                        batch_size: int = CALIBRATION_BATCH) -> list[dict[str, Any]]:
    """The clauses as ``joint_scores`` feeds them: ``encode_joint`` windows, padded batches of
    similar length."""
    import numpy as np

    from inference.scoring.encoding import encode_joint, format_context

    texts = [text for text, _, _ in clauses]
    contexts = [format_context(section, title, settings.context) for _, section, title in clauses]
    encoded = encode_joint(tokenizer, texts, contexts, max_length=settings.max_length,
                           stride=settings.stride, max_context_tokens=settings.max_context_tokens)
    ids_list = encoded["input_ids"]
    lengths = [len(ids) for ids in ids_list]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    batches = []
    # sorted by length as joint_scores batches (not imported from models: that imports us)
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    for batch in (order[i:i + batch_size] for i in range(0, len(order), batch_size)):
        width = max(lengths[i] for i in batch)
        ids = np.full((len(batch), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, index in enumerate(batch):
            ids[row, :lengths[index]] = ids_list[index]
            mask[row, :lengths[index]] = 1
        batches.append({"input_ids": ids, "attention_mask": mask})
    return batches


def quantize_joint(fp32_path: Path, out_path: Path, batches: list[dict[str, Any]],
                   method: str = "dynamic") -> None:
    """The exported model as ``method`` says (``QUANT_METHODS``). Only the MatMuls with
    constant weights (the Linear layers) are quantised, int8 per output channel; attention
    products, softmax, layer norms and the two heads stay float32.

    ``dynamic``: activations quantised per batch at run time (MatMulInteger). ``static``:
    uint8 activations with MinMax ranges calibrated on ``batches`` (QDQ). ``none``: the
    float32 export as it is. On a 4-layer e5-small encoder (benchmarks/README.md) dynamic was
    both the faster and the closer to float32 of the two int8 recipes: static ranges fixed on
    calibration clauses clip the outlier dimensions of BERT-style hidden states."""
    if method == "none":
        shutil.copyfile(fp32_path, out_path)
        return
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = fp32_path.with_name("prepared.onnx")
    try:
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
    except Exception as exc:  # pre-processing only helps; quantise the plain export
        log.debug("quantisation pre-processing skipped: %s", exc)
        prepared = fp32_path
    common: dict[str, Any] = {"weight_type": QuantType.QInt8, "per_channel": True,
                              "op_types_to_quantize": ["MatMul"],
                              "nodes_to_exclude": head_nodes(prepared),
                              "extra_options": {"MatMulConstBOnly": True}}
    if method == "dynamic":
        quantize_dynamic(str(prepared), str(out_path), **common)
        return
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        quantize_static,
    )

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self.items: Iterator[dict[str, Any]] = iter(batches)

        def get_next(self) -> dict[str, Any] | None:
            return next(self.items, None)

    quantize_static(str(prepared), str(out_path), Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, calibrate_method=CalibrationMethod.MinMax,
                    **common)


def quant_method() -> str:
    """``$POLICY_CLAUSES_ONNX_QUANT`` (``dynamic``, ``static`` or ``none``; default dynamic)."""
    method = os.environ.get(QUANT_ENV, "dynamic").strip().lower()
    if method not in QUANT_METHODS:
        raise UserError(f"{QUANT_ENV}={method!r}: expected one of {', '.join(QUANT_METHODS)}")
    return method


def head_nodes(path: Path) -> list[str]:
    """The label head's and the tag head's nodes: a few thousand multiply-adds per token,
    nothing to gain from int8, and their outputs are what the thresholds read. A Gemm is
    split by the quantiser into ``<name>_MatMul`` and ``<name>_Add`` first: those are named
    too."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    names = [node.name for node in graph.node
             if any(part in node.name for part in HEAD_SCOPES)]
    return [*names, *(f"{name}_{op}" for name in names for op in ("MatMul", "Add"))]


@contextlib.contextmanager
def quiet_root_info() -> Iterator[None]:
    """onnxruntime's quantiser logs a line per tensor at INFO on the root logger: not news
    to a user of ``predict``. INFO and below are off while it runs."""
    before = logging.root.manager.disable
    logging.disable(max(before, logging.INFO))
    try:
        yield
    finally:
        logging.disable(before)


def load_onnx_joint(module: Any, tokenizer: Any, settings: Any, digest: str, *,
                    cache: Path | None = None, threads: int | None = None,
                    method: str | None = None) -> OnnxJointModule:
    """The ONNX Runtime session for a ``JointModule`` whose weights hash to ``digest``,
    quantised by ``method`` (default ``quant_method()``): opened from the cache, else
    exported, quantised and cached first (written to a temporary folder beside it and moved
    into place, so concurrent first runs never read a half-written file)."""
    require_onnxruntime()
    method = method or quant_method()
    target = cached_model_path(digest, cache, method)
    if not target.is_file():
        log.info("runtime: exporting the model to ONNX (%s int8 quantisation; once per model, "
                 "cached in %s)", method, target.parent)
        target.parent.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent.parent))
        try:
            fp32 = work / "joint-fp32.onnx"
            export_joint(module, fp32)
            batches = (calibration_batches(tokenizer, settings, calibration_clauses())
                       if method == "static" else [])
            with quiet_root_info():
                quantize_joint(fp32, work / ONNX_FILE, batches, method)
            target.parent.mkdir(exist_ok=True)
            os.replace(work / ONNX_FILE, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return OnnxJointModule(target, threads)


__all__ = ["CACHE_ENV", "QUANT_ENV", "OnnxJointModule", "cache_root", "cached_model_path",
           "calibration_clauses", "load_onnx_joint", "require_onnxruntime"]
