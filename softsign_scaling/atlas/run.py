"""Running sweeps: parallel through any concurrent.futures.Executor, cached per task, with a progress bar.

``sweep(fn, tasks, executor=None, cache=...)`` evaluates ``fn(*task)`` for every task and returns the
results in order.  ``fn`` must be a module-level function and tasks picklable (plain numbers and
strings), so that any executor can ship them: the default is a local process pool over the available
cores; a Dask cluster works through ``distributed.Client(...).get_executor()``.  Each finished task is
stored at once under the cache folder, so an interrupted sweep resumes where it stopped.  The key is the
function, its arguments, ``CACHE_VERSION``, the digest of every source file of the package and the versions
of the numeric libraries (:func:`code_digest`): a result computed by other code is never reused (a cache
keyed by the arguments alone once put stale numbers into docs/momentum.md).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..pipeline import default_context

CACHE_VERSION = "2"
PACKAGE = Path(__file__).resolve().parent.parent
LIBRARIES = ("numpy", "scipy", "sympy", "mpmath", "numba", "torch", "jax", "jaxlib", "optax", "scikit-learn")


@functools.lru_cache(maxsize=None)
def code_digest(package: Path = PACKAGE) -> str:
    """sha256 over every .py file of the package (path and bytes) and the installed numeric libraries' versions."""
    from importlib import metadata

    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for name in LIBRARIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"{name}={version}\0".encode())
    return digest.hexdigest()


def _key(fn: Callable, task: tuple) -> str:
    text = f"{CACHE_VERSION}|{code_digest()}|{fn.__module__}.{fn.__qualname__}|{task!r}"
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
