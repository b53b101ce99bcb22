"""Score each distinct clause input once: crawls repeat clauses word for word.

Template letters, signatures, contact lines and 此件 notes come back in document after
document (26% of the corpus's 177,517 clause texts repeat an earlier one: 1,282 copies of one
MEE supervision letter alone). A clause whose input (its text and the context the model reads
with it) was scored before gets its first answer again without another encoder pass. Scored
anew it could differ a little, since a batch's neighbours move int8's per-batch activation
ranges (README, "Repeated clauses"); remembered, every copy gets the same answer. The memory is
bounded (least recently used first out), so a run's peak memory stays flat in crawl size.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from inference.errors import UserError
from inference.scoring.components import ClauseScores

Item = TypeVar("Item")

# About 1 KB an entry (a key, five scores, two entities; tracemalloc over 8,192 corpus clauses
# keyed by their text: 8.2 MB): some 10 MB at most, the model scorer's keys being 16-byte digests.
DEFAULT_CAPACITY = 8192
# How many inputs to remember; 0 scores every input as it comes (to time the same work).
CAPACITY_ENV = "POLICY_CLAUSES_REPEAT_MEMORY"


def capacity_from_env() -> int:
    """``$POLICY_CLAUSES_REPEAT_MEMORY`` (a count of inputs), else ``DEFAULT_CAPACITY``."""
    value = os.environ.get(CAPACITY_ENV, "").strip()
    if not value:
        return DEFAULT_CAPACITY
    try:
        capacity = int(value)
    except ValueError:
        capacity = -1
    if capacity < 0:
        raise UserError(f"${CAPACITY_ENV}={value!r}: expected a count of clause inputs "
                        f"(0 turns the memory off; default {DEFAULT_CAPACITY})")
    return capacity


def _copy(scores: ClauseScores) -> ClauseScores:
    """An independent copy: enrichment writes AMOUNT values onto the entities in place."""
    return ClauseScores(scores=dict(scores.scores), labels=list(scores.labels),
                        entities=[dataclasses.replace(entity) for entity in scores.entities])


class RepeatedInputs:
    """Remembers the last ``capacity`` distinct inputs' scores (default
    ``$POLICY_CLAUSES_REPEAT_MEMORY``, else ``DEFAULT_CAPACITY``; 0: none, every input scored
    as it comes). ``predict`` scores, in one call of ``score``, only the inputs neither seen
    before nor repeated earlier in the same batch; ``reused`` counts the inputs answered from
    memory."""

    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = capacity_from_env() if capacity is None else capacity
        self.reused = 0
        self._memory: OrderedDict[Hashable, ClauseScores] = OrderedDict()
        self._lock = threading.Lock()  # the service scores from more than one thread

    def predict(self, inputs: Sequence[Item], key: Callable[[Item], Hashable],
                score: Callable[[list[Item]], list[ClauseScores]]) -> list[ClauseScores]:
        if self.capacity == 0:
            return score(list(inputs))
        keys = [key(item) for item in inputs]
        with self._lock:
            known = {k: self._memory[k] for k in set(keys) if k in self._memory}
        new: dict[Hashable, int] = {}
        for index, k in enumerate(keys):
            if k not in known and k not in new:
                new[k] = index
        scored = score([inputs[index] for index in new.values()]) if new else []
        found = {**known, **dict(zip(new, scored, strict=True))}
        with self._lock:
            self.reused += len(keys) - len(new)
            for k in dict.fromkeys(keys):
                self._memory[k] = found[k]
                self._memory.move_to_end(k)
            while len(self._memory) > self.capacity:
                self._memory.popitem(last=False)
        return [_copy(found[k]) for k in keys]


__all__ = ["CAPACITY_ENV", "DEFAULT_CAPACITY", "RepeatedInputs", "capacity_from_env"]
