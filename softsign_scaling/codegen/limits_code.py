"""Generate softsign_scaling/numeric/generated/limits.py from L-1 .. L-6 (and E-9/E-12, A-3/A-4): the large-b and
large-|a| forms.

Each family's form is a short sequence of assignments (common subexpressions: r = a/b, R1 = hypot(r, 1), 1/R1)
and a pair (mu, nu), written here as unevaluated SymPy expressions in the operation order float64 evaluates them
(the order numeric/_far.py typed by hand before issue 24, so that every number stays bit for bit), and printed by
NumPyPrinter with the argument order kept.  Before printing, each form is proved equal to its step's derived result
(the assignments substituted back, hypot(x, y) = sqrt(x^2 + y^2), symbolic zero): a form that is not the step's
formula fails generation.  The module imports numpy only and holds expressions and one constant (L-3's C_oo).
"""

from __future__ import annotations

from pathlib import Path

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from ..checks.base import symbolic_zero
from ..files import write_text
from ..sections import family
from ..sections.limits import BK0, CB, S0B2, A, TC, r
from ..steps import Derivation
from ..symbols import a, b

GENERATED = Path("softsign_scaling") / "numeric" / "generated" / family("limits").module_file
hypot = sp.Function("hypot")
R1, inverse, share, C_OO = sp.symbols("R1 inverse share C_OO", positive=True)


def _mul(*factors: sp.Expr) -> sp.Expr:
    return sp.Mul(*factors, evaluate=False)


def _pow(base: sp.Expr, exponent: int) -> sp.Expr:
    return sp.Pow(base, exponent, evaluate=False)


# function -> (step, docstring, assignments [(name, expr)], the pair); names are read left to right.  far_*: the
# large-b forms (mu, nu) of L-1 .. L-4 in r = a/b; steady_*: the large-|a| forms (m, v) of L-5, L-6, and E-9/E-12's
# (the approx family's regular form, written with hypot so that a^2 never overflows).
_COMMON = [(sp.Symbol("r"), a / b), (R1, hypot(sp.Symbol("r"), 1)), (inverse, _pow(R1, -1))]
R, R3, slope = sp.symbols("R R3 slope", positive=True)
x_inv, bx2, px2 = sp.Symbol("x", real=True), sp.Symbol("bx2", positive=True), sp.Symbol("px2", positive=True)
k0, s0, C = sp.symbols("k0 s0 C", positive=True)
# L-7, L-8: clip (the order numeric/_far.py typed: Q(t) by erfc, phi(t) with its exponent capped at 1e4 so that the
# branches the runtime does not take stay finite; the cap is inactive where the form is used, |t| <= T_FLAT)
size, t_, tail, density, first, second = sp.symbols("size t tail density first second", real=True)
SQRT_HALF, INV_SQRT_2PI = sp.symbols("SQRT_HALF INV_SQRT_2PI", positive=True)
minimum, erfc = sp.Function("minimum"), sp.Function("erfc")
HALF = sp.Rational(1, 2)
# module constants: (name, value as printed (unevaluated), its meaning for the proofs)
CONSTANTS = [
    (SQRT_HALF, sp.Pow(HALF, HALF, evaluate=False), sp.sqrt(HALF)),
    (INV_SQRT_2PI, _mul(1, _pow(sp.Pow(_mul(2, sp.pi), HALF, evaluate=False), -1)), 1 / sp.sqrt(2 * sp.pi)),
]
_CLIP = [(size, sp.Abs(a)), (t_, sp.Add(b, _mul(-1, size), evaluate=False)),
         (tail, _mul(HALF, erfc(_mul(t_, SQRT_HALF)))),
         (density, _mul(INV_SQRT_2PI, sp.exp(_mul(-HALF, minimum(_mul(t_, t_), 10000))))),
         (first, sp.Add(_mul(t_, tail), _mul(-1, density), evaluate=False)),
         (second, sp.Add(sp.Add(1, _mul(-1, tail), evaluate=False), _mul(-1, t_, density), _mul(t_, t_, tail),
                         evaluate=False))]
