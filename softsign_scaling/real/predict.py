"""eta*(B, eps) of a real model from its :class:`~.statsfile.Statistics`, under every registered model.

The models of :mod:`softsign_scaling.numeric` read a problem only through g, sigma, eps, the placement,
beta1, diag H and quadratic forms m^T H m.  :func:`problem_of` builds that problem from the statistics
with H as an operator: ``H="sketch"`` (from the file: U diag(lambda) U^T + diag(d), d making the diagonal
equal to the Hutchinson diag H; exact on the sketch's span and on the diagonal, without the residual's
off-diagonal part), or a function v -> H v (exact Hessian-vector products, one per quadratic form:
:func:`.collect.collect` leaves it in ``stats.extra["hvp"]``).  Components with g_i = 0 and sigma_i = 0
(no gradient at all, e.g. a dead unit) get a zero update from every optimizer and are left out.

Regimes (per component, b = eps sqrt(B)/sigma_i): b < 0.1 "SignSGD-like" (eps negligible against the
noise), b > 10 "SGD-like" (the update is ~ g~/eps, linear), 0.1 .. 10 in between; :func:`regime_shares`
gives each parameter group's shares.

Error bars: :func:`prediction` with ``resamples=R`` redraws g, sigma^2 and diag H from normal
distributions with the statistics' standard errors (a parametric bootstrap) and recomputes eta* with the
sketch; the band is the basic bootstrap interval on the log scale, eta/q97.5 .. eta/q2.5 with q the
resampled-to-central ratio (the plug-in eta* is biased where |g_i| is comparable to its standard error
sigma_i/sqrt(N): the noise in g looks like signal, and the basic interval corrects that bias to first order), and
its centre eta/median(q) (``ModelPrediction.centre``, what ``predict`` prints), which the band always contains.
With a noise sketch each resample also redraws the sketch's k examples (a bootstrap), so the band carries the
sketch's 1/sqrt(k) error.

The "correlated" model (numeric/correlated.py) reads the file's noise sketch (``Statistics.noise``); a file
without one refuses it with a one-line reason naming what to re-collect.  :data:`RECOMMENDED` picks the column
``predict`` marks, :data:`MEASURED_ERROR` the caveat it prints, :func:`skew_checks` the small-B non-Gaussian
check (the skewness's first Edgeworth term, and at B = 1 the per-example signs).  The sketch's own bias (the residual's off-diagonal part) is not in the band: compare
``H="sketch"`` with exact HVPs (docs/real-model.md does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .statsfile import Statistics

REGIMES = ("SignSGD-like (b < 0.1)", "between (0.1 <= b <= 10)", "SGD-like (b > 10)")
REGIME_EDGES = (0.1, 10.0)

RECOMMENDED = ("correlated", "exact")  # the first of these that gives a value is the recommended column

# The measured error of a prediction on a real network: model -> ((B, median predicted/measured, 10% quantile, 90%
# quantile), ...), the rows pooled in four batch-size bins (B = 1-2, 4-16, 32-128, 256-1024).  From the held-out
# validation, docs/real-model.json (issue 22 item 4: digits MLP, digits CNN, a character transformer, a
# teacher-student MLP; 3 checkpoints each, eps 1e-8 .. 1e-2, placement outside; statistics on training examples,
# the optimum of one real torch Adam step on a separate population; rows where that step ascends left out):
# "correlated" from its own column correlated[outside] (the registered model from the file alone: its grouped noise
# sketch of 256 training examples and the file's H sketch), "exact" from exact[outside].
# real/report.py regenerates the json; update these numbers with it.
MEASURED_ERROR = {
    "correlated": ((1, 1.3, 0.43, 2.5), (8, 1.1, 0.58, 2.0), (64, 1.1, 0.67, 1.6), (512, 1.1, 0.70, 1.7)),
    "exact": ((1, 15.0, 4.9, 49.0), (8, 12.0, 3.8, 36.0), (64, 4.2, 1.9, 10.0), (512, 1.9, 1.2, 3.8)),
}
MEASURED_WHERE = "4 small networks held out, 10-90% of rows, docs/real-model.md"


def caveat(model: str, batch) -> str:
    """One line: the measured predicted/measured factor of ``model`` at the measured batch sizes nearest to ``batch``
    (in log B), or that it was not measured on a real network."""
    rows = MEASURED_ERROR.get(model)
    if rows is None:
        return f"caveat: {model} was not measured against real networks (measured: {', '.join(MEASURED_ERROR)})"
    finite = [float(B) for B in np.asarray(batch, dtype=float).reshape(-1) if math.isfinite(B)]
    nearest = sorted({min(rows, key=lambda r: abs(math.log(r[0]) - math.log(B))) for B in finite})
    parts = [f"B ~ {B:g}: x{median:.2g} ({low:.2g}..{high:.2g})" for B, median, low, high in nearest]
    return (f"caveat: {model}'s eta* was measured at predicted/measured " + ", ".join(parts)
            + f" ({MEASURED_WHERE}): divide by the factor for your B")


def _numeric():
    from .. import numeric

    return numeric


def _kept(stats: Statistics) -> np.ndarray:
    return (stats.sigma2 > 0) | (stats.g != 0)


def problem_of(stats: Statistics, eps: float, *, placement: str = "inside", beta1: float = 0.0, H="sketch",
               g=None, sigma2=None, diag_H=None, noise="sketch"):
    """A ``numeric.Problem`` whose H is the statistics' operator (see the module docstring); its noise covariance
    (``noise=``, for the "correlated" model) is the file's noise sketch when it has one (``noise=None``: none)."""
    numeric = _numeric()
    kept = _kept(stats)
    if not kept.any():
        raise ValueError("every component has g = 0 and sigma = 0: nothing to predict")
    g = stats.g if g is None else g
    sigma2 = stats.sigma2 if sigma2 is None else sigma2
    diag = stats.diag_H if diag_H is None else diag_H
    sigma = np.sqrt(sigma2[kept])
    floor = 1e-12 * max(float(sigma.max()), 1e-300)  # sigma_i = 0 with g_i != 0: a deterministic component
    sigma = np.maximum(sigma, floor)
    if isinstance(noise, str):
        noise = stats.noise(kept) if stats.has_noise_sketch else None
    if "H_diagonal" in getattr(numeric.Problem, "__dataclass_fields__", {}):
        return _operator_problem(numeric, stats, kept, g[kept], sigma, diag, eps, placement, beta1, H, noise)
    # A Problem validated on a stand-in diagonal; then H's diagonal and quadratic form are the operator's.
    base = numeric.Problem(g[kept], sigma, np.ones(int(kept.sum())), eps, placement=placement, beta1=beta1)
    if isinstance(H, str):
        if H != "sketch":
            raise ValueError(f"H must be 'sketch' or a function v -> H v, not {H!r}")
        quadratic = _sketch_quadratic(stats, kept, diag)
    elif callable(H):
        quadratic = _hvp_quadratic(H, kept)
    else:
        raise ValueError("H must be 'sketch' or a function v -> H v")
    return _OperatorProblem.wrap(base, diag[kept], quadratic)


