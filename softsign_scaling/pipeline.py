"""Run the sections in the article's order; run every check.

``derive()`` returns a :class:`~softsign_scaling.steps.Derivation`: every step,
in order, indexable by label.  ``verify()`` runs every check of every step and
returns the results in the same order, on any :class:`concurrent.futures.Executor`.

Work for an executor is plain data: a work item names the sections, a step label and
a check index (or a proof group of :mod:`softsign_scaling.stable`), and the worker
rebuilds the derivation from the section names once per process (checks hold
lambdas, which do not pickle).  So a fork-, forkserver- or spawn-based
``ProcessPoolExecutor`` works, and so does a Dask cluster::

    from dask.distributed import Client
    from softsign_scaling.pipeline import verify

    with Client("tcp://scheduler:8786") as client:   # every worker has softsign_scaling installed
        results = verify(executor=client.get_executor())

Each Dask worker process derives the steps once (~10 s) and then runs its share of the checks.
"""

from __future__ import annotations

import hashlib
import importlib
import multiprocessing
import os
import sys
import traceback
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from .sections import ORDER
from .steps import CheckResult, Derivation, Step


def derive(sections: tuple[str, ...] = ORDER) -> Derivation:
    """Derive every step of the named sections (each may use the steps before it)."""
    derivation = Derivation()
    for name in sections:
        module = importlib.import_module(f"softsign_scaling.sections.{name}")
        derivation = derivation.extended(module.steps(derivation))
    return derivation


@lru_cache(maxsize=4)
def derived_sections(sections: tuple[str, ...]) -> Derivation:
    """``derive(sections)``, once per process and section tuple (what a verify worker runs)."""
    return derive(sections)


def derivation() -> Derivation:
    """The full derivation, derived once per process."""
    return derived_sections(ORDER)


def digest(derived: Derivation) -> str:
    """sha256 of every step's label and result (srepr): a worker's rebuilt derivation must match the caller's."""
    hashed = hashlib.sha256()
    for step in derived.steps:
        hashed.update(f"{step.label}\n{sp.srepr(step.result)}\n{len(step.checks)}\n".encode())
    return hashed.hexdigest()


@lru_cache(maxsize=4)
def digest_of(sections: tuple[str, ...]) -> str:
    return digest(derived_sections(sections))


# The stable forms' equivalence proofs (issue 3, stable.PROOFS): checks that are not attached to one step's
# record, reported after the steps' checks in stable.PROOFS's order.  Proofs that share costly work run as
# one work item (the series truncations and the b -> 0 limits both need the ~40 s series): first, since
# that item is the longest.
PROOF_GROUPS = (("series truncations", "b -> 0 limits"), ("mean-field closures",), ("tail forms",),
                ("tail functions",), ("approximate closures",))


def run_proofs(derived: Derivation, names: tuple[str, ...]) -> list[tuple[str, list[CheckResult]]]:
    """(name, results) of the named proofs of :mod:`softsign_scaling.stable`; a proof that raises is one "fail"."""
    from .stable import PROOFS

    out = []
    for name in names:
        try:
            out.append((name, PROOFS[name](derived)))
        except Exception as error:  # noqa: BLE001 - an error of a proof is its verdict, not verify's crash
            out.append((name, [CheckResult(label="E-8", name=f"stable forms: {name}", kind="identity",
                                           method="symbolic", verdict="fail", detail=_error_text(error))]))
    return out


@dataclass(frozen=True)
class WorkItem:
    """One unit of verify's work, as plain data: a step's check (label, index) or a proof group."""

    sections: tuple[str, ...]
    expected_digest: str
    label: str = ""
    index: int = -1
    proofs: tuple[str, ...] = ()


def run_item(item: WorkItem) -> list[tuple[str, list[CheckResult]]]:
    """Run one work item in this process (the derivation is rebuilt from the section names once)."""
    derived = derived_sections(item.sections)
    if digest_of(item.sections) != item.expected_digest:
        raise RuntimeError(f"verify: this process derived other steps from {item.sections} than the caller's "
                           "derivation; run a modified derivation with workers=1 and no executor")
    if item.proofs:
        return run_proofs(derived, item.proofs)
    return [(item.label, [run_check(derived[item.label], item.index)])]


def run_check(step: Step, index: int) -> CheckResult:
    """The step's check ``index``; a check that raises is a "fail" whose detail is the error."""
    check = step.checks[index]
    try:
        return check.run(step)
    except Exception as error:  # noqa: BLE001 - any error of a check is its verdict, not verify's crash
        return CheckResult(label=step.label, name=check.name, kind=step.relation.kind,
                           method="numeric" if _cost_rank(check) < 3 else "symbolic", verdict="fail",
                           detail=_error_text(error))


def _error_text(error: BaseException) -> str:
    where = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    at = f" (at {os.path.basename(where.filename)}:{where.lineno})" if where else ""
    return f"the check raised {type(error).__name__}: {error}{at}"


