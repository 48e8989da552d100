"""The compiled kernels (numeric/_kernel.py, the extra ``fast``) against the numpy path they replace.

The two paths run the same operations in the same order, so they agree to the last bit wherever numpy's exp, log and
log1p are the C library's (the functions numba's code calls).  On x86-64 CPUs with AVX512F numpy has its own; there
this process compares within TOLERANCE (far above any rounding of those functions, far below the tables' accuracy),
and :func:`test_equal_bits_where_numpy_uses_the_c_library` runs the bitwise tests again in a process whose numpy
dispatch is limited (tests/platform_math.py), so the bits and the order of operations are checked on every machine.
The accuracy against mpmath is tested on whichever path is active (test_fast_moments.py, test_outside_numeric.py);
these tests tie the other path to it.  Without numba the kernel tests skip; the fallback and import tests always run.
"""

from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from platform_math import libm_under_limited_dispatch, limited_dispatch_env, numpy_uses_libm

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
    odd_a = np.array([np.nan, 1.0, np.inf, -np.inf, 2.0, 0.0, np.nan])
    odd_b = np.array([1.0, np.nan, 1.0, 1e-3, -1.0, np.inf, np.nan])
    return {
        "NaN, inf, negative b (never from the public functions)": (odd_a, odd_b),
        "typical": (sign * rng.uniform(0, 10, N), 10.0 ** rng.uniform(-8, 2, N)),
        "hostile": (sign * 10.0 ** rng.uniform(-12, 4, N), 10.0 ** rng.uniform(-12, 8, N)),
        "kink": (sign * rng.uniform(6, 30, N), 10.0 ** rng.uniform(-30, -2, N)),
        "b below the tables": (sign * 10.0 ** rng.uniform(-3, 1.5, N), 10.0 ** rng.uniform(-150, -13, N)),
        "edges": (grid_a, grid_b),
        # at the switches below the tables, where a table's ratio is not 1 to the last bit for every a
        "switches": (np.tile(np.linspace(-30.0, 30.0, 241), 2),
                     np.repeat([_fast.B_LOW, _fast.OUTSIDE_B_LOW], 241)),
    }


BITWISE = numpy_uses_libm()
# Where numpy has its own exp/log/log1p: each differs from libm's by a few ulp, and the skeletons' condition numbers
# are modest (measured: at most 5 ulp, 8.8e-16 relative, on every set below); 1e-13 is ~100x that and 1000x below
# the tables' accuracy (1e-10).
TOLERANCE = 1e-13


def assert_paths_agree(fast, slow):
    """Equal bits (NaN where the numpy path gives NaN) where numpy uses libm's exp/log, else within TOLERANCE."""
    for kernel_values, numpy_values in zip(fast, slow):
        nan = np.isnan(numpy_values)
        assert np.array_equal(np.isnan(kernel_values), nan)
        if BITWISE:
            assert np.array_equal(kernel_values[~nan], numpy_values[~nan]), \
                f"{np.count_nonzero(kernel_values[~nan] != numpy_values[~nan])} points differ"
        else:
            np.testing.assert_allclose(kernel_values[~nan], numpy_values[~nan], rtol=TOLERANCE, atol=0)


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
        assert_paths_agree(MOMENTS[placement](a, b), numpy_path(MOMENTS[placement], a, b))


@pytest.mark.parametrize("placement", ["inside", "outside"])
def test_mean_only_and_variance_only_match_the_pair(compiled, placement):
    a, b = points()["hostile"]
    tables = _fast.committed() if placement == "inside" else _fast.committed_outside()
    block = _fast._block if placement == "inside" else _fast._outside_block
    mean, variance = _fast._blocks(a, b, True, True, tables, block)
    assert np.array_equal(_fast._blocks(a, b, True, False, tables, block)[0], mean)
    assert np.array_equal(_fast._blocks(a, b, False, True, tables, block)[1], variance)


def test_negative_control_a_perturbed_kernel_table_is_told_apart(compiled):
    """The comparison can fail: the kernel on a table whose every coefficient is off by 1e-13 (relative; where the
    comparison is bitwise) or by 1e-11 (within TOLERANCE elsewhere)."""
    mean_table, variance_table, rd = _fast.committed()
    shifted = mean_table.replace(terms=mean_table.terms * (1.0 + (1e-13 if BITWISE else 1e-11)))
    a, b = points()["typical"]
    fast = _fast.moments(a, b, (shifted, variance_table, rd))
    slow = numpy_path(_fast.moments, a, b)
    with pytest.raises(AssertionError):
        assert_paths_agree(fast[:1], slow[:1])
    assert_paths_agree(fast[1:], slow[1:])  # the untouched variance still agrees


@pytest.mark.skipif(not BITWISE, reason="a reordering moves values by an ulp: run where numpy uses libm's exp/log "
                    "(test_equal_bits_where_numpy_uses_the_c_library does, in a process with limited dispatch)")
