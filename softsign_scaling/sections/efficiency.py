"""X-20 .. X-27: the efficiency law with eps (the predecessor's P-31 .. P-35 for SoftSignSGD).

E-14's eta* put into E-5 gives the expected loss decrease at the optimum.  Under the mean field it is
exactly dL_max/(1 + B_noise(eps)/B), with dL_max = G_nu^2/(2 S_nu) and B_noise = pi kappa^2 T_H/(2 S_nu)
(X-20, X-21), so the steps-examples trade-off (S/S_min - 1)(E/E_min - 1) = 1 holds with E_min/S_min =
B_noise(eps) (X-22).  eps -> 0 gives P-31 .. P-33 (X-23) and P-34 holds at every eps (X-24); eps -> oo
gives E-18's pi/2 times SGD's B_noise under the mean field and SGD's own (P-12) exactly (X-25).  How
B_noise moves with eps: X-26 (mean field: d ln B_noise/d eps = 2 eps (W_S - W_kappa), either sign) and
X-27 (exact, one component: not monotone, and the mean field is pi/2 times too large for large eps).

"B_noise" of a model without the saturating form is its half-saturation batch, dL(B_half) = dL_max/2:
for the saturating form B_half = B_noise exactly (X-21's check), so the two agree where both exist.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import sympy as sp

from ..checks import reference
from ..checks.base import Claim, ClaimOutcome, LimitValue, MatchesPrinted, ZeroIdentity
from ..checks.domain import domain
from ..steps import Derivation, Step, identity, limit
from ..symbols import (B, B_noise, G_abs, G_nu, M_phi_g, S_eps, S_nu, T_H, T_phi, U_H, beta, beta_noise, dL_max,
                       eps, eta_max, g, gg, gHg, h, kappa2, sigma, sigma2_bar, trSH, x)
from .common import build_in_order, softsign
from .results import e5_terms
from .sgd import TRADEOFF_CHECK, saturating_difference, saturating_form, sgd_rules, steps_examples_tradeoff, \
    tradeoff_monotone
from .signsgd import U_pos

SECTION = "efficiency"

DL = sp.Symbol("dL", positive=True)
B_peak = sp.Symbol("B_peak", positive=True)
B_half = sp.Symbol("B_half", positive=True)
# S-weighted and kappa^2-weighted means of w_i = 1/(g_i^2 + eps^2) (the rates at which S and kappa^2 fall)
W_S = sp.Symbol("W_S", positive=True)
W_kappa = sp.Symbol("W_kappa", positive=True)
CHECK_N = (1, 2, 3)  # component counts of the explicit checks
X26_N = (1, 2)  # X-26's explicit derivative (n = 3 costs a minute of simplify)

# Two explicit components for the eps limits: g_1 = p_1 > 0 and g_2 = +-p_2 (both sign patterns).
p1, p2 = sp.symbols("p_1 p_2", positive=True)
h11, h12, h22 = sp.symbols("H_11 H_12 H_22", real=True)


def _mean_field_decrease(e5: Step, e10: Step, e14: Step) -> tuple[sp.Expr, sp.Expr]:
    """(dL(beta), dL(B)): E-5's decrease with E-14's collected moments, then beta = beta(B) of E-10."""
    moments = {M_phi_g: e14.extra("E[phi]^T g"), T_phi: e14.extra("Tr(E[phi phi^T] H)")}
    dl_beta = e5.extra("decrease").subs(moments)
    return dl_beta, sp.simplify(dl_beta.subs(beta, e10.extra("beta")))


def _decrease(previous: Derivation) -> tuple[sp.Expr, sp.Expr]:
    return _mean_field_decrease(previous["E-5"], previous["E-10"], previous["E-14"])


def _x20(previous: Derivation) -> Step:
    """X-20: E-5's decrease with E-14's moments at beta(B), written as dL_max/(1 + B_noise/B)."""
    e5, e10, e13, e14 = previous["E-5"], previous["E-10"], previous["E-13"], previous["E-14"]
    dl_beta, dl_B = _decrease(previous)
    form = saturating_form(dl_B, dL_max, B_noise)
    beta_B = e10.extra("beta")

    def explicit(s: Step) -> sp.Tuple:
        # at n components: E-5's decrease with E-10/E-13's explicit moments, against the result with the sums
        out = []
        for n in CHECK_N:
            m_g, t_phi, sums = e5_terms(n, e10, e13)
            direct = e5.extra("decrease").subs({M_phi_g: m_g, T_phi: t_phi}).subs(beta, beta_B)
            out.append(sp.cancel(sp.together(direct - s.result.subs(sums))))
        return sp.Tuple(*out)

    def through_eta(s: Step) -> sp.Expr:
        # E-5's model L - eta m + eta^2/2 T at eta = 0 minus at E-14's eta*, with E-14's moments
        model = e5.extra("model").subs({M_phi_g: e14.extra("E[phi]^T g"), T_phi: e14.extra("Tr(E[phi phi^T] H)")})
        gain = model.subs(sp.Symbol("eta", positive=True), 0) - model.subs(sp.Symbol("eta", positive=True),
                                                                           e14.result)
        return sp.cancel(sp.together(gain.subs(beta, beta_B) - s.result))

    return Step(
        label="X-20",
        section=SECTION,
        statement="dL(B) = dL_max/(1 + B_noise(eps)/B) at eta* (E-14 in E-5), exactly under the mean field:"
        " 1/2 beta^2 G_nu^2/(beta^2 S_nu + (1 - beta^2) T_H) with 1/beta^2 = 1 + pi kappa^2/(2B)",
        definition=sp.Tuple(sp.Eq(DL, dl_B), *form.definition),
        result=form.result,
        printed=(G_nu**2 / (2 * S_nu)) / (1 + sp.pi * kappa2 * T_H / (2 * S_nu * B)),
        relation=identity("exact under the mean field (E-10/E-13's moments with one kappa^2), for every B > 0:"
                          " the saturating form is not an approximation of E-5's decrease"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="== E-5's decrease with E-14's moments at beta = beta(B), for every B (the form is exact)",
                         build=lambda s: sp.cancel(s.result - dl_B)),
            ZeroIdentity(name="== model(0) - model(eta*): E-14's eta* put into E-5's second-order model",
                         build=through_eta),
            ZeroIdentity(name=f"at n = {', '.join(map(str, CHECK_N))}: == E-5's decrease with E-10/E-13's explicit"
                         " moments", build=explicit),
        ),
        extras=(("dL(beta)", dl_beta),),
        depends=("E-5", "E-10", "E-13", "E-14"),
    )


def _x21(previous: Derivation) -> Step:
    """X-21: dL_max = lim_{B->oo} dL, B_noise solved from dL/dL_max = 1/(1 + B_noise/B)."""
    e5, e15, p34 = previous["E-5"], previous["E-15"], previous["P-34"]
    _, dl_B = _decrease(previous)
    form = saturating_form(dl_B, dL_max, B_noise)
    return Step(
        label="X-21",
        section=SECTION,
        statement="dL_max(eps) = (sum nu_i g_i)^2/(2 sum nu_i nu_j H_ij), B_noise(eps) = pi kappa^2 sum H_ii/(2 sum"
        " nu_i nu_j H_ij): eps enters through nu_i = softsign(g_i, eps) and kappa^2 = sigma^2/(g^2 + eps^2);"
        " dL_max is exact (at B = oo the update is nu, no mean field), and dL(B_noise) = dL_max/2",
        definition=form.definition,
        result=sp.Tuple(form.maximum, form.noise),
        printed=sp.Tuple(G_nu**2 / (2 * S_nu), sp.pi * kappa2 * T_H / (2 * S_nu)),
        relation=identity("exact: dL_max is the B -> oo limit of X-20's dL, B_noise the B-free solution"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="dL_max/(1 + B_noise/B) == X-20's dL for every B", build=saturating_difference(dl_B)),
            ZeroIdentity(name="B_noise == B (dL(oo)/dL(B) - 1) and dL_max == lim_(B->oo) dL",
                         build=lambda s: sp.Tuple(sp.cancel(B * (s.result[0] / dl_B - 1) - s.result[1]),
                                                  sp.limit(dl_B, B, sp.oo) - s.result[0])),
            ZeroIdentity(name="dL_max == E-5's decrease for the deterministic update nu (E[phi] = nu, E[phi phi^T] ="
                         " nu nu^T at B = oo)", build=lambda s: e5.extra("decrease").subs({M_phi_g: G_nu, T_phi: S_nu})
                         - s.result[0]),
            ZeroIdentity(name="the half-saturation batch: dL(B_noise) == dL_max/2",
                         build=lambda s: sp.cancel(dl_B.subs(B, s.result[1]) - s.result[0] / 2)),
            ZeroIdentity(name="P-34 at every eps: 1/B_noise - 1/B_peak (E-15) == P-34's 4/(pi kappa^2)",
                         build=lambda s: sp.cancel(1 / s.result[1] - 1 / e15.extra("B_peak") - p34.result)),
        ),
        depends=("X-20", "E-5", "E-15", "P-34"),
    )


def _x22(previous: Derivation) -> Step:
    """X-22: P-15's trade-off from X-20's per-step decrease."""
    x20, x21 = previous["X-20"], previous["X-21"]
    tradeoff = steps_examples_tradeoff(x20.result)
    return Step(
        label="X-22",
        section=SECTION,
        statement="(S/S_min - 1)(E/E_min - 1) = 1 with E_min/S_min = B_noise(eps) = pi kappa^2 sum H_ii/(2 sum nu_i"
        " nu_j H_ij)",
        definition=tradeoff.definition,
        result=sp.Tuple(tradeoff.product, tradeoff.ratio),
        printed=sp.Tuple(sp.Integer(1), sp.pi * kappa2 * T_H / (2 * S_nu)),
        relation=identity("exact when every step decreases the loss by X-20's dL (B and eps fixed along the run)"),
        checks=(
            MatchesPrinted(),
            TRADEOFF_CHECK,
            ZeroIdentity(name="E_min/S_min == X-21's B_noise", build=lambda s: s.result[1] - x21.result[1]),
            Claim(name="trade-off: S decreases and E increases with B", test=tradeoff_monotone, article_claim=False),
        ),
        depends=("X-20", "X-21"),
    )


# eps -> 0: nu_i -> sign(g_i), so sum nu_i g_i -> sum |g_i| and sum nu_i nu_j H_ij -> T + U; kappa^2 -> sigma^2/g^2.
TO_SIGN = {G_nu: G_abs, S_nu: T_H + U_H}


def _two_components(sign: int, eps_value: sp.Expr = eps) -> dict:
    """Aggregates of two explicit components g = (p_1, sign p_2) at eps (nu_k = softsign(g_k, eps))."""
    gs = (p1, sign * p2)
    nus = [softsign(gk, eps_value) for gk in gs]
    return {G_nu: nus[0] * gs[0] + nus[1] * gs[1], S_nu: nus[0] ** 2 * h11 + 2 * nus[0] * nus[1] * h12 + nus[1] ** 2 * h22,
            T_H: h11 + h22, G_abs: p1 + p2, U_H: 2 * sign * h12, gg: p1**2 + p2**2,
            gHg: p1**2 * h11 + 2 * sign * p1 * p2 * h12 + p2**2 * h22}


def _signsgd_values(previous: Derivation) -> sp.Tuple:
    """P-32's (dL_max, B_noise2) in T, U (P-29's beta_noise = sqrt(T/U), eta_max), U > 0."""
    p29, p32 = previous["P-29"], previous["P-32"]
    values = p32.result.subs({beta_noise: p29.result[0], eta_max: p29.result[1]}).subs(U_H, U_pos)
    return sp.Tuple(*[sp.simplify(v) for v in values])


def _x23(previous: Derivation) -> Step:
    """X-23: X-21 as eps -> 0, where nu_i -> sign(g_i) (the limit of E-1): P-32's dL_max and B_noise2."""
    x20, x21, p31 = previous["X-20"], previous["X-21"], previous["P-31"]
    p29 = previous["P-29"]
    nu_limit = sp.limit(softsign(g, eps), eps, 0)
    if sp.simplify(nu_limit.rewrite(sp.sign) - sp.sign(g)) != 0:  # pragma: no cover - E-1's limit
        raise ArithmeticError(f"softsign(g, eps) -> {nu_limit} as eps -> 0, not sign(g)")
    signsgd = _signsgd_values(previous)
    p31_in_tu = p31.result.subs({beta_noise: p29.result[0], eta_max: p29.result[1]}).subs(U_H, U_pos)
    kappa_eps = sigma2_bar / (g**2 + eps**2)  # a representative kappa^2 (E-17's), -> sigma^2/g^2 (P-25's)

    def limit_check(k: int, sign: int, what: str) -> LimitValue:
        return LimitValue(
            name=f"{what}: X-21 at two explicit components (g_2 {'>' if sign > 0 else '<'} 0) -> the result as eps -> 0",
            build=lambda s, k=k, sign=sign: (x21.result[k].subs(kappa2, kappa_eps).subs(_two_components(sign))
                                             - s.result[k].subs(_two_components(sign)).subs(kappa2, sigma2_bar / g**2)),
            var=eps, point=0, expected=lambda s: sp.Integer(0))

    return Step(
        label="X-23",
        section=SECTION,
        statement="eps -> 0: dL_max -> (sum|g_i|)^2/(2 (T + U)), B_noise -> pi kappa^2 T/(2 (T + U)): P-32's dL_max"
        " and B_noise2 (so X-20 -> P-31 and X-22 -> P-35), T = sum H_ii, U = sum_{i!=j} sign(g_i g_j) H_ij",
        definition=sp.Tuple(*[sp.Limit(v, eps, 0) for v in x21.result]),
        result=sp.Tuple(*[v.subs(TO_SIGN) for v in x21.result]),
        printed=sp.Tuple(G_abs**2 / (2 * (T_H + U_H)), sp.pi * kappa2 * T_H / (2 * (T_H + U_H))),
        relation=limit("exact as eps -> 0 (nu_i -> sign(g_i), kappa_i^2 -> sigma_i^2/g_i^2), for U > 0 where P-32"
                       " is stated"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="== P-32's (dL_max, B_noise2) with P-29's beta_noise = sqrt(T/U), eta_max",
                         build=lambda s: sp.Tuple(*[sp.simplify(v.subs(U_H, U_pos) - w)
                                                    for v, w in zip(s.result, signsgd)])),
            ZeroIdentity(name="dL_max/(1 + B_noise/B) == P-31 (in T, U): X-20 -> P-31",
                         build=lambda s: sp.simplify((s.result[0] / (1 + s.result[1] / B)).subs(U_H, U_pos)
                                                     - p31_in_tu)),
            *[limit_check(k, sign, what) for k, what in ((0, "dL_max"), (1, "B_noise")) for sign in (1, -1)],
        ),
        depends=("X-21", "P-29", "P-31", "P-32"),
    )


