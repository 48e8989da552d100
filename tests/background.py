"""The test session's costly shared work, run beside the tests: verify, then each step's mutation survey.

Two worker processes (the pipeline's default start method; each derives the steps once) run every check of
``pipeline.verify`` and then the mutation surveys (``checks.mutation.survey``).  conftest.py starts this when
the session is collected and runs the tests that read it last, so the main process runs every other test
meanwhile: verify's minutes overlap the rest of the suite instead of adding to it.

A step's checks and its survey go to the same worker where they can (``AffinityExecutor``): the quadrature
references the checks memoise per process (checks/reference.py, X-11's matching roots) are then computed once
for the step and its mutants, not once in verify's worker and again in the process that surveys the mutants.

The surveys recorded in tests/mutation_record.json (``python benchmarks/mutation_survey.py --record``) are used
instead of surveying afresh where the record's fingerprint is this code's (checks.mutation.survey_fingerprint: the
source of every module a survey runs; and checks.mutation.survey_environment, the libraries' versions) and verify's verdicts on the step are the
recorded baseline; every other step is surveyed.  verify itself always runs.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from functools import partial
from pathlib import Path

WORKERS = 2  # the machine has 2 cores: 2 workers and the main process share them
RECORD = Path(__file__).with_name("mutation_record.json")


FITTED = ("softsign_scaling/numeric/generated/exact_tables.py",
          "softsign_scaling/numeric/generated/outside_tables.py")  # refitted only by their own tests
CLOSED_FORMS = "softsign_scaling/numeric/generated/closed_forms.py"  # its stable forms' series: ~13 s of SymPy
COPIED = (CLOSED_FORMS, *FITTED)
# The worker that writes closed_forms.py afresh (derive_tree) also runs verify's proof group that needs the same
# series (stable.derive_stable_forms, cached per process): AffinityExecutor gives both this key.
STABLE_FORMS = "stable forms"


def seeded_tree(root: Path, copied: tuple[str, ...] = COPIED) -> Path:
    """An empty output folder for `derive` holding only the committed files in ``copied``."""
    repository = Path(__file__).resolve().parents[1]
    for name in copied:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes((repository / name).read_bytes())
    return root


def derive_tree(out: str) -> tuple[str, str]:
    """`derive --out out` in a worker (its own hash seed: conftest starts the workers under another PYTHONHASHSEED
    than the test process), from a folder holding only the committed fitted tables: generated/closed_forms.py is
    generated afresh here (its golden test reads it), in the worker that then runs the proofs needing the same
    series (STABLE_FORMS); (out, the seed)."""
    import contextlib
    import io
    import os

    from softsign_scaling import cli

    seeded_tree(Path(out), FITTED)
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["derive", "--out", out]) == 0
    return out, os.environ.get("PYTHONHASHSEED", "")


def load_record(path: Path = RECORD) -> dict:
    """The recorded surveys, {label: {"baseline": [...], "survey": [[kind, by], ...]}}, if the record's fingerprint
    is this code's and its environment these libraries; else {} (nothing recorded, or recorded from other code or
    under other library versions)."""
    from softsign_scaling.checks.mutation import survey_environment, survey_fingerprint

    if not path.is_file():
        return {}
    record = json.loads(path.read_text(encoding="utf-8"))
    current = record.get("fingerprint") == survey_fingerprint() and record.get("environment") == survey_environment()
    return record["steps"] if current else {}


def write_record(steps: dict, path: Path = RECORD) -> None:
    from softsign_scaling.checks.mutation import survey_environment, survey_fingerprint

    rows = ",\n".join(f"  {json.dumps(label)}: {json.dumps(steps[label], sort_keys=True)}" for label in sorted(steps))
    environment = json.dumps(survey_environment(), sort_keys=True)
    text = (f'{{\n "fingerprint": {json.dumps(survey_fingerprint())},\n "environment": {environment},\n'
            f' "steps": {{\n{rows}\n }}\n}}\n')
    assert json.loads(text) == {"fingerprint": survey_fingerprint(), "environment": survey_environment(),
                                "steps": steps}
    path.write_text(text, encoding="utf-8")


BACKGROUND_NICENESS = 10  # the background's work yields to the test process (the suite's critical path)


def lower_priority(niceness: int = BACKGROUND_NICENESS) -> None:
    """Lower this process's scheduling priority: the test process runs every test that does not wait for the
    background (more than half of the suite's CPU, all in one process), so on 2 cores it should own one core while
    the background shares the other; at equal priority the workers and subprocesses (up to 5 runnable) starved it,
    and it then ran its last ~2 minutes alone on an otherwise idle machine.  Nothing runs less: the work's order
    is all that changes."""
    import os

    os.nice(niceness)


def _key(fn, args) -> str | None:
    """The step label a work item belongs to (None: any worker will do)."""
    from softsign_scaling.pipeline import WorkItem

    item = args[0] if args else None
    if not isinstance(item, WorkItem):
        return None
    if item.proofs:
        return STABLE_FORMS if "series truncations" in item.proofs else None
    return item.label or None


class AffinityExecutor(Executor):
    """Single-process pools fed one item at a time: a free worker takes the first queued item of a step it
    already owns (or of no step yet owned, which it then owns), and only when there is none, the first item of
    any step.  So every worker stays busy (as in one pool), and a step's work mostly stays in one process."""

    def __init__(self, workers: int = WORKERS):
        from softsign_scaling.pipeline import default_context

        context = default_context()
        self._pools = [ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=lower_priority)
                       for _ in range(workers)]
        self._busy = [False] * workers
        self._queue: list[tuple[str | None, object, tuple, Future]] = []
        self._owner: dict[str, int] = {}
        self._lock = threading.RLock()  # a done callback can run at once, in the thread that submits
        self._closed = False

    def submit(self, fn, /, *args, **kwargs) -> Future:
        return self.submit_for(_key(fn, args), fn, *args)

    def submit_for(self, key: str | None, fn, *args) -> Future:
        outer = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the background executor is shut down")
            self._queue.append((key, fn, args, outer))
            self._dispatch()
        return outer

    def _dispatch(self) -> None:  # under the lock
        for worker, pool in enumerate(self._pools):
            while not self._busy[worker] and self._queue:
                own = (i for i, (key, *_) in enumerate(self._queue)
                       if key is None or self._owner.get(key, worker) == worker)
                key, fn, args, outer = self._queue.pop(next(own, 0))
                if not outer.set_running_or_notify_cancel():
                    continue  # cancelled while queued
                if key is not None:
                    self._owner.setdefault(key, worker)
                self._busy[worker] = True
                pool.submit(fn, *args).add_done_callback(partial(self._done, worker, outer))

    def _done(self, worker: int, outer: Future, inner: Future) -> None:
        if inner.cancelled():
            outer.set_exception(RuntimeError("the background work was cancelled"))
        elif inner.exception() is not None:
            outer.set_exception(inner.exception())
        else:
            outer.set_result(inner.result())
        with self._lock:
            self._busy[worker] = False
            if not self._closed:
                self._dispatch()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            queued, self._queue = self._queue, []
        for *_, outer in queued:
            outer.cancel()
        for pool in self._pools:
            if not wait:  # an aborted session: stop a check that may run for minutes
                for process in list(getattr(pool, "_processes", {}).values()):
                    process.terminate()
            pool.shutdown(wait=wait, cancel_futures=True)


