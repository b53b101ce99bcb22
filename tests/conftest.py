from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def seed_path(number: int) -> Path:
    return next(EXAMPLES.glob(f"seed_{number:03d}_*[0-9a-f].txt"))


@pytest.fixture(scope="session")
def seeds() -> dict[int, str]:
    return {n: seed_path(n).read_text(encoding="utf-8") for n in range(5)}
