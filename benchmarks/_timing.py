"""The timing helper every benchmark shares: the best of several repeats (the least disturbed by other load)."""

from __future__ import annotations

import time


def best_of(function, repeats: int = 5) -> float:
    """The shortest wall time of ``repeats`` calls of ``function()``, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best
