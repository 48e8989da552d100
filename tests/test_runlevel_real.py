"""The whole-run measurement (softsign_scaling.real.runlevel) and docs/run-level.md (issue 23)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from softsign_scaling.sections.runlevel import critical_batch

ROOT = Path(__file__).resolve().parents[1]


def test_critical_batch_fit_recovers_a_known_trade_off():
    B = np.array([4, 8, 16, 32, 64, 128, 256, 512, 1024], dtype=float)
    for b_crit, s_min in ((100.0, 20.0), (7.0, 300.0)):
        fitted, level = critical_batch(B, s_min * (1 + b_crit / B))
        assert abs(fitted / b_crit - 1) < 0.01 and abs(level / s_min - 1) < 0.01
    # negative control: another trade-off is not fitted as the first one
    other, _ = critical_batch(B, 20.0 * (1 + 400.0 / B))
    assert abs(other / 100.0 - 1) > 1


def test_parabola_vertex_and_its_edges():
    torch = pytest.importorskip("torch")  # noqa: F841 - the module is torch's subpackage
    from softsign_scaling.real.runlevel import parabola_vertex

    x = np.log(np.array([1e-3, 2e-3, 4e-3, 8e-3]))
    y = 0.5 * (x - math.log(3e-3)) ** 2 + math.log(50.0)
    lr, s = parabola_vertex(x, y)
    assert abs(lr / 3e-3 - 1) < 1e-9 and abs(s / 50.0 - 1) < 1e-9
    # at an edge the grid value is returned, not an extrapolation
    lr_edge, _ = parabola_vertex(x, -x)
    assert lr_edge == pytest.approx(8e-3)


def test_schedule_factor():
    from softsign_scaling.real import runlevel

    assert runlevel.schedule_factor("constant", 7, 100) == 1.0
    assert runlevel.schedule_factor("warmup-cosine", 1, 100) == pytest.approx(0.2)
    assert runlevel.schedule_factor("warmup-cosine", 5, 100) == pytest.approx(1.0)
    assert runlevel.schedule_factor("warmup-cosine", 100, 100) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        runlevel.schedule_factor("linear", 1, 10)


def test_replica_adam_is_torch_adam_with_one_learning_rate_per_replica():
    torch = pytest.importorskip("torch")
    from softsign_scaling.real.runlevel import AdamReplicas

    torch.manual_seed(0)
    lrs = [1e-3, 3e-2, 0.5]
    start = torch.randn(3, 4, 5, dtype=torch.float64)
    mine = start.clone()
    adam = AdamReplicas([mine], lrs, (0.9, 0.95), 1e-3)
    theirs = [start[r].clone().requires_grad_() for r in range(3)]
    optimizers = [torch.optim.Adam([theirs[r]], lr=lrs[r], betas=(0.9, 0.95), eps=1e-3) for r in range(3)]
    for _ in range(6):
        grad = torch.randn(3, 4, 5, dtype=torch.float64)
        adam.step([grad])
        for r in range(3):
            theirs[r].grad = grad[r].clone()
            optimizers[r].step()
    worst = max(float((mine[r] - theirs[r].detach()).abs().max()) for r in range(3))
    assert worst < 1e-14
    # negative control: eps inside the root (the article's SoftSign) is another update
    inside = start.clone()
    wrong = AdamReplicas([inside], lrs, (0.9, 0.95), 0.0)
    torch.manual_seed(0)
    torch.randn(3, 4, 5, dtype=torch.float64)
    for _ in range(6):
        wrong.step([torch.randn(3, 4, 5, dtype=torch.float64)])
    assert float((inside - mine).abs().max()) > 1e-6


def test_steps_to_target_reaches_an_easy_target_and_not_an_impossible_one():
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from softsign_scaling.real import runlevel

    setting = {"name": "t", "betas": (0.9, 0.999), "eps": 1e-8, "schedule": "constant"}
    easy = runlevel.steps_to_target(setting, 64, [3e-3, 1e-2], (0,), 1.5, 200, 16, stop_factor=100)
    assert np.isfinite(easy).all() and (easy < 200).all()
    assert easy[0, 1] < easy[0, 0]  # the larger learning rate gets there first this early
    never = runlevel.steps_to_target(setting, 64, [1e-2], (0,), 1e-6, 30, 16)  # the control
    assert np.isinf(never).all()
    # the stop rule: once the fastest learning rate is there, a run slower than twice its time is not waited for
    stopped = runlevel.steps_to_target(setting, 64, [3e-3, 1e-2], (0,), 1.5, 200, 16)
    assert stopped[0, 1] == easy[0, 1] and (np.isinf(stopped[0, 0]) or stopped[0, 0] <= 2 * easy[0, 1] + 1)


def test_run_level_document_is_byte_reproducible(tmp_path):
    """docs/run-level.md and its figures are the same bytes when rebuilt from the committed cache."""
    pytest.importorskip("matplotlib")
    from softsign_scaling.real import runlevel_report

    (tmp_path / "docs" / "figures").mkdir(parents=True)
    shutil.copy(ROOT / runlevel_report.CACHE, tmp_path / runlevel_report.CACHE)
    written = runlevel_report.build(tmp_path)
    assert len(written) == 1 + len(runlevel_report.FIGURES)
    for path in written:
        committed = ROOT / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), f"{committed} differs from a fresh build"


def test_run_level_document_without_its_cache_says_how_to_measure(tmp_path):
    from softsign_scaling.real import runlevel_report

    (tmp_path / "docs").mkdir()
    with pytest.raises(FileNotFoundError, match="--measure"):
        runlevel_report.build(tmp_path)


def test_leading_order_run_slope_is_one_half_with_eps_scaled_and_more_with_eps_fixed():
    pytest.importorskip("torch")
    from softsign_scaling.sim import runlevel
    from softsign_scaling.sim.experiments import named_problem
    from softsign_scaling.sim.nqm import Problem

    def slope_of(mode):
        values = []
        for B in (1, 4, 16, 64):
            eps = 0.1 / math.sqrt(B) if mode == "scaled" else 0.1
            base = named_problem("article", eps)
            values.append(runlevel.leading_order_eta(Problem(base.g * 0.05, base.Sigma, base.H, eps), B))
        return float(np.polyfit(np.log([1, 4, 16, 64]), np.log(values), 1)[0])

    assert abs(slope_of("scaled") - 0.5) < 1e-12  # exactly the square root
    assert slope_of("fixed") > 0.55  # the control: R-5's c(b) adds to it when eps is not scaled


def test_teacher_steps_to_target_trains_online_and_cannot_beat_the_noise_floor():
    """The teacher-student task (fresh examples every step) reaches an easy population loss; the label-noise
    floor 0.5 * 0.1^2 = 0.005 cannot be beaten (the control: a target below it is never reached)."""
    pytest.importorskip("torch")
    from softsign_scaling.real import runlevel_arch

    config = {"seeds": (0, 1), "betas": (0.9, 0.999), "eps": 1e-8, "max_steps": 300, "target": 0.2}
    easy = runlevel_arch.steps_to_target("teacher", config, 32, [1e-2, 3e-2], stop_factor=100)
    assert np.isfinite(easy).all() and (easy < 300).all()
    assert not np.array_equal(easy[0], easy[1])  # each seed its own initialisation and its own fresh examples
    floor = runlevel_arch.steps_to_target("teacher", {**config, "target": 0.004, "max_steps": 100}, 32, [1e-2])
    assert np.isinf(floor).all()


def test_measuring_one_architecture_keeps_the_rest_of_the_cache(tmp_path, monkeypatch):
    """--architecture NAME adds that architecture's measurement to docs/run-level.json and keeps the others
    (measurement replaced by a marker here); an unknown name is a one-line error before anything is measured."""
    pytest.importorskip("matplotlib")
    import json

    from softsign_scaling.real import runlevel_arch, runlevel_report

    (tmp_path / "docs" / "figures").mkdir(parents=True)
    shutil.copy(ROOT / runlevel_report.CACHE, tmp_path / runlevel_report.CACHE)
    before = json.loads((ROOT / runlevel_report.CACHE).read_text(encoding="utf-8"))
    calls = []

    def fake_run(names, progress=True):
        calls.append(names)
        return {name: before["architectures"]["cnn"] for name in names}

    monkeypatch.setattr(runlevel_arch, "run", fake_run)
    with pytest.raises(ValueError, match="unknown architecture"):
        runlevel_report.build(tmp_path, architectures=("resnet",))
    assert calls == []
    name = next(n for n in runlevel_arch.ARCH_CONFIG if n != "cnn")
    runlevel_report.build(tmp_path, architectures=(name,))
    after = json.loads((tmp_path / runlevel_report.CACHE).read_text(encoding="utf-8"))
    assert calls == [(name,)]
    assert after["architectures"][name] == before["architectures"]["cnn"]
    assert {k: v for k, v in after.items() if k != "architectures"} == \
        {k: v for k, v in before.items() if k != "architectures"}
    assert all(after["architectures"][k] == v for k, v in before["architectures"].items() if k != name)


def test_a_miss_is_explained_only_when_every_checkpoint_misses():
    from softsign_scaling.real import runlevel_report

    B = np.array([4.0, 8, 16, 32, 64, 128])
    an = {"B": B, "S_geo": 30 * (1 + 100 / B), "slope": np.array([0.5, 0.5])}
    text = runlevel_report._miss(an, np.array([8.0, 12.0]), 100.0)
    assert "no choice of checkpoint explains the miss" in text and "B = 4 to B = 32" in text
    # the control: one checkpoint within 2x of the measured B_crit, nothing to explain
    assert runlevel_report._miss(an, np.array([8.0, 60.0]), 100.0) == ""
