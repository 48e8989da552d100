"""eta* at scale (issue 13, parts 2-4): H as an operator, blocked sums, float32 / memory-mapped / tensor-like
inputs, and surge_peak's local maxima.  Small n throughout; the sizes that matter are in benchmarks/bench_scale.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from softsign_scaling import numeric
from softsign_scaling.numeric import _threads
from softsign_scaling.numeric import models as models_module
from softsign_scaling.numeric import problem as problem_module

N = 40
RNG = np.random.default_rng(1313)
G = RNG.standard_normal(N)
SIGMA = RNG.uniform(0.3, 2.0, N)
_A = RNG.standard_normal((N, N)) / math.sqrt(N)
H = _A @ _A.T + 0.5 * np.eye(N)
BATCHES = np.array([0.3, 2.0, 40.0, 1e4, np.inf])
EPSES = (0.0, 0.05, 1e120)  # 1e120: the SGD-unit path (eps > 1e100, and far rows)


class MatvecOnly:
    """Any object with .matvec and .shape (no scipy), whose todense/toarray raise: no n x n matrix may be formed."""

    def __init__(self, matrix):
        self._matrix = matrix
        self.shape = matrix.shape
        self.calls = 0

    def matvec(self, x):
        self.calls += 1
        return self._matrix @ x

    def todense(self):  # pragma: no cover - must never be called
        raise AssertionError("an n x n matrix was formed")

    toarray = todense


def operator_forms(matrix):
    return {"LinearOperator": lambda: numeric.Problem(G, SIGMA, aslinearoperator(matrix), 0.0, H_diagonal=np.diag(matrix)),
            "matvec object": lambda: numeric.Problem(G, SIGMA, MatvecOnly(matrix), 0.0, H_diagonal=np.diag(matrix)),
            "callable": lambda: numeric.Problem(G, SIGMA, lambda x: matrix @ x, 0.0, H_diagonal=np.diag(matrix)),
            "scipy.sparse": lambda: numeric.Problem(G, SIGMA, csr_matrix(matrix), 0.0)}


def with_eps(problem, eps):
    return numeric.Problem(problem.g, problem.sigma, problem.H, eps, H_diagonal=problem.H_diagonal)


@pytest.mark.parametrize("eps", EPSES)
@pytest.mark.parametrize("form", ["LinearOperator", "matvec object", "callable", "scipy.sparse"])
def test_operator_gives_the_dense_answer(form, eps):
    dense = numeric.Problem(G, SIGMA, H, eps)
    operator = with_eps(operator_forms(H)[form](), eps)
    assert operator.dense is None and operator.matvec is not None
    for model in numeric.MODELS:
        expected = numeric.eta_star(BATCHES, dense, model=model)
        np.testing.assert_allclose(numeric.eta_star(BATCHES, operator, model=model), expected, rtol=1e-13, err_msg=model)
        np.testing.assert_allclose(numeric.loss_decrease(BATCHES, operator, model=model),
                                   numeric.loss_decrease(BATCHES, dense, model=model), rtol=1e-13, err_msg=model)
    np.testing.assert_allclose(numeric.eta_star_sgd(BATCHES[:-1], operator), numeric.eta_star_sgd(BATCHES[:-1], dense),
                               rtol=1e-13)


def test_a_wrong_operator_gives_a_different_answer():
    """Negative control: the operator is really used (a perturbed H changes eta*)."""
    dense = numeric.Problem(G, SIGMA, H, 0.05)
    other = numeric.Problem(G, SIGMA, lambda x: (H + 0.1 * np.ones((N, N))) @ x, 0.05, H_diagonal=np.diag(H) + 0.1)
    assert not np.allclose(numeric.eta_star(BATCHES, other, model="exact"), numeric.eta_star(BATCHES, dense, model="exact"),
                           rtol=1e-3)


def test_diagonal_operator_equals_the_diagonal_bit_for_bit_in_the_mean_field():
    diagonal = np.diag(H).copy()
    plain = numeric.Problem(G, SIGMA, diagonal, 0.05)
    operator = numeric.Problem(G, SIGMA, lambda x: diagonal * x, 0.05, H_diagonal=diagonal)
    assert (plain.G_nu, plain.T_H, plain.B_simple) == (operator.G_nu, operator.T_H, operator.B_simple)
    np.testing.assert_allclose(operator.S_nu, plain.S_nu, rtol=1e-15)


class NeedsDense(numeric.Model):
    """A toy model that reads the dense matrix, so it refuses an operator."""

    name, doc, options, operator_support = "needs_dense", "a toy reading problem.dense", {}, False

    def eta_star(self, problem, B, options):
        return np.full(np.shape(B), float(problem.G_nu / np.trace(problem.dense)))


def test_a_model_that_needs_the_matrix_refuses_an_operator():
    numeric.register_model(NeedsDense())
    try:
        dense = numeric.Problem(G, SIGMA, H, 0.1)
        assert numeric.eta_star(16, dense, model="needs_dense") > 0
        operator = numeric.Problem(G, SIGMA, aslinearoperator(H), 0.1, H_diagonal=np.diag(H))
        with pytest.raises(ValueError, match="model 'needs_dense' needs H as an array .* not an operator; models that"):
            numeric.eta_star(16, operator, model="needs_dense")
        with pytest.raises(ValueError, match="not an operator"):
            numeric.surge_peak(operator, model="needs_dense")
    finally:
        numeric.unregister_model("needs_dense")


def test_one_matvec_per_batch_size_and_no_matrix_formed():
    op = MatvecOnly(H)
    problem = numeric.Problem(G, SIGMA, op, 0.05, H_diagonal=np.diag(H))
    numeric.eta_star(BATCHES, problem, model="exact")
    assert op.calls == BATCHES.size  # m^T H m, one per batch size (B = oo included)
    op.calls = 0
    numeric.eta_star(BATCHES, problem, model="mean_field")
    assert op.calls == 1  # nu^T H nu, once (cached on the Problem)


@pytest.mark.parametrize("build, message", [
    (lambda: numeric.Problem(G, SIGMA, aslinearoperator(H), 0.1), "give its diagonal too, as H_diagonal="),
    (lambda: numeric.Problem(G, SIGMA, lambda x: H @ x, 0.1), "H_diagonal"),
    (lambda: numeric.Problem(G, SIGMA, aslinearoperator(H[:-1, :-1]), 0.1, H_diagonal=np.diag(H)[:-1]),
     r"H \(an operator\) has shape \(39, 39\) but g has length 40"),
    (lambda: numeric.Problem(G, SIGMA, aslinearoperator(H), 0.1, H_diagonal=np.diag(H)[:-1]),
     "H_diagonal has length 39 but g has length 40"),
    (lambda: numeric.Problem(G, SIGMA, aslinearoperator(H), 0.1, H_diagonal=np.r_[np.diag(H)[:-1], np.nan]),
     "H_diagonal contains NaN"),
    (lambda: numeric.Problem(G, SIGMA, aslinearoperator(H), 0.1, H_diagonal=-np.diag(H)),
     "H is not positive definite: its diagonal \\(H_diagonal\\) has an entry <= 0"),
    (lambda: numeric.Problem(G, SIGMA, H, 0.1, H_diagonal=np.diag(H)), "H_diagonal is only for an operator H"),
    (lambda: numeric.Problem(G, SIGMA, np.diag(H).copy(), 0.1, H_diagonal=np.diag(H)), "H_diagonal is only for"),
])
def test_bad_operator_inputs_are_one_line_errors(build, message):
    with pytest.raises(ValueError, match=message) as error:
        build()
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("matvec, message", [
    (lambda x: np.full(N, np.nan), "H's matvec returned NaN or inf"),
    (lambda x: np.ones(N - 1), r"H's matvec returned shape \(39,\) for a length-40 vector"),
    (lambda x: "not numbers", "H's matvec"),
])
def test_bad_matvec_output_is_a_one_line_error(matvec, message):
    problem = numeric.Problem(G, SIGMA, matvec, 0.1, H_diagonal=np.diag(H))
    with pytest.raises(ValueError, match=message) as error:
        numeric.eta_star(BATCHES, problem, model="anchored")
    assert "\n" not in str(error.value)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 7 components (so N = 40 spans 6 blocks); copies above n = 16 are avoided."""
    monkeypatch.setattr(problem_module, "WIDTH", 7)
    monkeypatch.setattr(models_module, "WIDTH", 7)
    monkeypatch.setattr(problem_module, "COPY_LIMIT", 16)


