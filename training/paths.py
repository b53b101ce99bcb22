"""Where the project lives, found once, and the two ways a relative path resolves (the rule is
written out in ``training/fit/config.py``): paths the project writes down (config files,
defaults, metadata) are relative to ``PROJECT_ROOT``; paths a user types on the command line
are relative to the working directory."""

from __future__ import annotations

from pathlib import Path

# The checkout: the folder holding labels/, configs/ and models/ (training needs a checkout).
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def from_root(path: str | Path) -> Path:
    """A written-down path: relative ones are taken from the project root."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def from_cwd(path: str | Path) -> Path:
    """A typed path: relative ones are taken from the working directory."""
    return Path(path).expanduser().absolute()


def for_record(path: str | Path) -> str:
    """How a path is written into configs and metadata: relative to the project root when
    inside it (so a model folder does not name the machine it was trained on), else
    absolute."""
    path = Path(path)
    if not path.is_absolute():
        return str(path)
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