def _x24(previous: Derivation) -> Step:
    """X-24: 1/B_noise(eps) - 1/B_peak(eps) with X-21's B_noise and E-15's B_peak: P-34 at every eps."""
    x21, e15, p34 = previous["X-21"], previous["E-15"], previous["P-34"]
    difference = 1 / x21.result[1] - 1 / e15.extra("B_peak")
    return Step(
        label="X-24",
        section=SECTION,
        statement="1/B_noise(eps) - 1/B_peak(eps) = 4/(pi kappa^2) for every eps (P-34 at eps = 0): the surge's peak"
        " (E-15) exists iff B_noise(eps) < pi kappa^2/4, and then B_peak > B_noise",
        definition=sp.Add(1 / B_noise, -1 / B_peak, evaluate=False),
        result=sp.cancel(difference),
        printed=4 / (sp.pi * kappa2),
        relation=identity("exact within the mean field, for every eps >= 0 (B_peak > 0 iff S_nu > 2 T_H)"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="== P-34's (the eps = 0 relation)", build=lambda s: s.result - p34.result),
            ZeroIdentity(name="== 1/(X-21's B_noise) - 1/(E-15's B_peak)",
                         build=lambda s: sp.cancel(s.result - (1 / x21.result[1] - 1 / e15.extra("B_peak")))),
            ZeroIdentity(name="peak iff B_noise < 1/result: (1/result - B_noise)/B_noise == (S - 2T)/(2T), E-15's"
                         " condition over 2T", build=lambda s: sp.cancel((1 / s.result - x21.result[1]) / x21.result[1]
                                                                          - e15.extra("peak condition") / (2 * T_H))),
        ),
        depends=("X-21", "E-15", "P-34"),
    )


