"""The timing helper every benchmark shares: the best of several repeats (the least disturbed by other load)."""

from __future__ import annotations

import time


def best_of(function, repeats: int = 5, clock=time.perf_counter) -> float:
    """The shortest time of ``repeats`` calls of ``function()``, in seconds: wall time, or with
    ``clock=time.process_time`` this process's CPU time (less disturbed by other load on a shared machine)."""
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        function()
        best = min(best, clock() - start)
    return best