class Background:
    """verify's results and the requested steps' mutation surveys, computed on an AffinityExecutor in a thread."""

    def __init__(self, survey_labels: tuple[str, ...], record: dict | None = None, tree: Path | None = None,
                 verify: bool = True):
        """``tree``: a folder for `derive --out` in a worker; ``verify``: start verify (and the surveys) now, else
        when first asked for."""
        self.record = record or {}
        self.recorded: set[str] = set()  # the steps whose survey came from the record
        self.executor = AffinityExecutor()
        # `derive --out tree` in a worker, first (the worker derives for verify anyway): the golden test's other seed
        self.tree_folder = tree
        self.tree = self.executor.submit_for(STABLE_FORMS, derive_tree, str(tree)) if tree is not None else None
        self._verified: Future = Future()
        self._surveys: dict[str, Future] = {label: Future() for label in survey_labels}
        self._lock = threading.Lock()
        self._digest, self._baselines, self._failed = "", None, None
        self._thread = threading.Thread(target=self._run, name="verify-and-surveys", daemon=True)
        if verify:
            self._start()

    def _start(self) -> None:
        with self._lock:
            if not self._thread.is_alive() and self._thread.ident is None:
                self._thread.start()

    def _run(self) -> None:
        from softsign_scaling.pipeline import planned, verify
        from softsign_scaling.sections import ORDER

        try:
            results = verify(executor=self.executor, workers=WORKERS)
            plan = self.executor.submit(planned, ORDER).result()  # cached in the worker: verify planned it
        except BaseException as error:  # noqa: BLE001 - reported by every test that waits for it
            with self._lock:
                self._verified.set_exception(error)
                for future in self._surveys.values():
                    future.set_exception(error)
                self._failed = error
            return
        baselines: dict[str, list[str]] = {}
        for (label, _, _), result in zip(plan.checks, results):
            baselines.setdefault(label, []).append(result.verdict)
        with self._lock:
            self._digest, self._baselines = plan.digest, baselines
            for label in self._surveys:
                self._submit(label)
        self._verified.set_result(results)

    def _submit(self, label: str) -> None:  # under the lock, once verify's verdicts are in
        from softsign_scaling.checks.mutation import survey
        from softsign_scaling.sections import ORDER

        future = self._surveys[label]
        entry = self.record.get(label)
        if entry is not None and entry["baseline"] == self._baselines[label]:
            self.recorded.add(label)
            future.set_result(tuple(tuple(found) for found in entry["survey"]))
            return
        try:
            inner = self.executor.submit_for(label, survey, ORDER, self._digest, label, tuple(self._baselines[label]))
        except BaseException as error:  # noqa: BLE001 - reported by the test that waits for it
            future.set_exception(error)
            return
        inner.add_done_callback(partial(_chain, future))

    def verified(self):
        self._start()
        return self._verified.result()

    def baselines(self) -> dict[str, list[str]]:
        """verify's verdicts per step (after :meth:`verified`)."""
        self._verified.result()
        return dict(self._baselines)

    def want(self, labels) -> None:
        """Survey these steps too: after verify (with the others), or now if verify is done."""
        with self._lock:
            for label in labels:
                if label not in self._surveys:
                    self._surveys[label] = Future()
                    if self._failed is not None:
                        self._surveys[label].set_exception(self._failed)
                    elif self._baselines is not None:
                        self._submit(label)

    def survey(self, label: str) -> tuple[tuple[str, str], ...]:
        """The step's survey; one not requested when the session started is submitted now."""
        self._start()
        self.want([label])
        return self._surveys[label].result()

    def close(self, finished: bool) -> None:
        import shutil

        self.executor.shutdown(wait=finished)
        if self.tree_folder is not None:
            shutil.rmtree(self.tree_folder, ignore_errors=True)


def _chain(outer: Future, inner: Future) -> None:
    if inner.cancelled():
        outer.cancel()
    elif inner.exception() is not None:
        outer.set_exception(inner.exception())
    else:
        outer.set_result(inner.result())