@pytest.mark.parametrize("eps", EPSES)
def test_blocked_equals_unblocked(eps, small_blocks):
    diagonal = np.diag(H).copy()
    for H_form in (diagonal, H):
        blocked = numeric.Problem(G, SIGMA, H_form, eps)
        with pytest.MonkeyPatch.context() as patch:  # one block: the previous, unblocked sums
            patch.setattr(problem_module, "WIDTH", 1 << 16)
            patch.setattr(models_module, "WIDTH", 1 << 16)
            whole = numeric.Problem(G, SIGMA, H_form, eps)
            expected = {m: numeric.eta_star(BATCHES, whole, model=m) for m in numeric.MODELS}
            aggregates = (whole.G_nu, whole.S_nu, whole.T_H, whole.B_simple, whole.kappa2_averages(), whole.sgd_terms)
        for model in numeric.MODELS:
            np.testing.assert_allclose(numeric.eta_star(BATCHES, blocked, model=model), expected[model], rtol=1e-14,
                                       err_msg=model)
        assert blocked.kappa2_averages() == pytest.approx(aggregates[4], rel=1e-14)
        np.testing.assert_allclose([blocked.G_nu, blocked.S_nu, blocked.T_H, blocked.B_simple, *blocked.sgd_terms],
                                   [*aggregates[:4], *aggregates[5]], rtol=1e-14)


