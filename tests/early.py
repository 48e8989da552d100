"""Subprocess work a test only waits for, started when the session is collected (conftest.py ``EARLY``), so that it
runs beside the other tests instead of holding up the test process: the limited-dispatch rerun of the bitwise kernel
tests (test_kernel.py) and the atlas's regeneration (test_atlas.py), each tens of seconds of CPU in other processes.

The main process is the suite's critical path (the background workers of background.py finish verify long before
it finishes the other tests), so work moved from it into a concurrent process shortens the run; the test that reads
the result runs late (conftest sorts it after the others, before the ones waiting for verify)."""

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
        self._process = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        self._finished: Finished | None = None

    def result(self) -> Finished:
        if self._finished is None:
            code = self._process.wait(timeout=self.timeout)
            self._log.seek(0)
            self._finished = Finished(code, self._log.read(), self.folder)
        return self._finished

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._log.close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def scratch(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