def _x25(previous: Derivation) -> Step:
    """X-25: eps -> oo.  Mean field: X-21 with E-17's kappa^2 and eps nu_i -> g_i; exactly: eps phi -> g~ (the
    update is SGD's at lr eta/eps, X-8), E-5's decrease is unchanged by phi -> eps phi, so dL -> P-14."""
    e5, e17, e18, x21, p9, p12, p14 = (previous[k] for k in ("E-5", "E-17", "E-18", "X-21", "P-9", "P-12", "P-14"))
    _, scaled_nu, _ = e17.result
    c = sp.simplify(scaled_nu / g)  # eps nu_i -> c g_i
    kappa_eps = sigma2_bar / (g**2 + eps**2)
    mean_field = sp.limit(x21.result[1].subs({kappa2: kappa_eps, S_nu: S_eps / eps**2}), eps, sp.oo)
    mean_field = mean_field.subs(S_eps, c**2 * gHg)
    # exact: eps softsign(x, eps) -> x and eps^2 softsign^2 -> x^2 pointwise (dominated by |x|, x^2)
    first, second = sp.limit(eps * softsign(x, eps), eps, sp.oo), sp.limit(eps**2 * softsign(x, eps) ** 2, eps, sp.oo)
    if (first, second) != (x, x**2):  # pragma: no cover - E-2's limit
        raise ArithmeticError(f"eps softsign -> {first}, eps^2 softsign^2 -> {second}")
    scale = sp.Symbol("c_scale", positive=True)
    decrease = e5.extra("decrease")
    if sp.cancel(decrease.subs({M_phi_g: scale * M_phi_g, T_phi: scale**2 * T_phi}) - decrease) != 0:
        raise ArithmeticError("E-5's decrease changes under phi -> c phi")  # pragma: no cover - E-5's form
    exact_dl = decrease.subs(sgd_rules(p9))  # E-5's decrease with E[g~], E[g~ g~^T]: P-14's
    exact = saturating_form(exact_dl, dL_max, B_noise).noise
    e18_noise = saturating_form(e18.result, eta_max, B_noise).noise
    sgd_domain = domain((gg, "positive"), (gHg, "positive"), (trSH, "positive"), (B, "positive"))
    kappa_two = sigma2_bar / (p1**2 + eps**2)  # representative g = g_1

    return Step(
        label="X-25",
        section=SECTION,
        statement="eps -> oo: the mean field's B_noise -> pi sigma^2 sum H_ii/(2 g^T H g) (E-18's pi/2); exactly,"
        " eta*/eps -> P-10 (X-8) and dL -> P-14, so B_noise -> tr(Sigma H)/g^T H g (P-12), SGD's, without pi/2",
        definition=sp.Tuple(sp.Limit(x21.result[1], eps, sp.oo), sp.Limit(sp.Symbol("B_noise_exact"), eps, sp.oo)),
        result=sp.Tuple(mean_field, exact),
        printed=sp.Tuple(sp.pi * sigma2_bar * T_H / (2 * gHg), trSH / gHg),
        relation=limit("exact as eps -> oo: the first under the mean field with kappa^2 = sigma^2/(g^2 + eps^2),"
                       " the second for the Gaussian model itself (Sigma diagonal)"),
        checks=(
            MatchesPrinted(),
            LimitValue(name="mean field at two explicit components (kappa^2 = sigma^2/(g_1^2 + eps^2)) -> result[0]",
                       build=lambda s: (x21.result[1].subs(kappa2, kappa_two).subs(_two_components(-1))
                                        - s.result[0].subs(_two_components(-1))),
                       var=eps, point=sp.oo, expected=lambda s: sp.Integer(0)),
            ZeroIdentity(name="result[0] == E-18's B_noise (E-18 written as eta_max/(1 + B_noise/B))",
                         build=lambda s: s.result[0] - e18_noise),
            ZeroIdentity(name="result[1] == P-12's B_noise (SGD)", build=lambda s: s.result[1] - p12.result[1]),
            ZeroIdentity(name="P-14's decrease == dL_max/(1 + result[1]/B) for every B", domain=sgd_domain,
                         build=lambda s: sp.cancel(p14.extra("decrease") - sp.limit(p14.extra("decrease"), B, sp.oo)
                                                   / (1 + s.result[1] / B))),
            ZeroIdentity(name="their ratio at tr(Sigma H) = sigma^2 sum H_ii is E-18's noise over the exact one",
                         build=lambda s: sp.cancel(s.result[0] / s.result[1].subs(trSH, sigma2_bar * T_H)
                                                   - (gg / e18.result - gHg) * B / (sigma2_bar * T_H))),
        ),
        depends=("X-21", "E-17", "E-18", "X-8", "P-9", "P-12", "P-14"),
        note="X-8 already has the exact eta*/eps -> P-10 with Sigma/B for both placements; here it is the loss"
        " decrease, whose scale drops out, so B_noise itself has the limit.",
    )


