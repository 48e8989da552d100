"""The test-session machinery of tests/early.py: offloaded tests report their real outcome (a failure in the second
process fails the test here), and early work's output reaches the test."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
from early import Early, Offload

PROBE = '''
import pytest

def test_passes():
    assert 1 + 1 == 2

def test_fails():
    assert 1 + 1 == 3, "the probe's failure"

def test_skips():
    pytest.skip("the probe's skip")
'''


def test_offloaded_outcomes_are_the_second_process_outcomes(tmp_path):
    (tmp_path / "test_probe.py").write_text(PROBE, encoding="utf-8")
    ids = [f"test_probe.py::{name}" for name in ("test_passes", "test_fails", "test_skips")]
    offload = Offload(ids, cwd=tmp_path, timeout=120)
    try:
        assert offload.outcome(ids[0]) == ("passed", "")
        outcome, text = offload.outcome(ids[1])
        assert outcome == "failed" and "the probe's failure" in text
        outcome, text = offload.outcome(ids[2])
        assert outcome == "skipped" and "the probe's skip" in text
        outcome, text = offload.outcome("test_probe.py::test_absent")  # never ran: a failure, never a pass
        assert outcome == "failed" and "no outcome" in text
    finally:
        offload.close()
    assert not offload.folder.exists()


def test_the_hook_fails_a_test_whose_offloaded_run_failed():
    """conftest.pytest_pyfunc_call: a failed or skipped outcome becomes this test's; a test not offloaded runs here."""
    import conftest

    outcomes = {"a": ("failed", "boom"), "b": ("skipped", "why"), "c": ("passed", "")}
    offload = SimpleNamespace(nodeids=set(outcomes), outcome=lambda nodeid: outcomes[nodeid])
    config = SimpleNamespace(_softsign_offload=offload)
    with pytest.raises(pytest.fail.Exception, match="boom"):
        conftest.pytest_pyfunc_call(SimpleNamespace(config=config, nodeid="a"))
    with pytest.raises(pytest.skip.Exception, match="why"):
        conftest.pytest_pyfunc_call(SimpleNamespace(config=config, nodeid="b"))
    assert conftest.pytest_pyfunc_call(SimpleNamespace(config=config, nodeid="c")) is True
    assert conftest.pytest_pyfunc_call(SimpleNamespace(config=config, nodeid="d")) is None


def test_early_work_keeps_its_output_and_exit_code():
    run = Early([sys.executable, "-c", "import sys; print('x' * 200000); sys.exit(3)"], timeout=60)
    try:
        finished = run.result()  # 200 kB of output: more than a pipe holds, read only at the end
        assert finished.returncode == 3 and len(finished.output) > 200000
    finally:
        run.close()


CHILD_AND_GRANDCHILD = '''
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(child.pid, flush=True)
time.sleep(120)
'''


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:  # a zombie waiting for its parent is gone too
        return handle.read().split(") ")[-1][0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_close_and_a_timeout_stop_what_the_work_started():
    """close() before the result (an aborted session) stops the process and the processes it started (a pool's
    workers); a run past its timeout is stopped and reported as failed, with its output so far."""
    import time

    for stop in ("close", "timeout"):
        run = Early([sys.executable, "-c", CHILD_AND_GRANDCHILD], timeout=3 if stop == "timeout" else 120)
        try:
            deadline = time.time() + 30
            while time.time() < deadline:
                run._log.seek(0)
                text = run._log.read().strip()
                if text:
                    break
                time.sleep(0.1)
            grandchild = int(text)
            assert _alive(grandchild)
            if stop == "timeout":
                finished = run.result()
                assert finished.returncode == -9 and "timeout" in finished.output
        finally:
            run.close()
        deadline = time.time() + 10
        while _alive(grandchild) and time.time() < deadline:
            time.sleep(0.1)
        assert not _alive(grandchild), stop


def test_background_work_runs_below_the_test_process_priority():
    """Early subprocesses and the background workers yield to the test process (background.lower_priority): the
    niceness they report is this process's plus BACKGROUND_NICENESS (capped at 19); a process started without it
    reports this process's (the control: the probe tells them apart)."""
    import os
    import subprocess

    from background import BACKGROUND_NICENESS, AffinityExecutor

    probe = [sys.executable, "-c", "import os; print(os.nice(0))"]
    here = os.nice(0)
    if here >= 19:
        pytest.skip("this session already runs at the lowest priority (niceness 19)")
    expected = min(here + BACKGROUND_NICENESS, 19)
    assert expected != here
    run = Early(probe, timeout=60)
    try:
        assert int(run.result().output.split()[-1]) == expected
    finally:
        run.close()
    executor = AffinityExecutor(workers=1)
    try:
        assert executor.submit(os.nice, 0).result(timeout=120) == expected
    finally:
        executor.shutdown()
    assert int(subprocess.run(probe, capture_output=True, text=True, check=True).stdout) == here  # control
