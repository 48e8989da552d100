"""Atlas section 8 (atlas/outside.py): the per-component conversion map against X-11's mpmath root, the choice of the
best constant, and a negative control (a map computed with the inside moments on both sides is c = 1 everywhere)."""

import mpmath as mp
import numpy as np
import pytest

from softsign_scaling.atlas import outside
from softsign_scaling.sections.outside import matching_b_inside


@pytest.fixture
def small_map(monkeypatch):
    monkeypatch.setattr(outside, "MAP_A", np.array([0.05, 20.0]))
    monkeypatch.setattr(outside, "MAP_B", np.array([1e-3, 5.0, 300.0]))
    return outside.conversion_map(1.342)


def test_the_map_is_x11s_root(small_map):
    exact_c, ratio = small_map
    for i, j in ((0, 0), (1, 1), (1, 0)):  # small b (c ~ (4/pi) log(1/b)), the middle, the large-gradient corner
        a, b = outside.MAP_A[i], outside.MAP_B[j]
        with mp.workdps(20):
            want = float(matching_b_inside(mp.mpf(float(a)), mp.mpf(float(b)))) / b
        assert exact_c[i, j] == pytest.approx(want, rel=1e-7), (a, b)
    # large b: c -> 1, so the constant over-converts by about c there (eta* ~ eps in the SGD regime)
    assert exact_c[0, -1] == pytest.approx(1.0, abs=0.01) and ratio[0, -1] == pytest.approx(1.342, rel=0.02)


def test_negative_control_same_placement_gives_c_one(monkeypatch):
    """With the outside moments replaced by the inside ones the root is b_in = b_out (c = 1): the map is not c = 1 by
    construction of the code, it finds whatever the two placements' moments say."""
    monkeypatch.setattr(outside, "MAP_A", np.array([0.3, 3.0]))
    monkeypatch.setattr(outside, "MAP_B", np.array([0.01, 1.0]))
    real_rho = outside._rho
    monkeypatch.setattr(outside, "_rho", lambda a, b, placement: real_rho(a, b, "inside"))
    exact_c, ratio = outside.conversion_map(2.0)
    assert np.allclose(exact_c, 1.0, rtol=1e-9)
    assert np.all(ratio > 1.0)  # c = 2 > 1: eta* grows with eps inside


def test_best_constants():
    """Rows are constants, columns pairs: the smallest worst |log ratio| and the most pairs within 10% can differ."""
    by_c = np.array([[0.5, 1.0, 1.0], [0.95, 1.05, 1.25], [0.89, 0.89, 0.95]])
    worst, share = outside.best_constants(by_c)  # worst |log|: 0.69, 0.22, 0.12; within 10%: 2/3, 2/3, 1/3
    assert (worst, share) == (2, 0)
