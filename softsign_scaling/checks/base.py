"""Check values.  Each reads the step it belongs to and returns a :class:`CheckResult`.

* :class:`MatchesPrinted`: the derived result equals the article's printed form
  (symbolic proof where SymPy finds one, else mpmath at 30 digits on >= 50 points).
* :class:`ZeroIdentity`: an expression built from the step is identically zero.
* :class:`NumericIdentity`: two evaluators agree to 30 digits on a domain
  (for example a closed form against quadrature of its defining integral).
* :class:`LimitValue`: a SymPy limit of an expression built from the step.
* :class:`ApproximationError`: the measured max error of an approximation on its
  domain, within a stated acceptance bound.
* :class:`Claim`: one of the article's claims, confirmed or refuted with evidence.
* :class:`MatchesPrintedForm`: another printed form of the step (the article's g, sigma form, say)
  equals the same form of the derived result; like MatchesPrinted, a comparison with typed text.
* :class:`ReferenceCrossCheck`: a quadrature reference the step's relation is measured against
  agrees with an independent route to the same number (checks/reference.py's ROUTES).
* :class:`NumericLimit`: each unevaluated Limit of the step's definition, evaluated far out,
  equals the step's result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import math

import mpmath as mp
import sympy as sp

from .domain import Domain
from .evaluate import DIGITS, compare, measure_error, mp_function

if TYPE_CHECKING:  # pragma: no cover
    from ..steps import CheckKind, CheckResult, Step


def check_result(step: "Step", **kw) -> "CheckResult":
    from ..steps import CheckResult

    return CheckResult(label=step.label, **kw)


def as_expr(value: sp.Basic) -> sp.Expr:
    """An Eq a = b becomes a - b; an Expr stays as it is; a Tuple stays a Tuple."""
    if isinstance(value, sp.Equality):
        return value.lhs - value.rhs
    return value


def _difference(left: sp.Basic, right: sp.Basic) -> sp.Basic:
    """left - right, elementwise for Tuples (same length)."""
    left, right = as_expr(left), as_expr(right)
    if isinstance(left, sp.Tuple) or isinstance(right, sp.Tuple):
        if not (isinstance(left, sp.Tuple) and isinstance(right, sp.Tuple) and len(left) == len(right)):
            raise ValueError(f"cannot compare {left} with {right}")
        return sp.Tuple(*[as_expr(l) - as_expr(r) for l, r in zip(left, right)])
    return left - right


# Probe values for every free symbol (positive, irrational-looking, distinct): a value at one of them far
# from zero proves the expression is not identically zero, so no proof is attempted (simplify can take
# minutes on a wrong, non-simplifying expression; a mutated step must fail fast).
_PROBES = ("0.3719", "0.6183", "1.2917", "2.1377")
_PROBE_DIGITS = 40


def visibly_nonzero(expr: sp.Expr) -> bool:
    """True when ``expr`` is clearly nonzero at a probe point (|value| > 1e-20 at 40 digits).

    The probes assign every free symbol a positive value (the symbols here are positive or real,
    with a few on (0, 1)); an expression that cannot be evaluated there is not judged (False)."""
    expr = sp.sympify(expr)
    symbols = sorted(expr.free_symbols, key=sp.default_sort_key)
    if any(s.is_positive is False or s.is_nonnegative is False for s in symbols):
        return False
    try:
        f = sp.lambdify(symbols, expr, modules="mpmath")
    except Exception:  # noqa: BLE001 - unprintable objects: no probe
        return False
    import mpmath as mp

    with mp.workdps(_PROBE_DIGITS):
        for shift in range(len(_PROBES)):
            values = [mp.mpf(_PROBES[(i + shift) % len(_PROBES)]) for i in range(len(symbols))]
            if any(s.is_integer for s in symbols):
                return False
            if any(_bounded_unit(s) for s in symbols):
                values = [v / 3 if _bounded_unit(s) else v for s, v in zip(symbols, values)]
            try:
                value = f(*values)
                value = mp.mpc(value) if isinstance(value, mp.mpc) else mp.mpf(value)
            except Exception:  # noqa: BLE001 - singular or unevaluable at this point: try the next
                continue
            if mp.isfinite(value) and abs(value) > mp.mpf("1e-20"):
                return True
    return False


def _bounded_unit(symbol: sp.Symbol) -> bool:
    return str(symbol) in ("beta", "beta_noise", "nu", "nu_i", "nu_j", "delta_ij")


def symbolic_zero(expr: sp.Expr) -> bool:
    """True when SymPy proves ``expr`` == 0; False means "not proved", never "nonzero"."""
    expr = sp.sympify(expr)
    if expr == 0:
        return True
    if visibly_nonzero(expr):
        return False
    for attempt in (
        lambda e: sp.simplify(e),
        lambda e: sp.simplify(sp.expand(e)),
        lambda e: sp.simplify(e.rewrite(sp.exp)),
        lambda e: sp.powsimp(sp.expand(sp.powdenest(e, force=False))),
        # sign(t) = t/|t| away from t = 0 (the sign's value at 0 has measure zero everywhere here)
        lambda e: sp.simplify(e.replace(sp.sign, lambda t: t / sp.Abs(t))),
    ):
        try:
            if attempt(expr) == 0:
                return True
        except (TypeError, ValueError, NotImplementedError, RecursionError):  # pragma: no cover
            continue
    return False


@dataclass(frozen=True)
class Check:
    name: str

    def run(self, step: "Step") -> "CheckResult":  # pragma: no cover - abstract
        raise NotImplementedError


def _identity_result(step, name, kind, difference, domain: Domain | None, digits: int,
                     try_symbolic: bool = True) -> "CheckResult":
    """Prove difference == 0 symbolically, or fall back to mpmath at ``digits`` on ``domain``."""
    parts = list(difference) if isinstance(difference, sp.Tuple) else [difference]
    if try_symbolic and all(symbolic_zero(part) for part in parts):
        return check_result(step, name=name, kind=kind, method="symbolic", verdict="pass", max_abs_error=0.0)
    if domain is None:
        return check_result(step, name=name, kind=kind, method="symbolic", verdict="fail",
                       detail=f"SymPy could not prove {sp.sstr(difference)[:200]} == 0 and no numeric domain is set")
    fs = [mp_function(part, domain.symbols) for part in parts]
    f = (lambda *args: max(abs(fi(*args)) for fi in fs)) if len(fs) > 1 else fs[0]
    zero = lambda *args: 0  # noqa: E731
    cmp = compare(f, zero, domain.points(), digits)
    return check_result(
        step, name=name, kind=kind, method="numeric",
        verdict="pass" if cmp.failures == 0 else "fail",
        max_abs_error=cmp.max_abs_error, max_rel_error=None, digits=digits, points=cmp.points,
        where=f"worst at {dict(zip(map(str, domain.symbols), cmp.worst_point))}",
        detail=f"{cmp.failures} of {cmp.points} points outside 1e-{digits}",
    )


@dataclass(frozen=True)
class MatchesPrinted(Check):
    """Derived result == article's printed form."""

    domain: Domain | None = None
    digits: int = DIGITS
    name: str = "derived == printed"
    # False where SymPy's simplify cannot terminate on the expression (Meijer G against Bessel K)
    try_symbolic: bool = True

    def run(self, step: "Step") -> "CheckResult":
        if step.printed is None:
            raise ValueError(f"step {step.label} has no printed form to compare with")
        difference = _difference(step.result, step.printed)
        return _identity_result(step, self.name, "identity", difference, self.domain, self.digits, self.try_symbolic)


