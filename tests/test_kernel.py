"""The compiled kernels (numeric/_kernel.py, the extra ``fast``) against the numpy path they replace.

The two paths run the same operations in the same order, so they must agree to the last bits (4 ulp allowed for
machines whose numpy has its own SIMD exp/log; on this project's machine every point is equal).  The accuracy
against mpmath is tested on whichever path is active (test_fast_moments.py, test_outside_numeric.py); these
tests tie the other path to it.  Without numba the kernel tests skip; the fallback and import tests always run.
"""

from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from softsign_scaling.numeric import _fast

SEED = 20261129
N = 4000


def points() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Seeded sets over the tables' regimes and every branch and edge of the kernels."""
    rng = np.random.default_rng(SEED)
    sign = rng.choice([-1.0, 1.0], N)
    edges_a = np.array([0.0, -0.0, 5e-324, 1e-300, 1e-9, -1e-9, 1e-8, 0.5, math.sinh(_fast.X_MAX),
                        np.nextafter(math.sinh(_fast.X_MAX), 0), 1.2e7, -3e9, 1e49])
    edges_b = np.array([1e-150, _fast.B_LOW, np.nextafter(_fast.B_LOW, 0), _fast.OUTSIDE_B_LOW,
                        np.nextafter(_fast.OUTSIDE_B_LOW, 0), math.exp(_fast.Y_MAX), 1.0, 1e-13, 8.9e6, 1e30])
    grid_a, grid_b = (x.ravel() for x in np.meshgrid(edges_a, edges_b))
    return {
        "typical": (sign * rng.uniform(0, 10, N), 10.0 ** rng.uniform(-8, 2, N)),
        "hostile": (sign * 10.0 ** rng.uniform(-12, 4, N), 10.0 ** rng.uniform(-12, 8, N)),
        "kink": (sign * rng.uniform(6, 30, N), 10.0 ** rng.uniform(-30, -2, N)),
        "b below the tables": (sign * 10.0 ** rng.uniform(-3, 1.5, N), 10.0 ** rng.uniform(-150, -13, N)),
        "edges": (grid_a, grid_b),
    }


def numpy_path(function, *args, **kwargs):
    saved = _fast.kernel
    _fast.kernel = lambda: None
    try:
        return function(*args, **kwargs)
    finally:
        _fast.kernel = saved


@pytest.fixture(scope="module")
def compiled():
    pytest.importorskip("numba", reason="the compiled kernels need the extra: pip install -e '.[fast]'")
    os.environ.pop(_fast.KERNEL_ENV, None)
    _fast.kernel.cache_clear()
    module = _fast.kernel()
    assert module is not None
    return module


MOMENTS = {"inside": _fast.moments, "outside": _fast.outside_moments}


@pytest.mark.parametrize("placement", ["inside", "outside"])
@pytest.mark.parametrize("name", list(points()))
def test_kernel_equals_the_numpy_path(compiled, placement, name):
    a, b = points()[name]
    with np.errstate(all="ignore"):
        fast = MOMENTS[placement](a, b)
        slow = numpy_path(MOMENTS[placement], a, b)
    for kernel_values, numpy_values in zip(fast, slow):
        finite = np.isfinite(numpy_values)
        assert np.array_equal(np.isfinite(kernel_values), finite)
        np.testing.assert_array_max_ulp(kernel_values[finite], numpy_values[finite], maxulp=4)


@pytest.mark.parametrize("placement", ["inside", "outside"])
def test_mean_only_and_variance_only_match_the_pair(compiled, placement):
    a, b = points()["hostile"]
    tables = _fast.committed() if placement == "inside" else _fast.committed_outside()
    block = _fast._block if placement == "inside" else _fast._outside_block
    mean, variance = _fast._blocks(a, b, True, True, tables, block)
    assert np.array_equal(_fast._blocks(a, b, True, False, tables, block)[0], mean)
    assert np.array_equal(_fast._blocks(a, b, False, True, tables, block)[1], variance)


def test_negative_control_a_perturbed_kernel_table_is_told_apart(compiled):
    """The comparison can fail: the kernel on a table whose every coefficient is 1e-13 off (relative)."""
    mean_table, variance_table, rd = _fast.committed()
    shifted = mean_table.replace(terms=mean_table.terms * (1.0 + 1e-13))
    a, b = points()["typical"]
    fast = _fast.moments(a, b, (shifted, variance_table, rd))
    slow = numpy_path(_fast.moments, a, b)
    with pytest.raises(AssertionError):
        np.testing.assert_array_max_ulp(fast[0], slow[0], maxulp=4)
    np.testing.assert_array_max_ulp(fast[1], slow[1], maxulp=4)  # the untouched variance still agrees


