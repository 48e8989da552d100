"""The clipped moments by region: the dispatch over generated/closed_forms.py's region tables.

Each of E-8, E-11 and their variance is evaluated by stable forms, one per region of (a, b) (a series near the
origin, tail forms elsewhere: softsign_scaling/stable.py derives them and proves each equal to the step).  The
generated module holds the forms, their conditions and the tables ``<NAME>_REGIONS`` of (name, where, form) in
dispatch order (the last region takes the rest); :func:`by_region` is the one loop that evaluates them (issue 24:
runtime code in ordinary modules, only expressions generated).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy

from .generated import closed_forms as _g

Region = tuple[str, Callable | None, Callable]


def by_region(regions: Sequence[Region], a: numpy.ndarray, b: numpy.ndarray) -> numpy.ndarray:
    """Each point's value by the first region whose condition holds there (1-D float64 arrays a >= 0, b > 0 of
    one shape); a single call on the whole arrays when one region takes every point."""
    out = numpy.empty(a.shape)
    todo = numpy.ones(a.shape, dtype=bool)
    for name, where, form in regions:
        idx = numpy.flatnonzero(todo if where is None else todo & where(a, b))
        if idx.size == a.size:
            return form(a, b)
        if idx.size:
            out[idx] = form(a[idx], b[idx])
            if where is not None:
                todo[idx] = False
    return out


def mean_clip_nonneg(a: numpy.ndarray, b: numpy.ndarray) -> numpy.ndarray:
    """E-8, E[clip((a + z)/b, -1, 1)], for a >= 0."""
    return by_region(_g.MEAN_CLIP_REGIONS, a, b)


def second_moment_clip_nonneg(a: numpy.ndarray, b: numpy.ndarray) -> numpy.ndarray:
    """E-11, E[clip((a + z)/b, -1, 1)^2], for a >= 0."""
    return by_region(_g.SECOND_MOMENT_CLIP_REGIONS, a, b)


def variance_clip_nonneg(a: numpy.ndarray, b: numpy.ndarray) -> numpy.ndarray:
    """E-11 - E-8^2, the variance of the clipped update, for a >= 0."""
    return by_region(_g.VARIANCE_CLIP_REGIONS, a, b)
