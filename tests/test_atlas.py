"""The error atlas: its layers, the sweep runner (executor, cache, resume) and the reproducible report."""

import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from softsign_scaling.atlas import meanfield, scurve
from softsign_scaling.atlas.run import sweep

ROOT = Path(__file__).resolve().parents[1]


def test_scurve_layer_numbers():
    rows = {r.curve: r for r in scurve.table()}
    assert rows["softsign x/sqrt(x^2+1)"].e3_sup < 1e-15  # E-3 is exact for softsign itself
    assert abs(rows["erf"].e3_sup - 0.1078) < 1e-3 and abs(rows["erf"].e4_sup - 0.2101) < 1e-3
    assert abs(rows["PyTorch form x/(|x|+1)"].e4_sup - 0.5) < 1e-9  # at x = 1: 1/2 vs 1


def test_problem_family_is_seeded_and_spd():
    p, q = meanfield.problem(3, 16, 0.7, 0.3, "aligned"), meanfield.problem(3, 16, 0.7, 0.3, "aligned")
    assert np.array_equal(p.H, q.H) and np.array_equal(p.g, q.g)
    assert np.linalg.eigvalsh(p.H).min() > 0
    # aligned couplings follow the gradient signs off the diagonal
    off = ~np.eye(16, dtype=bool)
    assert np.all(np.sign(p.H[off]) == np.outer(np.sign(p.g), np.sign(p.g))[off])


def _square(x):
    return x * x


def _record(path, x):
    with open(path, "a") as f:
        f.write(f"{x}\n")
    return x + 1


def test_sweep_keeps_order_with_a_process_pool():
    with ProcessPoolExecutor(max_workers=2) as pool:
        assert sweep(_square, [(k,) for k in range(20)], executor=pool, progress=False) == [k * k for k in range(20)]


def test_sweep_resumes_from_its_cache(tmp_path):
    log = tmp_path / "calls.txt"
    tasks = [(str(log), k) for k in range(6)]
    cache = tmp_path / "cache"
    with ProcessPoolExecutor(max_workers=2) as pool:
        first = sweep(_record, tasks[:3], executor=pool, cache=cache, progress=False)
        both = sweep(_record, tasks, executor=pool, cache=cache, progress=False)
    assert first == [1, 2, 3] and both == [1, 2, 3, 4, 5, 6]
    assert sorted(int(x) for x in log.read_text().split()) == [0, 1, 2, 3, 4, 5]  # each task ran once


def test_sweep_cache_is_keyed_by_the_code(tmp_path, monkeypatch):
    """A cached result is reused only by the same code: other package sources (or library versions) recompute
    it.  Control: with the digest unchanged the task is not run again (a key of the arguments alone would
    reuse the stale result too: that put a 1.24 into docs/momentum.md that its code gives as 1.21)."""
    from softsign_scaling.atlas import run

    log, cache = tmp_path / "calls.txt", tmp_path / "cache"
    tasks = [(str(log), 1)]
    with ProcessPoolExecutor(max_workers=1) as pool:
        sweep(_record, tasks, executor=pool, cache=cache, progress=False)
        sweep(_record, tasks, executor=pool, cache=cache, progress=False)
        assert log.read_text().split() == ["1"]  # the control: same code, reused
        monkeypatch.setattr(run, "code_digest", lambda: "other code")
        sweep(_record, tasks, executor=pool, cache=cache, progress=False)
    assert log.read_text().split() == ["1", "1"]


def test_code_digest_sees_every_source_byte(tmp_path):
    from softsign_scaling.atlas.run import code_digest

    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("x = 1\n")
    (package / "sub" / "b.py").write_text("y = 2\n")
    (package / "notes.txt").write_text("not code")
    first = code_digest(package)
    (package / "notes.txt").write_text("changed, not code")
    assert code_digest.__wrapped__(package) == first
    (package / "sub" / "b.py").write_text("y = 3\n")
    assert code_digest.__wrapped__(package) != first


def test_sweep_names_the_failing_task():
    with ProcessPoolExecutor(max_workers=1) as pool:
        with pytest.raises(RuntimeError, match=r"_square\('x',\)"):
            sweep(_square, [("x",)], executor=pool, progress=False)


ATLAS_RUN = """
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from softsign_scaling.atlas.report import run_atlas
root = Path({folder!r})
with ProcessPoolExecutor(max_workers=2) as pool:
    run_atlas(root, executor=pool, cache=root / "cache", progress=False)
"""


def start_atlas_run():
    """The atlas regenerated in a scratch folder by a subprocess (tests/early.py: started when the session is
    collected, so its minute of CPU runs beside the other tests)."""
    from early import Early, scratch

    folder = scratch("softsign-atlas-")
    return Early([sys.executable, "-c", ATLAS_RUN.format(folder=str(folder))], folder=folder)


def test_atlas_report_is_reproducible(early):
    assert early.returncode == 0, early.output[-3000:]
    assert (early.folder / "docs" / "atlas.md").read_text() == (ROOT / "docs" / "atlas.md").read_text()
    for name in ("atlas_error_maps.png", "atlas_surge.png", "atlas_outside_conversion.png"):
        assert (early.folder / "docs" / "figures" / name).read_bytes() == (ROOT / "docs" / "figures" / name).read_bytes()