@pytest.mark.parametrize("use_kernel", [True, False])
def test_negative_control_a_wrong_rd_fails_on_either_path(use_kernel, request):
    """rd(A) replaced by 1 (the delta method's coefficient lost): the variance at |a| >> 1 is far off on both
    paths, so the kernel reads rd from the tables, not from a frozen copy."""
    if use_kernel:
        request.getfixturevalue("compiled")
    mean_table, variance_table, rd = _fast.committed()
    a, b = np.array([40.0, 300.0]), np.array([1e-3, 2.0])
    run = _fast.moments if use_kernel else (lambda *args: numpy_path(_fast.moments, *args))
    good = run(a, b)[1]
    wrong = run(a, b, (mean_table, variance_table, np.array([1.0])))[1]
    assert np.max(np.abs(wrong / good - 1.0)) > 1e-6


def test_kernel_constants_are_the_numpy_paths(compiled):
    for name in ("SQRT_HALF", "HALF_PI", "PHI0", "SQRT_2_OVER_PI"):
        assert getattr(compiled, name) == getattr(_fast, name), name
    assert compiled.MINUS_PI_PHI0 == -math.pi * _fast.PHI0 and compiled.TWO_PHI0 == 2.0 * _fast.PHI0
    assert list(_fast.GEOMETRY) == [_fast.X_MAX, _fast.Y_MIN, _fast.Y_MAX, _fast.B_LOW, _fast.OUTSIDE_Y_SCALE,
                                    _fast.OUTSIDE_Y_SHIFT, _fast.OUTSIDE_B_LOW]
    assert compiled.DEGREE == _fast.DEGREE and compiled.TERMS == _fast.TERMS


def test_threads_over_blocks_give_the_same_bits_as_one_block():
    """Several blocks (on threads) against each block alone, on the numpy path and on the active one."""
    a, b = points()["hostile"]
    a = np.tile(a, 2 * _fast.KERNEL_BLOCK // a.size + 1)
    b = np.tile(b, 2 * _fast.KERNEL_BLOCK // b.size + 1)
    for run in (_fast.moments, lambda *args: numpy_path(_fast.moments, *args)):
        whole = run(a, b)
        for start in (0, _fast.BLOCK, _fast.KERNEL_BLOCK + 7):
            part = slice(start, start + 1000)
            alone = run(a[part].copy(), b[part].copy())
            assert np.array_equal(whole[0][part], alone[0]) and np.array_equal(whole[1][part], alone[1])


def test_the_environment_variable_chooses_the_path(monkeypatch):
    monkeypatch.setenv(_fast.KERNEL_ENV, "numpy")
    _fast.kernel.cache_clear()
    try:
        assert _fast.kernel() is None
        monkeypatch.setenv(_fast.KERNEL_ENV, "fortran")
        _fast.kernel.cache_clear()
        with pytest.raises(ValueError, match="expected auto, numba or numpy") as error:
            _fast.kernel()
        assert "\n" not in str(error.value)
        monkeypatch.setenv(_fast.KERNEL_ENV, "numba")
        monkeypatch.setitem(sys.modules, "numba", None)  # as if numba were not installed
        monkeypatch.delitem(sys.modules, "softsign_scaling.numeric._kernel", raising=False)
        monkeypatch.delattr(sys.modules["softsign_scaling.numeric"], "_kernel", raising=False)
        _fast.kernel.cache_clear()
        with pytest.raises(ImportError, match=r"pip install 'softsign_scaling\[fast\]'") as error:
            _fast.kernel()
        assert "\n" not in str(error.value)
    finally:
        monkeypatch.undo()
        _fast.kernel.cache_clear()


def test_import_never_needs_numba_and_the_numpy_path_never_loads_it():
    code = ("import sys, numpy as np; import softsign_scaling, softsign_scaling.numeric as n; "
            "assert 'numba' not in sys.modules, 'import'; n.moments_exact(np.array([0.5, 3.0]), np.array([1e-3, 2.0])); "
            "n.eta_star(64, [1.0, -0.5], [2.0, 1.0], [1.0, 2.0], eps=0.1, model='exact'); "
            "assert 'numba' not in sys.modules, 'numpy path'")
    env = {**os.environ, _fast.KERNEL_ENV: "numpy"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def test_exact_backend_names_the_path(monkeypatch):
    from softsign_scaling import numeric

    monkeypatch.setenv(_fast.KERNEL_ENV, "numpy")
    _fast.kernel.cache_clear()
    try:
        assert numeric.exact_backend() == "numpy"
        monkeypatch.setenv(_fast.KERNEL_ENV, "auto")
        _fast.kernel.cache_clear()
        expected = "numba" if importlib.util.find_spec("numba") is not None else "numpy"
        assert numeric.exact_backend() == expected
    finally:
        monkeypatch.undo()
        _fast.kernel.cache_clear()
