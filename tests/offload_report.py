"""pytest plugin of the offloaded test process (tests/early.py ``Offload``): each test's outcome and report text,
written as JSON to the file named by SOFTSIGN_OFFLOADED_RESULTS when the session ends."""

from __future__ import annotations

import json
import os

from early import OFFLOAD_ENV

_OUTCOMES: dict[str, list[str]] = {}


def pytest_runtest_logreport(report):
    if report.failed:  # setup, call or teardown: the test failed
        _OUTCOMES[report.nodeid] = ["failed", f"[{report.when}] {report.longreprtext}"]
    elif report.skipped and report.nodeid not in _OUTCOMES:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _OUTCOMES[report.nodeid] = ["skipped", reason]
    elif report.when == "call" and report.passed:
        _OUTCOMES[report.nodeid] = ["passed", ""]


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get(OFFLOAD_ENV)
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(_OUTCOMES, handle)