@dataclass(frozen=True)
class MatchesPrintedForm(MatchesPrinted):
    """``form(step)`` == ``printed_form``: another of the article's printed forms, compared like the first.

    A print check (the mutation test does not count it: a wrong result printed the same way fools it)."""

    form: Callable[["Step"], sp.Basic] = None  # type: ignore[assignment]
    printed_form: sp.Basic = None  # type: ignore[assignment]

    def run(self, step: "Step") -> "CheckResult":
        difference = _difference(self.form(step), self.printed_form)
        return _identity_result(step, self.name, "identity", difference, self.domain, self.digits, self.try_symbolic)


@dataclass(frozen=True)
class ZeroIdentity(Check):
    """``build(step)`` is identically zero (symbolic, else numeric on ``domain``)."""

    build: Callable[["Step"], sp.Expr] = None  # type: ignore[assignment]
    domain: Domain | None = None
    digits: int = DIGITS
    kind: "CheckKind" = "identity"
    try_symbolic: bool = True  # as MatchesPrinted's (False where SymPy's attempts are known to fail: numeric only)

    def run(self, step: "Step") -> "CheckResult":
        return _identity_result(step, self.name, self.kind, as_expr(self.build(step)), self.domain, self.digits,
                                self.try_symbolic)


@dataclass(frozen=True)
class NumericIdentity(Check):
    """``build(step)`` (an Expr in domain.symbols) agrees with ``reference`` (an mpmath callable)."""

    build: Callable[["Step"], sp.Expr] = None  # type: ignore[assignment]
    reference: Callable[..., object] = None  # type: ignore[assignment]
    domain: Domain = None  # type: ignore[assignment]
    digits: int = DIGITS
    kind: "CheckKind" = "identity"
    # Quadrature references are costly at 70 digits; 15 guard digits cover the closed forms'
    # cancellation for b >= 1e-6 (at most ~12 digits lost).
    guard: int = 15

    def run(self, step: "Step") -> "CheckResult":
        f = mp_function(as_expr(self.build(step)), self.domain.symbols)
        cmp = compare(f, self.reference, self.domain.points(), self.digits, self.guard)
        return check_result(
            step, name=self.name, kind=self.kind, method="numeric",
            verdict="pass" if cmp.failures == 0 else "fail",
            max_abs_error=cmp.max_abs_error, max_rel_error=cmp.max_rel_error,
            digits=self.digits, points=cmp.points,
            where=f"worst at {dict(zip(map(str, self.domain.symbols), cmp.worst_point))}",
            detail=f"{cmp.failures} of {cmp.points} points outside 1e-{self.digits} (relative)",
        )


