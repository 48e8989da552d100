"""softsign_scaling.real without torch: the statistics file, predictions from a sketch, regimes, the commands' errors."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from softsign_scaling import numeric
from softsign_scaling.real import predict
from softsign_scaling.real.statsfile import Statistics, load


def synthetic(n: int = 6, rank: int | None = None, seed: int = 0) -> tuple[Statistics, np.ndarray]:
    """Statistics of a made-up problem with a dense H; the sketch keeps ``rank`` eigenpairs (None: all)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    H = A @ A.T / n + np.eye(n) * 0.5
    values, vectors = np.linalg.eigh(H)
    order = np.argsort(-np.abs(values))[: (n if rank is None else rank)]
    g = rng.standard_normal(n) * 0.3
    sigma2 = rng.uniform(0.5, 2.0, n)
    stats = Statistics(g=g, g_se=np.full(n, 0.01), sigma2=sigma2, sigma2_se=sigma2 * 0.01, diag_H=np.diag(H).copy(),
                       diag_H_se=np.full(n, 0.01), trace_H=float(np.trace(H)), trace_H_se=0.01, gHg=float(g @ H @ g),
                       sketch_values=values[order], sketch_vectors=vectors[:, order], layer_names=("w", "b"),
                       layer_bounds=np.array([0, n - 2, n]), samples=100, probes=8, seed=0, model="synthetic")
    return stats, H