def default_context() -> multiprocessing.context.BaseContext:
    """forkserver where the platform has it (no fork of a process that may run threads), else spawn."""
    return multiprocessing.get_context("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                                       else "spawn")


def verify(derived: Derivation | None = None, workers: int | None = None, executor: Executor | None = None,
           progress: bool = False, sections: tuple[str, ...] | None = None) -> list[CheckResult]:
    """Every check's result, in step order, then the stable forms' proofs.

    ``derived``: the derivation to check (default: ``derive(sections)``, once per process).
    ``sections``: the section names ``derived`` was derived from (default: its steps' sections, in order);
    executor workers rebuild it from them, and refuse to run when what they derive differs from ``derived``.
    ``workers``: processes of the default pool (default: up to 2); 1 runs everything in this process.
    ``executor``: any :class:`concurrent.futures.Executor` instead of the default pool (a
    ``ProcessPoolExecutor`` of any start method, a Dask ``Client.get_executor()``); it is not shut down.
    ``progress``: draw a tqdm bar on stderr (whether or not stderr is a terminal).
    A check that raises gives a "fail" result with the error in its ``detail``.
    """
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    if executor is None and workers <= 1:
        derived = derived if derived is not None else derived_sections(sections or ORDER)
        plan = plan_of(derived)
        bar = _progress(len(plan.checks) + len(plan.groups)) if progress else None
        try:
            return _verify_here(derived, plan, bar)
        finally:
            if bar is not None:
                bar.close()
    own = executor is None
    pool = executor or ProcessPoolExecutor(max_workers=workers, mp_context=default_context())
    try:
        if derived is None:
            # The workers derive and plan, all at once; this process never derives (the workers must anyway).
            # One plan per worker (of an outside executor, ``workers`` of them): a second plan in a process
            # that has derived costs nothing (derived_sections is cached).
            sections = sections or ORDER
            plan = [pool.submit(planned, sections) for _ in range(workers)][0].result()
        else:
            sections = sections or tuple(dict.fromkeys(step.section for step in derived.steps))
            plan = plan_of(derived)
        bar = _progress(len(plan.checks) + len(plan.groups)) if progress else None
        try:
            return _verify_pool(sections, plan, pool, bar)
        finally:
            if bar is not None:
                bar.close()
    finally:
        if own:
            pool.shutdown(cancel_futures=sys.exc_info()[0] is not None)


@dataclass(frozen=True)
class Plan:
    """verify's work, as plain data: every check (label, index, cost rank), the proof groups that apply, and
    the digest of the derivation they belong to."""

    checks: tuple[tuple[str, int, int], ...]
    groups: tuple[tuple[str, ...], ...]
    digest: str


def plan_of(derived: Derivation) -> Plan:
    from .stable import proofs_apply

    checks = tuple((step.label, i, _cost_rank(check)) for step in derived.steps for i, check in enumerate(step.checks))
    return Plan(checks, PROOF_GROUPS if proofs_apply(derived) else (), digest(derived))


def planned(sections: tuple[str, ...]) -> Plan:
    """The plan of ``derive(sections)``, derived in this process (a worker's first task)."""
    return plan_of(derived_sections(sections))


def _verify_here(derived: Derivation, plan: Plan, bar) -> list[CheckResult]:
    results = []
    for label, index, _ in plan.checks:
        results.append(run_check(derived[label], index))
        if bar is not None:
            bar.update(1)
    proved = {}
    for names in plan.groups:
        found = run_proofs(derived, names)
        proved.update(found)
        _advance(bar, sum(len(results) for _, results in found))
    return results + _in_proof_order(proved)


def _in_proof_order(proved: dict[str, list[CheckResult]]) -> list[CheckResult]:
    from .stable import PROOFS

    return [result for name in PROOFS if name in proved for result in proved[name]]


def _verify_pool(sections: tuple[str, ...], plan: Plan, pool: Executor, bar) -> list[CheckResult]:
    items = [WorkItem(sections, plan.digest, label=label, index=index) for label, index, _ in plan.checks]
    items += [WorkItem(sections, plan.digest, proofs=names) for names in plan.groups]
    ranks = [(1 + rank, 0) for _, _, rank in plan.checks] + [(0, i) for i in range(len(plan.groups))]
    # Costly work first, so that the last item to finish is a cheap one; results keep the step order.
    futures = {pool.submit(run_item, items[i]): i for i in sorted(range(len(items)), key=ranks.__getitem__)}
    done: dict[int, list[tuple[str, list[CheckResult]]]] = {}
    for future in as_completed(futures):
        done[futures[future]] = future.result()
        _advance(bar, sum(len(results) for _, results in done[futures[future]]))
    results = [done[i][0][1][0] for i in range(len(plan.checks))]
    proved = {name: found for i in range(len(plan.checks), len(items)) for name, found in done[i]}
    return results + _in_proof_order(proved)


def _cost_rank(check) -> int:
    """Checks against quadrature first, then other numeric ones, symbolic ones last (measured with
    benchmarks/bench_pipeline.py --profile; the proof groups, the series ~40 s of them, go before all)."""
    from .checks.base import ApproximationError, NumericIdentity, SupError1D

    for rank, kind in enumerate((NumericIdentity, ApproximationError, SupError1D)):
        if isinstance(check, kind):
            return rank
    return 3


def _advance(bar, results: int) -> None:
    """One work item done, giving ``results`` results: a proof group counts as one item until it is done
    (how many results it gives is known only then), so the bar ends at the number of results verify reports."""
    if bar is None:
        return
    if results != 1:
        bar.total += results - 1
    bar.update(results)


def _progress(total: int):
    from tqdm import tqdm

    # file=sys.stderr and no TTY test: the bar is drawn into logs too (refreshed at most every 5 s there).
    interval = 0.1 if sys.stderr.isatty() else 5.0
    return tqdm(total=total, desc="verify", unit="check", file=sys.stderr, mininterval=interval, leave=True)