# ---------------------------------------------------------------------------------------------
# the direction of the mean field's B_noise(eps).


def _explicit_bnoise(n: int):
    """B_noise(eps) at n components with kappa^2 the arithmetic mean of sigma_i^2/(g_i^2 + eps^2), and the
    explicit W_S, W_kappa (w_i = 1/(g_i^2 + eps^2))."""
    gs = sp.symbols(f"g_1:{n + 1}", positive=True)
    ss = sp.symbols(f"s_1:{n + 1}", positive=True)
    H = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"H_{min(i, j) + 1}{max(i, j) + 1}", real=True))
    w = [1 / (gk**2 + eps**2) for gk in gs]
    nus = [softsign(gk, eps) for gk in gs]
    S = sum(nus[i] * nus[j] * H[i, j] for i in range(n) for j in range(n))
    kappa_mean = sum(sk**2 * wk for sk, wk in zip(ss, w)) / n
    W_S_value = sum(nus[i] * nus[j] * H[i, j] * (w[i] + w[j]) / 2 for i in range(n) for j in range(n)) / S
    W_kappa_value = sum(sk**2 * wk**2 for sk, wk in zip(ss, w)) / sum(sk**2 * wk for sk, wk in zip(ss, w))
    return S, H.trace(), kappa_mean, W_S_value, W_kappa_value


