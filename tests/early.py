"""Subprocess work a test only waits for, started when the session is collected (conftest.py ``EARLY``), so that it
runs beside the other tests instead of holding up the test process: the limited-dispatch rerun of the bitwise kernel
tests (test_kernel.py) and the atlas's regeneration (test_atlas.py), each tens of seconds of CPU in other processes.

The main process is the suite's critical path (the background workers of background.py finish verify long before
it finishes the other tests), so work moved from it into a concurrent process shortens the run; the test that reads
the result runs late (conftest sorts it after the others, before the ones waiting for verify).  Like the background
workers, these processes run at a lower priority (background.lower_priority), so that the test process keeps a core."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Finished:
    returncode: int
    output: str  # stdout and stderr, interleaved
    folder: Path | None


class Early:
    """A subprocess started now, its output in a file (never a pipe that could fill while nobody reads it)."""

    def __init__(self, argv: list[str], env: dict | None = None, cwd: Path = ROOT, folder: Path | None = None,
                 timeout: float = 900.0):
        self.folder = folder
        self.timeout = timeout
        self._log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        # its own process group: close() stops what it started too (a pool's workers, a DDP run's ranks)
        # at the background's priority (background.lower_priority): the test process keeps a core; by nice(1), not
        # a preexec_fn (unsafe once the session's background threads run)
        from background import BACKGROUND_NICENESS

        if shutil.which("nice"):
            argv = ["nice", "-n", str(BACKGROUND_NICENESS), *argv]
        self._process = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                         start_new_session=True)
        self._finished: Finished | None = None

    def result(self) -> Finished:
        """The finished run; a run past its timeout is stopped and reported as failed (exit code -9), once."""
        if self._finished is None:
            try:
                code = self._process.wait(timeout=self.timeout)
                note = ""
            except subprocess.TimeoutExpired:
                self._stop()
                code, note = -9, f"\n[stopped after its timeout of {self.timeout:g} s]"
            self._log.seek(0)
            self._finished = Finished(code, self._log.read() + note, self.folder)
        return self._finished

    def _stop(self) -> None:
        """Kill the run's process group (the leader may be gone while what it started is not) and reap the leader."""
        import os
        import signal

        try:
            os.killpg(self._process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._process.wait()

    def close(self) -> None:
        self._stop()
        self._log.close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def scratch(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


# --------------------------------------------------------------------------------------------
# Offloaded tests: heavy tests that need no session fixture, run by a second pytest process started when the session
# is collected; the test process reports each one's outcome from that run (conftest.py OFFLOADED).

OFFLOAD_ENV = "SOFTSIGN_OFFLOADED_RESULTS"  # set in the second process: where its plugin writes the outcomes


class Offload:
    """``pytest <nodeids>`` in a subprocess, with tests/offload_report.py writing {nodeid: [outcome, text]}."""

    def __init__(self, nodeids: list[str], timeout: float = 900.0, cwd: Path = ROOT, markers: str = ""):
        """``markers``: the session's -m expression, passed on (so that, e.g., -m slow runs a slow test there too)."""
        import os
        import sys

        self.nodeids = frozenset(nodeids)
        self.folder = scratch("softsign-offload-")
        self.results = self.folder / "results.json"
        env = dict(os.environ, **{OFFLOAD_ENV: str(self.results)})
        import softsign_scaling

        package = Path(softsign_scaling.__file__).resolve().parents[1]  # the package this session imports, there too
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "tests"), str(package), env.get("PYTHONPATH", "")]))
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "offload_report",
                *(["-m", markers] if markers else []), *sorted(nodeids)]
        self.run = Early(argv, env=env, cwd=cwd, folder=self.folder, timeout=timeout)
        self._outcomes: dict | None = None

    def outcome(self, nodeid: str) -> tuple[str, str]:
        """("passed" | "failed" | "skipped", the report's text) of one offloaded test."""
        import json

        if self._outcomes is None:
            finished = self.run.result()  # a timeout stops the run: every outcome it did not write is a failure
            try:
                self._outcomes = json.loads(self.results.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self._outcomes = {}
            self._tail = finished.output[-3000:]
        if nodeid not in self._outcomes:
            return "failed", f"the offloaded pytest process gave no outcome for {nodeid}:\n{self._tail}"
        outcome, text = self._outcomes[nodeid]
        return outcome, text

    def close(self) -> None:
        self.run.close()
