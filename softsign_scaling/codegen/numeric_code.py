"""The numeric module, generated from the derivation: softsign_scaling/numeric/generated/closed_forms.py.

Every formula in the generated module is printed from a SymPy expression of the
derivation (through :mod:`softsign_scaling.stable`, which derives the stable
forms and proves them equivalent): SymPy's SciPy printer, constants folded to
20-digit floats, polynomials in Horner form, common subexpressions shared
(``sympy.cse``).  The module imports only numpy and scipy.special.  Output is
byte-stable: regions and functions are emitted in a fixed order, nothing
depends on time or hash order.

``write_numeric_module(derivation, root)`` writes the file (only when its
content changes); :func:`softsign_scaling.codegen.write_all` runs it for ``softsign-scaling derive``.
Which functions are printed, and from which steps, is registered with the step families
(:data:`softsign_scaling.sections.FAMILIES`); this module knows how to print each of them.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import sympy as sp
from sympy.printing.numpy import SciPyPrinter

from ..files import write_text
from ..sections import FAMILIES, ORDER
from ..stable import closures_of, derive_stable_forms, noise, q, to_tails
from ..steps import Derivation
from ..symbols import B, G_nu, S_nu, T_H, a, b, gHg, gg, trSH

# Bump when the code that turns the input steps into text changes (stable.py's forms and thresholds, this
# printer): the fingerprint covers the input expressions and this version, not source files, so a comment
# or a change elsewhere does not force a regeneration.  tests/test_numeric_codegen.py regenerates the module
# from scratch and compares the bytes (golden): a change of output without a bump fails there.
GENERATOR_VERSION = "3"

GENERATED_PATH = Path("softsign_scaling") / "numeric" / "generated" / "closed_forms.py"
FLOAT_DIGITS = 20  # > 17: every folded constant parses to the correctly rounded double


class _Printer(SciPyPrinter):
    """SciPy printer with elementwise And/Or (no stacking) and no scipy.constants."""

    def __init__(self):
        super().__init__({"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": False})

    def _print_And(self, expr):
        return " & ".join(f"({self._print(arg)})" for arg in sorted(expr.args, key=sp.default_sort_key))

    def _print_Or(self, expr):  # pragma: no cover - not used by the current regions
        return " | ".join(f"({self._print(arg)})" for arg in sorted(expr.args, key=sp.default_sort_key))

    def _print_Relational(self, expr):
        ops = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
        return f"{self._print(expr.lhs)} {ops[expr.rel_op]} {self._print(expr.rhs)}"

    def _print_NormalTail(self, expr):
        scale = self._print(sp.Float(1 / sp.sqrt(2).evalf(FLOAT_DIGITS + 5), FLOAT_DIGITS))
        return f"(1/2)*scipy.special.erfc({scale}*({self._print(expr.args[0])}))"

    def _print_NormalDensity(self, expr):
        scale = self._print(sp.Float((1 / sp.sqrt(2 * sp.pi)).evalf(FLOAT_DIGITS + 5), FLOAT_DIGITS))
        return f"{scale}*numpy.exp(-1/2*({self._print(expr.args[0])})**2)"

    def _print_GaussTail(self, expr):
        return f"_psi_{int(expr.args[0])}({self._print(expr.args[1])})"

    def _print_Pow(self, expr, rational=False):
        if expr.exp.is_Integer and expr.exp < 0:  # 1/x**n: numpy's power is slow for negative exponents
            base = self.parenthesize(expr.base, sp.printing.precedence.PRECEDENCE["Pow"])
            return f"(1/{base})" if expr.exp == -1 else f"(1/{base}**{-expr.exp})"
        return super()._print_Pow(expr, rational=rational)

    def _print_Pi(self, expr):
        return self._print(sp.Float(sp.pi.evalf(FLOAT_DIGITS + 5), FLOAT_DIGITS))


def fold_constants(expr: sp.Basic) -> sp.Basic:
    """Irrational numeric subexpressions (sqrt(2)/sqrt(pi), pi/2, ...) become 20-digit Floats."""
    if isinstance(expr, (sp.Rational, sp.Symbol)) or not expr.args:
        if expr.is_number and not isinstance(expr, sp.Rational):
            return sp.Float(sp.N(expr, FLOAT_DIGITS + 5), FLOAT_DIGITS)
        return expr
    if expr.is_number and not isinstance(expr, sp.Rational):
        return sp.Float(sp.N(expr, FLOAT_DIGITS + 5), FLOAT_DIGITS)
    if isinstance(expr, sp.Pow) and isinstance(expr.exp, sp.Rational):
        return sp.Pow(fold_constants(expr.base), expr.exp)
    args = [fold_constants(arg) for arg in expr.args]
    if isinstance(expr, (sp.Mul, sp.Add)):
        numbers = [x for x in args if x.is_number]
        others = [x for x in args if not x.is_number]
        combine = sp.Mul if isinstance(expr, sp.Mul) else sp.Add
        constant = combine(*numbers)
        if constant.is_number and not isinstance(constant, sp.Rational):
            constant = sp.Float(sp.N(constant, FLOAT_DIGITS + 5), FLOAT_DIGITS)
        return combine(constant, *others)
    return expr.func(*args)


def _transcendental_atoms(expr: sp.Expr) -> list[sp.Expr]:
    found = expr.atoms(sp.erf, sp.erfc, sp.exp)
    return sorted(found, key=sp.default_sort_key)


def nested(expr: sp.Expr, gens: tuple[sp.Symbol, ...] = (b, a)) -> sp.Expr:
    """A polynomial-coefficient sum of erf/erfc/exp atoms, each coefficient in nested Horner form.

    Coefficients may hold negative powers (1/b); powers of one parity in a variable are
    nested in its square (b^2, a^2), which the printer shares through cse.  Where the
    expression is of higher degree in the atoms (a product of such sums), each factor is
    nested on its own and the product kept.
    """
    atoms = _transcendental_atoms(expr)

    def degree(e: sp.Expr) -> int:
        found = _transcendental_atoms(e)
        return sp.Poly(e, *found).total_degree() if found else 0

    if atoms and degree(expr) > 1:
        if isinstance(expr, sp.Add):  # nest the linear terms together, the products factor by factor
            linear = [arg for arg in expr.args if degree(arg) <= 1]
            higher = [arg for arg in expr.args if degree(arg) > 1]
            return nested(sp.Add(*linear), gens) + sp.Add(*[nested(arg, gens) for arg in higher])
        return expr.func(*[nested(arg, gens) for arg in expr.args])
    expr = sp.expand(expr)
    groups = sp.collect(expr, atoms, evaluate=False) if atoms else {sp.Integer(1): expr}
    total = []
    for key in sorted(groups, key=sp.default_sort_key):
        total.append(key * _nested_horner(groups[key], gens))
    return sp.Add(*total)


def _nested_horner(poly_expr: sp.Expr, gens: tuple[sp.Symbol, ...]) -> sp.Expr:
    """A polynomial (negative powers allowed) in ``gens`` in nested Horner form, even/odd powers in g^2."""
    poly_expr = sp.expand(poly_expr)
    if poly_expr.is_number:
        return poly_expr
    # Clear negative powers, then factor out the lowest power of each generator.
    terms = sp.Add.make_args(poly_expr)
    shift = {g: min(term.as_coeff_exponent(g)[1] for term in terms) for g in gens}
    shifted = sp.expand(poly_expr * sp.Mul(*[g ** (-shift[g]) for g in gens]))
    poly = sp.Poly(shifted, *gens)
    squares = {}
    for index, g in enumerate(gens):
        exponents = {monomial[index] for monomial in poly.monoms()}
        parities = {e % 2 for e in exponents}
        if len(parities) == 1 and max(exponents) >= 2:
            squares[g] = parities.pop()
    if squares:
        names = {g: sp.Dummy(f"{g.name}2") for g in squares}
        factor = sp.Mul(*[g ** p for g, p in squares.items()])
        reduced = sp.expand(shifted / factor)
        reduced = reduced.subs({g**2: names[g] for g in squares})
        reduced_gens = tuple(names.get(g, g) for g in gens)
        nested_form = sp.horner(sp.Poly(reduced, *reduced_gens).as_expr(), *reduced_gens)
        nested_form = nested_form.subs({names[g]: g**2 for g in squares}) * factor
    else:
        nested_form = sp.horner(poly.as_expr(), *gens)
    return nested_form * sp.Mul(*[g ** shift[g] for g in gens])


@dataclass(frozen=True)
class Function:
    """A generated function: name, arguments, docstring, and the expression it returns."""

    name: str
    args: tuple[sp.Symbol, ...]
    doc: str
    expr: sp.Expr


def print_function(function: Function, printer: _Printer | None = None) -> str:
    printer = printer or _Printer()
    folded = fold_constants(function.expr)
    arglist = ", ".join(arg.name for arg in function.args)
    if isinstance(folded, sp.core.relational.Relational):
        return (f"def {function.name}({arglist}):\n    \"\"\"{function.doc}\"\"\"\n"
                f"    return {printer.doprint(folded)}\n")
    replacements, (reduced,) = sp.cse([folded], symbols=sp.numbered_symbols("x"), order="canonical")
    lines = [f"def {function.name}({arglist}):", f'    """{function.doc}"""']
    for symbol, value in replacements:
        lines.append(f"    {symbol.name} = {printer.doprint(value)}")
    if not folded.free_symbols & set(function.args):  # a constant: keep the argument's shape
        lines.append(f"    return numpy.full(numpy.shape({function.args[0].name}), {printer.doprint(reduced)})")
    else:
        lines.append(f"    return {printer.doprint(reduced)}")
    return "\n".join(lines) + "\n"  # long lines stay long: byte-stable and exact beat pretty


def print_tail_helpers() -> list[str]:
    """_psi_1, _psi_2: the Q/phi form below t = CF_FROM, the continued fraction of stable.py above."""
    from ..stable import CF_DEPTH, CF_FROM, t, tail_definition

    printer = _Printer()
    texts = []
    for k in (1, 2):
        texts.append(print_function(Function(f"_psi_{k}_direct", (t,), f"psi_{k}(t) = E[((z - t)^+)^{k}] in Q and phi",
                                             tail_definition(k))))
        ratios = " * ".join(f"rho_{j}" for j in range(1, k + 1))
        keep = "".join(f"\n            if j == {j}:\n                rho_{j} = rho" for j in range(2, k + 1))
        scale = printer.doprint(sp.Float((1 / sp.sqrt(2 * sp.pi)).evalf(FLOAT_DIGITS + 5), FLOAT_DIGITS))
        texts.append(
            f"def _psi_{k}(t):\n"
            f'    """psi_{k}(t): Q/phi form below t = {CF_FROM}; above, phi R {ratios} from the continued fraction'
            f' rho_j = j/(t + rho_(j+1)), depth {CF_DEPTH}"""\n'
            f"    out = _psi_{k}_direct(t)\n"
            f"    far = numpy.flatnonzero(t >= {CF_FROM})\n"
            f"    if far.size:\n"
            f"        tf = t[far]\n"
            f"        rho = numpy.zeros(tf.shape)\n"
            f"        for j in range({CF_DEPTH}, 0, -1):\n"
            f"            rho = j/(tf + rho){keep}\n"
            f"        rho_1 = rho\n"
            f"        out[far] = {scale}*numpy.exp(-1/2*tf**2)/(tf + rho_1)*{ratios}\n"
            f"    return out\n")
    return texts


