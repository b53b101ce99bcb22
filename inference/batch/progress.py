"""A progress bar on stderr for long runs: input consumed of its total, ETA, documents and
clauses/s.

Shown only when stderr is a terminal and the user did not ask for quiet; a nightly job that
logs to a file gets the summary line instead of thousands of carriage returns. When the input
size is known (files; not stdin) the bar counts input bytes against that total, so it has an
ETA; it is redrawn every ``REFRESH_SECONDS`` even while a chunk is being scored, so a person
watching sees the clock move.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

REFRESH_SECONDS = 2.0


class Progress:
    """Counts documents and clauses (and input bytes when a total is given); draws a tqdm bar
    when enabled."""

    def __init__(self, enabled: bool | None = None, desc: str = "predict",
                 total_bytes: int | None = None) -> None:
        if enabled is None:
            enabled = sys.stderr.isatty()
        self._bar: Any = None
        self._started = time.perf_counter()
        self.documents = 0
        self.clauses = 0
        self._by_bytes = bool(total_bytes)
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if enabled:
            from tqdm import tqdm

            if self._by_bytes:
                self._bar = tqdm(desc=desc, total=total_bytes, unit="B", unit_scale=True,
                                 unit_divisor=1024, file=sys.stderr, dynamic_ncols=True,
                                 smoothing=0.1)
            else:
                self._bar = tqdm(desc=desc, unit="doc", file=sys.stderr, dynamic_ncols=True,
                                 smoothing=0.1)
            self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(REFRESH_SECONDS):
            bar = self._bar
            if bar is not None:
                with bar.get_lock():
                    bar.refresh()

    def _postfix(self) -> str:
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        rate = f"{self.clauses / elapsed:.0f} clauses/s"
        return f"{self.documents} docs, {rate}" if self._by_bytes else rate

    def update(self, documents: int, clauses: int) -> None:
        self.documents += documents
        self.clauses += clauses
        if self._bar is not None:
            self._bar.set_postfix_str(self._postfix(), refresh=False)
            if not self._by_bytes:
                self._bar.update(documents)

    def advance_bytes(self, size: int) -> None:
        """``size`` more bytes of input read (bars with a total only)."""
        if self._bar is not None and self._by_bytes:
            self._bar.update(size)

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=1)
        if self._bar is not None:
            self._bar.close()
            self._bar = None
