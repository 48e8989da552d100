"""Run the sections in the article's order; run every check.

``derive()`` returns a :class:`~softsign_scaling.steps.Derivation`: every step,
in order, indexable by label.  ``verify()`` runs every check of every step and
returns the results in the same order (optionally on a process pool).
"""

from __future__ import annotations

import importlib
import os
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from functools import lru_cache
import multiprocessing

from .sections import ORDER
from .steps import CheckResult, Derivation


def derive(sections: tuple[str, ...] = ORDER) -> Derivation:
    """Derive every step of the named sections (each may use the steps before it)."""
    derivation = Derivation()
    for name in sections:
        module = importlib.import_module(f"softsign_scaling.sections.{name}")
        derivation = derivation.extended(module.steps(derivation))
    return derivation


@lru_cache(maxsize=1)
def derivation() -> Derivation:
    """The full derivation, derived once per process."""
    return derive()


# Work items for the pool are (label, check index); the forked workers inherit _POOL_DERIVATION.
_POOL_DERIVATION: Derivation | None = None


def _run_one(item: tuple[str, int]) -> CheckResult:
    label, index = item
    assert _POOL_DERIVATION is not None
    step = _POOL_DERIVATION[label]
    return step.checks[index].run(step)


def _run_group(name: str) -> list[CheckResult]:
    """A check group that is not attached to one step: the stable forms' equivalence proofs (issue 3)."""
    assert _POOL_DERIVATION is not None
    if name == "stable forms":
        from .stable import proofs

        return proofs(_POOL_DERIVATION)
    raise KeyError(name)


GROUPS = ("stable forms",)  # run after the steps' own checks, reported after them


def verify(derived: Derivation | None = None, workers: int | None = None, executor: Executor | None = None,
           progress: bool = False) -> list[CheckResult]:
    """Every check's result, in step order.  ``workers`` > 1 runs checks in forked processes."""
    global _POOL_DERIVATION
    derived = derived if derived is not None else derivation()
    items = [(step.label, i) for step in derived.steps for i in range(len(step.checks))]
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    bar = _progress(len(items)) if progress else None
    results: list[CheckResult] = []
    if executor is None and workers <= 1:
        _POOL_DERIVATION = derived
        for label, i in items:
            step = derived[label]
            results.append(step.checks[i].run(step))
            if bar:
                bar.update(1)
        for group in GROUPS:
            results.extend(_run_group(group))
        _POOL_DERIVATION = None
    else:
        _POOL_DERIVATION = derived
        own = executor is None
        pool = executor or ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
        try:
            # Costly checks first, so the last to finish is a cheap one; results keep the step order.
            order = sorted(range(len(items)), key=lambda i: _cost_rank(derived[items[i][0]].checks[items[i][1]]))
            groups = [pool.submit(_run_group, group) for group in GROUPS]  # the longest work: first
            futures = {pool.submit(_run_one, items[i]): i for i in order}
            done: dict[int, CheckResult] = {}
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                if bar:
                    bar.update(1)
            results = [done[i] for i in range(len(items))]
            for future in groups:
                results.extend(future.result())
        finally:
            if own:
                pool.shutdown()
            _POOL_DERIVATION = None
    if bar:
        bar.close()
    return results


def _cost_rank(check) -> int:
    """Checks against quadrature first, then other numeric ones, symbolic ones last."""
    from .checks.base import ApproximationError, NumericIdentity, SupError1D

    for rank, kind in enumerate((NumericIdentity, ApproximationError, SupError1D)):
        if isinstance(check, kind):
            return rank
    return 3


def _progress(total: int):
    from tqdm import tqdm

    return tqdm(total=total, desc="checks", unit="check", leave=False)
