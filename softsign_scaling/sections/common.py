"""Small helpers shared by the sections: clip, softsign, and running one builder per step."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp

from ..steps import Derivation, Step


def clip(expr: sp.Expr, low: sp.Expr = -1, high: sp.Expr = 1) -> sp.Expr:
    return sp.Max(low, sp.Min(high, expr))


def softsign(x: sp.Expr, eps: sp.Expr) -> sp.Expr:
    return x / sp.sqrt(x**2 + eps**2)


def build_in_order(previous: Derivation, builders: Sequence[Callable[[Derivation], Step]]) -> list[Step]:
    """Run one builder per step, in order; each sees every earlier step (``previous`` plus those built here)."""
    built: list[Step] = []
    for builder in builders:
        built.append(builder(previous.extended(built)))
    return built
