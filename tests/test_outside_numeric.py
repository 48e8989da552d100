"""eps outside the root: numeric.mean_outside / second_moment_outside / variance_outside against mpmath, and
eta_star for Problem(placement="outside") (steps X-1 .. X-8)."""

import math

import mpmath as mp
import numpy as np
import pytest

from softsign_scaling import numeric
from softsign_scaling.checks import reference

from numeric_reference import regions, seeded_grid

# (a, b) spanning the kink regime (small b), the far tail (a >= 18), large b and the b -> 0 / oo limits.
POINTS = [("0", "1e-6"), ("1e-8", "0.5"), ("0.3", "1e-12"), ("1", "1"), ("-2.5", "0.01"), ("8", "3"),
          ("17.9", "1e-6"), ("18.1", "0.2"), ("-30", "40"), ("1e3", "1e3"), ("0.01", "1e8"), ("2", "1e-100")]
TOL = 1e-12


def _references(a: str, b: str):
    with mp.workdps(40):
        A, Bb = mp.mpf(a), mp.mpf(b)
        m = reference.outside_mean(a, b)
        s2 = reference.outside_second_moment(a, b)
        v = reference.gaussian_expectation(lambda z: ((A + z) / (abs(A + z) + Bb) - m) ** 2,
                                           reference._softsign_cuts(A, Bb))
    return float(m), float(s2), float(v)


@pytest.fixture(scope="module")
def refs():
    return {p: _references(*p) for p in POINTS}


def _rel(got, want):
    """Relative error; absolute below 1e-40, the references' precision (the mean at a = 0 is 0)."""
    return abs(got - want) / abs(want) if abs(want) > 1e-40 else abs(got - want)


def test_moments_match_mpmath(refs):
    a = np.array([float(p[0]) for p in POINTS])
    b = np.array([float(p[1]) for p in POINTS])
    got = (numeric.mean_outside(a, b), numeric.second_moment_outside(a, b), numeric.variance_outside(a, b))
    worst = 0.0
    for k, p in enumerate(POINTS):
        for j, name in enumerate(("mean", "second moment", "variance")):
            err = _rel(got[j][k], refs[p][j])
            worst = max(worst, err)
            assert err < TOL, f"{name} at (a, b) = {p}: {got[j][k]!r} vs {refs[p][j]!r} (relative {err:.2e})"


def test_negative_control_inside_moments_fail_the_same_test(refs):
    """The test above can fail: the inside-root moments are not the outside ones."""
    misses = [p for p in POINTS if _rel(numeric.mean_exact(float(p[0]), float(p[1])), refs[p][0]) > TOL]
    assert len(misses) >= len(POINTS) // 2


def test_one_point_gives_the_same_bits_alone_and_in_an_array():
    a = np.array([float(p[0]) for p in POINTS])
    b = np.array([float(p[1]) for p in POINTS])
    together = numeric.variance_outside(a, b)
    alone = [numeric.variance_outside(x, y) for x, y in zip(a, b)]
    assert together.tolist() == alone


def test_limits_and_input_contract():
    assert numeric.mean_outside(1.0, 0.0) == pytest.approx(math.erf(1 / math.sqrt(2)), rel=1e-15)  # b = 0: sign
    assert numeric.mean_outside(3.0, 1e60) == pytest.approx(3e-60, rel=1e-12)  # far: a/b
    assert numeric.mean_outside(-1e60, 1.0) == -1.0 + 1e-60 or numeric.mean_outside(-1e60, 1.0) == -1.0
    with pytest.raises(ValueError, match="b"):
        numeric.mean_outside(1.0, -1.0)
    with pytest.raises(ValueError):
        numeric.variance_outside(float("nan"), 1.0)


G, SIGMA, H = [1.0, -0.5], [2.0, 1.0], [[2.0, 0.3], [0.3, 1.0]]