def _operator_problem(numeric, stats, kept, g, sigma, diag, eps, placement, beta1, H, noise=None):
    """The same problem through numeric.Problem's operator interface (H a matvec, with H_diagonal), where it exists.

    That interface requires diag H > 0; an estimated diagonal entry <= 0 (negative curvature, or Hutchinson
    noise around a small entry) is raised to 1e-12 times the largest, which drops it from sum_i v_i H_ii."""
    diagonal = diag[kept]
    floor = 1e-12 * max(float(np.abs(diagonal).max()), 1e-300)
    diagonal = np.maximum(diagonal, floor)
    if isinstance(H, str):
        if H != "sketch":
            raise ValueError(f"H must be 'sketch' or a function v -> H v, not {H!r}")
        U, lam = (stats.sketch_vectors if kept.all() else stats.sketch_vectors[kept]), stats.sketch_values
        rest = diagonal - (U * U) @ lam

        def matvec(v):
            v = np.asarray(v, dtype=float).reshape(-1)
            return U @ (lam * (U.T @ v)) + rest * v
    elif callable(H):
        def matvec(v):
            full = np.zeros(kept.size)
            full[kept] = np.asarray(v, dtype=float).reshape(-1)
            return np.asarray(H(full), dtype=float)[kept]
    else:
        raise ValueError("H must be 'sketch' or a function v -> H v")
    return numeric.Problem(g, sigma, H=matvec, H_diagonal=diagonal, eps=eps, placement=placement, beta1=beta1,
                           noise=noise)


