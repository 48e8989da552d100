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


# --------------------------------------------------------------------------------------------
# The noise sketch, the recommended column, bands, caveats, the small-B check and the commands' one-line errors.


def with_sketch(n: int = 6, k: int = 4000, seed: int = 0):
    """synthetic() with a correlated per-example covariance Sigma and a full-rank, one-group-per-component noise
    sketch of k Gaussian deviations: then the file's correlated model is numeric's on the dense H with the same
    deviations' sample covariance, exactly."""
    from dataclasses import replace

    from softsign_scaling.numeric.correlated import ProjectionSketch

    stats, H = synthetic(n=n, seed=seed)
    rng = np.random.default_rng(seed + 1)
    P = stats.sketch_vectors[:, :2] * np.array([2.0, 1.0]) + 0.1 * rng.standard_normal((n, 2))  # along H's top axes
    Sigma = np.diag(stats.sigma2 * 0.3) + P @ P.T
    D = rng.standard_normal((k, n)) @ np.linalg.cholesky(Sigma).T
    sketch = ProjectionSketch(stats.sketch_vectors, np.arange(n), scale=np.sqrt(np.diag(Sigma)))
    sketch.add(D)
    projections, diagonal = sketch.arrays()
    stats = replace(stats, sigma2=np.diag(Sigma).copy(), noise_groups=np.arange(n), noise_projections=projections,
                    noise_diagonal=diagonal, noise_scale=np.sqrt(np.diag(Sigma)), noise_source="per-example",
                    extra={})
    return stats, H, D


def test_the_file_sketch_gives_numerics_correlated_model(tmp_path):
    stats, H, D = with_sketch()
    B = np.array([1.0, 16.0, 256.0])
    result = predict.prediction(stats, 0.1, B, placement="outside", surge=False)
    assert result.recommended == "correlated"
    dense = numeric.Problem(stats.g, np.sqrt(stats.sigma2), H, 0.1, placement="outside",
                            noise=numeric.LowRankNoise.from_deviations(D))
    assert np.allclose(result.models["correlated"].eta, numeric.eta_star(B, dense, model="correlated"), rtol=1e-9)
    # saved and loaded (float32 projections): the same to float32's 1e-6
    again = predict.prediction(load(stats.save(tmp_path / "s.npz")), 0.1, B, placement="outside", surge=False)
    assert np.allclose(again.models["correlated"].eta, result.models["correlated"].eta, rtol=1e-5)
    # control: the correlation moves eta* (so the equality above is not exact's)
    assert np.max(np.abs(result.models["correlated"].eta / result.models["exact"].eta - 1)) > 0.05
    # control: a shuffled sketch loses it
    from dataclasses import replace

    mixed = replace(stats, noise_projections=np.random.default_rng(3).permuted(stats.noise_projections, axis=0),
                    extra={})
    shuffled = predict.prediction(mixed, 0.1, B, placement="outside", surge=False).models["correlated"].eta
    assert not np.allclose(shuffled, result.models["correlated"].eta, rtol=0.02)


def test_a_file_without_sketch_refuses_the_correlated_model_with_one_line():
    stats, _ = synthetic()
    result = predict.prediction(stats, 0.1, [4.0], placement="outside", surge=False)
    assert "correlated" not in result.models and result.recommended == "exact"
    reason = result.refused["correlated"]
    assert "re-collect" in reason and "\n" not in reason
    with pytest.raises(ValueError, match="no selected model applies"):
        predict.prediction(stats, 0.1, [4.0], models="correlated", surge=False)
    with pytest.raises(ValueError, match="no selected model applies"):
        predict.prediction(stats, 0.1, [4.0], models="mean_field", placement="outside", surge=False)


def test_every_band_contains_its_estimate():
    """The printed value is the bias-corrected centre eta/median(ratio): inside [eta/q97.5, eta/q2.5] always.
    Control: the plug-in eta is outside its band somewhere on this problem (the old table's failure)."""
    stats, _, _ = with_sketch(n=30)
    from dataclasses import replace

    noisy = replace(stats, g_se=np.abs(stats.g) + 0.05, extra={})  # |g| ~ its standard error: a biased plug-in
    result = predict.prediction(noisy, 0.01, [1.0, 64.0, 4096.0], placement="outside", resamples=24, surge=False)
    outside = 0
    for name, p in result.models.items():
        assert np.all((p.low <= p.centre) & (p.centre <= p.high)), name
        outside += int(np.sum((p.eta < p.low) | (p.eta > p.high)))
    assert outside > 0


def test_caveat_names_the_measured_factor():
    line = predict.caveat("correlated", [1.0, 64.0])
    assert "\n" not in line and "B ~ 1: x1.3 (0.43..2.5)" in line and "B ~ 64: x1.1" in line and "real-model.md" in line
    assert "not measured" in predict.caveat("clip", [8.0])


def test_skewed_small_batch_says_no_learning_rate_helps(tmp_path):
    """Per-example gradients with skewness +2 and a small positive mean (an exponential's shape): the sign of one
    example is more often negative, so SignSGD at B = 1 ascends; by B = 64 the skew has averaged out.  Control: the
    same file with skewness 0 predicts descent."""
    from dataclasses import replace

    stats, _ = synthetic()
    n = stats.n
    skewed = replace(stats, g=np.full(n, 0.1), sigma2=np.ones(n), skewness=np.full(n, 2.0),
                     sign_mean=np.full(n, -0.2), extra={})
    checks = predict.skew_checks(skewed, 1e-8, [1.0, 64.0], "outside")
    assert checks[1.0].ascends and not checks[64.0].ascends
    assert not predict.skew_checks(replace(skewed, skewness=np.zeros(n), sign_mean=None), 1e-8, [1.0],
                                   "outside")[1.0].ascends
    path = skewed.save(tmp_path / "s.npz")
    out = _cli("predict", "--stats", str(path), "--eps", "1e-8", "--batch", "1..64", "--resamples", "0",
               "--plot", str(tmp_path / "p.png"), "--quiet")
    assert out.returncode == 0, out.stderr
    assert "B = 1: non-Gaussian regime" in out.stdout and "no learning rate helps" in out.stdout
    assert "B = 64: non-Gaussian" not in out.stdout


