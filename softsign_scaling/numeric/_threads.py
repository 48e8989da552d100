"""Threads over blocks, shared by the models' row sums (``models._row_sums``) and the fast moments (``_fast``).

numpy's ufuncs and the compiled kernels release the GIL, so blocks of elementwise work run in parallel.  Work
is returned in span order whatever the thread count, so callers that add partial results in that order get the
same bits with 1 thread or many.  A block that is itself run on a worker thread runs its own blocks serially
(no nested pools: the cores are already busy)."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator

THREADS = max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)))
"""Threads over blocks (at most 4; the machine's cores available to this process)."""

_WORKER = threading.local()


def in_order(work: Callable, spans) -> Iterator:
    """``work(span)`` for every span, in span order; on up to THREADS threads when there is more than one span
    and this is not already a worker, with at most 2 THREADS blocks in flight (memory stays O(block))."""
    spans = list(spans)
    if THREADS == 1 or len(spans) == 1 or getattr(_WORKER, "busy", False):
        yield from map(work, spans)
        return
    from concurrent.futures import ThreadPoolExecutor

    def worker(span):
        _WORKER.busy = True
        return work(span)

    with ThreadPoolExecutor(THREADS) as pool:
        pending = deque()
        for span in spans:
            pending.append(pool.submit(worker, span))
            if len(pending) >= 2 * THREADS:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