def _x26(previous: Derivation) -> Step:
    """X-26: d ln B_noise/d eps of X-21 with S(eps), kappa^2(eps); d nu_i/d eps = -eps w_i nu_i names the rates."""
    x21 = previous["X-21"]
    S_f, K_f = sp.Function("S")(eps), sp.Function("kappa2")(eps)
    log_derivative = sp.diff(sp.log(x21.result[1].subs({S_nu: S_f, kappa2: K_f})), eps)
    # dS/d eps = -2 eps W_S S (W_S: S-weighted mean of w_i), d kappa^2/d eps = -2 eps W_kappa kappa^2
    named = log_derivative.subs({sp.Derivative(S_f, eps): -2 * eps * W_S * S_f,
                                 sp.Derivative(K_f, eps): -2 * eps * W_kappa * K_f})
    result = sp.factor(sp.simplify(named))

    def explicit(s: Step) -> sp.Tuple:
        out = []
        for n in X26_N:
            S, T, K, ws, wk = _explicit_bnoise(n)
            direct = sp.diff(sp.log(x21.result[1].subs({S_nu: S, T_H: T, kappa2: K})), eps)
            out.append(sp.simplify(direct - s.result.subs({W_S: ws, W_kappa: wk})))
        return sp.Tuple(*out)

    def flat_when_exact(s: Step) -> ClaimOutcome:
        # equal |g_i| = q and sigma_i: w_i = w for all i, so W_S = W_kappa = w; one component is the case n = 1
        q = sp.Symbol("q", positive=True)
        w = 1 / (q**2 + eps**2)
        value = sp.simplify(s.result.subs({W_S: w, W_kappa: w}))
        return ClaimOutcome(value == 0, "symbolic", f"d ln B_noise/d eps at W_S = W_kappa = 1/(g^2 + eps^2) is {value}:"
                            " B_noise does not depend on eps where the mean field is exact (equal |g_i| and sigma_i,"
                            " for instance one component)")

    return Step(
        label="X-26",
        section=SECTION,
        statement="mean field: d ln B_noise/d eps = 2 eps (W_S - W_kappa), W_S = sum nu_i nu_j H_ij (w_i + w_j)/(2"
        " S_nu), W_kappa = -(d kappa^2/d eps)/(2 eps kappa^2), w_i = 1/(g_i^2 + eps^2): B_noise is flat where the"
        " mean field is exact, and moves either way otherwise",
        definition=sp.Derivative(sp.log(B_noise), eps),
        result=result,
        printed=2 * eps * (W_S - W_kappa),
        relation=identity("exact within the mean field, for any kappa^2(eps) (W_kappa names its rate); for the"
                          " arithmetic mean of kappa_i^2, W_kappa = sum sigma_i^2 w_i^2/sum sigma_i^2 w_i"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name=f"at n = {', '.join(map(str, X26_N))} (kappa^2 the arithmetic mean): == the derivative"
                         " of ln X-21's B_noise", build=explicit),
            Claim(name="flat where the mean field is exact (equal |g_i| and sigma_i; one component)",
                  test=flat_when_exact, article_claim=False),
            Claim(name="B_noise(eps) moves in one direction with eps for every problem (mean field, kappa^2 the mean)",
                  test=_direction_search, article_claim=False, finding="b-noise-direction"),
        ),
        depends=("X-21",),
    )


