"""Sample points for numeric checks: deterministic, spread over the domain, edges included.

Numeric checks evaluate at >= 50 points "including small and large values and
both signs".  A :class:`Domain` names each free symbol's range; ``points()``
returns exact decimal strings (turned into mpf at the check's precision, so a
point is the same number at every precision).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import sympy as sp

RangeKind = Literal["real", "nonzero", "positive", "nonnegative", "unit", "big", "interval"]

# Magnitudes from tiny to large: the edges of the domain are where closed forms break.
_POSITIVE = ("1e-8", "1e-4", "0.01", "0.1", "0.5", "1", "2", "4.5", "10", "100", "1e4")
_UNIT = ("1e-6", "0.01", "0.2", "0.5", "0.8", "0.99", "0.999999")
_BIG = ("10", "100", "1e3", "1e5", "1e8")


@dataclass(frozen=True)
class Var:
    symbol: sp.Symbol
    kind: RangeKind
    low: float = 0.0
    high: float = 1.0
    values: tuple[str, ...] = ()  # explicit samples (for costly references), replacing the kind's

    def samples(self) -> tuple[str, ...]:
        if self.values:
            return self.values
        if self.kind == "positive":
            return _POSITIVE
        if self.kind == "nonnegative":
            return ("0",) + _POSITIVE
        if self.kind == "real":
            return tuple("-" + v for v in reversed(_POSITIVE)) + ("0",) + _POSITIVE
        if self.kind == "nonzero":
            return tuple("-" + v for v in reversed(_POSITIVE)) + _POSITIVE
        if self.kind == "unit":
            return _UNIT
        if self.kind == "big":
            return _BIG
        if self.kind == "interval":
            return tuple(repr(float(v)) for v in np.linspace(self.low, self.high, 9))
        raise ValueError(f"unknown range kind {self.kind!r}")

    def random(self, rng: np.random.Generator) -> str:
        if self.values:
            return str(rng.choice(self.values))
        if self.kind in ("positive", "nonnegative"):
            return repr(float(10 ** rng.uniform(-6, 4)))
        if self.kind in ("real", "nonzero"):
            return repr(float(rng.choice([-1, 1]) * 10 ** rng.uniform(-6, 4)))
        if self.kind == "unit":
            return repr(float(rng.uniform(1e-6, 1 - 1e-6)))
        if self.kind == "big":
            return repr(float(10 ** rng.uniform(1, 8)))
        return repr(float(rng.uniform(self.low, self.high)))


@dataclass(frozen=True)
class Domain:
    """A box of named ranges, with a sentence saying what it is (for reports)."""

    variables: tuple[Var, ...]
    description: str = ""
    minimum_points: int = 50

    @property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(v.symbol for v in self.variables)

    def points(self) -> list[tuple[str, ...]]:
        """Edge-heavy grid (full product in <= 2 dimensions), topped up with seeded random points."""
        grids = [v.samples() for v in self.variables]
        if len(self.variables) <= 2:
            pts = list(itertools.product(*grids))
        else:
            # Every variable visits every one of its samples, the others cycling.
            longest = max(len(g) for g in grids)
            pts = [tuple(g[(k * (d + 1)) % len(g)] for d, g in enumerate(grids)) for k in range(longest)]
        rng = np.random.default_rng(20241127)
        while len(pts) < self.minimum_points:
            pts.append(tuple(v.random(rng) for v in self.variables))
        return pts

    def describe(self) -> str:
        if self.description:
            return self.description
        return ", ".join(f"{v.symbol} {v.kind}" for v in self.variables)


def domain(*pairs: tuple[sp.Symbol, RangeKind], description: str = "") -> Domain:
    return Domain(tuple(Var(s, k) for s, k in pairs), description)


# Coarser samples for checks against quadrature (each point costs a quadrature at 30+ digits).
QUAD_REAL = ("-30", "-3", "-1", "-0.1", "-1e-6", "0", "1e-6", "0.1", "1", "3", "30")
QUAD_POSITIVE = ("1e-6", "0.01", "0.5", "1", "3", "1e3")
QUAD_NONNEGATIVE = ("0", "1e-6", "0.1", "1", "3", "30")


def quadrature_domain(a: sp.Symbol, b: sp.Symbol, a_values: tuple[str, ...] = QUAD_REAL,
                      description: str = "") -> Domain:
    """(a, b) grid for checks against quadrature: 11 x 6 = 66 points, edges and both signs."""
    return Domain((Var(a, "real", values=a_values), Var(b, "positive", values=QUAD_POSITIVE)), description)
