"""M-1 .. M-7 (this project's, beyond the article): Adam with momentum beta1 and the two second-moment regimes.

The article's model is Adam with beta1 = beta2 = 0.  Here, with a fixed true gradient g and iid minibatch
gradients g~_t ~ N(g, Sigma/B) (Sigma diagonal, sigma_i^2, as in the article), across steps independent:

* M-1: the EMA m_t = beta1 m_(t-1) + (1 - beta1) g~_t, unrolled, is a geometric series; its stationary
  (t -> oo) mean is g and its covariance (1 - beta1)/(1 + beta1) Sigma/B.  Bias correction m_t/(1 - beta1^t)
  is discussed in M-1's checks (it changes the variance at finite t, not the stationary one).
* M-2, M-3, M-4 (beta2 = 0 with momentum): the update softsign(m, eps), the denominator taken from the same
  momentum (the issue's model; real Adam with beta2 = 0 divides by the current |g~_t| instead).  With the
  stationary m it is the article's model at the effective batch B (1 + beta1)/(1 - beta1); E-14 and E-15
  follow with beta(B) -> beta(B_eff): the surge condition is unchanged and B_peak shrinks by (1 - beta1)/(1 + beta1).
* M-5, M-6 (beta2 -> 1, the averaged second moment): v -> E[g~^2] = g^2 + sigma^2/B, deterministic, so the
  update u_i = m_i/sqrt(g_i^2 + sigma_i^2/B + eps^2) is Gaussian, and E-5 gives eta* in closed form: exact
  under these assumptions, with no S-curve and no mean field.
* M-7: in one component at eps = 0 the averaged model has a surge iff beta1 > 1/3, at
  B_peak = sigma^2 (1 - beta1)/(g^2 (3 beta1 - 1)), eta*(B_peak)/eta*(oo) = (1 + beta1)/(2 sqrt(2 beta1 (1 - beta1)))
  (2.24 at beta1 = 0.9): momentum with an averaged v creates a surge where the article's model has none.

The model is one step from the stationary state (quasi-static: g does not move over the EMA's memory).
One builder per step.
"""

from __future__ import annotations

import mpmath as mp
import sympy as sp
import sympy.stats as stats

from ..checks.base import Claim, ClaimOutcome, LimitValue, MatchesPrinted, ZeroIdentity, symbolic_zero
from ..checks.domain import Domain, Var
from ..steps import Derivation, Step, identity, limit
from ..symbols import B, G_nu, M_phi_g, S_nu, T_H, T_phi, beta, eps, g, gg, gHg, h, kappa2, sigma, trSH
from .common import build_in_order
from .results import in_aggregates

SECTION = "momentum"

beta1 = sp.Symbol("beta_1", positive=True)  # momentum, 0 <= beta1 < 1 (positive here; beta1 -> 0 is a limit)
beta2 = sp.Symbol("beta_2", positive=True)
t = sp.Symbol("t", positive=True, integer=True)  # step count
k = sp.Symbol("k", nonnegative=True, integer=True)  # summation index
q = sp.Symbol("q", real=True)  # the ratio of a geometric series
B_eff = sp.Symbol("B_eff", positive=True)

# M-6's aggregates, d_i = (g_i^2 + sigma_i^2/B + eps^2)^(-1/2):
G_d = sp.Symbol("G_d", positive=True)  # sum_i d_i g_i^2
S_d = sp.Symbol("S_d", positive=True)  # sum_ij d_i d_j g_i g_j H_ij
N_d = sp.Symbol("N_d", positive=True)  # sum_i d_i^2 sigma_i^2 H_ii

RECURSION_T = (1, 2, 3, 6)  # M-1's checks iterate the recursion this many steps
CHECKED_N = (1, 2, 4)  # M-6's checks redo the reduction at these n
N_EXPLICIT = 3


def steps(previous: Derivation) -> list[Step]:
    return build_in_order(previous, (_m1, _m2, _m3, _m4, _m5, _m6, _m7))


def geometric_series(term: sp.Expr, ratio: sp.Expr) -> sp.Expr:
    """sum_{k >= 0} term(k), with term(k) = c ratio^k, by SymPy's Sum, on its convergent branch |ratio| < 1."""
    total = sp.Sum(term.subs(ratio, q), (k, 0, sp.oo)).doit()
    total = sp.piecewise_fold(total)
    if isinstance(total, sp.Piecewise):
        (total,) = [e for e, c in total.args if c.subs(q, sp.Rational(1, 2)) == sp.true][:1]
    if total.has(sp.Sum):
        raise ArithmeticError(f"SymPy did not sum {term}")
    return sp.factor(total.subs(q, ratio))