def _sketch_quadratic(stats: Statistics, kept: np.ndarray, diag: np.ndarray):
    U = stats.sketch_vectors[kept]
    lam = stats.sketch_values
    d = diag[kept] - (U * U) @ lam

    def quadratic(rows: np.ndarray) -> np.ndarray:
        projected = rows @ U
        return (projected * projected) @ lam + (rows * rows) @ d

    return quadratic


def _hvp_quadratic(hvp, kept: np.ndarray):
    def quadratic(rows: np.ndarray) -> np.ndarray:
        out = np.empty(rows.shape[0])
        full = np.zeros(kept.size)
        for k, row in enumerate(rows):
            full[kept] = row
            out[k] = float(full @ np.asarray(hvp(full), dtype=float))
        return out

    return quadratic


def _operator_class():
    numeric = _numeric()

    class OperatorProblem(numeric.Problem):
        """A Problem whose quadratic form m^T H m and diag H come from an operator (never a matrix)."""

        @classmethod
        def wrap(cls, base, diagonal, quadratic):
            new = object.__new__(cls)
            for name in ("g", "sigma", "eps", "placement", "beta1"):
                object.__setattr__(new, name, getattr(base, name))
            diagonal = np.array(diagonal, dtype=float)
            diagonal.setflags(write=False)
            object.__setattr__(new, "H", diagonal)
            object.__setattr__(new, "diagonal", diagonal)
            object.__setattr__(new, "dense", None)
            object.__setattr__(new, "_quadratic", quadratic)
            return new

        def quadratic(self, m):
            m = np.asarray(m, dtype=float)
            rows = m.reshape(-1, self.n)
            out = np.asarray(self._quadratic(rows), dtype=float)
            return out.reshape(m.shape[:-1]) if m.ndim > 1 else float(out[0])

        def rescaled(self, c):
            raise NotImplementedError("an operator problem is not rescaled")

    return OperatorProblem


class _OperatorProblem:
    _cls = None

    @classmethod
    def wrap(cls, base, diagonal, quadratic):
        if cls._cls is None:
            cls._cls = _operator_class()
        return cls._cls.wrap(base, diagonal, quadratic)


def regime_shares(stats: Statistics, eps: float, B: float) -> dict[str, tuple[float, float, float]]:
    """Per parameter group, the shares of its noisy components (sigma_i > 0) with b = eps sqrt(B)/sigma_i in each
    of :data:`REGIMES`; "all" for the whole model.  Components with sigma_i = 0 (no per-example gradient at all,
    e.g. weights of an always-zero input pixel) belong to no regime and are left out; a layer without noisy
    components gets shares (nan, nan, nan)."""
    out = {}
    sigma = np.sqrt(stats.sigma2)
    noisy = sigma > 0
    b = eps * math.sqrt(B) / np.where(noisy, sigma, 1.0)
    low, high = REGIME_EDGES
    for name, part in [*stats.layers(), ("all", slice(0, stats.n))]:
        values = b[part][noisy[part]]
        if values.size == 0:
            out[name] = (math.nan, math.nan, math.nan)
            continue
        shares = (np.mean(values < low), np.mean((values >= low) & (values <= high)), np.mean(values > high))
        out[name] = tuple(float(s) for s in shares)
    return out


@dataclass(frozen=True)
class ModelPrediction:
    model: str
    eta: np.ndarray          # eta*(B), one per batch size: the plug-in value
    low: np.ndarray | None   # the band (2.5% .. 97.5% of the resamples), or None without resamples
    high: np.ndarray | None
    centre: np.ndarray       # the bias-corrected centre eta/median(ratio), inside the band (eta without resamples)
    surge: tuple[float, ...]  # batch sizes of the local maxima of eta*(B) inside the batch range (empty: none)
    decrease: np.ndarray     # the expected loss decrease at eta* (E-5)


@dataclass(frozen=True)
class Prediction:
    batch: np.ndarray
    eps: float
    placement: str
    beta1: float
    models: dict[str, ModelPrediction]
    refused: dict[str, str]
    regimes: dict[float, dict[str, tuple[float, float, float]]]
    recommended: str | None = None  # the first of RECOMMENDED with a value
    skew: dict = None  # B -> SkewCheck (statistics with skewness only)


