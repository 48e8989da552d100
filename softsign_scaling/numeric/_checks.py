"""Input checks shared by the numeric functions: every error names its parameter first and prints plain numbers."""

from __future__ import annotations

import math

import numpy as np


def plain(value) -> str:
    """A number as a reader writes it: ``0.0``, ``-1e-08``, ``inf`` (never ``np.float64(0.0)``)."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    try:
        number = float(value)
    except (TypeError, ValueError):
        return repr(value)
    if math.isnan(number):
        return "nan"
    return repr(number) if math.isfinite(number) else ("inf" if number > 0 else "-inf")


def real(value, name: str) -> np.ndarray:
    """``value`` as a float64 array; TypeError unless it holds real numbers (bool, complex, str, object are refused)."""
    try:
        array = np.asarray(value)
    except Exception as error:  # pragma: no cover - numpy raises for ragged nested sequences
        raise TypeError(f"{name} must be a real number or an array of real numbers ({error})") from None
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers (int or float), not dtype {array.dtype}")
    return array.astype(np.float64, copy=False)


def finite(array: np.ndarray, name: str) -> None:
    if not np.isfinite(array).all():
        what = "NaN" if np.isnan(array).any() else "inf"
        raise ValueError(f"{name} contains {what}; it must be finite")


def positive(array: np.ndarray, name: str, allow_inf: bool = False) -> None:
    if not (array > 0).all():  # also catches NaN
        if np.isnan(array).any():
            raise ValueError(f"{name} contains NaN")
        raise ValueError(f"{name} must be > 0 (smallest value {plain(array.min())})")
    if not allow_inf and np.isinf(array).any():
        raise ValueError(f"{name} contains inf; it must be finite")


def nonnegative(array: np.ndarray, name: str) -> None:
    if not (array >= 0).all():  # also catches NaN
        if np.isnan(array).any():
            raise ValueError(f"{name} contains NaN")
        raise ValueError(f"{name} must be >= 0 (smallest value {plain(array.min())})")


def batch(B) -> np.ndarray:
    """Batch sizes: real, > 0, inf allowed (the full-batch limit)."""
    B = real(B, "B")
    positive(B, "B", allow_inf=True)
    return B