@dataclass(frozen=True)
class ReferenceCrossCheck(Check):
    """A reference of checks/reference.py agrees with its independent route (reference.ROUTES) at ``points``.

    Both are looked up by name when the check runs (any executor's worker finds them; a test can
    put a perturbed reference in their place).  ``digits`` correct digits are asked of both.  Its kind
    is "claim" (the project's claim that the reference is right, at a few points), not "identity": it
    is not one of the step's identities, which are verified at 30 digits on >= 50 points."""

    reference: str = ""
    points: tuple[tuple[str, ...], ...] = ()
    digits: int = 15
    guard: int = 5

    def run(self, step: "Step") -> "CheckResult":
        from . import reference as references

        route = references.ROUTES[self.reference]
        cmp = compare(getattr(references, self.reference), getattr(references, route), self.points,
                      self.digits, self.guard)
        return check_result(
            step, name=self.name, kind="claim", method="numeric",
            verdict="pass" if cmp.failures == 0 else "fail",
            max_abs_error=cmp.max_abs_error, max_rel_error=cmp.max_rel_error, digits=self.digits,
            points=cmp.points, where=f"worst at {cmp.worst_point}",
            detail=f"reference.{self.reference} vs reference.{route}: {cmp.failures} of {cmp.points} points"
                   f" outside 1e-{self.digits}",
        )


