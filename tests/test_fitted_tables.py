"""Every rectangle of every committed fitted table (the exact and the outside families' mean and variance ratios),
at two points of its own, against the quadrature reference the tables were fitted to.

The certificate tests (test_fast_moments.py, test_outside_numeric.py) re-measure a sample of the rectangles at many
points; the accuracy tests sample (a, b) at random.  Neither sees a single rectangle whose coefficients were
damaged: a 1e-3 change to one coefficient of one rectangle passed them all.  Here each rectangle is visited (two
seeded points from a stream no fit or certificate uses), so one bad rectangle fails, and the controls prove it.
"""

from __future__ import annotations

import numpy as np
import pytest

from softsign_scaling.codegen import moments_code
from softsign_scaling.numeric import _fast
from softsign_scaling.numeric.generated import exact_tables as _exact_tables
from softsign_scaling.numeric.generated import outside_tables as _outside_tables

STREAM = 5  # the fit nodes and the certificate use other streams of moments_code._seed
FAMILIES = {"inside": (_exact_tables, moments_code.CERTIFIED_BOUND),
            "outside": (_outside_tables, moments_code.OUTSIDE_CERTIFIED_BOUND)}


def _table(family: str, kind: str) -> tuple[np.ndarray, np.ndarray, int]:
    module, _ = FAMILIES[family]
    cells = np.array(getattr(module, f"{kind.upper()}_CELLS")).reshape(-1, 4)
    integers = _fast.decode(getattr(module, f"{kind.upper()}_COEFFICIENTS"), _fast.TERMS)
    return cells, integers, module.QUANTUM_BITS


def _points(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two seeded points inside each rectangle (not on its edges, which it shares), and the rectangle each is in."""
    X, Y, owner = [], [], []
    for index, rect in enumerate(cells):
        u, v = moments_code._probe_points(rect, STREAM, 2)
        x, y = moments_code._mapped(rect, u[:2], v[:2])  # the two random ones, not the edges it adds (shared)
        X.append(x)
        Y.append(y)
        owner.append(np.full(x.shape, index))
    return np.concatenate(X), np.concatenate(Y), np.concatenate(owner)


def worst_per_rectangle(family: str, kind: str, integers: np.ndarray | None = None) -> np.ndarray:
    """The largest relative error of the table (its coefficients ``integers``, default the committed ones) at the
    two points of each rectangle."""
    cells, committed, bits = _table(family, kind)
    table = _fast.compile_table(_fast.Table(cells=cells, chebyshev=committed if integers is None else integers,
                                            quantum_bits=bits))
    X, Y, owner = _points(cells)
    rd = moments_code.family_rd(family)
    error = np.abs(_fast.evaluate(table, X, Y) / moments_code.reference(kind, X, Y, rd, family) - 1.0)
    worst = np.zeros(len(cells))
    np.maximum.at(worst, owner, error)
    return worst


def _bound(family: str, kind: str) -> float:
    module, _ = FAMILIES[family]
    return max(float(row[3]) for row in module.CERTIFICATE[kind] if row[3] != "-")


@pytest.mark.parametrize("kind", moments_code.KINDS)
@pytest.mark.parametrize("family", FAMILIES)
def test_every_rectangle_meets_the_printed_bound(family, kind):
    worst = worst_per_rectangle(family, kind)
    bound = _bound(family, kind)
    bad = np.flatnonzero(worst > bound * 1.001)
    assert bad.size == 0, f"{family} {kind}: rectangles {bad[:10].tolist()} exceed {bound:g} ({worst.max():.3g})"


@pytest.mark.parametrize("family", FAMILIES)
def test_negative_control_one_damaged_coefficient_of_one_rectangle_fails(family):
    """A 1e-3 relative change to the constant term of one (seeded, random) rectangle must be found, at that
    rectangle and only there."""
    cells, integers, _ = _table(family, "mean")
    rng = np.random.default_rng(20261206)
    victim = int(rng.integers(len(cells)))
    damaged = integers.copy()
    damaged[victim, 0] += max(1, int(abs(damaged[victim, 0]) * 1e-3))
    worst = worst_per_rectangle(family, "mean", damaged)
    assert np.flatnonzero(worst > _bound(family, "mean") * 1.001).tolist() == [victim]


def test_the_switches_below_the_tables_are_seamless():
    """At b = B_LOW (exact) and OUTSIDE_B_LOW (outside) the moments hand over from the tables to the b -> 0 forms;
    the jump across the switch is within the tables' certified accuracy, so the side a point exactly at the switch
    takes (b < b_low or b <= b_low, in _fast and in the compiled kernel alike) moves a moment by at most that.  For
    the outside mean the table's ratio is exactly 1.0 there: the two sides give the same bits, and a change of the
    comparison there cannot be observed (an equivalent mutant)."""
    from softsign_scaling import numeric

    a = np.concatenate([np.linspace(-30.0, 30.0, 240), 10.0 ** np.linspace(-12, 7, 80)])  # no a = 0 (mean 0)
    for functions, switch, bounds in (((numeric.mean_exact, numeric.variance_exact), _fast.B_LOW,
                                       moments_code.CERTIFIED_BOUND),
                                      ((numeric.mean_outside, numeric.variance_outside), _fast.OUTSIDE_B_LOW,
                                       moments_code.OUTSIDE_CERTIFIED_BOUND)):
        at, below = np.full(a.shape, switch), np.full(a.shape, np.nextafter(switch, 0.0))
        for function, kind in zip(functions, moments_code.KINDS):
            jump = np.abs(function(a, at) / function(a, below) - 1.0)
            assert jump.max() <= bounds[kind], (function.__name__, jump.max())
    A = np.abs(a)
    X = np.minimum(np.log(A + np.sqrt(A * A + 1.0)), _fast.X_MAX)
    outside_mean = _fast.committed_outside()[0]
    assert np.array_equal(_fast.evaluate(outside_mean, X, _fast.outside_y(np.full(a.shape, _fast.OUTSIDE_B_LOW))),
                          np.ones(a.shape))
