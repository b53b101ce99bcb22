"""Per-epoch checkpoints for ``--resume``: the full training state written atomically after
every epoch, the best epoch's weights beside it, and the config fingerprint a resumed run must
match."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from training.fit.config import AnyConfig, checkpoint_dir, config_to_dict
from training.fit.setup import resolve_precision

CHECKPOINT_FILE = "last.pt"
BEST_FILE = "best.pt"


def fingerprint(config: AnyConfig) -> dict[str, Any]:
    """The parts of a config a checkpoint must agree with to be resumed (not the output).
    ``train.precision`` is recorded resolved, so a run started in bf16 is not resumed in
    float32 on a CPU where ``auto`` decides otherwise."""
    resolved = config_to_dict(config)
    resolved["train"]["precision"] = resolve_precision(config.train)
    return {k: v for k, v in resolved.items() if k != "output"}


def check_fingerprint(state: dict[str, Any], config: AnyConfig, folder: Path) -> None:
    """A checkpoint made with another config cannot be resumed: say which sections differ."""
    expected = fingerprint(config)
    stored = dict(state["config"])
    if "train" in stored and "precision" not in stored["train"]:
        # checkpoints from before train.precision existed trained in float32
        stored["train"] = {**stored["train"], "precision": "float32"}
    if stored != expected:
        changed = sorted(k for k in set(stored) | set(expected)
                         if stored.get(k) != expected.get(k))
        raise ValueError(
            f"the checkpoint in {folder} was made with a different config (sections "
            f"{changed} differ); resume with the same config or start without --resume")


def save_checkpoint(folder: Path, state: dict[str, Any]) -> None:
    """Write atomically: an interrupted write never leaves a half checkpoint behind."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (CHECKPOINT_FILE + ".tmp")
    torch.save(state, tmp)
    tmp.replace(folder / CHECKPOINT_FILE)


def load_checkpoint(folder: Path) -> dict[str, Any] | None:
    import torch

    path = folder / CHECKPOINT_FILE
    if not path.is_file():
        return None
    return torch.load(path, weights_only=True)


def save_best(folder: Path, model: Any) -> None:
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), folder / BEST_FILE)


def restore_best(folder: Path, model: Any) -> bool:
    """Load the best epoch's weights into ``model``; False when there are none."""
    import torch

    path = folder / BEST_FILE
    if not path.is_file():
        return False
    model.load_state_dict(torch.load(path, weights_only=True))
    return True


def clear_checkpoints(folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)


def finish_checkpoints(config: AnyConfig) -> None:
    if not config.output.keep_checkpoints:
        shutil.rmtree(checkpoint_dir(config), ignore_errors=True)