@dataclass(frozen=True)
class NumericLimit(Check):
    """Each Limit(expr, var, oo) of ``build(step)`` (a Tuple of them), evaluated at var = 10^far, equals the
    step's result element at ``digits`` digits, at every point of ``domain`` (its other symbols).

    The definition's limits are evaluated directly, not by SymPy's limit: an independent route.  The
    limits here converge like 1/var^2, so 10^far with far = 40 leaves ~1e-80 of truncation."""

    build: Callable[["Step"], sp.Tuple] = None  # type: ignore[assignment]
    domain: Domain = None  # type: ignore[assignment]
    far: int = 40
    digits: int = DIGITS

    def run(self, step: "Step") -> "CheckResult":
        limits, results = list(self.build(step)), list(step.result)
        if len(limits) != len(results):
            raise ValueError(f"{len(limits)} limits for {len(results)} results")
        worst, failures, count, worst_at = 0.0, 0, 0, ""
        with mp.workdps(self.digits + 2 * self.far + 20):
            tol = mp.mpf(10) ** (-self.digits)
            for k, (lim, value) in enumerate(zip(limits, results)):
                expr, var, point = lim.args[0], lim.args[1], lim.args[2]
                if point != sp.oo:
                    raise ValueError(f"NumericLimit evaluates limits at oo only, not {point}")
                f = mp_function(expr, (var,) + self.domain.symbols)
                exact = mp_function(sp.sympify(value), self.domain.symbols)
                for p in self.domain.points():
                    args = [mp.mpf(x) for x in p]
                    far_value, expected = f(mp.mpf(10) ** self.far, *args), exact(*args)
                    err = abs(far_value - expected)
                    count += 1
                    if not err <= tol * max(1, abs(expected)):
                        failures += 1
                    if float(err) >= worst:
                        worst, worst_at = float(err), f"element {k} at {dict(zip(map(str, self.domain.symbols), p))}"
        return check_result(step, name=self.name, kind="limit", method="numeric",
                       verdict="pass" if failures == 0 else "fail", max_abs_error=worst, digits=self.digits,
                       points=count, where=f"worst: {worst_at}",
                       detail=f"{failures} of {count} values at {var} = 1e{self.far} outside 1e-{self.digits}")


@dataclass(frozen=True)
class LimitValue(Check):
    """``limit(build(step), var, point) == expected(step)``, proved by SymPy."""

    build: Callable[["Step"], sp.Expr] = None  # type: ignore[assignment]
    var: sp.Symbol = None  # type: ignore[assignment]
    point: sp.Expr = sp.oo
    expected: Callable[["Step"], sp.Expr] = None  # type: ignore[assignment]
    direction: str = "+"

    def run(self, step: "Step") -> "CheckResult":
        value = sp.limit(self.build(step), self.var, self.point, self.direction)
        ok = symbolic_zero(value - self.expected(step))
        return check_result(step, name=self.name, kind="limit", method="symbolic",
                       verdict="pass" if ok else "fail",
                       max_abs_error=0.0 if ok else None,
                       detail=f"limit as {self.var} -> {self.point}: {sp.sstr(value)}")


def round_up_2(value: float) -> float:
    """``value`` rounded up at two significant figures (0.2929 -> 0.30, 0.06614 -> 0.067)."""
    if value <= 0 or not math.isfinite(value):
        return value
    unit = 10.0 ** (math.floor(math.log10(value)) - 1)
    # a value that is a two-figure number up to rounding (0.5 from 0.49999999999999994) stays itself
    return float(f"{math.ceil(value / unit - 1e-9) * unit:.12g}")


def _bound_verdict(measured: float, bound: float, pinned: bool) -> tuple[str, str]:
    """Within the bound; when ``pinned``, the bound is also the measured error rounded up at two figures."""
    figure = round_up_2(measured)
    if not measured <= bound:
        return "fail", f"acceptance bound {bound:g} exceeded (measured {measured:.4g})"
    if pinned and not math.isclose(figure, bound, rel_tol=1e-9):
        return "fail", (f"acceptance bound {bound:g} is not the measured error rounded up at two figures ({figure:g}):"
                        " the approximation's error changed; re-measure it")
    return "pass", f"acceptance bound {bound:g}" + (" (the measured error, rounded up at two figures)" if pinned else "")


