"""Run the sections in the article's order; run every check.

``derive()`` returns a :class:`~softsign_scaling.steps.Derivation`: every step,
in order, indexable by label.  ``verify()`` runs every check of every step and
returns the results in the same order, on any :class:`concurrent.futures.Executor`.

Work for an executor is plain data: a work item names the sections, a step label and
a check index (or a proof group of :mod:`softsign_scaling.stable`), and the worker
rebuilds the families that step needs from their names, once per process (checks hold
lambdas, which do not pickle).  A family derives on the families it declares it needs
(:func:`softsign_scaling.sections.context_of`), so a worker that checks only the momentum steps never
derives the outside ones; and verify's scheduler sends a step's checks to a worker that has derived its
family where it can (:class:`Schedule`).  So a fork-, forkserver- or spawn-based
``ProcessPoolExecutor`` works, and so does a Dask cluster::

    from dask.distributed import Client
    from softsign_scaling.pipeline import verify

    with Client("tcp://scheduler:8786") as client:   # every worker has softsign_scaling installed
        results = verify(executor=client.get_executor())

Each Dask worker process derives the families its share of the checks needs (~13 s for all), once.
"""

from __future__ import annotations

import hashlib
import importlib
import math
import multiprocessing
import os
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from .sections import ORDER, context_of
from .steps import CheckResult, Derivation, Step


def derive(sections: tuple[str, ...] = ORDER) -> Derivation:
    """Derive every step of the named sections, each family on the steps of the families it needs
    (:func:`~softsign_scaling.sections.context_of`; the steps before it, unless it declares fewer)."""
    built: dict[str, tuple[Step, ...]] = {}
    for name in sections:
        built[name] = _derive_family(name, _joined(built, context_of(name, sections)))
    return _joined(built, sections)


def _derive_family(name: str, previous: Derivation) -> tuple[Step, ...]:
    module = importlib.import_module(f"softsign_scaling.sections.{name}")
    return tuple(module.steps(previous))


def _joined(built: dict[str, tuple[Step, ...]], names: tuple[str, ...]) -> Derivation:
    return Derivation(tuple(step for name in names for step in built[name]))


@lru_cache(maxsize=None)
def family_steps(name: str, context: tuple[str, ...]) -> tuple[Step, ...]:
    """Family ``name``'s steps derived on ``derived_sections(context)``, once per process."""
    return _derive_family(name, derived_sections(context))


@lru_cache(maxsize=None)
def derived_sections(sections: tuple[str, ...]) -> Derivation:
    """``derive(sections)``, once per process and section tuple (what a verify worker runs); each family's steps
    are derived once per process, whichever section tuples hold it."""
    return Derivation(tuple(step for name in sections for step in family_steps(name, context_of(name, sections))))


def derivation() -> Derivation:
    """The full derivation, derived once per process."""
    return derived_sections(ORDER)


def derivation_for(*families: str) -> Derivation:
    """The steps of the named families and of the families they derive on (:func:`~softsign_scaling.sections.context_of`),
    in the pipeline's order: what a command that reads a few steps derives (the atlas reads E-9 and E-12: ~2 s of
    the full derivation's ~20 s); the same step records as :func:`derivation`'s in this process."""
    wanted = {name for family in families for name in (*context_of(family, ORDER), family)}
    return derived_sections(tuple(name for name in ORDER if name in wanted))


def digest(derived: Derivation) -> str:
    """sha256 of every step's label and result (srepr): a worker's rebuilt derivation must match the caller's."""
    hashed = hashlib.sha256()
    for step in derived.steps:
        hashed.update(f"{step.label}\n{sp.srepr(step.result)}\n{len(step.checks)}\n".encode())
    return hashed.hexdigest()


@lru_cache(maxsize=4)
def digest_of(sections: tuple[str, ...]) -> str:
    return digest(derived_sections(sections))


def digest_steps(steps) -> str:
    """:func:`digest` of some steps."""
    return digest(Derivation(tuple(steps)))


@lru_cache(maxsize=1024)
def _step_digest(step: Step) -> str:
    """:func:`digest_steps` of one step, once per step record (a step's checks are as many work items)."""
    return digest_steps([step])