DIRECTION_SEED = 1106
DIRECTION_EPS = np.geomspace(1e-3, 1e3, 121)


def _direction_search(step: Step) -> ClaimOutcome:
    """The sign of the step's d ln B_noise/d eps on a log eps grid, for seeded random problems (n = 1 .. 5)."""
    rate = sp.lambdify((eps, W_S, W_kappa), step.result, modules="numpy")
    rng = np.random.default_rng(DIRECTION_SEED)
    counts = {"falls": 0, "rises": 0, "both": 0, "flat": 0}
    example = ""
    trials = 500
    for trial in range(trials):
        n = int(rng.integers(1, 6))
        gv = rng.normal(size=n) * 10 ** rng.uniform(-2, 1, size=n)
        sv = 10 ** rng.uniform(-1, 1, size=n)
        A = rng.normal(size=(n, n))
        H = A @ A.T + 0.1 * np.eye(n)
        signs = []
        for e in DIRECTION_EPS:
            nu = gv / np.hypot(gv, e)
            w = 1 / (gv**2 + e**2)
            S = nu @ H @ nu
            ws = float((np.outer(nu, nu) * H * (w[:, None] + w[None, :]) / 2).sum() / S)
            wk = float((sv**2 * w**2).sum() / (sv**2 * w).sum())
            value = float(rate(e, ws, wk))
            signs.append(0 if abs(value) <= 1e-9 * e * max(ws, wk) else int(np.sign(value)))
        up, down = 1 in signs, -1 in signs
        kind = "both" if up and down else "rises" if up else "falls" if down else "flat"
        counts[kind] += 1
        if kind == "both" and not example:
            example = (f"trial {trial}: n = {n}, g = {np.round(gv, 4).tolist()}, sigma = {np.round(sv, 4).tolist()},"
                       f" H = {np.round(H, 3).tolist()}")
    one_way = counts["both"] == 0 and (counts["rises"] == 0 or counts["falls"] == 0)
    return ClaimOutcome(one_way, "numeric",
                        f"{trials} seeded problems (seed {DIRECTION_SEED}), eps in [1e-3, 1e3]: B_noise falls in"
                        f" {counts['falls']}, rises in {counts['rises']}, does both in {counts['both']}, is flat in"
                        f" {counts['flat']} (n = 1). First non-monotone case: {example}", points=trials)