def test_float32_inputs_are_computed_in_float64():
    g32, s32, h32 = G.astype(np.float32), SIGMA.astype(np.float32), np.diag(H).astype(np.float32)
    from32 = numeric.Problem(g32, s32, h32, 0.05)
    from64 = numeric.Problem(g32.astype(float), s32.astype(float), h32.astype(float), 0.05)
    for model in numeric.MODELS:  # the float32 values, exactly widened: the same bits as float64 input
        assert numeric.eta_star(BATCHES, from32, model=model).tolist() == \
            numeric.eta_star(BATCHES, from64, model=model).tolist(), model


def test_float32_large_inputs_are_kept_and_read_in_float64_blocks(small_blocks):
    g32, s32, h32 = G.astype(np.float32), SIGMA.astype(np.float32), np.diag(H).astype(np.float32)
    kept = numeric.Problem(g32, s32, h32, 0.05)
    assert kept.g.dtype == np.float32 and np.shares_memory(kept.g, g32)  # not copied
    reference = numeric.Problem(g32.astype(float), s32.astype(float), h32.astype(float), 0.05)
    for model in ("anchored", "mean_field", "averaged", "clip"):
        np.testing.assert_allclose(numeric.eta_star(BATCHES, kept, model=model),
                                   numeric.eta_star(BATCHES, reference, model=model), rtol=1e-14, err_msg=model)


def test_memory_mapped_inputs_are_never_copied(tmp_path):
    paths = {}
    for name, values in (("g", G), ("sigma", SIGMA), ("h", np.diag(H))):
        paths[name] = tmp_path / f"{name}.npy"
        np.save(paths[name], values.astype(np.float32))
    mapped = {name: np.load(path, mmap_mode="r") for name, path in paths.items()}
    problem = numeric.Problem(mapped["g"], mapped["sigma"], mapped["h"], 0.05)
    for name, array in (("g", problem.g), ("sigma", problem.sigma), ("h", problem.diagonal)):
        assert np.shares_memory(array, mapped[name]) and not array.flags.writeable, name
    reference = numeric.Problem(G.astype(np.float32).astype(float), SIGMA.astype(np.float32).astype(float),
                                np.diag(H).astype(np.float32).astype(float), 0.05)
    for model in numeric.MODELS:
        np.testing.assert_allclose(numeric.eta_star(BATCHES, problem, model=model),
                                   numeric.eta_star(BATCHES, reference, model=model), rtol=1e-14, err_msg=model)


class TensorLike:
    """What the conversion needs of a torch tensor: .detach().cpu().numpy() (torch is not imported)."""

    def __init__(self, values):
        self.values = np.asarray(values, dtype=np.float32)

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.values


def test_tensor_like_inputs_are_converted():
    problem = numeric.Problem(TensorLike(G), TensorLike(SIGMA), TensorLike(np.diag(H)), 0.05)
    reference = numeric.Problem(G.astype(np.float32), SIGMA.astype(np.float32), np.diag(H).astype(np.float32), 0.05)
    assert numeric.eta_star(BATCHES, problem).tolist() == numeric.eta_star(BATCHES, reference).tolist()