def print_region_table(function: str, regions, doc: str) -> str:
    """Each region's condition as a function of (a, b) (the last region takes the rest: None), and the table
    ``<FUNCTION>_REGIONS`` of (name, condition, form) in dispatch order.  The dispatch itself is runtime code:
    numeric/regions.py's ``by_region`` (the table holds expressions only, issue 24)."""
    printer = _Printer()
    lines = []
    for region in regions[:-1]:
        condition = printer.doprint(fold_constants(region.condition))
        lines += [f"def _{function}_{region.name}_where(a, b):",
                  f'    """Where the {region.name} form of {function} serves (before the regions after it)."""',
                  f"    return {condition}", "", ""]
    lines.append(f"{function.upper()}_REGIONS = (  # {doc}: (name, where, form), the first region that holds")
    for index, region in enumerate(regions):
        where = "None" if index == len(regions) - 1 else f"_{function}_{region.name}_where"
        lines.append(f"    # {region.name}: {region.how}")
        lines.append(f'    ("{region.name}", {where}, _{function}_{region.name}),')
    lines.append(")")
    return "\n".join(lines) + "\n"


HEADER = '''"""Generated by ``softsign-scaling derive`` from the derivation; do not edit.

Every formula below is printed from a SymPy expression of the pipeline, through
softsign_scaling/stable.py (stable forms, each proved equivalent to the derived
expression there) and softsign_scaling/codegen/numeric_code.py (the printer).
Imports numpy and scipy.special only.  Arguments are float64 arrays; the
region forms take a >= 0 (E-8 is odd in a, E-11 and the variance even); each
<NAME>_REGIONS table lists them with their conditions, in dispatch order
(numeric/regions.py evaluates them).

Sources: {sources}.
Inputs fingerprint: {fingerprint}
Series truncations (degree kept, measured 50-digit truncation error on the region's edges):
{series}
"""

import numpy
import scipy.special

'''


