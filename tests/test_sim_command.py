"""``softsign-scaling simulate``: the command's plumbing, its formatting, and byte-reproducible tasks."""

import argparse
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from softsign_scaling.sim import command, optimizers, report

MISSING = optimizers.missing_libraries()
needs_libraries = pytest.mark.skipif(bool(MISSING), reason=f"needs {', '.join(MISSING)}: pip install -e '.[sim]'")


def _parse(argv):
    parser = argparse.ArgumentParser(prog="softsign-scaling")
    command.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_parser_registers_simulate():
    args = _parse(["simulate", "--full", "--workers", "2", "--no-cache"])
    assert args.func is command.cmd_simulate and args.full and args.workers == 2 and args.no_cache


def test_missing_libraries_one_line_error(monkeypatch, capsys):
    monkeypatch.setattr("softsign_scaling.sim.optimizers.missing_libraries", lambda: ["torch"])
    assert command.cmd_simulate(_parse(["simulate"])) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install -e '.[sim]'" in err


def test_bad_workers(capsys):
    if MISSING:
        pytest.skip(f"needs {', '.join(MISSING)}: pip install -e '.[sim]'")
    with pytest.raises(SystemExit) as exit_status:  # refused by the shared argument type, before any work
        _parse(["simulate", "--workers", "0"])
    assert exit_status.value.code == 2 and "must be an integer >= 1" in capsys.readouterr().err


def test_values_are_printed_to_their_interval():
    assert report.with_ci(0.37227324, 0.00017) == "0.3723 ± 0.0004"
    assert report.with_ci(1.5268, 0.0133) == "1.53 ± 0.03"
    assert report.with_ci(123.4, 7.0) == "123 ± 14"
    assert report.decimals(0.0) == 6


@pytest.fixture
def slow_requested(request):
    """Slow tests run only when asked for (pytest -m slow)."""
    if "slow" not in (request.config.getoption("markexpr") or "") or "not slow" in request.config.getoption("markexpr"):
        pytest.skip("slow: run with -m slow")


@pytest.mark.slow
@needs_libraries
def test_tasks_are_byte_reproducible_through_any_executor(slow_requested):  # ~40 s: the spawned worker imports jax, torch
    """The same task, inline and in a fresh process pool, gives identical arrays (seeds come from the task).

    The pool spawns: this process has imported jax (threads), and forking it could deadlock.
    """
    tasks = [("discrepancy", 0, 4, 0.7, "aligned", 0.3, 1 << 10),
             ("frozen", "article", 0.1, 16.0, (0.9, 0.95), 0.02, 20, 1 << 10, 5),
             ("constant_lr", "surge", 3e-3, 16.0, (0.9, 0.95), 5, 8, (0.01, 0.1, 1.0), 3)]
    inline = [report.task(*t) for t in tasks]
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        shipped = [future.result() for future in [pool.submit(report.task, *t) for t in tasks]]

    def flat(value):
        if isinstance(value, dict):
            return [x for key in sorted(value) for x in flat(value[key])]
        return [np.asarray(value).tobytes()]

    for a, b in zip(inline, shipped):
        assert flat(a) == flat(b)


@pytest.mark.slow
@pytest.mark.golden
@needs_libraries
def test_simulation_document_is_byte_reproducible(tmp_path, slow_requested):  # ~2-4 min of torch and jax
    """`softsign-scaling simulate` writes the committed docs/simulation.md and its figures (no cache)."""
    from pathlib import Path

    from softsign_scaling.atlas.run import process_pool

    root = Path(__file__).resolve().parent.parent
    with process_pool(2) as executor:
        report.run_simulation(tmp_path, executor=executor, cache=None, progress=False)
    for name in ("simulation.md", "figures/sim_gap.png", "figures/sim_curves.png", "figures/sim_noise.png",
                 "figures/sim_multistep.png"):
        assert (tmp_path / "docs" / name).read_bytes() == (root / "docs" / name).read_bytes(), name