def test_import_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, softsign_scaling, softsign_scaling.numeric; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_dense_pd_check_is_cached_and_can_be_skipped(monkeypatch):
    factorised = []
    real_cholesky = np.linalg.cholesky
    monkeypatch.setattr(np.linalg, "cholesky", lambda x: factorised.append(x.shape) or real_cholesky(x))
    problem_module._VERIFIED_PD.clear()
    numeric.Problem(G, SIGMA, H, 0.1)  # H is not diagonally dominant: factorised once
    numeric.Problem(G, SIGMA, H.copy(), 0.1)  # the same bytes: cached
    numeric.Problem(G, SIGMA, H, 0.1, check_pd=False)
    assert factorised == [(N, N)]
    numeric.Problem(G, SIGMA, np.diag(np.diag(H)) + 0.01, 0.1)  # diagonally dominant: Gershgorin, no factorisation
    assert factorised == [(N, N)]
    changed = H.copy()
    changed[0, 0] += 1.0
    numeric.Problem(G, SIGMA, changed, 0.1)  # other bytes: factorised again
    assert len(factorised) == 2
    with pytest.raises(ValueError, match="not positive definite"):  # negative control: the check still runs
        numeric.Problem(G, SIGMA, H - 2 * np.eye(N) * np.abs(np.linalg.eigvalsh(H)).max(), 0.1)
    skipped = numeric.Problem(G, SIGMA, -H, 0.1, check_pd=False)  # the opt-out really skips it
    assert skipped.dense is not None


def test_fused_anchored_moments_are_the_separate_ones_bit_for_bit():
    from softsign_scaling.numeric import anchored_fast as _anchored

    rng = np.random.default_rng(77)
    a = rng.choice([-1.0, 1.0], 20000) * 10.0 ** rng.uniform(-12, 4, 20000)
    b = 10.0 ** rng.uniform(-12, 8, 20000)
    b[:50], b[50:100], b[100:150], a[150:200] = 0.0, 10.0, np.nextafter(10.0, 0.0), 0.0  # the switch and the edges
    mean, variance = _anchored.moments_anchored(a, b)
    assert np.array_equal(mean, _anchored.mean_anchored(a, b)) and np.array_equal(variance, _anchored.variance_anchored(a, b))


# --------------------------------------------------------------------------------------------
# surge_peak: every interior local maximum.

def two_peaks(eta):
    """A registered toy model whose eta*(B) has two interior local maxima (B = 10 and 10^4) and a dip between."""
    limit = 1.0

    def eta_star(problem, B, options):
        x = np.log10(np.asarray(B, dtype=float))
        with np.errstate(invalid="ignore"):
            bumps = 1.5 * np.exp(-((x - 1.0) / 0.5) ** 2) + 0.3 * np.exp(-((x - 4.0) / 0.5) ** 2)
            rise = limit * (1 - np.exp(-np.asarray(B, dtype=float) / 1e6))  # -> limit as B -> oo
        return np.where(np.isinf(B), limit, rise + bumps)

    return eta_star


class TwoPeaks(numeric.Model):
    name, doc, options = "two_peaks", "a toy with two peaks", {}

    def eta_star(self, problem, B, options):
        return two_peaks(None)(problem, B, options)


@pytest.fixture
def two_peak_model():
    numeric.register_model(TwoPeaks())
    yield "two_peaks"
    numeric.unregister_model("two_peaks")


def test_surge_peak_finds_every_local_maximum(two_peak_model):
    problem = numeric.Problem([1.0, 1.0], [1.0, 1.0], [1.0, 1.0], 0.0)  # B_simple = 1: the grid spans e^+-25
    found = numeric.surge_peak(problem, model=two_peak_model)
    assert [peak.B for peak in found.peaks] == pytest.approx([10.0, 1e4], rel=0.05)
    eta = TwoPeaks().eta_star
    for B, height in found.peaks:  # each is a local maximum, and its height is eta* there
        assert height == pytest.approx(eta(problem, np.array([B]), {})[0], rel=1e-12)
        assert (eta(problem, B * np.array([0.999, 1.001]), {}) < height).all()
    assert found.peaks[0].eta_star > found.limit > found.peaks[1].eta_star  # the second lies below eta*(oo)
    assert float(found) == found.peaks[0].B == found.first  # the float: the surge above eta*(oo)