def iterate_recursion(steps_count: int) -> tuple[sp.Expr, sp.Expr]:
    """(E[m_t], Var[m_t]) after ``steps_count`` steps of m_t = beta1 m_(t-1) + (1 - beta1) g~_t from m_0 = 0,
    with independent g~_t of mean g and variance sigma^2/B."""
    mean, variance = sp.Integer(0), sp.Integer(0)
    for _ in range(steps_count):
        mean = beta1 * mean + (1 - beta1) * g
        variance = beta1**2 * variance + (1 - beta1) ** 2 * sigma**2 / B
    return mean, variance


def _m1(previous: Derivation) -> Step:
    """M-1: m_t = (1 - beta1) sum_k beta1^k g~_(t-k) + beta1^t m_0; mean and variance as geometric series."""
    mean_series = sp.Sum((1 - beta1) * beta1**k, (k, 0, sp.oo))
    variance_series = sp.Sum((1 - beta1) ** 2 * beta1 ** (2 * k), (k, 0, sp.oo))
    mean = g * geometric_series((1 - beta1) * beta1**k, beta1)
    # Var of a sum of independent terms: the squared weights (1 - beta1)^2 beta1^(2k), ratio beta1^2
    weight_sq = geometric_series((1 - beta1) ** 2 * q**k, q).subs(q, beta1**2)
    variance = sp.factor(weight_sq) * sigma**2 / B
    # bias-corrected at step t from m_0 = 0 (finite geometric sums): mean g, variance below
    finite_var = sp.factor(sp.Sum((1 - beta1) ** 2 * beta1 ** (2 * k), (k, 0, t - 1)).doit())
    corrected_var = sp.simplify(finite_var / (1 - beta1**t) ** 2) * sigma**2 / B
    return Step(
        label="M-1",
        section=SECTION,
        statement="the EMA m_t = beta1 m_(t-1) + (1 - beta1) g~_t of iid g~_t ~ N(g, Sigma/B) has stationary mean g"
        " and covariance (1 - beta1)/(1 + beta1) Sigma/B (fixed g, independent steps, t -> oo)",
        definition=sp.Tuple(sp.Eq(sp.Symbol("E[m]"), g * mean_series),
                            sp.Eq(sp.Symbol("Var[m]"), variance_series * sigma**2 / B)),
        result=sp.Tuple(mean, variance),
        printed=sp.Tuple(g, (1 - beta1) / (1 + beta1) * sigma**2 / B),
        relation=identity("exact for a fixed g and independent minibatches, as t -> oo (beta1^t -> 0); the"
                          " covariance's off-diagonal entries carry the same factor"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="the recursion iterated t = 1, 2, 3, 6 steps from m_0 = 0: E[m_t] = (1 - beta1^t) E[m],"
                         " Var[m_t] = (1 - beta1^(2t)) Var[m]", build=_m1_recursion_residual),
            ZeroIdentity(name="a fixed point of the recursion: E = beta1 E + (1 - beta1) g, V = beta1^2 V +"
                         " (1 - beta1)^2 sigma^2/B",
                         build=lambda s: sp.Tuple(sp.simplify(s.result[0] - beta1 * s.result[0] - (1 - beta1) * g),
                                                  sp.simplify(s.result[1] - beta1**2 * s.result[1]
                                                              - (1 - beta1) ** 2 * sigma**2 / B))),
            LimitValue(name="beta1 -> 0: one minibatch, variance sigma^2/B", build=lambda s: s.result[1], var=beta1,
                       point=0, expected=lambda s: sigma**2 / B),
            Claim(name="bias correction m_t/(1 - beta1^t): mean g at every t, variance sigma^2/B at t = 1 (the"
                  " article's fresh step) and the stationary one as t -> oo", test=_m1_bias_correction,
                  article_claim=False),
        ),
        extras=(("variance factor c", sp.factor(variance / (sigma**2 / B))), ("bias-corrected variance", corrected_var)),
        note="Project addition (issue 12); the factor (1 - beta1)/(1 + beta1) is the one of kexue.fm 11301.",
    )


def _m1_recursion_residual(step: Step) -> sp.Tuple:
    parts = []
    for n_steps in RECURSION_T:
        mean_t, var_t = iterate_recursion(n_steps)
        parts.append(sp.factor(mean_t - (1 - beta1**n_steps) * step.result[0]))
        parts.append(sp.factor(var_t - (1 - beta1 ** (2 * n_steps)) * step.result[1]))
    return sp.Tuple(*parts)


