"""The fast exact moments (numeric/_fast.py, tables in numeric/generated/exact_tables.py) against mpmath.

The reference points are drawn from their own seeded generator, per region, independently of the tables'
fit nodes (Chebyshev nodes of each rectangle) and of their check points (seeded by the rectangles):
* mean and second moment: the s-integral (mp.quad) and the Faddeeva form, 25+ digits
  (tests/numeric_reference.py); the variance as s - m^2 at 25 + log10(1/v) digits, or, where that route
  cannot resolve the kink (b < 1e-6, |a| > 5), by E[(f - m)^2] summed directly (checks/reference.py) at
  25 + log10(1/v) digits.
Bound: 1e-10 relative (relative to max(|value|, 1e-300): below float64's normal range an absolute floor).
The default run draws a few points per region; ``-m slow`` draws 20 per region and prints each region's
worst error.  The negative controls perturb the committed coefficients and must fail the same check.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from softsign_scaling import numeric
from softsign_scaling.checks import reference as quadrature_reference
from softsign_scaling.codegen import moments_code
from softsign_scaling.numeric import _fast

from numeric_reference import regions, relative_error, seeded_grid, softsign_moments_s_integral

BOUND = 1e-10
SEED = 20261129  # the reference grid's own stream


REGIONS = regions(-300, "edges: b < 1e-13 or 1e9 < b < 1e40")


def reference_grid(per_region: int, seed: int = SEED) -> list[tuple[str, float, float]]:
    return seeded_grid(per_region, seed, REGIONS)


def _digits_for(value: float) -> int:
    return 25 + max(0, int(-math.log10(max(abs(value), 1e-320))))


def moments_reference(av: float, bv: float, dps: int) -> tuple[mp.mpf, mp.mpf]:
    """(mean, second moment): numeric_reference's s-integral and Faddeeva forms, with the s-integral also cut at
    every decade between 1 and 1/b (for b down to 1e-300 one tanh-sinh interval over [1, 1/b] is not resolved)."""
    if bv >= 1e-6:
        return softsign_moments_s_integral(abs(av), bv, dps=dps)
    _, second = softsign_moments_s_integral(abs(av), bv, dps=dps)
    with mp.workdps(dps + 5):
        A, B = mp.mpf(abs(av)), mp.mpf(bv)
        c = mp.sqrt(2 + A * A + B * B)

        def integrand(s):
            one = 1 + 2 * s * s
            return mp.exp(-B * B * s * s - A * A * s * s / one) / one**1.5

        decades = [mp.mpf(10) ** k for k in range(0, int(-math.log10(bv)) + 2)]
        cuts = sorted(set([mp.mpf(0), 1 / c] + decades + [1 / B, 10 / B])) + [mp.inf]
        mean = 2 * A / mp.sqrt(mp.pi) * mp.quad(integrand, cuts)
    return mean, second


def variance_reference(av: float, bv: float, estimate: float) -> mp.mpf:
    """The variance at 25 + log10(1/v) digits (``estimate`` ~ v sets the precision)."""
    digits = _digits_for(estimate)
    if bv < 1e-6 and abs(av) > 5:  # the kink, of width b, dominates: sum E[(f - m)^2] directly
        with mp.workdps(digits):
            A, B = mp.mpf(abs(av)), mp.mpf(bv)
            f = lambda z: (A + z) / mp.sqrt((A + z) ** 2 + B * B)  # noqa: E731
            cuts = quadrature_reference._softsign_cuts(A, B)
            m = quadrature_reference.gaussian_expectation(f, cuts, cross_check=False)
            return quadrature_reference.gaussian_expectation(lambda z: (f(z) - m) ** 2, cuts, cross_check=False)
    mean, second = moments_reference(av, bv, digits)
    with mp.workdps(digits):
        return second - mean * mean


def worst_errors(points, tables=None) -> dict[str, dict[str, tuple[float, tuple[float, float]]]]:
    """region -> moment -> (worst relative error, where), for the fast moments (``tables``: substitute tables
    for the regular domain, as the negative controls use)."""
    a = np.array([p[1] for p in points])
    b = np.array([p[2] for p in points])
    if tables is None:
        mean, variance = numeric.moments_exact(a, b)
        second = numeric.second_moment_exact(a, b)
    else:
        mean, variance = _fast.moments(a, b, tables=tables)
        second = np.minimum(mean * mean + variance, 1.0)
    worst: dict = {}
    for (region, av, bv), m, s, v in zip(points, mean, second, variance):
        ref_m, ref_s = moments_reference(av, bv, _digits_for(s))  # 1 - (1 - s) cancels log10(1/s)
        ref_m = mp.sign(av) * ref_m
        ref_v = variance_reference(av, bv, v)
        errors = {"mean": relative_error(m, ref_m) if ref_m != 0 else abs(m),
                  "second moment": relative_error(s, ref_s), "variance": relative_error(v, ref_v)}
        for moment, error in errors.items():
            old = worst.setdefault(region, {}).get(moment, (-1.0, None))
            if error > old[0]:
                worst[region][moment] = (error, (av, bv))
    return worst


def _assert_within(worst):
    failures = [f"{region}: {moment} {error:.3g} at (a, b) = {where}"
                for region, moments in worst.items() for moment, (error, where) in moments.items() if error > BOUND]
    assert not failures, "\n".join(failures)


def _print(worst):
    for region, moments in worst.items():
        print(f"{region}: " + ", ".join(f"{moment} {error:.2g}" for moment, (error, _) in moments.items()))


def test_fast_moments_against_mpmath_on_a_random_grid():
    worst = worst_errors(reference_grid(1))
    _print(worst)
    _assert_within(worst)


@pytest.fixture
def slow_requested(request):
    """Slow tests run only when asked for (pytest -m slow)."""
    expression = request.config.getoption("markexpr") or ""
    if "slow" not in expression or "not slow" in expression:
        pytest.skip("slow: run with -m slow")


@pytest.mark.slow
def test_fast_moments_against_mpmath_on_a_larger_random_grid(slow_requested):
    worst = worst_errors(reference_grid(20, seed=SEED + 1))
    _print(worst)
    _assert_within(worst)


def _perturbed(table: _fast.Compiled, relative: float) -> _fast.Compiled:
    terms = table.terms.copy()
    terms[0] *= 1.0 + relative  # the constant term of every rectangle (a ratio of order one)
    return table.replace(terms=terms)


@pytest.mark.parametrize("which", ["mean", "variance"])
def test_negative_control_a_perturbed_table_fails(which):
    """3e-10 on every rectangle's constant term (three times the bound) must fail the accuracy check."""
    mean_table, variance_table, rd = _fast.committed()
    if which == "mean":
        tables = (_perturbed(mean_table, 3e-10), variance_table, rd)
    else:
        tables = (mean_table, _perturbed(variance_table, 3e-10), rd)
    points = [p for p in reference_grid(2) if p[0].startswith("core")]
    with pytest.raises(AssertionError, match=which):
        _assert_within(worst_errors(points, tables=tables))