# ---------------------------------------------------------------------------------------------
# the exact direction, one component.

X27_EPS = ("0.3", "1", "3")  # eps/|g| at which the exact half-saturation batch is measured (sigma = |g|)
X27_DIGITS = 15


def _x27(previous: Derivation) -> Step:
    """X-27: one component, g = sigma scale: the half-saturation batch at eps = 0 (P-17: dL/dL_max = erf^2),
    at eps -> oo (X-25's exact SGD value) and the mean field's (X-21, flat)."""
    p17, x21, x25 = previous["P-17"], previous["X-21"], previous["X-25"]
    g_pos = sp.Symbol("g", positive=True)
    # eps = 0: E[sign^2] = 1, so dL/dL_max = mu^2 = P-17^2; solve mu = 1/sqrt(2) (mu > 0 for g > 0)
    mu = p17.result.subs(g, g_pos)
    (at_zero,) = sp.solve(sp.Eq(mu, 1 / sp.sqrt(2)), B)
    one = {S_nu: h * g**2 / (g**2 + eps**2), T_H: h, kappa2: sigma**2 / (g**2 + eps**2)}
    mean_field = sp.simplify(x21.result[1].subs(one))
    at_infinity = x25.result[1].subs({trSH: h * sigma**2, gHg: h * g**2})
    ratios = sp.Tuple(*[sp.simplify(v.subs(g_pos, g) * g**2 / sigma**2) for v in (at_zero, at_infinity, mean_field)])
    return Step(
        label="X-27",
        section=SECTION,
        statement="one component, exactly: B_noise (the half-saturation batch) is 2 erfinv(1/sqrt2)^2 sigma^2/g^2 ="
        " 1.106 sigma^2/g^2 at eps = 0 and sigma^2/g^2 as eps -> oo, and dips to about 0.85 sigma^2/g^2 near"
        " eps = |g| in between; the mean field says pi sigma^2/(2 g^2) for every eps",
        definition=sp.Tuple(sp.Eq(sp.Symbol("dL(B_half)/dL_max"), sp.Rational(1, 2)), sp.Eq(B_half, at_zero)),
        result=ratios,
        printed=sp.Tuple(2 * sp.erfinv(1 / sp.sqrt(2)) ** 2, sp.Integer(1), sp.pi / 2),
        relation=identity("exact for one component (H = h > 0), in units of sigma^2/g^2: at eps = 0 (P-17), eps ->"
                          " oo (X-25) and under the mean field (X-21)"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="eps = 0: P-17's mean squared at B = result[0] sigma^2/g^2 is 1/2",
                         build=lambda s: sp.simplify(mu.subs(B, s.result[0] * sigma**2 / g_pos**2) ** 2
                                                     - sp.Rational(1, 2))),
            ZeroIdentity(name="eps -> oo: X-25's exact B_noise at one component == result[1] sigma^2/g^2",
                         build=lambda s: sp.simplify(at_infinity - s.result[1] * sigma**2 / g**2)),
            ZeroIdentity(name="mean field: X-21 at one component == result[2] sigma^2/g^2, for every eps",
                         build=lambda s: sp.simplify(mean_field - s.result[2] * sigma**2 / g**2)),
            Claim(name="the exact half-saturation batch at eps = 1e-8 |g| and 1e4 |g| matches result[0] and"
                  " result[1] (quadrature, 1e-6)", test=_exact_ends, article_claim=False),
            Claim(name="exactly, B_noise moves monotonically from its eps = 0 value to SGD's (one component)",
                  test=_exact_monotone, article_claim=False, finding="b-noise-dip"),
        ),
        depends=("P-17", "X-21", "X-25"),
    )