def test_negative_control_one_reordered_operation_is_told_apart(compiled, tmp_path, monkeypatch):
    """A kernel with one operation regrouped, (-pi phi0) (b/w) for ((-pi phi0) b)/w, is compiled from a mutated
    copy of _kernel.py and must differ from the numpy path: the comparison checks the order of operations."""
    import importlib.util

    source = open(compiled.__file__).read()
    original = "math.exp(MINUS_PI_PHI0 * bi / weight)"
    assert source.count(original) == 1
    path = tmp_path / "mutated_kernel.py"
    path.write_text(source.replace(original, "math.exp(MINUS_PI_PHI0 * (bi / weight))"))
    spec = importlib.util.spec_from_file_location("mutated_kernel", path)
    mutated = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mutated)
    a, b = points()["hostile"]
    monkeypatch.setattr(_fast, "kernel", lambda: mutated)
    fast = _fast.moments(a, b)
    monkeypatch.undo()
    with pytest.raises(AssertionError, match="points differ"):
        assert_paths_agree(fast[1:], numpy_path(_fast.moments, a, b)[1:])


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
    assert compiled.MINUS_FOUR_PHI0 == -4.0 * _fast.PHI0
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


@pytest.fixture
def fresh_kernel(monkeypatch):
    """_fast.kernel's choice made afresh under the test's environment, and forgotten afterwards."""
    _fast.kernel.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    _fast.kernel.cache_clear()


def one_line(error) -> str:
    text = str(error.value)
    assert "\n" not in text and len(text) < 600
    return text


def test_the_environment_variable_chooses_the_path(fresh_kernel):
    fresh_kernel.setenv(_fast.KERNEL_ENV, "numpy")
    assert _fast.kernel() is None
    fresh_kernel.setenv(_fast.KERNEL_ENV, "fortran")
    _fast.kernel.cache_clear()
    with pytest.raises(ValueError, match="expected auto, numba or numpy") as error:
        _fast.kernel()
    one_line(error)


def test_without_numba_auto_falls_back_and_numba_insists(fresh_kernel):
    real = importlib.util.find_spec
    fresh_kernel.setattr(importlib.util, "find_spec", lambda name, *args: None if name == "numba" else real(name, *args))
    fresh_kernel.setenv(_fast.KERNEL_ENV, "auto")
    assert _fast.kernel() is None
    fresh_kernel.setenv(_fast.KERNEL_ENV, "numba")
    _fast.kernel.cache_clear()
    with pytest.raises(ImportError, match=r"pip install 'softsign_scaling\[fast\]'") as error:
        _fast.kernel()
    one_line(error)


def _break_the_kernel(monkeypatch):
    """numba present (find_spec finds a spec) but the kernel module fails to import, as a broken llvmlite does."""
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: object())
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.delitem(sys.modules, "softsign_scaling.numeric._kernel", raising=False)
    monkeypatch.delattr(sys.modules["softsign_scaling.numeric"], "_kernel", raising=False)


def test_a_broken_numba_warns_and_falls_back_under_auto(fresh_kernel):
    _break_the_kernel(fresh_kernel)
    fresh_kernel.setenv(_fast.KERNEL_ENV, "auto")
    with pytest.warns(RuntimeWarning, match="numpy path") as record:
        assert _fast.kernel() is None
    assert "\n" not in str(record[0].message) and f"{_fast.KERNEL_ENV}=numpy" in str(record[0].message)
    fresh_kernel.setenv(_fast.KERNEL_ENV, "numba")
    _fast.kernel.cache_clear()
    with pytest.raises(RuntimeError, match="could not be loaded") as error:
        _fast.kernel()
    assert "NUMBA_CACHE_DIR" in one_line(error)


def test_a_kernel_of_another_degree_is_refused(compiled, fresh_kernel):
    fresh_kernel.setattr(compiled, "DEGREE", _fast.DEGREE - 1)
    fresh_kernel.setenv(_fast.KERNEL_ENV, "numba")
    with pytest.raises(RuntimeError, match="degree") as error:
        _fast.kernel()
    one_line(error)


def test_a_and_b_of_different_shapes_are_refused():
    with pytest.raises(ValueError, match="one shape"):
        _fast.moments(np.linspace(0.1, 3.0, 5), np.array([0.5]))


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


BITWISE_TESTS = ("test_kernel_equals_the_numpy_path", "test_mean_only_and_variance_only_match_the_pair",
                 "test_negative_control_a_perturbed_kernel_table_is_told_apart",
                 "test_negative_control_one_reordered_operation_is_told_apart")


def start_limited_dispatch_run():
    """The bitwise tests in a process whose numpy uses the C library's exp/log (tests/early.py: started when the
    session is collected); None where the test below skips."""
    if BITWISE or importlib.util.find_spec("numba") is None or not libm_under_limited_dispatch():
        return None
    from early import Early

    command = [sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider", "-k", " or ".join(BITWISE_TESTS)]
    return Early(command, env=limited_dispatch_env(), timeout=600)


def test_equal_bits_where_numpy_uses_the_c_library(compiled, request):
    """Where this process's numpy has its own exp/log (AVX512F), the bitwise tests run again in a process whose
    numpy uses the C library's: every one must run (none skipped) and pass."""
    if BITWISE:
        pytest.skip("this process's numpy uses libm's exp/log: the bitwise tests above ran here")
    if not libm_under_limited_dispatch():
        pytest.skip("numpy keeps its own exp/log here even with its dispatch limited (not an x86-64 AVX512 build)")
    result = request.getfixturevalue("early")
    tail = result.output[-3000:]
    assert result.returncode == 0, tail
    assert "skipped" not in tail and " passed" in tail, tail