def _m1_bias_correction(step: Step) -> ClaimOutcome:
    corrected = step.extra("bias-corrected variance")
    at_one = sp.simplify(corrected.subs(t, 1))
    # t -> oo: beta1^t -> 0 for 0 < beta1 < 1; SymPy does not know beta1 < 1, so beta1 = 1/(1 + r), r > 0
    r = sp.Symbol("r", positive=True)
    stationary = sp.limit(corrected.subs(beta1, 1 / (1 + r)), t, sp.oo)
    matches = symbolic_zero(stationary - step.result[1].subs(beta1, 1 / (1 + r)))
    mean_t = [sp.simplify(iterate_recursion(n)[0] / (1 - beta1**n)) for n in RECURSION_T]
    ok = symbolic_zero(at_one - sigma**2 / B) and matches and all(symbolic_zero(m - step.result[0]) for m in mean_t)
    return ClaimOutcome(ok, "symbolic", f"bias-corrected variance at t: {sp.sstr(corrected)}; at t = 1: {at_one};"
                        f" t -> oo equals the stationary variance: {matches}; corrected mean at t = {RECURSION_T}:"
                        f" {mean_t}")


def _beta_of(previous: Derivation) -> sp.Expr:
    return previous["E-10"].extra("beta")  # beta(B) = (1 + pi kappa^2/(2B))^(-1/2)


def _m2(previous: Derivation) -> Step:
    """M-2: the B at which one minibatch has the momentum's variance: sigma^2/B_eff = Var[m]."""
    m1 = previous["M-1"]
    (effective,) = sp.solve(sp.Eq(sigma**2 / B_eff, m1.result[1]), B_eff)
    return Step(
        label="M-2",
        section=SECTION,
        statement="with the stationary m ~ N(g, Var[m]), softsign(m, eps) is the article's model at the effective"
        " batch size B_eff = B (1 + beta1)/(1 - beta1) (a = g sqrt(B_eff)/sigma, b = eps sqrt(B_eff)/sigma)",
        definition=sp.Eq(sigma**2 / B_eff, m1.result[1]),
        result=effective,
        printed=B * (1 + beta1) / (1 - beta1),
        relation=identity("exact given M-1 (the update softsign(m, eps) depends on m only)"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="one minibatch at B_eff has M-1's variance", build=lambda s: sp.simplify(
                sigma**2 / s.result - m1.result[1])),
            LimitValue(name="beta1 -> 0: B_eff -> B", build=lambda s: s.result, var=beta1, point=0,
                       expected=lambda s: B),
        ),
        depends=("M-1",),
        note="The denominator is the momentum's own |m| (the issue's 'beta2 = 0 with momentum' model); real Adam"
        " with beta2 = 0 divides by the current |g~_t|, which this model does not describe.",
    )


def _m3(previous: Derivation) -> Step:
    """M-3: E-14 with beta(B) -> beta(B_eff)."""
    e14, m1, m2 = previous["E-14"], previous["M-1"], previous["M-2"]
    beta_b = _beta_of(previous)
    beta_m = beta_b.subs(B, m2.result)
    factor = m1.extra("variance factor c")
    return Step(
        label="M-3",
        section=SECTION,
        statement="eta*(B; beta1) ~= E-14 at beta = beta(B_eff) = (1 + pi kappa^2 (1 - beta1)/(2 B (1 + beta1)))^(-1/2)",
        definition=sp.Eq(sp.Symbol("eta_star"), e14.result.subs(beta, beta_b.subs(B, B_eff))),
        result=sp.simplify(e14.result.subs(beta, beta_m)),
        printed=beta_m * G_nu / (beta_m**2 * S_nu + (1 - beta_m**2) * T_H),
        relation=identity("exact given E-14 (E-10, E-13, the mean field) and M-2"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="beta1 = 0 gives E-14 at beta(B)", build=lambda s: sp.simplify(
                s.result.subs(beta1, 0) - e14.result.subs(beta, beta_b))),
            ZeroIdentity(name="== E-14 with kappa^2 scaled by M-1's variance factor (noise, not batch, rescaled)",
                         build=lambda s: sp.simplify(s.result - e14.result.subs(beta, beta_b.subs(
                             kappa2, factor * kappa2)))),
            Claim(name="B -> oo: G_nu/S_nu, the full-batch eta* whatever beta1", test=_m3_full_batch,
                  article_claim=False),
        ),
        extras=(("beta(B_eff)", beta_m),),
        depends=("E-14", "E-10", "M-1", "M-2"),
    )