# How each registered function is printed, in the order it appears in the module: region functions
# (dispatchers over stable.py's regions) first, then single expressions.  Which of them are printed is
# the families' registration (sections.FAMILIES[...].generated); a registered name without a printer here
# is an error, not a silent omission.
REGION_DOCS = {
    "mean_clip": "E-8, E[clip((a + z)/b, -1, 1)], for a >= 0",
    "second_moment_clip": "E-11, E[clip((a + z)/b, -1, 1)^2], for a >= 0",
    "variance_clip": "E-11 - E-8^2, the variance of the clipped update, for a >= 0",
}


def _singles(forms, closures) -> list[Function]:
    return [
        Function("mean_clip_b0", (a,), "E-8 as b -> 0 (eps = 0: the sign update), erf(a/sqrt2)", forms.mean_b0),
        Function("second_moment_clip_b0", (a,), "E-11 as b -> 0: 1", forms.second_moment_b0),
        Function("variance_clip_b0", (a,), "variance as b -> 0: erfc(a/sqrt2)(2 - erfc(a/sqrt2)), for a >= 0",
                 forms.variance_b0),
        Function("mean_approx", (a, b), "E-9, a/sqrt(a^2 + b^2 + pi/2)", forms.mean_approx),
        Function("second_moment_approx", (a, b), "E-12, 1 - b^2/(a^2 + b^2 + pi/2)", forms.second_moment_approx),
        Function("variance_approx", (a, b), "E-12 - E-9^2 simplified: (pi/2)/(a^2 + b^2 + pi/2)", forms.variance_approx),
        Function("eta_star_mean_field", (q, G_nu, S_nu, T_H),
                 "E-14 with q = pi kappa2/(2B) = 1/beta^2 - 1 (q = 0 at B = oo)", closures["eta"]),
        Function("one_minus_beta2", (q,), "1 - beta^2 of E-10 with q = pi kappa2/(2B), without cancellation",
                 closures["one_minus_beta2"]),
        Function("b_peak_mean_field", (noise, S_nu, T_H),
                 "E-15's B_peak with c_noise = pi kappa2/2 (valid where has_surge_mean_field)", closures["b_peak"]),
        Function("has_surge_mean_field", (S_nu, T_H), "E-15's peak condition", closures["condition"]),
        Function("eta_star_sgd", (B, gg, gHg, trSH), "P-10, g^T g/(g^T H g + tr(Sigma H)/B)", closures["sgd"]),
    ]