def test_surge_peak_is_still_a_float():
    p = numeric.Problem([1.0, 1.0, 1.0], [1.0] * 3, [[1, .9, .9], [.9, 1, .9], [.9, .9, 1]], 0.0)
    found = numeric.surge_peak(p, model="mean_field")
    assert isinstance(found, float) and repr(found) == repr(float(found))
    assert len(found.peaks) == 1 and found.peaks[0].B == float(found)
    import pickle

    again = pickle.loads(pickle.dumps(found))
    assert float(again) == float(found) and again.peaks == found.peaks


def test_the_atlas_dip_at_b17_is_reported():
    """The atlas's "without surge", eps = 0 problem: exact eta* rises to B ~ 17, dips about 2%, then rises to a
    higher limit.  Reported as a local maximum below the limit (the float stays inf: no surge above eta*(oo))."""
    from softsign_scaling.atlas.surge import CASES, problem

    seed, n, rho, coupling = CASES["without surge"]
    p = problem(seed, n, rho, 0.0, coupling).problem
    found = numeric.surge_peak(p, model="exact")
    assert math.isinf(found) and len(found.peaks) == 1
    B, eta = found.peaks[0]
    assert 16.0 < B < 18.5 and eta < found.limit
    around = numeric.eta_star(B * np.array([0.9, 1.0, 1.1]), p, model="exact")
    assert around[1] > around[0] and around[1] > around[2]
    later = numeric.eta_star(np.geomspace(B * 1.5, B * 1e3, 30), p, model="exact")
    assert later.min() < eta * 0.99  # the dip
    assert numeric.surge_peak(p, model="anchored").peaks == ()  # anchored has no such dip: increasing


def test_every_reported_peak_is_a_local_maximum():
    """A diagonal H: no mean-field surge (S_nu <= T_H); the exact model overshoots its limit slightly here
    (eta* 1.5099 at B ~ 6.67 against 1.5056 at B = oo), and each reported peak is a local maximum."""
    p = numeric.Problem([1.0, 2.0], [1.0, 1.0], [1.0, 1.0], 0.1)
    for model in ("mean_field", "mean_field_bsimple"):
        assert numeric.surge_peak(p, model=model).peaks == (), model
    found = numeric.surge_peak(p, model="exact")
    assert [round(peak.B, 2) for peak in found.peaks] == [6.67] and float(found) == found.peaks[0].B
    for model in ("exact", "anchored", "clip", "approx"):
        for B, height in numeric.surge_peak(p, model=model).peaks:
            assert (numeric.eta_star(B * np.array([0.999, 1.001]), p, model=model) < height).all(), model


@pytest.mark.parametrize("eps", EPSES)
def test_threads_give_the_same_bits(eps, small_blocks, monkeypatch):
    """Blocks run on threads (_threads.THREADS) and are summed in block order: 1 thread and 3 give the same bits,
    for the diagonal and the dense H (the dense path writes disjoint columns of one row from each thread)."""
    for H_form in (np.diag(H).copy(), H):
        problem = numeric.Problem(G, SIGMA, H_form, eps)
        results = {}
        for threads in (1, 3):
            monkeypatch.setattr(_threads, "THREADS", threads)
            results[threads] = {m: numeric.eta_star(BATCHES, problem, model=m).tolist() for m in numeric.MODELS}
        assert results[1] == results[3]


def test_the_thread_count_is_the_one_in_force(monkeypatch):
    """The comparison above is not of 2 threads with 2: THREADS = 1 runs every block on the calling thread, 3 on
    workers, and a block run on a worker runs its own blocks serially (no nested pool)."""
    import threading

    def names(spans):
        return {threading.current_thread().name for _ in _threads.in_order(lambda span: span, spans)} | set(
            _threads.in_order(lambda span: threading.current_thread().name, spans))

    monkeypatch.setattr(_threads, "THREADS", 1)
    assert names(range(6)) == {threading.current_thread().name}
    monkeypatch.setattr(_threads, "THREADS", 3)
    workers = set(_threads.in_order(lambda span: threading.current_thread().name, range(6)))
    assert threading.current_thread().name not in workers and 1 <= len(workers) <= 3
    nested = list(_threads.in_order(lambda span: set(_threads.in_order(
        lambda inner: threading.current_thread().name, range(4))), range(2)))
    assert all(len(inner) == 1 for inner in nested)  # each worker ran its inner blocks itself


