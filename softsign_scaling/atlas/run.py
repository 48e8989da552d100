"""Running sweeps: parallel through any concurrent.futures.Executor, cached per task, with a progress bar.

``sweep(fn, tasks, executor=None, cache=...)`` evaluates ``fn(*task)`` for every task and returns the
results in order.  ``fn`` must be a module-level function and tasks picklable (plain numbers and
strings), so that any executor can ship them: the default is a local process pool over the available
cores; a Dask cluster works through ``distributed.Client(...).get_executor()``.  Each finished task is
stored at once under the cache folder (keyed by the function, its arguments and ``CACHE_VERSION``), so
an interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import contextlib

import hashlib
import os
import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..pipeline import default_context

CACHE_VERSION = "1"


def _key(fn: Callable, task: tuple) -> str:
    text = f"{CACHE_VERSION}|{fn.__module__}.{fn.__qualname__}|{task!r}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def sweep(fn: Callable[..., Any], tasks: Sequence[tuple], executor: Executor | None = None,
          cache: Path | None = None, desc: str = "", progress: bool = True) -> list[Any]:
    """[fn(*task) for task in tasks], in parallel and cached (``cache=None`` turns caching off)."""
    results: list[Any] = [None] * len(tasks)
    todo: list[int] = []
    for i, task in enumerate(tasks):
        path = cache / f"{_key(fn, task)}.pkl" if cache else None
        if path is not None and path.is_file():
            results[i] = pickle.loads(path.read_bytes())
        else:
            todo.append(i)
    if not todo:
        return results
    own = executor is None
    pool = executor or ProcessPoolExecutor(max_workers=os.cpu_count() or 1, mp_context=default_context())
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc=desc, unit="task", disable=not progress,
               leave=False)
    try:
        futures = {pool.submit(fn, *tasks[i]): i for i in todo}
        for future in as_completed(futures):
            i = futures[future]
            try:
                results[i] = future.result()
            except Exception as error:
                raise RuntimeError(f"{fn.__qualname__}{tasks[i]!r} failed: {error}") from error
            if cache is not None:
                cache.mkdir(parents=True, exist_ok=True)
                tmp = cache / f".{_key(fn, tasks[i])}.tmp"
                tmp.write_bytes(pickle.dumps(results[i]))
                tmp.replace(cache / f"{_key(fn, tasks[i])}.pkl")
            bar.update(1)
    finally:
        bar.close()
        if own:
            pool.shutdown()
    return results


@contextlib.contextmanager
def process_pool(workers: int | None):
    """A ProcessPoolExecutor of ``workers`` processes, shut down on exit; None (the sweep's own default pool) when
    ``workers`` is None.  The atlas, simulate and momentum commands share it."""
    if workers is None:
        yield None
        return
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=default_context())  # no fork of a threaded process
    try:
        yield executor
    finally:
        executor.shutdown()
