"""Small helpers shared by the sections: clip, softsign, printing of records."""

from __future__ import annotations

import sympy as sp


def clip(expr: sp.Expr, low: sp.Expr = -1, high: sp.Expr = 1) -> sp.Expr:
    return sp.Max(low, sp.Min(high, expr))


def softsign(x: sp.Expr, eps: sp.Expr) -> sp.Expr:
    return x / sp.sqrt(x**2 + eps**2)