def hidden_bump(problem, B, options):
    """A toy eta*(B): a slow rise 2 + tanh(log B / 20) to 3, with a bump 0.06 exp(-(log B/0.7)^2) at B = 1 that makes a
    rise and a dip there, midway between two points of surge_peak's coarse grid (log B odd for B_simple = 1)."""
    x = np.log(np.asarray(B, dtype=float))
    with np.errstate(invalid="ignore"):
        value = 2.0 + np.tanh(x / 20.0) + 0.06 * np.exp(-((x / 0.7) ** 2))
    return np.where(np.isinf(B), 3.0, value)


class HiddenBump(numeric.Model):
    name, doc, options = "hidden_bump", "a toy with a peak between coarse grid points", {}

    def eta_star(self, problem, B, options):
        return hidden_bump(problem, B, options)


def test_surge_peak_refines_where_a_peak_can_hide():
    """The coarse grid (spacing 2 in log B) shows no maximum here (the negative control), only a turn from concave to
    convex; its midpoints find the peak near B = 1 and Brent places it."""
    numeric.register_model(HiddenBump())
    try:
        problem = numeric.Problem([1.0, 1.0], [1.0, 1.0], [1.0, 1.0], 0.0)  # B_simple = 1
        coarse = np.arange(-25.0, 26.0, 2.0)
        values = hidden_bump(problem, np.exp(coarse), {})
        assert not ((values[1:-1] > values[:-2]) & (values[1:-1] >= values[2:])).any()  # no coarse maximum
        found = numeric.surge_peak(problem, model="hidden_bump")
        fine = np.linspace(-1.0, 1.0, 20001)
        top = fine[np.argmax(hidden_bump(problem, np.exp(fine), {}))]  # log B = 0.22: the rise shifts the bump's top
        assert len(found.peaks) == 1 and math.log(found.peaks[0].B) == pytest.approx(top, abs=1e-3)
        assert math.isinf(found) and found.peaks[0].eta_star < found.limit
    finally:
        numeric.unregister_model("hidden_bump")


@pytest.mark.parametrize("model", ["exact", "anchored", "clip", "approx"])
def test_surge_peak_agrees_with_a_dense_grid(model):
    """On the atlas's surge problems and seeded random ones: every local maximum of eta* on a dense grid (spacing 0.01
    in log B over surge_peak's range) that stands out by 1e-9 is reported (B within the grid spacing) and nothing
    else is; with at most 45 + 10 per peak evaluations of eta* (the previous search: 52 + ~13 per peak)."""
    from scipy.signal import find_peaks

    from softsign_scaling.atlas.surge import CASES, problem as atlas_problem

    cases = [atlas_problem(seed, n, rho, eps, coupling).problem
             for seed, n, rho, coupling in CASES.values() for eps in (0.0, 0.3, 3.0)]
    rng = np.random.default_rng(20261129)
    for _ in range(4):
        n = 12
        A = rng.standard_normal((n, n)) * rng.uniform(0.1, 1.0)
        cases.append(numeric.Problem(rng.standard_normal(n), rng.uniform(0.3, 2.0, n), A @ A.T / n + np.eye(n),
                                     float(rng.choice([0.0, 0.1, 1.0]))))
    chosen = numeric.get_model(model)
    for problem in cases:
        count = [0]

        def eta(B, problem=problem):
            count[0] += np.size(B)
            return chosen.eta_star(problem, B, {})

        found = models_module._numeric_peaks(eta, problem)
        assert count[0] <= 45 + 10 * len(found.peaks), (count[0], found.peaks)
        scale = math.log(problem.B_simple)
        x = np.arange(scale - 25.0, scale + 25.0, 0.01)
        dense = chosen.eta_star(problem, np.exp(x), {})
        at, _ = find_peaks(dense, prominence=1e-9 * dense.max())
        assert len(found.peaks) == len(at), (model, [p.B for p in found.peaks], np.exp(x[at]))
        for peak, k in zip(found.peaks, at):
            assert abs(math.log(peak.B) - x[k]) <= 0.011
            assert peak.eta_star >= dense[k] * (1 - 1e-12)  # Brent's maximum is at least the grid's