# L-9: the anchored outside form at b >= B_FAR (the order numeric/anchored_outside.py typed), with X-15's series
# values bk0, s0b2, cb passed in
w_, r_, p_, R2_ = sp.Symbol("w"), sp.Symbol("r"), sp.Symbol("p"), sp.Symbol("r2")
_BK0_SQ = _mul(BK0, BK0)
_L9 = [(w_, _mul(1, _pow(b, -1))), (r_, _mul(a, w_)), (p_, sp.Add(1, _mul(sp.pi / 2, w_, w_), evaluate=False))]
FORMS = {
    "far_exact": ("L-1", "the exact SoftSign: mu = 1/sqrt(r^2 + 1), nu = 1/(r^2 + 1)^3 (the delta method)",
                  _COMMON, (inverse, _pow(_mul(inverse, inverse, inverse), 2))),
    "far_approx": ("L-2", "E-9/E-12: mu = 1/sqrt(r^2 + 1), nu = (pi/2)/(r^2 + 1)",
                   _COMMON, (inverse, _mul(sp.pi / 2, inverse, inverse))),
    "far_anchored": ("L-3", "A-3/A-4: mu = 1/sqrt(r^2 + 1), nu = (C_oo r^2 + 1)/(r^2 + 1)^2, C_oo = 4 - pi/2",
                     _COMMON + [(share, _mul(sp.Symbol("r"), inverse))],
                     (inverse, _mul(sp.Add(_mul(C_OO, share, share), _mul(inverse, inverse), evaluate=False),
                                    inverse, inverse))),
    "far_outside": ("L-4", "eps outside the root: mu = 1/(1 + |r|), nu = 1/(1 + |r|)^4 (the delta method)",
                    [(inverse, _pow(sp.Add(1, sp.Abs(a / b), evaluate=False), -1))],
                    (inverse, _pow(_mul(inverse, inverse), 2))),
    "steady_exact": ("L-5", "the exact SoftSign at |a| >= A_FAR: m = a/R, v = (b^2/R^3)^2, R = hypot(a, b)",
                     [(R, hypot(a, b)), (slope, _mul(_pow(_mul(b, _pow(R, -1)), 2), _pow(R, -1)))],
                     (_mul(a, _pow(R, -1)), _mul(slope, slope))),
    "steady_approx": ("E-9/E-12", "the approx family at |a| >= A_FAR, R3 = sqrt(a^2 + b^2 + pi/2) by hypot: m = a/R3,"
                      " v = (pi/2)/R3^2",
                      [(R3, hypot(hypot(a, b), _pow(_mul(sp.pi, sp.Rational(1, 2)), sp.Rational(1, 2))))],
                      (_mul(a, _pow(R3, -1)), _mul(_mul(sp.pi / 2, _pow(R3, -1)), _pow(R3, -1)))),
    "steady_outside": ("L-6", "eps outside the root at |a| >= A_FAR: m = a/R, v = (b/R^2)^2, R = |a| + b",
                       [(R, sp.Add(sp.Abs(a), b, evaluate=False)), (slope, _mul(_mul(b, _pow(R, -1)), _pow(R, -1)))],
                       (_mul(a, _pow(R, -1)), _mul(slope, slope))),
    "anchored_steady": ("A-3/A-4", "the shapes through anchors (k0, s0, C) at b, divided by a^2 (x = 1/a)",
                        [(x_inv, _pow(a, -1)), (bx2, _pow(_mul(b, x_inv), 2)),
                         (px2, _mul(sp.pi / 2, x_inv, x_inv))],
                        (_mul(a, k0, _pow(hypot(_mul(a, k0), 1), -1)),
                         _mul(x_inv, x_inv,
                              sp.Add(C, _mul(s0, sp.Add(bx2, px2, evaluate=False), _pow(_mul(k0, k0), -1)),
                                     evaluate=False),
                              _pow(_mul(sp.Add(1, _pow(_mul(x_inv, _pow(k0, -1)), 2), evaluate=False),
                                        sp.Add(1, bx2, px2, evaluate=False)), -1))),
                        ("a", "b", "k0", "s0", "C")),
    "far_clip": ("L-7", "clip without its lower corner, t = b - |a| (|t| <= T_FLAT): mu = 1 + E[min(z, t)]/|a|,"
                 " nu = Var(min(z, t))", _CLIP,
                 (sp.Add(1, _mul(first, _pow(size, -1)), evaluate=False), sp.Add(second, _mul(-1, first, first),
                                                                                  evaluate=False))),
    "far_clip_above": ("L-7 t -> oo", "clip's t -> oo limit (t = b - |a| > T_FLAT): (mu, nu) = (1, 1)", [],
                       (sp.Integer(1), sp.Integer(1))),
    "far_clip_below": ("L-7 t -> -oo", "clip's t -> -oo limit (t < -T_FLAT): (mu, nu) = (b/|a|, 0)", [],
                       (_mul(b, _pow(sp.Abs(a), -1)), sp.Integer(0))),
    "far_anchored_outside": (
        "L-9", "the anchored outside moments (X-14) in SGD units, w = 1/b, r = a/b, X-15's anchors bk0 = b k0,"
        " s0b2 = b^2 s0, cb = C/b: mu = bk0/sqrt((r bk0)^2 + 1), nu = [r^2 C + s0b2 p/bk0^2]/((r^2 + p)(r^2 + 1/bk0^2)),"
        " p = 1 + (pi/2) w^2",
        _L9,
        (_mul(BK0, _pow(sp.Pow(sp.Add(_pow(_mul(r_, BK0), 2), 1, evaluate=False), HALF, evaluate=False), -1)),
         _mul(sp.Add(_mul(r_, r_, b, CB), _mul(S0B2, p_, _pow(_BK0_SQ, -1)), evaluate=False),
              _pow(_mul(sp.Add(_mul(r_, r_), p_, evaluate=False),
                        sp.Add(_mul(r_, r_), _mul(1, _pow(_BK0_SQ, -1)), evaluate=False)), -1))),
        ("a", "b", "bk0", "s0b2", "cb")),
    # |r| so large that r^2 b overflows (|a/b| >~ 1e129 at b = 1e50): the same moments divided through by r^2,
    # mu = 1/hypot(r, 1/bk0); where r^2 itself overflows both go to 0 (the true values are below 1e-154), never NaN
    "far_anchored_outside_wide": (
        "L-9", "far_anchored_outside divided through by r^2, for the |r| where r^2 b overflows:"
        " mu = 1/hypot(r, 1/bk0), nu = [b cb + s0b2 p/(bk0^2 r^2)]/((1 + p/r^2)(r^2 + 1/bk0^2))",
        _L9 + [(R2_, _mul(r_, r_))],
        (_pow(hypot(r_, _pow(BK0, -1)), -1),
         _mul(sp.Add(_mul(b, CB), _mul(S0B2, p_, _pow(_mul(_BK0_SQ, R2_), -1)), evaluate=False),
              _pow(_mul(sp.Add(1, _mul(p_, _pow(R2_, -1)), evaluate=False),
                        sp.Add(R2_, _mul(1, _pow(_BK0_SQ, -1)), evaluate=False)), -1))),
        ("a", "b", "bk0", "s0b2", "cb")),
    "steady_clip": ("L-8", "clip at |a| >= A_FAR > b: the update pinned at sign(a), (m, v) = (sign(a), 0)", [],
                    (sp.sign(a), sp.Integer(0))),
}


