"""The held-out validation's machinery (softsign_scaling.real.heldout) on the teacher-student task, and its controls.

A student MLP 16 -> 8 -> 1 (145 parameters) after 500 Adam steps on fresh samples; the population is 16384
held-out samples; statistics on 1024 training samples.

* Independent-noise control (the plain models' assumption made true): exact[outside] from the population's own
  statistics equals eta_q, the optimum of the quadratic model under the real torch update, within z * SE
  (delta method over 256 updates); z = 3.29 (two-sided 1e-3), 2 checks: false-failure rate <= 2e-3.  Negative
  control: against real minibatches of the population (correlated, non-Gaussian noise) the same prediction is
  off by more than 2x (must fail the agreement).
* Shuffled deviations: +corr(shuffled) falls back to the plain model (within 3%: the shuffle keeps the
  variances, only the finite-sample cross terms remain), while +corr itself is far from it; the identity
  "shuffle" (a control of the control) keeps the correction.
* u^T H u by central second differences of the population loss equals the exact Hessian-vector product's
  within 1e-5 relative (float64); a 4x wrong step size would still pass, a wrong sign or scale would not.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[torch]'")

from softsign_scaling.real import heldout  # noqa: E402
from softsign_scaling.real.architectures import ARCHITECTURES  # noqa: E402
from softsign_scaling.real.collect import collect  # noqa: E402

Z = 3.29


@pytest.fixture(scope="module")
def setting():
    torch.set_num_threads(1)
    arch = ARCHITECTURES["teacher"]
    x_train, y_train, x_pop, y_pop = arch.data(0)
    model = arch.build(0)
    saved = arch.train(model, x_train, y_train, seed=0)
    model.load_state_dict(saved[500])
    config = {**heldout.CONFIG, "probes": 16, "sketch_rank": 8}
    stats, deviations = heldout._statistics(arch, model, x_train, y_train, 1024, config, "step 500")
    population = heldout.Population(model, arch.loss_fn, x_pop, y_pop)
    P = population.P
    loader = [(x_pop[i:i + 4096], y_pop[i:i + 4096]) for i in range(0, P, 4096)]
    pop_stats = collect(model, arch.loss_fn, loader, probes=16, sketch_rank=8, seed=0, progress=False)
    hvp = pop_stats.extra["hvp"]
    pop_stats = replace(pop_stats, sigma2=pop_stats.sigma2 * (P - 1) / P)
    pop_stats.extra["hvp"] = hvp
    return stats, deviations, population, pop_stats


@pytest.mark.parametrize("eps, B", [(1e-8, 4), (1e-3, 64)])
def test_independent_noise_brings_the_plain_model_back(setting, eps, B):
    _, _, population, pop_stats = setting
    measured = heldout.measure(population, eps, B, samples=256, seed=3, resamples=20, noise="independent")
    predicted = heldout.predict_all(pop_stats, None, eps, [B], H=pop_stats.extra["hvp"])["exact[outside]"][0]
    z = (predicted - measured["eta_q"]) / measured["eta_q_se"]
    assert abs(z) < Z, f"exact[outside]/eta_q = {predicted / measured['eta_q']:.4f} ({z:+.2f} SE)"
    assert abs(measured["eta_q"] / measured["eta_real"] - 1) < 0.1


def test_negative_control_real_minibatches_break_the_plain_model(setting):
    _, _, population, pop_stats = setting
    measured = heldout.measure(population, 1e-8, 4, samples=256, seed=3, resamples=20, noise="examples")
    predicted = heldout.predict_all(pop_stats, None, 1e-8, [4], H=pop_stats.extra["hvp"])["exact[outside]"][0]
    assert predicted / measured["eta_q"] > 2, predicted / measured["eta_q"]


def test_shuffled_deviations_lose_the_correlated_correction(setting):
    stats, deviations, _, _ = setting
    batch = [1, 8, 128]
    plain = np.array(heldout.predict_all(stats, None, 1e-8, batch)["exact[outside]"])
    corrected = heldout.correlated(stats, deviations, 1e-8, batch, "outside", "exact")
    shuffled = heldout.correlated(stats, deviations.shuffled(0), 1e-8, batch, "outside", "exact")
    assert np.all(np.abs(shuffled / plain - 1) < 0.03), shuffled / plain
    assert np.all(corrected / plain < 0.7), corrected / plain
    identity = heldout.Deviations.__new__(heldout.Deviations)  # a "shuffle" that permutes nothing keeps it
    identity.d, identity.U, identity.lam, identity.rest = deviations.d, deviations.U, deviations.lam, deviations.rest
    kept = heldout.correlated(stats, identity, 1e-8, batch, "outside", "exact")
    assert np.allclose(kept, corrected)


def test_registered_correlated_model_from_the_file_sketch_and_its_shuffled_control(setting):
    """The registered model from the statistics file's noise sketch (256 of the 1024 examples, projected on a rank-8
    sketch of H, grouped) agrees with the in-memory +corr (all 1024 deviations, the same sketch of H) within 15%
    (the sketch's k = 256 sampling error and its grouping); with the projections shuffled across examples its
    correction (the added 1/eta*) shrinks below a quarter of the unshuffled one (the negative control)."""
    stats, deviations, _, _ = setting
    batch = [1, 8, 128]
    plain = np.array(heldout.predict_all(stats, None, 1e-8, batch)["exact[outside]"])
    reference = heldout.correlated(stats, deviations, 1e-8, batch, "outside", "exact")
    registered = heldout.registered_correlated(stats, 1e-8, batch, "outside")
    shuffled = heldout.registered_correlated(stats, 1e-8, batch, "outside", shuffled=True)
    assert np.all(np.abs(registered / reference - 1) < 0.15), registered / reference
    assert np.all(1 / registered - 1 / plain > 0.5 / plain), registered / plain  # a real correction to lose
    assert np.all((1 / shuffled - 1 / plain) < 0.25 * (1 / registered - 1 / plain)), shuffled / plain


def test_finite_difference_quadratic_forms_match_exact_hvps(setting):
    _, _, population, _ = setting
    grads = population.minibatch_gradients(8, 4, torch.Generator().manual_seed(0))
    from softsign_scaling.sim.optimizers import torch_adam

    u = torch_adam(grads, 1e-8)
    base = population.loss(population.w0)
    fd = heldout.quadratic_forms(population, u, base)
    exact = np.array([row @ population.flat.hvp(row) for row in u])
    assert np.allclose(fd, exact, rtol=1e-5), fd / exact


def test_parabola_in_eta_is_exact_for_a_quadratic_curve():
    etas = 0.3 * 2.0 ** (np.arange(-2, 3) / 2)
    curve = -2.0 * etas + 0.5 * (2.0 / 0.37) * etas**2  # minimum at 0.37
    vertex, edge = heldout._parabola(etas, curve)
    assert not edge and math.isclose(vertex, 0.37, rel_tol=1e-12)
    # the same three points fitted in log eta (the former rule) miss by percents: what the rule change fixes
    x = np.log(etas)
    k = int(np.argmin(curve))
    coefficients = np.polyfit(x[k - 1:k + 2], curve[k - 1:k + 2], 2)
    assert abs(math.exp(-coefficients[1] / (2 * coefficients[0])) / 0.37 - 1) > 0.01


@pytest.mark.slow
def test_one_tiny_configuration_reruns(tmp_path):
    """The whole pipeline on one checkpoint of the teacher-student task (about a minute)."""
    config = {**heldout.CONFIG, "eps": (1e-8, 1e-2), "probes": 8, "sketch_rank": 4,
              "architectures": {"teacher": {"samples": 32, "stats": 512, "batch": (1, 8, 128)}},
              "control": {"eps": (1e-8,), "batch": (64,), "samples": 64}}
    first = heldout.run_architecture("teacher", config, cache=tmp_path, progress=False, checkpoints=(500,))
    again = heldout.run_architecture("teacher", config, cache=tmp_path, progress=False, checkpoints=(500,))
    # the cached measurement and the recomputed predictions give the same result (json: nan equals nan)
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    assert len(first["rows"]) == 6 and len(first["control"]) == 1
    control = first["control"][0]
    assert abs(control["models"]["exact[outside]"] / control["eta_q"] - 1) < 0.15
    for row in first["rows"]:
        assert math.isfinite(row["eta_q"]) and row["eta_q_se"] > 0
        assert abs(row["models"]["exact[outside]+corr(shuffled)"] / row["models"]["exact[outside]"] - 1) < 0.05