def test_importing_the_package_and_predict_needs_no_torch():
    code = ("import sys, softsign_scaling, softsign_scaling.real.predict, softsign_scaling.real.statsfile, "
            "softsign_scaling.cli; softsign_scaling.cli.build_parser(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_file_round_trip(tmp_path):
    stats, _ = synthetic()
    path = stats.save(tmp_path / "s.npz")
    again = load(path)
    for name in ("g", "sigma2", "diag_H", "sketch_values", "layer_bounds"):
        assert np.array_equal(getattr(again, name), getattr(stats, name)), name
    assert np.allclose(again.sketch_vectors, stats.sketch_vectors, rtol=1e-6)  # float32 on disk
    assert again.layer_names == ("w", "b") and again.samples == 100 and again.model == "synthetic"


def test_bad_files_give_one_line_errors(tmp_path):
    with pytest.raises(ValueError, match="no such statistics file"):
        load(tmp_path / "missing.npz")
    other = tmp_path / "other.npz"
    np.savez(other, g=np.zeros(3))
    with pytest.raises(ValueError, match="not a statistics file"):
        load(other)
    future = tmp_path / "future.npz"
    np.savez(future, format="softsign-scaling-stats/999", g=np.zeros(3))  # another version of the format
    with pytest.raises(ValueError, match="not a statistics file"):
        load(future)
    text = tmp_path / "text.npz"
    text.write_text("not a zip")
    with pytest.raises(ValueError, match="not a readable statistics file"):
        load(text)


@pytest.mark.parametrize("placement, models", [("inside", ("exact", "clip", "approx", "anchored", "mean_field",
                                                            "mean_field_bsimple", "averaged")),
                                                ("outside", ("exact", "clip", "anchored"))])
def test_a_full_sketch_reproduces_the_dense_problem(placement, models):
    """With every eigenpair, the sketch is H itself: predictions equal numeric.eta_star on the dense H."""
    stats, H = synthetic()
    B = np.array([1.0, 16.0, 1024.0])
    result = predict.prediction(stats, 0.1, B, placement=placement, surge=False)
    dense = numeric.Problem(stats.g, np.sqrt(stats.sigma2), H, 0.1, placement=placement)
    assert set(result.models) == set(models)
    for name in models:
        assert np.allclose(result.models[name].eta, numeric.eta_star(B, dense, model=name), rtol=1e-10), name


def test_a_diagonal_only_sketch_differs_negative_control():
    """Without the sketch (rank 0), the off-diagonal part of H is lost: the prediction must change."""
    stats, H = synthetic(rank=0)
    dense = numeric.Problem(stats.g, np.sqrt(stats.sigma2), H, 0.1)
    got = predict.prediction(stats, 0.1, [1024.0], models="exact", surge=False).models["exact"].eta
    assert abs(got[0] / numeric.eta_star(1024.0, dense, model="exact") - 1) > 0.05


def test_exact_hvps_equal_the_dense_problem():
    stats, H = synthetic(rank=1)
    result = predict.prediction(stats, 0.01, [4.0, 64.0], H=lambda v: H @ v, models="anchored", surge=False)
    dense = numeric.Problem(stats.g, np.sqrt(stats.sigma2), H, 0.01)
    assert np.allclose(result.models["anchored"].eta, numeric.eta_star([4.0, 64.0], dense, model="anchored"), rtol=1e-10)


def test_bands_contain_the_truth_at_their_rate():
    """Parametric bootstrap bands: redraw the statistics as an experimenter would, count how often the band covers
    the true eta*.  Nominal 95%; with 40 trials, fewer than 30 covered has probability < 1e-3 at true coverage 90%.
    And the bands are as wide as the estimate's own scatter, not wider: an infinitely (or 3x too) wide band covers
    too.  A 95% band spans ~3.92 standard deviations; the median width must lie within a factor 2 of 3.92 times
    the spread of the 40 estimates (the sample SD of 40 normal draws is within 0.7 .. 1.3 of the truth with
    probability > 0.999); and each end misses on its own side no more often than its level allows."""
    truth, H = synthetic(n=40, seed=3)
    B = 16.0
    exact = predict.prediction(truth, 0.05, [B], models="clip", surge=False).models["clip"].eta[0]
    rng = np.random.default_rng(7)
    covered, below, above, widths, estimates = 0, 0, 0, [], []
    g_se, s_se = np.full(40, 0.05), truth.sigma2 * 0.1
    for _ in range(40):
        noisy = Statistics(**{**truth.__dict__, "g": truth.g + g_se * rng.standard_normal(40), "g_se": g_se,
                              "sigma2": np.abs(truth.sigma2 + s_se * rng.standard_normal(40)), "sigma2_se": s_se,
                              "extra": {}})
        band = predict.prediction(noisy, 0.05, [B], models="clip", resamples=40, seed=int(rng.integers(1 << 30)),
                                  surge=False).models["clip"]
        covered += band.low[0] <= exact <= band.high[0]
        below, above = below + (exact < band.low[0]), above + (exact > band.high[0])
        widths.append(band.high[0] - band.low[0])
        estimates.append(band.eta[0])
    assert covered >= 30, covered
    assert below <= 5 and above <= 5, (below, above)  # each side's miss, nominal 2.5%: P(>= 6 of 40) < 1e-3 (1.4% at 5%)
    expected = 3.92 * np.std(estimates, ddof=1)
    assert 0.5 * expected <= np.median(widths) <= 2.0 * expected, (np.median(widths), expected)


def test_regime_shares_at_a_large_batch():
    """b = eps sqrt(B)/sigma_i, counted per component against the regime edges by hand (B = 400: sqrt(B) = 20,
    so a B in place of sqrt(B) moves every b 20x and changes the shares)."""
    stats, _ = synthetic(n=40, seed=5)
    sigma = np.sqrt(stats.sigma2)
    eps = 0.1 * float(np.median(sigma)) / 20.0  # b_i = 0.1 sigma_med/sigma_i at B = 400: straddles 0.1
    b = eps * 20.0 / sigma
    expected = (np.mean(b < 0.1), np.mean((b >= 0.1) & (b <= 10.0)), np.mean(b > 10.0))
    assert 0 < expected[0] < 1 and 0 < expected[1] < 1
    assert predict.regime_shares(stats, eps, 400.0)["all"] == pytest.approx(expected, abs=0)
    wrong = eps * 400.0 / sigma
    assert (np.mean(wrong < 0.1), np.mean((wrong >= 0.1) & (wrong <= 10.0))) != expected[:2]


def test_regime_shares():
    stats, _ = synthetic()
    sigma = np.sqrt(stats.sigma2)
    eps = float(np.median(sigma))  # b = sqrt(B) sigma_med/sigma_i: all in the middle at B = 1
    shares = predict.regime_shares(stats, eps, 1.0)
    assert shares["all"] == (0.0, 1.0, 0.0)
    assert predict.regime_shares(stats, eps * 1e-3, 1.0)["all"] == (1.0, 0.0, 0.0)
    assert predict.regime_shares(stats, eps * 1e3, 1.0)["w"] == (0.0, 0.0, 1.0)
    assert set(shares) == {"w", "b", "all"}


def test_surge_peaks_finds_every_local_maximum():
    B = np.array([1.0, 1024.0])
    two = predict.surge_peaks(lambda b: np.exp(-np.log2(b / 8) ** 2) + np.exp(-np.log2(b / 256) ** 2), B)
    assert len(two) == 2 and abs(two[0] / 8 - 1) < 0.05 and abs(two[1] / 256 - 1) < 0.05
    assert predict.surge_peaks(lambda b: np.log(b), B) == ()


def test_surge_peaks_are_refined_between_grid_points():
    """The parabola through the grid maximum and its neighbours (in log B) puts a peak that no grid point holds
    where it is: exactly, for eta*(B) a parabola in log B.  The peak at B = 10 lies between the grid points
    2^3.25 and 2^3.5 (4 per octave from 1): unrefined, it would be off by 4% or more."""
    B = np.array([1.0, 1024.0])
    peak = predict.surge_peaks(lambda b: 5.0 - (np.log(b) - math.log(10.0)) ** 2, B)
    assert len(peak) == 1 and abs(peak[0] / 10.0 - 1) < 1e-12, peak
    grid = 2.0 ** np.arange(0, 10.25, 0.25)
    assert np.min(np.abs(grid / 10.0 - 1)) > 0.04  # the control: no grid point is within 4% of the peak
    skewed = predict.surge_peaks(lambda b: 5.0 - (np.log(b) - math.log(13.0)) ** 2, B)
    assert abs(skewed[0] / 13.0 - 1) < 1e-12


def test_predict_command(tmp_path, capsys):
    from softsign_scaling.cli import main

    stats, _ = synthetic()
    path = stats.save(tmp_path / "s.npz")
    plot = tmp_path / "eta.png"
    assert main(["predict", "--stats", str(path), "--eps", "0.1", "--batch", "1..64", "--models", "clip,approx",
                 "--resamples", "4", "--plot", str(plot), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "| 64 |" in out and "regimes" in out and plot.is_file()
    assert main(["predict", "--stats", str(path), "--eps", "0.1", "--placement", "outside", "--models", "clip",
                 "--resamples", "0", "--plot", str(plot), "--quiet"]) == 0


@pytest.mark.parametrize("arguments, message", [
    (["--stats", "{missing}", "--eps", "1e-8"], "no such statistics file"),
    (["--stats", "{file}", "--eps", "1e-8", "--batch", "64..2"], "needs 0 < start <= stop"),
    (["--stats", "{file}", "--eps", "-1"], "--eps: give a finite number >= 0"),
    (["--stats", "{file}", "--eps", "1e-8", "--beta1", "1"], "--beta1"),
    (["--stats", "{file}", "--eps", "1e-8", "--models", "nope"], "model must be one of"),
    (["--stats", "{file}", "--eps", "1e-8", "--plot", "/no/such/folder/x.png"], "does not exist"),
])
def test_predict_errors_are_one_line(tmp_path, capsys, arguments, message):
    from softsign_scaling.cli import main

    stats, _ = synthetic()
    path = stats.save(tmp_path / "s.npz")
    filled = [a.format(missing=tmp_path / "none.npz", file=path) for a in arguments]
    assert main(["predict", *filled, "--plot", str(tmp_path / "p.png"), "--quiet"][: None]
                if "--plot" not in filled else ["predict", *filled, "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