def _m3_full_batch(step: Step) -> ClaimOutcome:
    value = sp.limit(step.result, B, sp.oo)
    same = symbolic_zero(sp.factor(value, deep=True) - G_nu / S_nu)
    return ClaimOutcome(same, "symbolic", f"limit as B -> oo: {sp.sstr(sp.factor(value, deep=True))} == G_nu/S_nu: {same}")


def _m4(previous: Derivation) -> Step:
    """M-4: E-15 with momentum: d eta*/dB = 0 at beta(B_eff)^2 = E-15's stationary beta^2."""
    e15, m3 = previous["E-15"], previous["M-3"]
    stationary = e15.extra("stationary beta^2")
    (b_peak,) = sp.solve(sp.Eq(m3.extra("beta(B_eff)") ** 2, stationary), B)
    condition = sp.numer(sp.together(1 - stationary))  # the peak is inside beta < 1 iff this is > 0
    return Step(
        label="M-4",
        section=SECTION,
        statement="with momentum the surge condition is unchanged (sum nu_i nu_j H_ij > 2 sum H_ii) and"
        " B_peak = (1 - beta1)/(1 + beta1) * pi kappa^2 T/(2 (S - 2T)): the peak moves to a smaller B, same height",
        definition=sp.Eq(m3.extra("beta(B_eff)") ** 2, stationary),
        result=sp.Tuple(sp.expand(condition), sp.factor(b_peak)),
        printed=sp.Tuple(S_nu - 2 * T_H, (1 - beta1) / (1 + beta1) * sp.pi * kappa2 * T_H / (2 * (S_nu - 2 * T_H))),
        relation=identity("exact within the mean-field model (M-3); the condition does not depend on beta1"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="the condition is E-15's peak condition", build=lambda s: s.result[0]
                         - e15.extra("peak condition")),
            ZeroIdentity(name="d M-3/dB vanishes at B_peak (S = 2T + delta)", build=lambda s: _m4_stationary(s, m3)),
            ZeroIdentity(name="B_peak = E-15's B_peak times B/B_eff", build=lambda s: sp.simplify(
                s.result[1] - e15.extra("B_peak") * B / previous["M-2"].result)),
            LimitValue(name="beta1 -> 0 gives E-15's B_peak", build=lambda s: s.result[1], var=beta1, point=0,
                       expected=lambda s: e15.extra("B_peak")),
            Claim(name="the peak height eta*(B_peak) does not depend on beta1 (E-14 at beta^2 = T/(S - T))",
                  test=lambda s: _m4_height(s, m3, previous["E-14"], stationary), article_claim=False),
        ),
        depends=("E-15", "M-3"),
    )


def _m4_stationary(step: Step, m3: Step) -> sp.Expr:
    delta = sp.Symbol("delta", positive=True)
    derivative = sp.diff(m3.result, B).subs(B, step.result[1])
    return sp.simplify(derivative.subs(S_nu, 2 * T_H + delta))


def _m4_height(step: Step, m3: Step, e14: Step, stationary: sp.Expr) -> ClaimOutcome:
    # SymPy cannot take sqrt(1 - beta1) apart without beta1 < 1: compare at 40 digits on a grid instead
    at_peak = sp.lambdify((beta1, T_H, S_nu, G_nu, kappa2), m3.result.subs(B, step.result[1]), modules="mpmath")
    height = sp.lambdify((T_H, S_nu, G_nu), e14.result.subs(beta, sp.sqrt(stationary)), modules="mpmath")
    worst, count = mp.mpf(0), 0
    with mp.workdps(40):
        for b1 in ("0.01", "0.5", "0.9", "0.999"):
            for th, extra in (("1", "0.5"), ("3", "10"), ("0.2", "1e-3")):
                for k2 in ("0.1", "7"):
                    T, S = mp.mpf(th), 2 * mp.mpf(th) + mp.mpf(extra)
                    worst = max(worst, abs(at_peak(mp.mpf(b1), T, S, mp.mpf("1.3"), mp.mpf(k2)) / height(T, S, mp.mpf("1.3")) - 1))
                    count += 1
    return ClaimOutcome(worst < mp.mpf("1e-30"), "numeric", f"max |eta*(B_peak; beta1)/E-14(beta*) - 1| = {mp.nstr(worst, 3)}"
                        f" over {count} points (beta1 in 0.01 .. 0.999, S > 2T)", max_abs_error=float(worst), digits=40,
                        points=count)