def registered_functions() -> tuple[str, ...]:
    """The functions the step families register for numeric/generated/closed_forms.py, in family order."""
    return tuple(name for family in FAMILIES for name in family.generated)


def generate(derivation: Derivation) -> str:
    """The text of softsign_scaling/numeric/generated/closed_forms.py."""
    forms = derive_stable_forms(derivation)
    provisional: list[str] = []
    closures = closures_of(derivation, provisional)
    sources = "E-7, E-8, E-9, E-10, E-11, E-12 (pipeline); E-14, E-15, P-10 " + (
        "(provisional formulas for: " + ", ".join(provisional) + ")" if provisional else "(pipeline)")
    series = "\n".join(f"    {name}: degree {degree}, error {error:.2e}" for name, degree, error in forms.series_degrees)
    parts = [HEADER.format(sources=sources, series=series, fingerprint=fingerprint(derivation))]

    wanted = set(registered_functions())
    singles = _singles(forms, closures)
    unknown = wanted - set(REGION_DOCS) - {function.name for function in singles}
    if unknown:
        raise KeyError(f"registered functions without a printer in codegen/numeric_code.py: {sorted(unknown)}")
    parts.extend(print_tail_helpers())
    for function in (name for name in REGION_DOCS if name in wanted):
        regions = forms.of(function)
        for region in regions:
            # The means and second moments are dominated by their bulk terms: psi_k in Q and phi (fast).
            # The variance is a sum of tail terms: psi_k by print_tail_helpers (accurate for large t).
            expr = region.form if function == "variance_clip" else to_tails(region.form)
            if region.name.startswith("series"):
                expr = nested(expr)
            parts.append(print_function(Function(f"_{function}_{region.name}", (a, b),
                                                 f"{region.label}, {region.name} form: {region.how}", expr)))
        parts.append(print_region_table(function, regions, REGION_DOCS[function]))
    for function in singles:
        if function.name in wanted:
            parts.append(print_function(function))
    return "\n\n".join(part.rstrip("\n") for part in parts) + "\n"


