"""The model folder a training run leaves behind: ``save_pretrained`` weights (optionally
stored as float16), the tokenizer, the ``policy_clauses.json`` metadata and the README model
card, swapped in atomically. ``base_meta`` is the metadata both trainers share;
``save_model_folder`` is the one function that writes it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inference.scoring.model_folder import write_meta
from training.fit.config import AnyConfig, config_to_dict
from training.paths import for_record

if TYPE_CHECKING:
    from training.fit.data import TrainingData
    from training.fit.loop import FitResult


def store_weights_half(folder: Path) -> None:
    """Store a saved model's floating-point weights as float16 while its config keeps float32
    as the compute dtype: transformers upcasts on load, so the folder is half the size and
    still runs (and opens in ``pipeline()``) in float32 on a CPU."""
    import torch
    from safetensors.torch import load_file, save_file

    path = Path(folder) / "model.safetensors"
    tensors = load_file(str(path))
    half = {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in tensors.items()}
    save_file(half, str(path), metadata={"format": "pt"})
    config_path = Path(folder) / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["dtype"] = "float32"
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n",
                           encoding="utf-8")


def save_model_folder(folder: Path, model: Any, tokenizer: Any, meta: dict[str, Any],
                      weights_dtype: str = "float32") -> Path:
    """``save_pretrained`` + tokenizer + ``policy_clauses.json`` + README model card, written
    to a sibling temp folder first and swapped in, so a crash never leaves a half model."""
    from training.fit.model_card import write_model_card

    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp)
    if weights_dtype == "float16":
        store_weights_half(tmp)
    tokenizer.save_pretrained(tmp)
    _portable_tokenizer_class(tmp)
    written = write_meta(tmp, meta)  # validated: metadata that would not load is refused here
    write_model_card(tmp, json.loads(written.read_text(encoding="utf-8")))
    if folder.exists():
        shutil.rmtree(folder)
    tmp.replace(folder)
    return folder


def _portable_tokenizer_class(folder: Path) -> None:
    """transformers 5 writes its internal ``TokenizersBackend`` class name; the public
    ``PreTrainedTokenizerFast`` loads the same ``tokenizer.json`` there and under
    transformers 4 (as training/fit/backbone.py does)."""
    path = folder / "tokenizer_config.json"
    if not path.is_file():
        return
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("tokenizer_class") == "TokenizersBackend":
        config["tokenizer_class"] = "PreTrainedTokenizerFast"
        path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def base_meta(config: AnyConfig, kind: str, training: TrainingData,
              result: FitResult) -> dict[str, Any]:
    from inference.schema import default_schema

    schema = default_schema()
    return {
        "kind": kind,
        "schema_version": schema.version,
        "backbone": for_record(config.model.backbone),
        "max_length": config.model.max_length,
        "config": config_to_dict(config),
        "data": training.manifest,
        "training": {
            "best_epoch": result.best_epoch,
            "epochs": result.epochs_done,
            "seconds": round(result.seconds, 1),
            "precision": result.precision,
            "history": [{k: v for k, v in row.items() if k != "dev"} for row in result.history],
        },
    }
