"""softsign_scaling.real with torch: statistics against direct computations, seeding, and the gloo data-parallel test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtri

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[torch]'")

from softsign_scaling.real import collect, distributed  # noqa: E402

torch.set_num_threads(1)  # tiny kernels on shared cores: one thread is faster (see sim.optimizers.torch_single_thread)


def tiny(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(96, 5, generator=generator, dtype=torch.float64)
    y = torch.randint(0, 3, (96,), generator=generator)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3)).double()
    loss_fn = torch.nn.functional.cross_entropy
    return model, loss_fn, [(x[:40], y[:40]), (x[40:], y[40:])], x, y


def dense(model, loss_fn, x, y):
    """g, per-example gradients and the Hessian by plain autograd (the reference)."""
    from torch.func import functional_call

    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    flat0 = torch.cat([p.detach().reshape(-1) for _, p in model.named_parameters()])

    def loss_of(vector, xs, ys):
        params, start = {}, 0
        for name, shape in zip(names, shapes):
            size = int(np.prod(shape))
            params[name] = vector[start:start + size].reshape(shape)
            start += size
        return loss_fn(functional_call(model, params, (xs,)), ys)

    H = torch.autograd.functional.hessian(lambda v: loss_of(v, x, y), flat0).numpy()
    per = np.stack([torch.autograd.functional.jacobian(lambda v: loss_of(v, x[i:i + 1], y[i:i + 1]), flat0).numpy()
                    for i in range(x.shape[0])])
    return per.mean(axis=0), per, H


def test_statistics_match_plain_autograd():
    model, loss_fn, loader, x, y = tiny()
    stats = collect.collect(model, loss_fn, loader, probes=64, sketch_rank=3, seed=1, chunk=7, progress=False)
    g, per, H = dense(model, loss_fn, x, y)
    assert np.allclose(stats.g, g, rtol=1e-10, atol=1e-14)
    assert np.allclose(stats.sigma2, per.var(axis=0, ddof=1), rtol=1e-9, atol=1e-16)
    v = np.random.default_rng(0).standard_normal(stats.n)
    assert np.allclose(stats.extra["hvp"](v), H @ v, rtol=1e-9, atol=1e-12)
    assert abs(stats.gHg - g @ H @ g) < 1e-10 * abs(g @ H @ g) + 1e-15
    top = np.sort(np.abs(np.linalg.eigvalsh(H)))[::-1][:3]
    assert np.allclose(np.sort(np.abs(stats.sketch_values))[::-1], top, rtol=1e-5)
    # Hutchinson: unbiased, with honest standard errors.  z-scores of the 35 components and of the trace,
    # Bonferroni at family-wise 1e-3 (normal approximation over 64 probes).
    z = (stats.diag_H - np.diag(H)) / np.maximum(stats.diag_H_se, 1e-300)
    exact = stats.diag_H_se == 0  # a component the sketch captures exactly has no probe noise
    assert np.allclose(stats.diag_H[exact], np.diag(H)[exact], atol=1e-10)
    limit = ndtri(1 - 1e-3 / (2 * (stats.n + 1)))
    assert np.abs(z[~exact]).max() < limit
    assert abs(stats.trace_H - np.trace(H)) < limit * stats.trace_H_se + 1e-12
    # negative control: the same z-test against a diagonal 20% off must fail
    z_bad = (stats.diag_H - 1.2 * np.diag(H)) / np.maximum(stats.diag_H_se, 1e-300)
    assert np.abs(z_bad[~exact]).max() > limit


def test_statistics_are_seeded_and_sigma2_se_is_right_in_size():
    model, loss_fn, loader, x, y = tiny()
    one = collect.collect(model, loss_fn, loader, probes=4, sketch_rank=2, seed=5, progress=False)
    two = collect.collect(model, loss_fn, loader, probes=4, sketch_rank=2, seed=5, progress=False)
    other = collect.collect(model, loss_fn, loader, probes=4, sketch_rank=2, seed=6, progress=False)
    assert np.array_equal(one.diag_H, two.diag_H) and np.array_equal(one.sketch_values, two.sketch_values)
    assert not np.array_equal(one.diag_H, other.diag_H)
    _, per, _ = dense(model, loss_fn, x, y)
    centred = per - per.mean(axis=0)
    expected = np.sqrt(((centred**4).mean(axis=0) - per.var(axis=0, ddof=1) ** 2).clip(0) / per.shape[0])
    assert np.allclose(one.sigma2_se, expected, rtol=1e-8, atol=1e-18)


def test_collect_refuses_bad_input():
    model, loss_fn, loader, _, _ = tiny()
    with pytest.raises(ValueError, match="probes must be >= 2"):
        collect.collect(model, loss_fn, loader, probes=1, progress=False)
    with pytest.raises(ValueError, match="at least 2"):
        collect.collect(model, loss_fn, [(loader[0][0][:1], loader[0][1][:1])], progress=False)


def test_data_parallel_gloo_two_processes():
    """2 local gloo processes; the collector's sigma^2 against the exact per-example variance.

    Per-component z-scores from the spread over 200 steps, Bonferroni at family-wise 1e-3 (normal
    approximation).  Negative control: the estimator without its K/(K - 1) factor (half the value at K = 2)."""
    (g, g_se, sigma2, sigma2_se), (g_true, sigma2_true) = distributed.self_test(world=2, steps=200, local_batch=8)
    limit = ndtri(1 - 1e-3 / (2 * 2 * g.size))
    assert np.abs((sigma2 - sigma2_true) / sigma2_se).max() < limit
    assert np.abs((g - g_true) / g_se).max() < limit
    assert np.abs((sigma2 / 2 - sigma2_true) / sigma2_se).max() > limit


def test_stats_then_predict_commands(tmp_path, capsys):
    pytest.importorskip("sklearn", reason="needs scikit-learn: pip install -e '.[torch]'")
    from softsign_scaling.cli import main
    from softsign_scaling.real.statsfile import load

    out = tmp_path / "stats.npz"
    assert main(["stats", "--out", str(out), "--steps", "5", "--hidden", "4", "--probes", "2", "--sketch-rank", "1",
                 "--quiet"]) == 0
    stats = load(out)
    assert stats.n == 64 * 4 + 4 + 4 * 10 + 10 and stats.samples == 1200 and stats.layer_names[0] == "0.weight"
    assert main(["predict", "--stats", str(out), "--eps", "1e-8", "--batch", "32..64", "--models", "clip",
                 "--placement", "outside", "--resamples", "2", "--plot", str(tmp_path / "p.png"), "--quiet"]) == 0
    assert "| 64 |" in capsys.readouterr().out


@pytest.mark.parametrize("arguments, message", [
    (["--hidden", "4,x"], "--hidden"),
    (["--probes", "1"], "--probes must be >= 2"),
    (["--out", "/no/such/folder/s.npz"], "does not exist"),
])
def test_stats_errors_are_one_line(capsys, arguments, message):
    from softsign_scaling.cli import main

    assert main(["stats", *arguments, "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


def test_noise_sketch_is_the_projection_of_the_per_example_deviations():
    """k = N: the sketch holds every example's deviation x_e - g projected per group on the sketch's eigenvectors
    (the direct computation from plain autograd's per-example gradients, to 1e-9); skewness and the mean sign too.
    Control: projections of the raw gradients (not centred) differ."""
    from softsign_scaling.numeric.correlated import ProjectionSketch

    model, loss_fn, loader, x, y = tiny()
    stats = collect.collect(model, loss_fn, loader, probes=4, sketch_rank=3, seed=1, progress=False,
                            noise_examples=1000)
    g, per, _ = dense(model, loss_fn, x, y)
    direct = ProjectionSketch(stats.sketch_vectors, stats.noise_groups, count=stats.noise_projections.shape[2])
    direct.add(per - g)
    projections, diagonal = direct.arrays()
    assert stats.noise_projections.shape == (per.shape[0], 3, 64)
    assert np.allclose(stats.noise_projections, projections, rtol=1e-9, atol=1e-14)
    assert np.allclose(stats.noise_diagonal, diagonal, rtol=1e-9, atol=1e-16)
    raw = ProjectionSketch(stats.sketch_vectors, stats.noise_groups, count=64)
    raw.add(per)
    assert not np.allclose(stats.noise_projections, raw.arrays()[0], rtol=1e-3, atol=1e-6)
    centred = per - g
    spread = (centred**2).mean(axis=0)
    skew = np.where(spread > 0, (centred**3).mean(axis=0) / np.where(spread > 0, spread, 1) ** 1.5, 0)
    assert np.allclose(stats.skewness, skew, rtol=1e-8, atol=1e-10)
    assert np.allclose(stats.sign_mean, np.sign(per).mean(axis=0), atol=1e-12)
    assert stats.noise().samples == per.shape[0]


def test_data_parallel_noise_sketch_from_per_rank_deviations():
    """2 gloo ranks, 400 steps: the sketch from per-rank deviations (g_k - gbar) sqrt(bK/(K-1)) estimates the same
    C = sum_j lam_j u_j^T S Sigma_off S u_j as the population's per-example covariance.  Tolerance 5 standard errors
    (x sqrt 2: the two ranks' deviations of a step are the same up to sign), false-failure rate < 1e-5.  Controls:
    without the sqrt(bK/(K-1)) scale (C/16 here) and with the groups shuffled (C -> ~0) it fails."""
    from softsign_scaling.numeric.correlated import ProjectionSketch, quantile_groups

    g, sigma2, per = distributed.population(0, per_example=True)
    n = g.size
    rng = np.random.default_rng(4)
    values, vectors = np.linalg.eigh(np.cov(per.T))  # an H whose top axes are the noise's: C is large
    vectors, values = vectors[:, -4:], values[-4:] / values[-1]
    groups = quantile_groups(g, np.sqrt(sigma2), bins=(2, 2))
    (_, arrays), _ = distributed.self_test(world=2, steps=400, local_batch=8, sketch=(vectors, groups))
    assert arrays["noise_source"] == "per-rank" and arrays["noise_projections"].shape == (800, 4, 64)
    population = ProjectionSketch(vectors, groups, count=64)
    population.add(per - g)
    s = rng.uniform(0.5, 2.0, n)
    truth = float(population.noise(values, sigma2).correction(None, s)[0])
    from softsign_scaling.numeric.correlated import projected_noise

    estimate = projected_noise(values, vectors, groups, sigma2, arrays["noise_projections"], arrays["noise_diagonal"])
    C, se = float(estimate.correction(None, s)[0]), float(estimate.correction_se(s)[0]) * np.sqrt(2)
    assert abs(C - truth) <= 5 * se, (C, truth, se)
    assert abs(C / 16 - truth) > 5 * se
    assert abs(float(estimate.shuffled().correction(None, s)[0]) - truth) > 5 * se