def test_default_placement_is_inside_and_bit_identical():
    B = np.array([1.0, 64.0, np.inf])
    for model in numeric.MODELS:
        default = numeric.eta_star(B, numeric.Problem(G, SIGMA, H, 0.1), model=model)
        inside = numeric.eta_star(B, numeric.Problem(G, SIGMA, H, 0.1, placement="inside"), model=model)
        assert default.tolist() == inside.tolist()


def test_outside_placement_models():
    p_out = numeric.Problem(G, SIGMA, H, 0.1, placement="outside")
    p_in = numeric.Problem(G, SIGMA, H, 0.1)
    B = np.array([1.0, 64.0, np.inf])
    assert numeric.placement_models("outside") == ("exact", "clip", "anchored", "correlated")  # anchored: X-12 .. X-15
    # the clip layer is shared: the same eta* for both placements
    assert numeric.eta_star(B, p_out, model="clip").tolist() == numeric.eta_star(B, p_in, model="clip").tolist()
    exact_out = numeric.eta_star(B, p_out, model="exact")
    assert np.all(exact_out > numeric.eta_star(B, p_in, model="exact"))  # |x| + eps >= sqrt(x^2 + eps^2)
    # B = oo: the deterministic update g/(|g| + eps) in E-5
    m = np.array(G) / (np.abs(G) + 0.1)
    Hm = np.array(H)
    assert exact_out[-1] == pytest.approx(float(m @ G) / float(m @ Hm @ m), rel=1e-14)
    for model in ("approx", "mean_field", "mean_field_bsimple"):
        with pytest.raises(ValueError, match="does not support placement='outside'"):
            numeric.eta_star(64, p_out, model=model)
    with pytest.raises(ValueError, match="placement must be one of"):
        numeric.Problem(G, SIGMA, H, 0.1, placement="middle")


def test_large_eps_is_sgd_with_lr_over_eps():
    """X-8: eta*/eps -> P-10 with Sigma/B for both placements; the outside one converges like 1/eps."""
    sgd = numeric.eta_star_sgd(64, G, SIGMA, H)
    for eps in (1e4, 1e6):
        for placement in ("inside", "outside"):
            value = numeric.eta_star(64, numeric.Problem(G, SIGMA, H, eps, placement=placement), model="exact") / eps
            assert value == pytest.approx(sgd, rel=10 / eps)


# ---------------------------------------------------------------------------------------------
# The fast outside moments: tables around closed-form skeletons (numeric/_fast.py ``outside_moments``, generated
# numeric/generated/outside_tables.py), as the exact model reads them for Problem(placement="outside"), against mpmath on a
# seeded random grid drawn independently of the tables' fit nodes (Chebyshev nodes of each rectangle) and check
# points (seeded by the rectangles).  Bound: 1e-10 relative (the issue's), per region.

FAST_BOUND = 1e-10
FAST_SEED = 20261130


FAST_REGIONS = regions(-150, "edges: 1e-150 < b < 1e-13 or 1e9 < b < 1e40")


def fast_grid(per_region: int, seed: int = FAST_SEED) -> list[tuple[str, float, float]]:
    return seeded_grid(per_region, seed, FAST_REGIONS)


def _cuts(A: mp.mpf, B: mp.mpf) -> list[mp.mpf]:
    """The kink x = 0 (z = -a) and a geometric mesh of ratio 16 on its scale b out to 4."""
    cuts, width = [-A], B
    while width < 4:
        cuts += [-A - width, -A + width]
        width *= 16
    return cuts


def outside_reference(av: float, bv: float, mean_estimate: float, variance_estimate: float) -> tuple[mp.mpf, mp.mpf]:
    """(mean, variance) of x/(|x| + b), x ~ N(a, 1), summed directly, at 25 + log10(1/value) digits."""
    A, B = mp.mpf(abs(av)), mp.mpf(bv)

    def digits(value):
        return 25 + max(0, int(-math.log10(max(abs(value), 1e-320))))

    f = lambda z: (A + z) / (abs(A + z) + B)  # noqa: E731
    with mp.workdps(max(digits(mean_estimate), digits(variance_estimate))):
        m = reference.gaussian_expectation(f, _cuts(A, B), cross_check=False)
        v = reference.gaussian_expectation(lambda z: (f(z) - m) ** 2, _cuts(A, B), cross_check=False)
    return mp.sign(av) * m, v