def test_negative_control_a_wrong_skeleton_fails(monkeypatch):
    """The variance skeleton without rd(a) (the delta method's coefficient) fails where |a| >> 1 (the numpy path,
    whose rd_series this replaces; test_kernel.py's control does the same to both paths)."""
    monkeypatch.setattr(_fast, "kernel", lambda: None)
    monkeypatch.setattr(_fast, "rd_series", lambda A, coefficients: np.ones(np.shape(A)))
    points = [("large |a|", 40.0, 1e-3), ("large |a|", 300.0, 2.0)]
    a, b = np.array([40.0, 300.0]), np.array([1e-3, 2.0])
    _, variance = _fast.moments(a, b)
    errors = [relative_error(v, variance_reference(av, bv, v)) for (_, av, bv), v in zip(points, variance)]
    assert max(errors) > 1e-6


# ---------------------------------------------------------------------------------------------
# The certificate and the generated module.


def test_committed_tables_are_current_and_certified():
    """The committed module's fingerprint is the generator's (else: run `derive`), its printed bounds meet the
    generator's certified bound, and re-measuring a sample of rectangles here stays within them."""
    from softsign_scaling.numeric.generated import exact_tables as _exact_tables

    text = moments_code.COMMITTED.read_text()
    assert f"Inputs fingerprint: {moments_code.fingerprint()}\n" in text, "run `softsign-scaling derive`"
    rd = np.array(moments_code.rd_coefficients())
    assert np.array_equal(rd, np.array(_exact_tables.RD_COEFFICIENTS))
    for kind in moments_code.KINDS:
        rows = _exact_tables.CERTIFICATE[kind]
        printed = [float(row[3]) for row in rows if row[3] != "-"]
        assert max(printed) <= moments_code.CERTIFIED_BOUND[kind] * 1.5  # one significant digit, rounded up
        cells = np.array(getattr(_exact_tables, f"{kind.upper()}_CELLS")).reshape(-1, 4)
        integers = _fast.decode(getattr(_exact_tables, f"{kind.upper()}_COEFFICIENTS"), _fast.TERMS)
        sample = np.arange(0, len(cells), 37)
        table = _fast.Table(cells=cells[sample], chebyshev=integers[sample], quantum_bits=_exact_tables.QUANTUM_BITS)
        # compile_table needs every base cell covered: evaluate the sampled rectangles through the full table.
        full = _fast.compile_table(_fast.Table(cells=cells, chebyshev=integers,
                                               quantum_bits=_exact_tables.QUANTUM_BITS))
        points = [moments_code._mapped(rect, *moments_code._probe_points(rect, 2, moments_code.CHECK_POINTS))
                  for rect in table.cells]
        X = np.concatenate([p[0] for p in points])
        Y = np.concatenate([p[1] for p in points])
        error = np.abs(_fast.evaluate(full, X, Y) / moments_code.reference(kind, X, Y, rd) - 1.0)
        assert error.max() <= max(printed) * 1.001, (kind, error.max())