@dataclass(frozen=True)
class SkewCheck:
    """The small-B non-Gaussian check at one batch size: the numerator sum_i g_i m_i of eta* under Gaussian noise,
    with the first Edgeworth term of the measured per-example skewness, and (B = 1, SignSGD-like) the exact
    sum_i g_i E[sign(x_i)] from the per-example signs.  ``ascends``: the skew-aware numerator <= 0 (the real step
    ascends in expectation: no learning rate helps)."""

    B: float
    gaussian: float
    skewed: float
    sign_test: float | None

    @property
    def ascends(self) -> bool:
        return (self.sign_test if self.sign_test is not None else self.skewed) <= 0

    @property
    def factor(self) -> float:
        """The skew-aware numerator over the Gaussian one (the per-example signs' where they are known: B = 1,
        SignSGD-like); eta* scales with it to first order (the denominator is the Gaussian one)."""
        value = self.sign_test if self.sign_test is not None else self.skewed
        return value / self.gaussian if self.gaussian else math.inf


def skew_checks(stats: Statistics, eps: float, batch, placement: str, problem=None) -> dict[float, SkewCheck]:
    """:class:`SkewCheck` per finite batch size (empty without the per-example skewness in the file).  ``problem``:
    :func:`problem_of` the same statistics, eps and placement, if the caller has it (only g, sigma and eps are read)."""
    if stats.skewness is None:
        return {}
    numeric = _numeric()
    from ..numeric.correlated import skewed_numerator

    if problem is None or problem.eps != eps or problem.placement != placement:
        problem = problem_of(stats, eps, placement=placement, noise=None)
    kept = _kept(stats)
    mean = numeric.get_model("correlated").mean_function(problem)
    out = {}
    for B in batch:
        if not math.isfinite(B):
            continue
        gaussian, skewed = skewed_numerator(problem, float(B), stats.skewness[kept], mean)
        sign_test = None
        if B == 1 and stats.sign_mean is not None:
            shares = regime_shares(stats, eps, 1.0)["all"]
            if shares[0] >= 0.9:  # SignSGD-like: u = sign(x_e) for one example, its mean is the file's
                sign_test = float(stats.g @ stats.sign_mean)
        out[float(B)] = SkewCheck(float(B), gaussian, skewed, sign_test)
    return out


def surge_peaks(eta, batch: np.ndarray, per_octave: int = 4) -> tuple[float, ...]:
    """Every local maximum of eta*(B) strictly inside [min B, max B] (finite B), on a log grid of ``per_octave``
    points per doubling, refined by the parabola through the grid maximum and its neighbours in log B.

    The registry's ``numeric.surge_peak`` searches all B > 0 on 401 points, which costs minutes for the exact
    model at n ~ 1e4 components; this searches the range asked about, at 4 points per octave."""
    finite = batch[np.isfinite(batch)]
    if finite.size < 2 or finite.min() == finite.max():
        return ()
    log2 = np.log2([finite.min(), finite.max()])
    grid = 2.0 ** np.linspace(log2[0], log2[1], max(3, int(round((log2[1] - log2[0]) * per_octave)) + 1))
    values = np.asarray(eta(grid), dtype=float)
    peaks = []
    for k in range(1, grid.size - 1):
        if values[k] > values[k - 1] and values[k] >= values[k + 1]:
            x0, x1, x2 = np.log(grid[k - 1:k + 2])
            y0, y1, y2 = values[k - 1:k + 2]
            curvature = y0 - 2 * y1 + y2
            shift = 0.5 * (y0 - y2) / curvature if curvature < 0 else 0.0
            peaks.append(float(math.exp(x1 + shift * (x1 - x0))))
    return tuple(peaks)


def applicable_models(placement: str, beta1: float) -> tuple[tuple[str, ...], dict[str, str]]:
    """The registered models that accept this placement and beta1, and the others' reasons."""
    numeric = _numeric()
    names, refused = [], {}
    for name in numeric.MODELS:
        model = numeric.get_model(name)
        if placement not in getattr(model, "placements", ("inside",)):
            refused[name] = f"does not support placement={placement!r}"
        elif beta1 > 0 and not model.beta1_meaning:
            refused[name] = "has no meaning for beta1 > 0"
        else:
            names.append(name)
    return tuple(names), refused