def _exact_outside(a, b, tables=None):
    """The exact model's outside moments (the tables, with the model's b -> 0 and |a| -> oo limits)."""
    if tables is None:
        return numeric.get_model("exact").outside(a, b)
    from softsign_scaling.numeric import _fast

    return _fast.outside_moments(a, b, tables=tables)


def fast_worst_errors(points, tables=None) -> dict:
    a = np.array([p[1] for p in points])
    b = np.array([p[2] for p in points])
    mean, variance = _exact_outside(a, b, tables)
    worst: dict = {}
    for (region, av, bv), m, v in zip(points, mean, variance):
        ref_m, ref_v = outside_reference(av, bv, m, v)
        errors = {moment: float(abs(got - want) / max(abs(want), mp.mpf(1e-300)))  # relative down to 1e-300
                  for moment, got, want in (("mean", m, ref_m), ("variance", v, ref_v))}
        for moment, error in errors.items():
            old = worst.setdefault(region, {}).get(moment, (-1.0, None))
            if error > old[0]:
                worst[region][moment] = (float(error), (av, bv))
    return worst


def _fast_assert_within(worst):
    for region, moments in worst.items():
        print(f"{region}: " + ", ".join(f"{moment} {error:.2g}" for moment, (error, _) in moments.items()))
    failures = [f"{region}: {moment} {error:.3g} at (a, b) = {where}"
                for region, moments in worst.items() for moment, (error, where) in moments.items()
                if error > FAST_BOUND]
    assert not failures, "\n".join(failures)


def test_fast_outside_moments_against_mpmath_on_a_random_grid():
    _fast_assert_within(fast_worst_errors(fast_grid(3)))


# Points where the variance skeleton's former kink term b (log1p(b) - log(b)) cancelled to a large negative number and
# its exponential overflowed (the variance was inf or NaN; found on a random grid of 200000 points, b > 1.9e17).
HUGE_B = [(69861091985.78708, 1.907395707444561e+17), (-1.1540290216986984e+16, 7.735169994305385e+36),
          (-21.582155794752726, 5.8291680341693464e+38), (364885.90281829296, 7.232364984462788e+33),
          (55.47334942034599, 6.024231362111766e+27), (-0.24965943543538835, 7.036667919557833e+27),
          (-6.228484409317014e+21, 6.987536951906037e+18)]


def test_fast_outside_moments_at_huge_b():
    """b log1p(1/b) above b = 1: finite and within the bound where the former form gave NaN."""
    points = [("huge b", a, b) for a, b in HUGE_B if abs(a) < 1e10]  # mpmath's cost grows with |a|
    a = np.array([p[0] for p in HUGE_B])
    b = np.array([p[1] for p in HUGE_B])
    from softsign_scaling.numeric import _fast

    mean, variance = _fast.outside_moments(a, b)
    assert np.isfinite(mean).all() and np.isfinite(variance).all() and (variance >= 0).all()
    _fast_assert_within(fast_worst_errors(points))


def test_the_kink_term_is_b_log1p_1_over_b_at_every_b():
    """kink_term(b) = b log(1 + 1/b) -> 1 - 1/(2b) + 1/(3b^2): within 1e-15 of that series above b = 1e8, and of
    mpmath below, on any CPU.  The former form b (log1p(b) - log(b)) fails this above b ~ 1e16 on every platform
    (0, or a multiple of b ulp(log b), never ~1)."""
    from softsign_scaling.numeric import _fast

    b = np.concatenate([[p[1] for p in HUGE_B], np.geomspace(1e-12, 1e45, 58)])
    want = np.array([float(mp.mpf(x) * mp.log1p(1 / mp.mpf(x))) for x in b])
    assert np.max(np.abs(_fast.kink_term(b) - want) / want) < 1e-15
    with np.errstate(all="ignore"):
        former = b * (np.log1p(b) - np.log(b))
    assert np.all(np.abs(former[b > 1e17] - want[b > 1e17]) > 0.5)  # negative control