def _m5(previous: Derivation) -> Step:
    """M-5: beta2 -> 1: v -> E[g~^2]; u = m/sqrt(v + eps^2) with M-1's m: its mean and second moment."""
    m1 = previous["M-1"]
    minibatch = stats.Normal("g~", g, sigma / sp.sqrt(B))
    v_mean = sp.simplify(stats.E(minibatch**2))
    v_var = sp.simplify(stats.variance(minibatch**2))
    # the EMA v_t = beta2 v_(t-1) + (1 - beta2) g~_t^2: M-1's series with beta1 -> beta2
    v_stationary_var = sp.factor(m1.extra("variance factor c").subs(beta1, beta2) * v_var)
    momentum = stats.Normal("m", m1.result[0], sp.sqrt(m1.result[1]))
    denominator = sp.sqrt(v_mean + eps**2)
    mean_u = sp.simplify(stats.E(momentum / denominator))
    second_u = sp.factor(sp.simplify(stats.E((momentum / denominator) ** 2)))
    return Step(
        label="M-5",
        section=SECTION,
        statement="beta2 -> 1: v -> E[g~^2] = g^2 + sigma^2/B (its variance (1 - beta2)/(1 + beta2) Var[g~^2] -> 0);"
        " u = m/sqrt(v + eps^2) is Gaussian with mean g/sqrt(g^2 + sigma^2/B + eps^2) and second moment"
        " (g^2 + c sigma^2/B)/(g^2 + sigma^2/B + eps^2), c = (1 - beta1)/(1 + beta1)",
        definition=sp.Tuple(sp.Eq(sp.Symbol("v"), sp.Symbol("E[g~^2]")),
                            sp.Eq(sp.Symbol("u"), sp.Symbol("m") / sp.sqrt(sp.Symbol("v") + eps**2))),
        result=sp.Tuple(v_mean, mean_u, second_u),
        printed=sp.Tuple(g**2 + sigma**2 / B, g / sp.sqrt(g**2 + sigma**2 / B + eps**2),
                         (g**2 + (1 - beta1) / (1 + beta1) * sigma**2 / B) / (g**2 + sigma**2 / B + eps**2)),
        relation=limit("exact as beta2 -> 1 (v deterministic) given M-1; eps inside the root"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="moments from the Gaussian moment generating function exp(mu s + V s^2/2)",
                         build=lambda s: _m5_mgf_residual(s, m1)),
            LimitValue(name="Var[v] -> 0 as beta2 -> 1", build=lambda s: s.extra("Var[v]"), var=beta2, point=1,
                       expected=lambda s: 0, direction="-"),
        ),
        extras=(("Var[v]", v_stationary_var), ("d", 1 / denominator)),
        depends=("M-1",),
    )


def _gaussian_moment(order: int, mean: sp.Expr, variance: sp.Expr) -> sp.Expr:
    s = sp.Symbol("s")
    return sp.diff(sp.exp(mean * s + variance * s**2 / 2), s, order).subs(s, 0)


def _m5_mgf_residual(step: Step, m1: Step) -> sp.Tuple:
    v_mean = _gaussian_moment(2, g, sigma**2 / B)
    scale = 1 / sp.sqrt(v_mean + eps**2)
    first = scale * _gaussian_moment(1, *m1.result)
    second = scale**2 * _gaussian_moment(2, *m1.result)
    return sp.Tuple(*[sp.simplify(x - y) for x, y in zip(step.result, (v_mean, first, second))])


def _explicit(n: int, m5: Step):
    """At explicit n: g, sigma, symmetric H, d_i = M-5's 1/sqrt(v_i + eps^2), and E[u], E[u u^T] (independent
    components: E[u_i u_j] = E[u_i] E[u_j] for i != j)."""
    gs = sp.symbols(f"g_1:{n + 1}", real=True)
    sigmas = sp.symbols(f"sigma_1:{n + 1}", positive=True)
    ds = sp.symbols(f"d_1:{n + 1}", positive=True)
    H = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"H_{min(i, j) + 1}{max(i, j) + 1}", real=True))
    d = m5.extra("d")
    per = [{g: gs[i], sigma: sigmas[i]} for i in range(n)]
    # each moment over d (or d^2) is a polynomial in g, sigma: d_i stays a symbol
    mean = [sp.simplify(m5.result[1] / d).subs(per[i]) * ds[i] for i in range(n)]
    second = sp.Matrix(n, n, lambda i, j: (sp.simplify(m5.result[2] / d**2).subs(per[i]) * ds[i] ** 2 if i == j
                                           else mean[i] * mean[j]))
    sums = {G_d: sum(ds[i] * gs[i] ** 2 for i in range(n)),
            S_d: sp.expand(sum(ds[i] * ds[j] * gs[i] * gs[j] * H[i, j] for i in range(n) for j in range(n))),
            N_d: sum(ds[i] ** 2 * sigmas[i] ** 2 * H[i, i] for i in range(n))}
    m_g = sp.expand(sum(mean[i] * gs[i] for i in range(n)))
    t_phi = sp.expand((second * H).trace())
    d_values = {ds[i]: d.subs(per[i]) for i in range(n)}
    return m_g, t_phi, sums, d_values, (gs, sigmas, H)


