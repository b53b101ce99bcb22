"""A progress bar on stderr for long runs: documents/s and clauses/s.

Shown only when stderr is a terminal and the user did not ask for quiet; a nightly job that
logs to a file gets the summary line instead of thousands of carriage returns.
"""

from __future__ import annotations

import sys
import time
from typing import Any


class Progress:
    """Counts documents and clauses; draws a tqdm bar when enabled."""

    def __init__(self, enabled: bool | None = None, desc: str = "predict") -> None:
        if enabled is None:
            enabled = sys.stderr.isatty()
        self._bar: Any = None
        self._started = time.perf_counter()
        self.clauses = 0
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(desc=desc, unit="doc", file=sys.stderr, dynamic_ncols=True,
                             smoothing=0.1)

    def update(self, documents: int, clauses: int) -> None:
        self.clauses += clauses
        if self._bar is not None:
            elapsed = max(time.perf_counter() - self._started, 1e-9)
            self._bar.set_postfix_str(f"{self.clauses / elapsed:.0f} clauses/s", refresh=False)
            self._bar.update(documents)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