def test_negative_control_the_former_kink_form_fails_at_huge_b(monkeypatch):
    """The check above fails with what the former kink term b (log1p(b) - log(b)) gave where it was found: there
    log1p(b) rounded an ulp below log(b), so it was -b ulp(log b) ~ -1e3 .. -1e39 and exp(-4 phi(0) kink/weight)
    overflowed.  (Where log1p(b) and log(b) round alike it gives 0: off by a factor exp(4 phi(0)/weight) in a term
    ~1/b^2 of the variance, below its accuracy; the test above catches that form on every platform.)"""
    from softsign_scaling.numeric import _fast

    def former_where_found(b):
        return b * (np.nextafter(np.log(b), -np.inf) - np.log(b))

    monkeypatch.setattr(_fast, "kink_term", former_where_found)
    monkeypatch.setattr(_fast, "kernel", lambda: None)  # the numpy path, where the skeleton is this module's
    with np.errstate(all="ignore"), pytest.raises(AssertionError):
        test_fast_outside_moments_at_huge_b()


@pytest.fixture
def slow_requested(request):
    """Slow tests run only when asked for (pytest -m slow)."""
    expression = request.config.getoption("markexpr") or ""
    if "slow" not in expression or "not slow" in expression:
        pytest.skip("slow: run with -m slow")


@pytest.mark.slow
def test_fast_outside_moments_against_mpmath_on_a_larger_random_grid(slow_requested):
    _fast_assert_within(fast_worst_errors(fast_grid(20, seed=FAST_SEED + 1)))


@pytest.mark.parametrize("which", ["mean", "variance"])
def test_fast_outside_negative_control_a_perturbed_table_fails(which):
    """3e-10 on every rectangle's constant term (three times the bound) must fail the same check."""
    from softsign_scaling.numeric import _fast

    mean_table, variance_table, rd = _fast.committed_outside()
    terms = (mean_table if which == "mean" else variance_table).terms.copy()
    terms[0] *= 1.0 + 3e-10
    if which == "mean":
        tables = (mean_table.replace(terms=terms), variance_table, rd)
    else:
        tables = (mean_table, variance_table.replace(terms=terms), rd)
    points = [p for p in fast_grid(2) if p[0].startswith("core")]
    with pytest.raises(AssertionError, match=which):
        _fast_assert_within(fast_worst_errors(points, tables=tables))


def test_fast_outside_tables_are_current_and_certified():
    """The committed module's fingerprint is the generator's (else: run `derive`), its printed bounds meet the
    certified bound, and re-measuring a sample of rectangles against the quadrature stays within them."""
    from softsign_scaling.codegen import moments_code
    from softsign_scaling.numeric import _fast
    from softsign_scaling.numeric.generated import outside_tables as _outside_tables

    text = moments_code.COMMITTED_OUTSIDE.read_text()
    assert f"Inputs fingerprint: {moments_code.fingerprint('outside')}\n" in text, "run `softsign-scaling derive`"
    rd = moments_code.family_rd("outside")
    assert np.array_equal(rd, np.array(_outside_tables.RD_COEFFICIENTS))
    for kind in moments_code.KINDS:
        printed = [float(row[3]) for row in _outside_tables.CERTIFICATE[kind] if row[3] != "-"]
        assert max(printed) <= moments_code.OUTSIDE_CERTIFIED_BOUND[kind] * 1.5  # one digit, rounded up
        cells = np.array(getattr(_outside_tables, f"{kind.upper()}_CELLS")).reshape(-1, 4)
        integers = _fast.decode(getattr(_outside_tables, f"{kind.upper()}_COEFFICIENTS"), _fast.TERMS)
        full = _fast.compile_table(_fast.Table(cells=cells, chebyshev=integers,
                                               quantum_bits=_outside_tables.QUANTUM_BITS))
        points = [moments_code._mapped(rect, *moments_code._probe_points(rect, 2, moments_code.CHECK_POINTS))
                  for rect in cells[::23]]
        X = np.concatenate([p[0] for p in points])
        Y = np.concatenate([p[1] for p in points])
        error = np.abs(_fast.evaluate(full, X, Y) / moments_code.reference(kind, X, Y, rd, "outside") - 1.0)
        assert error.max() <= max(printed) * 1.001, (kind, error.max())