def _m6(previous: Derivation) -> Step:
    """M-6: E-5 with M-5's moments at explicit n, collected into G_d, S_d, N_d."""
    e5, m5 = previous["E-5"], previous["M-5"]
    m_g, t_phi, sums, _, _ = _explicit(N_EXPLICIT, m5)
    m_g_agg = in_aggregates(m_g, sums)
    t_phi_agg = in_aggregates(t_phi, sums)
    c = (1 - beta1) / (1 + beta1)
    return Step(
        label="M-6",
        section=SECTION,
        statement="beta2 -> 1: eta* = sum d_i g_i^2 / (sum d_i d_j g_i g_j H_ij + c/B sum d_i^2 sigma_i^2 H_ii),"
        " d_i = (g_i^2 + sigma_i^2/B + eps^2)^(-1/2), c = (1 - beta1)/(1 + beta1): no S-curve, no mean field",
        definition=sp.Eq(sp.Symbol("eta_star"), e5.result),
        result=sp.simplify(e5.result.subs({M_phi_g: m_g_agg, T_phi: t_phi_agg})),
        printed=G_d / (S_d + c * N_d / B),
        relation=identity("exact given E-5 and M-5 (diagonal Sigma); d_i depends on B too"),
        checks=(
            MatchesPrinted(),
            *[ZeroIdentity(name=f"at n = {n}: the aggregates written out == E-5 with M-5's moments",
                           build=lambda s, n=n: _m6_residual(s, n, e5, m5)) for n in CHECKED_N],
            Claim(name="no S-curve or mean field needed: E-5 with the direct Gaussian expectations of u = D m (2-d"
                  " m, monomial by monomial) == M-6", test=lambda s: _m6_direct(s, e5, m5), article_claim=False),
            Claim(name="limits at n = 2: B -> oo gives E-14 at beta = 1 (G_nu/S_nu); eps -> oo gives eps times"
                  " P-10 at B_eff = B (1 + beta1)/(1 - beta1); eps -> 0 gives d_i = (g_i^2 + sigma_i^2/B)^(-1/2)",
                  test=lambda s: _m6_limits(s, m5, previous), article_claim=False),
        ),
        extras=(("E[u]^T g", m_g_agg), ("Tr(E[u u^T] H)", t_phi_agg)),
        depends=("E-5", "M-5"),
        note="G_d, S_d, N_d are this step's aggregates; d_i = 1/sqrt(v_i + eps^2) with M-5's v_i.",
    )


def _m6_residual(step: Step, n: int, e5: Step, m5: Step) -> sp.Expr:
    m_g, t_phi, sums, _, _ = _explicit(n, m5)
    return sp.cancel(sp.together(step.result.subs(sums) - e5.result.subs({M_phi_g: m_g, T_phi: t_phi})))


def _m6_direct(step: Step, e5: Step, m5: Step) -> ClaimOutcome:
    """E[u]^T g and E[u^T H u] for u = D m, m_i independent N(g_i, c sigma_i^2/B), expanded as polynomials in the
    m_i and each monomial's expectation taken from the Gaussian moment generating function."""
    _, _, sums, d_values, (gs, sigmas, H) = _explicit(2, m5)
    c = (1 - beta1) / (1 + beta1)
    ms = sp.symbols("m_1:3", real=True)
    ds = list(d_values)
    u = sp.Matrix([ds[i] * ms[i] for i in range(2)])

    def expectation(poly: sp.Expr) -> sp.Expr:
        p = sp.Poly(sp.expand(poly), *ms)
        return sp.Add(*[coeff * sp.Mul(*[_gaussian_moment(e, gs[i], c * sigmas[i] ** 2 / B) for i, e in enumerate(exps)])
                        for exps, coeff in p.terms()])

    m_g = expectation((u.T * sp.Matrix(gs))[0, 0])
    t_phi = expectation((u.T * H * u)[0, 0])
    same = symbolic_zero(sp.cancel(sp.together(step.result.subs(sums) - e5.result.subs({M_phi_g: m_g, T_phi: t_phi}))))
    return ClaimOutcome(same, "symbolic", f"E[u]^T g = {sp.sstr(sp.factor(m_g))}; E-5 of the direct expectations =="
                        f" M-6 with the sums at n = 2: {same}")