def _cli(*arguments):
    return subprocess.run([sys.executable, "-m", "softsign_scaling", *arguments], capture_output=True, text=True,
                          timeout=300)


def test_predict_output_marks_the_recommended_column_and_prints_the_caveat(tmp_path):
    stats, _, _ = with_sketch()
    path = stats.save(tmp_path / "s.npz")
    out = _cli("predict", "--stats", str(path), "--eps", "1e-3", "--batch", "1..64", "--resamples", "2",
               "--plot", str(tmp_path / "p.png"), "--quiet")
    assert out.returncode == 0, out.stderr
    assert "(outside)" in out.stdout  # PyTorch's placement by default
    assert "| B | correlated * |" in out.stdout and "caveat: correlated's eta* was measured" in out.stdout
    old, _ = synthetic()
    out = _cli("predict", "--stats", str(old.save(tmp_path / "old.npz")), "--eps", "1e-3", "--resamples", "0",
               "--plot", str(tmp_path / "p.png"), "--quiet")
    assert "| B | exact * |" in out.stdout and "no noise sketch" in out.stdout


@pytest.mark.parametrize("arguments, message", [
    (["predict", "--stats", "{file}", "--eps", "1e-8", "--models", "mean_field", "--placement", "outside"],
     "no selected model applies"),
    (["predict", "--stats", "{file}", "--eps", "1e-8", "--plot", "/proc/x.png"], "--plot: cannot write"),
    (["stats", "--out", "/proc/x.npz"], "--out: cannot write"),
    (["stats", "--sketch-rank", "100000", "--out", "{tmp}/s.npz"], "--sketch-rank: sketch_rank must be below"),
    (["eta", "--input", "{empty}"], "--input: cannot read"),
])
def test_bad_commands_fail_with_one_line_before_any_work(tmp_path, arguments, message):
    stats, _ = synthetic()
    path = stats.save(tmp_path / "s.npz")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    filled = [a.format(file=path, tmp=tmp_path, empty=empty) for a in arguments]
    if filled[0] == "predict" and "--plot" not in filled:
        filled += ["--plot", str(tmp_path / "p.png")]
    out = _cli(*filled, "--quiet") if filled[0] != "eta" else _cli(*filled)
    assert out.returncode in (1, 2)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert not (tmp_path / "p.png").exists() and not (tmp_path / "s.npz.tmp").exists()


def test_measured_error_is_the_held_out_validations():
    """MEASURED_ERROR's numbers are docs/real-model.json's (to 2 significant digits): they cannot go stale silently.
    Control: the exact model's numbers do not fit the correlated column."""
    import json
    from pathlib import Path

    from softsign_scaling.real.report import ratio

    data = json.loads((Path(__file__).resolve().parents[1] / "docs" / "real-model.json").read_text())
    bins = {1: (1, 2), 8: (4, 8, 16), 64: (32, 64, 128), 512: (256, 512, 1024)}
    columns = {"correlated": "correlated[outside]", "exact": "exact[outside]"}  # the registered model's own column

    def measured(column, Bs):
        r = np.array([ratio(row, column) for a in data["architectures"] for row in a["rows"] if row["B"] in Bs])
        r = r[np.isfinite(r) & (r > 0)]
        return [float(np.median(r)), float(np.quantile(r, 0.1)), float(np.quantile(r, 0.9))]

    for model, rows in predict.MEASURED_ERROR.items():
        for B, *quoted in rows:
            assert np.allclose(quoted, measured(columns[model], bins[B]), rtol=0.06), (model, B)
    assert not np.allclose(predict.MEASURED_ERROR["correlated"][0][1:], measured("exact[outside]", bins[1]), rtol=0.06)


def test_a_sketch_without_its_scale_reads_as_raw_deviations():
    """Files whose projections are of the raw deviations (no noise_scale) still load and give the same C when the
    projections are raw: with one group per component, standardized and raw sketches agree (1e-9).  Control: raw
    projections read as standardized ones (the scale wrongly applied) differ."""
    from dataclasses import replace

    from softsign_scaling.numeric.correlated import ProjectionSketch

    stats, H, D = with_sketch()
    raw = ProjectionSketch(stats.sketch_vectors, stats.noise_groups)
    raw.add(D)
    projections, diagonal = raw.arrays()
    old = replace(stats, noise_projections=projections, noise_diagonal=diagonal, noise_scale=None, extra={})
    B = [1.0, 16.0]
    new_eta = predict.prediction(stats, 0.1, B, models="correlated", surge=False).models["correlated"].eta
    old_eta = predict.prediction(old, 0.1, B, models="correlated", surge=False).models["correlated"].eta
    assert np.allclose(old_eta, new_eta, rtol=1e-9)
    wrong = replace(old, noise_scale=stats.noise_scale, extra={})
    assert not np.allclose(predict.prediction(wrong, 0.1, B, models="correlated", surge=False).models["correlated"].eta,
                           new_eta, rtol=1e-3)