def _digest_of_digests(pairs: list[tuple[str, str]]) -> str:
    return hashlib.sha256("".join(f"{label}\n{value}\n" for label, value in pairs).encode()).hexdigest()


def expected_digest(derived: Derivation, item: "WorkItem") -> str:
    """What a work item's ``expected_digest`` is for ``derived``: its step's digest, or for a proof group the
    digests of the proofs' inputs (:data:`softsign_scaling.stable.PROOF_INPUTS`)."""
    from .stable import PROOF_INPUTS

    if not item.proofs:
        return _step_digest(derived[item.label])
    return _digest_of_digests([(label, _step_digest(derived[label]) if label in derived else "")
                               for label in PROOF_INPUTS])


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
    """One unit of verify's work, as plain data: a step's check (label, index) or a proof group.

    ``sections``: the families the worker derives for it (the step's family and its context);
    ``expected_digest``: :func:`digest_steps` of the steps it checks, as the caller derived them."""

    sections: tuple[str, ...]
    expected_digest: str
    label: str = ""
    index: int = -1
    proofs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Done:
    """A work item's results, with the CPU seconds it took (of which deriving families its worker lacked) and its
    worker's (pid, CPU seconds so far)."""

    results: list[tuple[str, list[CheckResult]]]
    cpu: float
    pid: int
    process_cpu: float
    derive_cpu: float = 0.0


def run_item(item: WorkItem) -> Done:
    """Run one work item in this process (the families it needs are derived once per process)."""
    start = time.process_time()
    derived = derived_sections(item.sections)
    derive_cpu = time.process_time() - start
    if expected_digest(derived, item) != item.expected_digest:
        raise RuntimeError(f"verify: this process derived other steps from {item.sections} than the caller's "
                           "derivation; run a modified derivation with workers=1 and no executor")
    results = run_proofs(derived, item.proofs) if item.proofs else [(item.label, [run_check(derived[item.label], item.index)])]
    return Done(results, time.process_time() - start, os.getpid(), time.process_time(), derive_cpu)