@dataclass(frozen=True)
class ApproximationError(Check):
    """Max |approx - exact| over the domain's points; pass when within ``bound``.

    ``bound`` is the stated acceptance bound of the approximation (documented with
    the step); the measured number is the result that is reported.  ``pinned``: the bound is
    the measured error rounded up at two significant figures, and a measured error that rounds to
    another figure fails too (a smaller error as much as a larger one: either means the
    approximation is not the one documented).
    """

    approx: Callable[["Step"], Callable[..., object]] = None  # type: ignore[assignment]
    exact: Callable[..., object] = None  # type: ignore[assignment]
    domain: Domain = None  # type: ignore[assignment]
    bound: float = 0.0
    digits: int = 20
    pinned: bool = False

    def run(self, step: "Step") -> "CheckResult":
        m = measure_error(self.approx(step), self.exact, self.domain.points(), self.digits)
        verdict, detail = _bound_verdict(m.max_abs_error, self.bound, self.pinned)
        return check_result(
            step, name=self.name, kind="approximation", method="numeric", verdict=verdict,
            max_abs_error=m.max_abs_error, max_rel_error=m.max_rel_error, digits=self.digits, points=m.points,
            where=f"worst at {dict(zip(map(str, self.domain.symbols), m.argmax_abs))}; {self.domain.describe()}",
            detail=detail,
        )


@dataclass(frozen=True)
class ClaimOutcome:
    holds: bool
    method: Literal["symbolic", "numeric"]
    evidence: str
    max_abs_error: float | None = None
    digits: int | None = None
    points: int | None = None


@dataclass(frozen=True)
class Claim(Check):
    """A claim (the article's, or the project's): ``test(step)`` confirms it or refutes it with evidence.

    ``finding`` names the recorded finding (:mod:`softsign_scaling.findings`) when the project
    expects the evidence to refute the claim.  The verdict is "pass" when the claim holds and no
    finding is recorded, "refuted" when it is refuted as recorded, and "fail" otherwise: a new
    refutation (record it as a finding first) or a recorded finding that the evidence no longer
    shows.  ``article_claim`` says whose claim it is (the article's or this project's).
    """

    test: Callable[["Step"], ClaimOutcome] = None  # type: ignore[assignment]
    article_claim: bool = True
    finding: str | None = None

    def __post_init__(self) -> None:
        if self.finding is not None:
            from ..findings import finding

            finding(self.finding)  # a KeyError names the recorded ones

    def run(self, step: "Step") -> "CheckResult":
        out = self.test(step)
        if self.finding is None:
            verdict = "pass" if out.holds else "fail"
            note = "" if out.holds else "refuted, and no finding is recorded for it (softsign_scaling/findings.py): "
        else:
            verdict = "refuted" if not out.holds else "fail"
            note = "" if not out.holds else f"recorded finding {self.finding!r} is not reproduced: "
        return check_result(step, name=self.name, kind="claim", method=out.method, verdict=verdict,
                       max_abs_error=out.max_abs_error, digits=out.digits, points=out.points,
                       detail=note + out.evidence)


@dataclass(frozen=True)
class SupError1D(Check):
    """sup over [low, high] of |approx - exact| (dense grid plus golden-section refinement).

    For odd functions on the real line, [0, high] covers it; ``tail`` documents why
    the error beyond ``high`` is smaller (checked at ``high`` itself).
    """

    approx: Callable[["Step"], Callable[..., object]] = None  # type: ignore[assignment]
    exact: Callable[..., object] = None  # type: ignore[assignment]
    low: float = 0.0
    high: float = 10.0
    bound: float = 0.0
    tail: str = ""
    digits: int = 20
    pinned: bool = False  # as ApproximationError's

    def run(self, step: "Step") -> "CheckResult":
        from .evaluate import sup_error_1d

        sup, where = sup_error_1d(self.approx(step), self.exact, self.low, self.high, digits=self.digits)
        verdict, detail = _bound_verdict(sup, self.bound, self.pinned)
        return check_result(
            step, name=self.name, kind="approximation", method="numeric", verdict=verdict,
            max_abs_error=sup, digits=self.digits, points=400,
            where=f"sup at x = {where:.6g} on [{self.low:g}, {self.high:g}]{'; ' + self.tail if self.tail else ''}",
            detail=detail,
        )
