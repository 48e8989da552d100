"""Small helpers shared by the sections: clip, softsign, printing of records."""

from __future__ import annotations

import mpmath as mp
import sympy as sp


def clip(expr: sp.Expr, low: sp.Expr = -1, high: sp.Expr = 1) -> sp.Expr:
    return sp.Max(low, sp.Min(high, expr))


def softsign(x: sp.Expr, eps: sp.Expr) -> sp.Expr:
    return x / sp.sqrt(x**2 + eps**2)


def mp_erf_approx(x):
    """x / sqrt(x^2 + pi/4), for reference plots and errors."""
    return x / mp.sqrt(x * x + mp.pi / 4)