def test_varint_coding_round_trips():
    values = np.array([0, 1, -1, 63, -64, 64, 2**62, -(2**62), 123456789012345, -5], dtype=np.int64)
    assert np.array_equal(_fast.decode(_fast.encode(values), 1).ravel(), values)


def test_rd_series_is_the_asymptotic_variance_of_the_smooth_part():
    """rd(a) = lim_{b -> 0} (v - v_sign)/D: against the quadrature at b = 1e-6, where the kink term is negligible."""
    from softsign_scaling.numeric import _quadrature

    rd = np.array(moments_code.rd_coefficients())
    a = np.array([16.0, 20.0, 40.0, 1e3])
    b = np.full(a.shape, 1e-6)
    measured = (_quadrature.variance_exact(a, b) - _fast.sign_variance(a)) / _fast.delta_part(a, b, np.array([1.0]))
    assert np.allclose(_fast.rd_series(a, rd), measured, rtol=1e-10, atol=0), _fast.rd_series(a, rd) / measured - 1


@pytest.mark.slow
def test_regeneration_reproduces_the_committed_module(tmp_path, slow_requested):
    """A forced regeneration (refit on the committed layout, certificate re-measured) writes the committed bytes."""
    target = tmp_path / moments_code.TABLES_PATH
    target.parent.mkdir(parents=True)
    target.write_bytes(moments_code.COMMITTED.read_bytes())
    moments_code.write_moment_tables(tmp_path, force=True)
    assert target.read_bytes() == moments_code.COMMITTED.read_bytes()


@pytest.mark.slow
def test_generation_from_scratch_meets_the_certificate(slow_requested):
    """The adaptive fit from scratch (no committed layout) certifies (build raises otherwise), about 70 s."""
    tables = moments_code.build(None)
    for kind in moments_code.KINDS:
        assert len(tables[kind][0]) > 100


# ---------------------------------------------------------------------------------------------
# Properties: one point alone gives the bits it gets inside an array; the pair equals the single functions.

A = st.one_of(st.floats(-1e4, 1e4), st.floats(-1e-6, 1e-6), st.sampled_from([0.0, -0.0, 5e-324, 1e-300, 18.0, 40.0]))
LOG_B = st.floats(-300, 300)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(A, LOG_B), min_size=1, max_size=20), st.integers(0, 19))
@example([(0.0, -14.0), (8.0, -6.0), (1e4, 8.0), (17.9, -13.1)], 2)
def test_scalar_and_array_give_the_same_bits(pairs, pick):
    a = np.array([p[0] for p in pairs])
    b = 10.0 ** np.array([p[1] for p in pairs])
    k = pick % len(pairs)
    mean, variance = numeric.moments_exact(a, b)
    assert np.array_equal(mean, numeric.mean_exact(a, b)) and np.array_equal(variance, numeric.variance_exact(a, b))
    for function, values in ((numeric.mean_exact, mean), (numeric.variance_exact, variance),
                             (numeric.second_moment_exact, numeric.second_moment_exact(a, b))):
        alone = function(float(a[k]), float(b[k]))
        assert alone == values[k] or (math.isnan(alone) and math.isnan(values[k]))
    big = np.tile(a, 1 + 2 * _fast.BLOCK // len(a))[: 2 * _fast.BLOCK + 3]  # across blocks
    big_b = np.tile(b, 1 + 2 * _fast.BLOCK // len(b))[: big.size]
    m_big, v_big = numeric.moments_exact(big, big_b)
    assert m_big[k] == mean[k] and v_big[k] == variance[k]


def test_the_quadrature_stays_reachable():
    """method="quadrature" is the reference the tables are fitted to; the two agree to the certified bounds."""
    a = np.array([-2.0, 0.3, 9.0, 40.0])
    b = np.array([0.5, 1e-5, 1e-3, 3.0])
    from softsign_scaling.numeric import _quadrature

    assert np.array_equal(numeric.mean_exact(a, b, method="quadrature"),
                          np.copysign(_quadrature.mean_exact(np.abs(a), b), a))
    assert np.array_equal(numeric.variance_exact(a, b, method="quadrature"), _quadrature.variance_exact(np.abs(a), b))
    assert np.allclose(numeric.mean_exact(a, b), numeric.mean_exact(a, b, method="quadrature"), rtol=1e-12, atol=0)
    assert np.allclose(numeric.variance_exact(a, b), numeric.variance_exact(a, b, method="quadrature"),
                       rtol=5e-11, atol=0)
    with pytest.raises(ValueError, match="method must be one of"):
        numeric.mean_exact(1.0, 1.0, method="mpmath")