def run_check(step: Step, index: int) -> CheckResult:
    """The step's check ``index``; a check that raises is a "fail" whose detail is the error."""
    check = step.checks[index]
    try:
        return check.run(step)
    except Exception as error:  # noqa: BLE001 - any error of a check is its verdict, not verify's crash
        return CheckResult(label=step.label, name=check.name, kind=step.relation.kind,
                           method="numeric" if _is_numeric(check) else "symbolic", verdict="fail",
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
           progress: bool = False, sections: tuple[str, ...] | None = None,
           timings: list[dict] | None = None) -> list[CheckResult]:
    """Every check's result, in step order, then the stable forms' proofs.

    ``derived``: the derivation to check (default: ``derive(sections)``, once per process).
    ``sections``: the section names ``derived`` was derived from (default: its steps' sections, in order);
    executor workers rebuild it from them, and refuse to run when what they derive differs from ``derived``.
    ``workers``: processes of the default pool (default: up to 2); 1 runs everything in this process.
    ``executor``: any :class:`concurrent.futures.Executor` instead of the default pool (a
    ``ProcessPoolExecutor`` of any start method, a Dask ``Client.get_executor()``); it is not shut down.
    ``progress``: draw a tqdm bar on stderr (whether or not stderr is a terminal).
    ``timings``: a list that receives one dict per work item run on workers (what, CPU seconds, worker pid, the
    worker's CPU seconds so far; plans also the CPU seconds of deriving each family), for benchmarks.
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
    if derived is None:
        sections = sections or ORDER
    else:
        sections = sections or tuple(dict.fromkeys(step.section for step in derived.steps))
    # The default pool is one single-process pool per worker, so that the schedule knows which families each
    # process has derived; an outside executor is one lane that orders its queue itself.
    own = executor is None
    lanes = ([ProcessPoolExecutor(max_workers=1, mp_context=default_context()) for _ in range(workers)] if own
             else [executor])
    bar = _progress(0) if progress else None
    try:
        return Schedule(sections, lanes, 1 if own else None, derived, bar, timings).run()
    finally:
        if bar is not None:
            bar.close()
        if own:
            for lane in lanes:
                lane.shutdown(cancel_futures=sys.exc_info()[0] is not None)


@dataclass(frozen=True)
class Plan:
    """verify's work, as plain data: every check (label, index, schedule rank), the proof groups that apply, and
    the digest of the derivation they belong to."""

    checks: tuple[tuple[str, int, int], ...]
    groups: tuple[tuple[str, ...], ...]
    digest: str


def plan_of(derived: Derivation) -> Plan:
    from .stable import proofs_apply

    checks = tuple((step.label, i, _schedule_rank(check)) for step in derived.steps for i, check in enumerate(step.checks))
    return Plan(checks, PROOF_GROUPS if proofs_apply(derived) else (), digest(derived))


def planned(sections: tuple[str, ...]) -> Plan:
    """The plan of ``derive(sections)``, derived in this process."""
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


# ---------------------------------------------------------------------------------------------------------
# The schedule: plans first, then every check, costly ones first, each on a worker that has its family.


@dataclass(frozen=True)
class FamilyPlan:
    """One family's share of verify's work: its checks (label, index, schedule rank), its steps' digests, the families a
    worker derives for them, and the CPU seconds deriving the family took where it was planned (0: derived before)."""

    name: str
    sections: tuple[str, ...]
    checks: tuple[tuple[str, int, int], ...]
    digests: tuple[tuple[str, str], ...]
    derive_cpu: float = 0.0


def _family_plan(name: str, sections: tuple[str, ...], derived: Derivation, derive_cpu: float = 0.0) -> FamilyPlan:
    steps = [step for step in derived.steps if step.section == name]
    context = set(context_of(name, sections)) | {name}
    return FamilyPlan(name, tuple(section for section in sections if section in context),
                      tuple((step.label, i, _schedule_rank(check)) for step in steps for i, check in enumerate(step.checks)),
                      tuple((step.label, _step_digest(step)) for step in steps), derive_cpu)


def planned_family(sections: tuple[str, ...]) -> tuple[FamilyPlan, float, int, float]:
    """The plan of the family ``sections[-1]``, derived in this process on the families before it in ``sections``
    (its context); with the CPU seconds this took, the pid and the process's CPU seconds so far."""
    start = time.process_time()
    name, context = sections[-1], context_of(sections[-1], sections)
    derived_sections(context)
    begin = time.process_time()
    family_steps(name, context)
    plan = _family_plan(name, sections, derived_sections(sections), time.process_time() - begin)
    return plan, time.process_time() - start, os.getpid(), time.process_time()


# Expected CPU seconds by schedule rank (measured with benchmarks/bench_pipeline.py --profile: the mean of each
# rank's checks, 14, 24, 109 and 239 of them; the longest 5.3, 2.5, 4.1 and 1.7 s); a proof group is -1.  The
# schedule orders by rank, and weighs deriving a family for a lane by these.
EXPECTED_SECONDS = {-1: 5.0, 0: 2.8, 1: 0.5, 2: 0.3, 3: 0.05}
CHEAP_DERIVE = 2.0  # seconds of derive a lane spends on families another lane has, to take a plan


@dataclass
class _Task:
    fn: object
    args: tuple
    families: frozenset
    key: tuple  # order among tasks of one kind: smaller first
    plan: bool = False
    index: int = -1  # an item's position in ``Schedule.items``