def prediction(stats: Statistics, eps: float, batch, *, placement: str = "inside", beta1: float = 0.0,
               models=None, H="sketch", resamples: int = 0, seed: int = 0, surge: bool = True,
               progress: bool = False) -> Prediction:
    """eta*(B) for each batch size under each applicable model (default: all), with bands and regimes."""
    numeric = _numeric()
    batch = np.asarray(batch, dtype=float).reshape(-1)
    if batch.size == 0 or not np.all(batch > 0) or np.isnan(batch).any():
        raise ValueError("batch sizes must be > 0")
    if not (math.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a finite number >= 0, not {eps}")
    if resamples < 0:
        raise ValueError(f"resamples must be >= 0, not {resamples}")
    names, refused = applicable_models(placement, beta1)
    if not stats.has_noise_sketch:
        for name in names:
            if getattr(numeric.get_model(name), "needs_noise", False):
                refused[name] = stats_no_sketch()
        names = tuple(name for name in names if name not in refused)
    if models is not None:
        wanted = (models,) if isinstance(models, str) else tuple(models)
        for name in wanted:
            numeric.get_model(name)
        refused = {k: v for k, v in refused.items() if k in wanted}
        names = tuple(name for name in names if name in wanted)
        if not names:
            reasons = "; ".join(f"{k} {v}" for k, v in refused.items())
            raise ValueError(f"no selected model applies here ({reasons}); models that do: "
                             f"{', '.join(applicable_models(placement, beta1)[0])}")
    problem = problem_of(stats, eps, placement=placement, beta1=beta1, H=H)
    sketch = problem if (isinstance(H, str)) else problem_of(stats, eps, placement=placement, beta1=beta1)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        g = stats.g + stats.g_se * rng.standard_normal(stats.n)
        sigma2 = np.abs(stats.sigma2 + stats.sigma2_se * rng.standard_normal(stats.n))
        diag = stats.diag_H + stats.diag_H_se * rng.standard_normal(stats.n)
        noise = None
        if stats.has_noise_sketch:  # the sketch's own sampling error: a bootstrap over its k examples
            from ..numeric.correlated import projected_noise

            k = stats.noise_projections.shape[0]
            pick = rng.integers(0, k, k)
            kept = (sigma2 > 0) | (g != 0)
            noise = projected_noise(stats.sketch_values, stats.sketch_vectors[kept], np.asarray(stats.noise_groups)[kept],
                                    sigma2[kept], stats.noise_projections[pick], stats.noise_diagonal,
                                    None if stats.noise_scale is None else np.asarray(stats.noise_scale)[kept])
        draws.append(problem_of(stats, eps, placement=placement, beta1=beta1, g=g, sigma2=sigma2, diag_H=diag,
                                noise=noise))
    out = {}
    from tqdm import tqdm

    from ..numeric.correlated import release

    # The skew check first: it reads the correlated model's stencil at each B, which the model's terms then reuse (the
    # surge search's grid of batch sizes would push those out of the problem's capped store).
    skew = skew_checks(stats, eps, batch, placement, problem)
    bar = tqdm(total=len(names) * (1 + resamples), desc="eta*(B) per model", disable=not progress, leave=False)
    for name in names:
        bar.update(1)
        try:
            eta, decrease = (np.asarray(x, dtype=float) for x in numeric.eta_star_and_decrease(batch, problem, model=name))
            low = high = None
            centre_value = eta
            if draws:
                centre = np.asarray(numeric.eta_star(batch, sketch, model=name), dtype=float)
                ratios = []
                for d in draws:
                    ratios.append(numeric.eta_star(batch, d, model=name))
                    release(d)  # each draw is evaluated once per model: no derivatives kept for later
                    bar.update(1)
                ratios = np.array(ratios) / centre
                # the basic bootstrap interval on the log scale and its centre, eta/median: the band holds the centre
                low, high = eta / np.quantile(ratios, 0.975, axis=0), eta / np.quantile(ratios, 0.025, axis=0)
                centre_value = eta / np.quantile(ratios, 0.5, axis=0)
            peaks = surge_peaks(lambda b: numeric.eta_star(b, problem, model=name), batch) if surge else ()
        except (ValueError, FloatingPointError) as error:
            refused[name] = str(error).splitlines()[0]
            continue
        out[name] = ModelPrediction(name, eta, low, high, centre_value, peaks, decrease)
    bar.close()
    regimes = {float(B): regime_shares(stats, eps, float(B)) for B in batch if math.isfinite(B)}
    recommended = next((name for name in RECOMMENDED if name in out), None)
    return Prediction(batch, float(eps), placement, float(beta1), out, refused, regimes, recommended, skew)


def stats_no_sketch() -> str:
    from .statsfile import NO_SKETCH

    return NO_SKETCH