def expected(derivation: Derivation, label: str) -> sp.Tuple:
    """The pair a form must equal: the step's result (L-1 .. L-4 at r = a/b), E-9's mean and E-12 - E-9^2, or A-3's
    mean and A-4's variance with the anchors as symbols."""
    if label == "A-3/A-4":
        from ..sections.anchored import K0, S0

        anchors = {K0: k0, S0: s0, sp.Symbol("C"): C}
        return sp.Tuple(derivation["A-3"].result[0].subs(anchors), derivation["A-4"].extra("variance").subs(anchors))
    if label == "E-9/E-12":
        mean = derivation["E-9"].result
        return sp.Tuple(mean, derivation["E-12"].result - mean**2)
    if label.startswith("L-7 "):  # L-7's t -> +-oo limits (extras), in (|a|, t)
        return derivation["L-7"].extra(label[len("L-7 "):])
    if label == "L-9":  # in (r, w) and X-15's anchors
        return derivation[label].result
    return derivation[label].result.subs(r, a / b)


def _in_step_variables(label: str) -> dict:
    """L-7 is stated in A = |a| and t = b - |a|: its forms are compared there (a = A > 0, b = A + t); L-9 in r = a/b
    and w = 1/b."""
    if label == "L-9":
        w = sp.Symbol("w", positive=True)
        return {a: r / w, b: 1 / w}
    return {a: A, b: A + TC} if label.startswith("L-7") else {}


def c_oo(derivation: Derivation) -> sp.Expr:
    """L-3's C_oo: the coefficient of r^2 in nu (r^2 + 1)^2."""
    nu = derivation["L-3"].result[1]
    value = sp.simplify(sp.expand(sp.cancel(nu * (r**2 + 1) ** 2)).coeff(r, 2))
    if not symbolic_zero(sp.cancel(nu * (r**2 + 1) ** 2) - (value * r**2 + 1)):  # pragma: no cover
        raise ArithmeticError(f"L-3's nu is not (C r^2 + 1)/(r^2 + 1)^2: {nu}")
    return value