def _m6_limits(step: Step, m5: Step, previous: Derivation) -> ClaimOutcome:
    _, _, sums, d_values, (gs, sigmas, H) = _explicit(2, m5)
    eta = step.result.subs(sums).subs(d_values)
    nus = [gs[i] / sp.sqrt(gs[i] ** 2 + eps**2) for i in range(2)]
    full = previous["E-14"].result.subs(beta, 1).subs({
        G_nu: sum(nus[i] * gs[i] for i in range(2)),
        S_nu: sum(nus[i] * nus[j] * H[i, j] for i in range(2) for j in range(2))})
    gv = sp.Matrix(gs)
    p10 = previous["P-10"].result.subs({gg: (gv.T * gv)[0, 0], gHg: sp.expand((gv.T * H * gv)[0, 0]),
                                       trSH: sum(sigmas[i] ** 2 * H[i, i] for i in range(2))})
    p10 = p10.subs(B, previous["M-2"].result)
    # at a point (H SPD), far out at 120 digits (SymPy's limit of these square roots does not simplify)
    point = {gs[0]: sp.Rational(7, 10), gs[1]: -sp.Rational(3, 10), sigmas[0]: sp.Rational(3, 2),
             sigmas[1]: sp.Rational(4, 5), H[0, 0]: 2, H[0, 1]: sp.Rational(3, 10), H[1, 1]: 1}
    d0 = {key: value.subs(eps, 0) for key, value in d_values.items()}
    at_zero = step.result.subs(sums).subs(d0)
    f = sp.lambdify((eps, B, beta1), eta.subs(point), modules="mpmath")
    pairs = {"B -> oo vs E-14(beta = 1)": (lambda e, b1: f(e, mp.mpf(10) ** 40, b1),
                                           sp.lambdify((eps, beta1), full.subs(point), modules="mpmath")),
             "eta*/eps as eps -> oo vs P-10 at B_eff": (lambda bb, b1: f(mp.mpf(10) ** 40, bb, b1) / mp.mpf(10) ** 40,
                                                        sp.lambdify((B, beta1), p10.subs(point), modules="mpmath")),
             "eps -> 0 vs d_i at eps = 0": (lambda bb, b1: f(mp.mpf(10) ** -40, bb, b1),
                                            sp.lambdify((B, beta1), at_zero.subs(point), modules="mpmath"))}
    worst = {}
    with mp.workdps(120):
        for name, (far, expected) in pairs.items():
            worst[name] = max(abs(far(mp.mpf(x), mp.mpf(b1)) / expected(mp.mpf(x), mp.mpf(b1)) - 1)
                              for x in ("0.01", "1", "30") for b1 in ("0.3", "0.9", "0.999"))
    ok = all(w < mp.mpf("1e-30") for w in worst.values())
    return ClaimOutcome(ok, "numeric", "at g = (0.7, -0.3), sigma = (1.5, 0.8), H = [[2, 0.3], [0.3, 1]], 1e40 / 1e-40"
                        " for oo / 0, 120 digits, max relative gap over eps or B in (0.01, 1, 30), beta1 in (0.3, 0.9,"
                        " 0.999): " + "; ".join(f"{k}: {mp.nstr(v, 3)}" for k, v in worst.items()),
                        max_abs_error=float(max(worst.values())), digits=30, points=27)