def exact_half_batch(eps_over_g) -> mp.mpf:
    """One component, g = sigma = 1: the B with E-5's exact dL(B) = dL_max/2.  dL = g^2 E[u]^2/(2 h E[u^2]) and
    dL_max = g^2/(2 h) (u = nu at B = oo), so E[u]^2/E[u^2] = 1/2, u = softsign(x, b), x = a + z, a = sqrt(B),
    b = eps sqrt(B) (reference quadrature)."""
    e = mp.mpf(eps_over_g)

    def excess(log_b):
        root = mp.exp(log_b / 2)
        a_, b_ = root, e * root
        if b_ == 0:
            m, s2 = reference.sign_mean(a_), mp.mpf(1)
        else:
            m, s2 = reference.softsign_mean(a_, b_), reference.softsign_second_moment(a_, b_)
        return m * m / s2 - mp.mpf(1) / 2

    with mp.workdps(X27_DIGITS):
        low, high = mp.mpf(-3), mp.mpf(3)  # B in [0.05, 20] brackets the half point for every eps (one component)
        return mp.exp(mp.findroot(excess, (low, high), solver="anderson", tol=mp.mpf(10) ** (-12)))


def _exact_ends(step: Step) -> ClaimOutcome:
    with mp.workdps(X27_DIGITS):
        near_zero, far = exact_half_batch("1e-8"), exact_half_batch("1e4")
        expected = [mp.mpf(sp.N(step.result[0], X27_DIGITS)), mp.mpf(sp.N(step.result[1], X27_DIGITS))]
        errors = [abs(near_zero - expected[0]) / expected[0], abs(far - expected[1]) / expected[1]]
    worst = float(max(errors))
    return ClaimOutcome(worst < 1e-6, "numeric", f"eps = 1e-8: {mp.nstr(near_zero, 10)} vs {mp.nstr(expected[0], 10)};"
                        f" eps = 1e4: {mp.nstr(far, 10)} vs {mp.nstr(expected[1], 10)} (the next term is O(1/eps^2))",
                        max_abs_error=worst, points=2)


def _exact_monotone(step: Step) -> ClaimOutcome:
    ends = sorted(float(sp.N(v)) for v in step.result[:2])
    values = [(e, float(exact_half_batch(e))) for e in X27_EPS]
    outside = [(e, v) for e, v in values if not ends[0] <= v <= ends[1]]
    listed = ", ".join(f"eps = {e}: {v:.4f}" for e, v in values)
    return ClaimOutcome(not outside, "numeric",
                        f"B_half g^2/sigma^2 at {listed}; the ends are {ends[1]:.4f} (eps = 0) and {ends[0]:.4f} (eps"
                        f" -> oo); outside them: {outside}. The mean field's pi/2 = 1.5708 is above all of them",
                        points=len(values))


def steps(previous: Derivation) -> list[Step]:
    return build_in_order(previous, (_x20, _x21, _x22, _x23, _x24, _x25, _x26, _x27))