def input_labels() -> tuple[str, ...]:
    """The steps the generated module is printed from: the inputs of the families that register functions."""
    return tuple(label for family in FAMILIES if family.generated for label in family.inputs)


def fingerprint(derivation: Derivation) -> str:
    """sha256 of what the generated module is printed from: the generator's version, the registered
    functions, and the input steps' results and extras (srepr).  Equal fingerprints give byte-identical
    modules; a change elsewhere in the derivation (or a comment in the code) does not touch the module."""
    digest = hashlib.sha256(f"generator {GENERATOR_VERSION}\n{registered_functions()}\n".encode())
    for label in input_labels():
        if label not in derivation:
            digest.update(f"{label}\nmissing\n".encode())
            continue
        step = derivation[label]
        digest.update(f"{step.label}\n{sp.srepr(step.result)}\n".encode())
        for name, value in step.extras:
            digest.update(f"{name}\n{sp.srepr(value)}\n".encode())
    return digest.hexdigest()


def write_numeric_module(derivation: Derivation, root: Path, force: bool = False) -> list[Path]:
    """Write softsign_scaling/numeric/generated/closed_forms.py under ``root``; the paths written (empty when unchanged).

    Deriving the stable forms takes ~40 s, so like ``make`` the module is regenerated only when its
    inputs' fingerprint (in its header) changed, or with ``force``; tests regenerate it from scratch and
    compare the bytes.
    """
    path = Path(root) / GENERATED_PATH
    if not force and path.is_file() and f"Inputs fingerprint: {fingerprint(derivation)}\n" in path.read_text():
        return []
    return [path] if write_text(path, generate(derivation)) else []


def derivation_for_numeric() -> Derivation:
    """The pipeline's derivation over the sections that exist (the generator supplies missing closures)."""
    from ..pipeline import derivation, derived_sections

    present = tuple(s for s in ORDER if importlib.util.find_spec(f"softsign_scaling.sections.{s}") is not None)
    return derivation() if present == ORDER else derived_sections(present)