def test_fast_outside_one_point_gives_the_same_bits_alone_and_in_an_array():
    from softsign_scaling.numeric import _fast

    a = np.tile(np.array([0.0, -1e-9, 0.7, -3.0, 12.0, 2e7, -40.0]), 1 + 2 * _fast.BLOCK // 7)[: 2 * _fast.BLOCK + 5]
    b = np.tile(10.0 ** np.array([-140.0, 0.0, -3.0, 5.0, -9.0, 2.0, 30.0, 12.0, -20.0, 7.0, -1.0]),
                1 + a.size // 11)[: a.size]
    mean, variance = _fast.outside_moments(a, b)
    for k in (0, 3, _fast.BLOCK + 1, a.size - 1):
        m, v = _fast.outside_moments(a[k:k + 1], b[k:k + 1])
        assert m[0] == mean[k] and v[0] == variance[k]
    assert np.array_equal(np.abs(mean[a != 0]) <= 1, np.ones(int((a != 0).sum()), dtype=bool))


# Where the kink and the delta method's parts of the variance cross (|a| ~ 8-14) for b down past the tables' lower
# edge e^-50: the clamped tables were 6e-9 off at (-11.08, 8.3e-30) when that edge was e^-30 (a seeded slow-grid
# point), and the skeletons alone 7e-9 off at b = 1e-13.
CROSSING = [(-11.081262498367737, 8.312553662161398e-30), (11.08, 1e-13), (13.0, 1e-25), (9.0, 1e-20),
            (12.0, 2.1e-22), (12.0, 1.8e-22), (14.5, 1e-40), (10.5, 1e-16)]


def test_fast_outside_moments_where_kink_and_delta_method_cross():
    _fast_assert_within(fast_worst_errors([("crossing", a, b) for a, b in CROSSING]))


@pytest.mark.slow
def test_fast_outside_regeneration_reproduces_the_committed_module(tmp_path, slow_requested):
    """A forced regeneration (refit on the committed layout, certificate re-measured) writes the committed bytes."""
    from softsign_scaling.codegen import moments_code

    target = tmp_path / moments_code.OUTSIDE_TABLES_PATH
    target.parent.mkdir(parents=True)
    target.write_bytes(moments_code.COMMITTED_OUTSIDE.read_bytes())
    (tmp_path / moments_code.TABLES_PATH).write_bytes(moments_code.COMMITTED.read_bytes())
    moments_code.write_moment_tables(tmp_path, force=True)
    assert target.read_bytes() == moments_code.COMMITTED_OUTSIDE.read_bytes()


@pytest.mark.slow
def test_fast_outside_generation_from_scratch_reproduces_the_committed_module(slow_requested):
    """The adaptive fit from scratch (no committed layout; about 60-80 s) certifies (build raises otherwise) and,
    on this machine, gives the committed module's bytes (the committed one was made from scratch)."""
    from softsign_scaling.codegen import moments_code

    tables = moments_code.build(None, family="outside")
    assert moments_code.source(tables, "outside") == moments_code.COMMITTED_OUTSIDE.read_text()