def _uncapped(square: sp.Expr, cap: sp.Expr) -> sp.Expr:
    """minimum(t^2, cap) as t^2: true where the form is used, |t| <= T_FLAT, iff cap >= T_FLAT^2 (else generation fails)."""
    if not sp.sympify(cap) >= family("limits").constant("T_FLAT") ** 2:
        raise ArithmeticError(f"minimum(t^2, {cap}) caps t^2 inside |t| <= T_FLAT: the clip form would be wrong there")
    return square


def _substituted(assignments, expr: sp.Expr, constants: dict) -> sp.Expr:
    for name, value in reversed(assignments):
        expr = expr.subs(name, value)
    expr = expr.subs(constants).doit()
    # minimum(t^2, cap) is t^2 where the clip form is used (|t| <= T_FLAT = 40: the cap must not bind there);
    # erfc(x) = 1 - erf(x)
    expr = expr.replace(minimum, _uncapped).replace(erfc, lambda x: 1 - sp.erf(x))
    return expr.replace(hypot, lambda x, y: sp.sqrt(x**2 + y**2))


def prove(derivation: Derivation) -> None:
    """Each printed form equals its step's result (at r = a/b), or generation fails."""
    constants = {C_OO: c_oo(derivation), **{name: meaning for name, _, meaning in CONSTANTS}}
    for name, (label, _, assignments, outputs, *_) in FORMS.items():
        on = _in_step_variables(label)
        for k, (form, want) in enumerate(zip(outputs, expected(derivation, label))):
            difference = _substituted(assignments, form, constants).subs(on) - sp.sympify(want)
            if not symbolic_zero(sp.simplify(difference)):
                raise ArithmeticError(f"{name}: the printed form of {label}'s element {k} is not its result")


def _print(expr: sp.Expr) -> str:
    printer = NumPyPrinter({"fully_qualified_modules": True, "order": "none",
                            "user_functions": {"hypot": "numpy.hypot", "minimum": "numpy.minimum",
                                               "erfc": "scipy.special.erfc"}})
    return printer.doprint(expr)


def source(derivation: Derivation) -> str:
    prove(derivation)
    value = c_oo(derivation)
    lines = [
        '"""Generated by `softsign-scaling derive` from steps L-1 .. L-9 and E-9/E-12; do not edit.',
        "",
        "The moments far from the origin.  far_*: b >= B_FAR, in SGD units, m = (a/b) mu and v = nu/b^2, the limits of",
        "L-1 .. L-4 as b -> oo at fixed r = a/b (relative error O(1/b^2), below 1e-100 there).  steady_*: |a| >= A_FAR,",
        "the deterministic update of L-5, L-6 (relative error O(1/a^2)) and E-9/E-12 written with hypot;",
        "anchored_steady: A-3/A-4 divided through by a^2 (both placements' anchors).  far_clip*, steady_clip: L-7,",
        "L-8 (clip without its lower corner, and its limits; the runtime picks one per |t| against T_FLAT).",
        "far_anchored_outside: L-9 (X-14 in SGD units at X-15's series anchors; _wide: divided through by r^2, for",
        "the |r| where r^2 b overflows).  Each is printed in the operation",
        "order of codegen/limits_code.py and proved equal to its step's result there.",
        '"""',
        "",
        "import numpy",
        "import scipy.special",
        "",
        f"C_OO = {float(value)!r}  # L-3: lim C(b) as b -> oo, {sp.sstr(value)}",
        f"T_FLAT = {float(family('limits').constant('T_FLAT'))!r}  # L-7: |t| beyond it the t -> +-oo limits serve",
    ]
    lines += [f"{name} = {_print(printed)}" for name, printed, _ in CONSTANTS]
    for name, (label, doc, assignments, outputs, *arguments) in FORMS.items():
        lines += ["", "", f"def {name}({', '.join(arguments[0] if arguments else ('a', 'b'))}):",
                  f'    """{label}, {doc}."""']
        lines += [f"    {target} = {_print(value_)}" for target, value_ in assignments]
        lines += [f"    return {_print(outputs[0])}, {_print(outputs[1])}"]
    return "\n".join(lines) + "\n"


def write_limits_module(derivation: Derivation, root: Path, force: bool = False) -> list[Path]:
    """Write softsign_scaling/numeric/generated/limits.py under ``root``; the paths written (empty when unchanged)."""
    path = Path(root) / GENERATED
    return [path] if write_text(path, source(derivation)) else []