class Schedule:
    """verify's work on ``lanes``, executors that each run ``width`` tasks at a time (None: an outside executor,
    which gets every task as soon as it is known, in this order, and schedules them itself: a Dask cluster's
    scheduler, the test session's AffinityExecutor).

    Plans first: one task per family derives it (and its context, where the worker lacks it) and returns its plan,
    a free lane taking the family it lacks the fewest families of; each family's checks are queued when its plan
    comes in, and the proof groups when their inputs are planned.  A free lane takes, of the checks whose families it has derived,
    first those that no other lane can run without deriving, then the costly ones (proof groups, quadratures),
    so that the work left at the end is many cheap checks either lane can take.  A lane derives a family for a
    check only when the work waiting for that family is worth it (more than twice the derive's cost)."""

    def __init__(self, sections: tuple[str, ...], lanes: list[Executor], width: int | None, derived: Derivation | None,
                 bar, timings: list[dict] | None):
        self.sections, self.lanes, self.width, self.bar, self.timings = sections, lanes, width, bar, timings
        self.have: list[set[str]] = [set() for _ in lanes]
        self.pending: list[_Task] = []
        self.plans: dict[str, FamilyPlan] = {}
        self.items: list[WorkItem] = []
        self.done: dict[int, list[tuple[str, list[CheckResult]]]] = {}
        self.derive_cpu: dict[str, float] = {}
        self.owner: dict[str, int] = {}  # step label, "family <name>" -> the lane that ran its first check
        self.proofs_queued = False
        if derived is None:
            for order, name in enumerate(sections):
                context = set(context_of(name, sections)) | {name}
                own = tuple(section for section in sections if section in context)
                self.pending.append(_Task(planned_family, (own,), frozenset(own), (order,), True))
        else:
            for name in sections:
                self._add_plan(_family_plan(name, sections, derived))

    def run(self) -> list[CheckResult]:
        running: dict[Future, tuple[int, _Task]] = {}
        while self.pending or running:
            self._dispatch(running)
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
                lane, task = running.pop(future)
                self._finished(task, future.result())
        return self._results()

    def _dispatch(self, running: dict) -> None:
        for lane, executor in enumerate(self.lanes):
            while self.pending and (self.width is None
                                    or sum(1 for busy, _ in running.values() if busy == lane) < self.width):
                task = self._choose(lane, forced=not running)
                if task is None:
                    break
                self.pending.remove(task)
                self.have[lane] |= task.families
                if self._label(task):  # a step's checks, and a family's of one rank, share references
                    self.owner.setdefault(self._label(task), lane)
                    self.owner.setdefault(self._family(task), lane)
                running[executor.submit(task.fn, *task.args)] = (lane, task)

    def _choose(self, lane: int, forced: bool) -> _Task | None:
        have = self.have[lane]
        # A plan whose context another lane has whole, and this one could only derive at a cost (a family not yet
        # planned, or more than CHEAP_DERIVE seconds), is that lane's: a branch's family (outside, for limits) is not
        # derived twice for a plan.  The early families, which every lane needs, are planned by either.
        plans = [task for task in self.pending if task.plan and (forced or not self._elsewhere(task, lane))]
        if plans:
            return min(plans, key=lambda task: (len(task.families - have), task.key))
        ready = [task for task in self.pending if task.families <= have]
        if ready:
            return min(ready, key=lambda task: (sum(task.families <= other for other in self.have),
                                                self.owner.get(self._label(task), lane) != lane, task.key[0],
                                                self.owner.get(self._family(task), lane) != lane, task.key))
        items = [task for task in self.pending if not task.plan]
        if not items:  # only plans another lane is to take
            return min(self.pending, key=lambda task: task.key) if forced else None
        best = min(items, key=lambda task: (self._cost_of(task.families - have), task.key))
        missing = best.families - have
        waiting = sum(EXPECTED_SECONDS[task.key[0]] for task in items if task.families <= have | missing)
        return best if forced or waiting > 2 * self._cost_of(missing) else None

    def _elsewhere(self, task: _Task, lane: int) -> bool:
        context = task.families - {task.args[0][-1]}
        missing = context - self.have[lane]
        cost = sum(self.plans[name].derive_cpu if name in self.plans else math.inf for name in missing)
        return cost > CHEAP_DERIVE and any(context <= have for other, have in enumerate(self.have) if other != lane)

    def _label(self, task: _Task) -> str:
        return self.items[task.index].label if task.index >= 0 else ""

    def _family(self, task: _Task) -> str:
        return "family " + self.items[task.index].sections[-1] if task.index >= 0 else ""

    def _cost_of(self, families) -> float:
        return sum(self.derive_cpu.get(name, 1.0) for name in families)

    def _finished(self, task: _Task, value) -> None:
        if task.plan:
            plan, cpu, pid, process_cpu = value
            # the rest of the plan's CPU: deriving the families before it that this worker lacked, and the digests
            self._timed(f"plan: {plan.name}", cpu, pid, process_cpu,
                        derive={plan.name: plan.derive_cpu, f"(before {plan.name})": cpu - plan.derive_cpu})
            self.derive_cpu[plan.name] = plan.derive_cpu
            self._add_plan(plan)
            return
        self.done[task.index] = value.results
        item = self.items[task.index]
        extra = {"derive": {"(for " + (item.label or "proofs") + ")": value.derive_cpu}} if value.derive_cpu > 0.05 else {}
        self._timed(f"{item.label} #{item.index}" if not item.proofs else "proofs: " + ", ".join(item.proofs),
                    value.cpu - value.derive_cpu, value.pid, value.process_cpu, **extra)
        _advance(self.bar, sum(len(results) for _, results in value.results))

    def _timed(self, what: str, cpu: float, pid: int, process_cpu: float, **extra) -> None:
        if self.timings is not None:
            self.timings.append(dict(what=what, cpu=cpu, pid=pid, process_cpu=process_cpu, **extra))

    def _add_plan(self, plan: FamilyPlan) -> None:
        self.plans[plan.name] = plan
        digests = dict(plan.digests)
        for label, index, rank in plan.checks:
            self._add_item(WorkItem(plan.sections, digests[label], label=label, index=index), rank)
        self._add_proofs()

    def _add_item(self, item: WorkItem, rank: int) -> None:
        self.pending.append(_Task(run_item, (item,), frozenset(item.sections), (rank, len(self.items)),
                                  index=len(self.items)))
        self.items.append(item)
        if self.bar is not None:
            self.bar.total += 1
            self.bar.refresh()

    def _add_proofs(self) -> None:
        from .stable import PROOF_INPUTS

        planned_labels = {label: plan for plan in self.plans.values() for label, _ in plan.digests}
        if self.proofs_queued or not all(label in planned_labels for label in PROOF_INPUTS):
            return
        self.proofs_queued = True
        inputs = {name for label in PROOF_INPUTS for name in planned_labels[label].sections}
        sections = tuple(name for name in self.sections if name in inputs)
        # the digest of the inputs, from their planned digests: digest_steps over the steps, in PROOF_INPUTS order
        expected = _digest_of_digests([(label, dict(planned_labels[label].digests)[label]) for label in PROOF_INPUTS])
        for names in PROOF_GROUPS:
            self._add_item(WorkItem(sections, expected, proofs=names), -1)

    def _results(self) -> list[CheckResult]:
        position = {(item.label, item.index): k for k, item in enumerate(self.items) if not item.proofs}
        results = [self.done[position[(label, index)]][0][1][0]
                   for name in self.sections for label, index, _ in self.plans[name].checks]
        proved = {name: found for k, item in enumerate(self.items) if item.proofs for name, found in self.done[k]}
        return results + _in_proof_order(proved)


def _schedule_rank(check) -> int:
    """0: against quadrature; 1: other numeric comparisons (an approximation's error, a printed form or identity
    compared only numerically); 2: claims and SymPy limits (numeric evidence, 0.3 s on average); 3: the rest
    (symbolic, mostly a few milliseconds)."""
    from .checks.base import ApproximationError, Claim, LimitValue, MatchesPrinted, NumericIdentity, ZeroIdentity

    if isinstance(check, NumericIdentity):
        return 0
    if isinstance(check, ApproximationError) or (isinstance(check, (MatchesPrinted, ZeroIdentity))
                                                 and not check.try_symbolic and check.domain is not None):
        return 1
    return 2 if isinstance(check, (Claim, LimitValue)) else 3


def _is_numeric(check) -> bool:
    """Whether a check's evidence is numeric (a quadrature comparison, an approximation's measured error): the
    method a check that raised is reported with."""
    from .checks.base import ApproximationError, NumericIdentity, SupError1D

    return isinstance(check, (NumericIdentity, ApproximationError, SupError1D))


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