def _m7(previous: Derivation) -> Step:
    """M-7: M-6 at n = 1, eps = 0 (H = h): eta*(B), its stationary B, the condition and the height of the peak."""
    m5, m6 = previous["M-5"], previous["M-6"]
    d = m5.extra("d").subs(eps, 0)
    eta_one = sp.simplify(m6.result.subs({G_d: d * g**2, S_d: d**2 * g**2 * h, N_d: d**2 * sigma**2 * h}))
    (stationary,) = sp.solve(sp.diff(eta_one, B), B)
    b_peak = sp.factor(stationary)
    condition = sp.expand(sp.denom(b_peak) / g**2)  # B_peak > 0 (a peak at finite B) iff this is > 0
    at_infinity = sp.limit(eta_one, B, sp.oo)
    # the height, with beta1 = 1/(1 + r), r > 0 (so 0 < beta1 < 1 is known to SymPy), and g > 0 (eta* is even in g)
    r, gp = sp.Symbol("r", positive=True), sp.Symbol("g_pos", positive=True)
    height = sp.simplify((eta_one.subs(B, b_peak) / at_infinity).subs({beta1: 1 / (1 + r), g: gp}))
    height = sp.factor(sp.simplify(height.subs(r, 1 / beta1 - 1)))
    return Step(
        label="M-7",
        section=SECTION,
        statement="beta2 -> 1, one component, eps = 0: eta*(B) peaks iff 3 beta1 - 1 > 0, at B_peak = sigma^2 (1 - beta1)"
        "/(g^2 (3 beta1 - 1)), eta*(B_peak)/eta*(oo) = (1 + beta1)/(2 sqrt(2 beta1 (1 - beta1)))",
        definition=sp.Eq(sp.Symbol("eta_star"), eta_one),
        result=sp.Tuple(condition, b_peak, height),
        printed=sp.Tuple(3 * beta1 - 1, sigma**2 * (1 - beta1) / (g**2 * (3 * beta1 - 1)),
                         (1 + beta1) / (2 * sp.sqrt(2 * beta1 * (1 - beta1)))),
        relation=identity("exact within M-6 (n = 1, eps = 0); the height holds for 1/3 < beta1 < 1"),
        checks=(
            MatchesPrinted(domain=Domain((Var(beta1, "interval", values=("0.4", "0.5", "0.7", "0.9", "0.99")),
                                          Var(g, "nonzero"), Var(sigma, "positive")), "1/3 < beta1 < 1")),
            ZeroIdentity(name="d eta*/dB of M-6 (n = 1, eps = 0) vanishes at B_peak",
                         build=lambda s: sp.simplify(sp.diff(s.definition.rhs, B).subs(B, s.result[1]))),
            ZeroIdentity(name="B_peak's denominator is g^2 times the condition",
                         build=lambda s: sp.simplify(s.result[0] * g**2 * s.result[1] - sigma**2 * (1 - beta1))),
            Claim(name="at 40 digits: eta*(B_peak)/eta*(oo) equals the height and exceeds 1 for beta1 in (1/3, 1);"
                  " for beta1 < 1/3 eta* increases in B (no peak)", test=_m7_numeric, article_claim=False),
        ),
        depends=("M-5", "M-6"),
        note="Project finding: with beta1 > 1/3 and an averaged v, eta*(B) has a surge even in one component, where"
        " the article's model (and the beta2 = 0 model with momentum) has none.",
    )


def _m7_numeric(step: Step) -> ClaimOutcome:
    eta = sp.lambdify((B, beta1, g, sigma, h), step.definition.rhs, modules="mpmath")
    condition, peak, height = (sp.lambdify((beta1, g, sigma), e, modules="mpmath") for e in step.result)
    worst, rows, increasing = mp.mpf(0), [], True
    with mp.workdps(40):
        gv, sv, hv = mp.mpf("0.7"), mp.mpf("1.3"), mp.mpf("2")
        for b1 in ("0.4", "0.6", "0.9", "0.99"):
            b1 = mp.mpf(b1)
            bp = peak(b1, gv, sv)
            ratio = eta(bp, b1, gv, sv, hv) / (gv**2 / (abs(gv) * hv))
            side = max(eta(bp * f, b1, gv, sv, hv) for f in (mp.mpf("0.9"), mp.mpf("1.1")))
            ok = condition(b1, gv, sv) > 0 and ratio > 1 and side < eta(bp, b1, gv, sv, hv)
            worst = max(worst, abs(ratio - height(b1, gv, sv)) if ok else mp.mpf(1))
            rows.append(f"beta1 = {mp.nstr(b1, 3)}: B_peak = {mp.nstr(bp, 5)}, height {mp.nstr(ratio, 5)}")
        for b1 in ("0.05", "0.2", "0.33"):
            b1 = mp.mpf(b1)
            values = [eta(mp.mpf(10) ** (e / 4), b1, gv, sv, hv) for e in range(-24, 25)]
            increasing = increasing and condition(b1, gv, sv) < 0 and all(x < y for x, y in zip(values, values[1:]))
    return ClaimOutcome(worst < mp.mpf("1e-30") and increasing, "numeric",
                        "; ".join(rows) + f"; |ratio - height| <= {mp.nstr(worst, 3)}; increasing on B in [1e-6, 1e6]"
                        f" for beta1 in (0.05, 0.2, 0.33): {increasing}", max_abs_error=float(worst), digits=40,
                        points=len(rows) + 3)
