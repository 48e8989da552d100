"""The statistics of a model at a checkpoint, as one numpy value, and their ``.npz`` file format.

Format (``np.savez``, no pickles; every array float64 unless stated; n = number of parameters):

===================  ==========  ==============================================================
key                  shape       meaning
===================  ==========  ==============================================================
format               ()  str     "softsign-scaling-stats/1"
g, g_se              (n,)        mean gradient over the samples, and its standard error sigma_i/sqrt(N)
sigma2, sigma2_se    (n,)        per-example gradient variance sigma_i^2 (ddof = 1), standard error
                                 sqrt((m4_i - sigma_i^4)/N) (m4 the fourth central moment)
diag_H, diag_H_se    (n,)        Hutchinson estimate of diag H: mean over probes z of z * Hz
                                 (Rademacher z), standard error std/sqrt(probes)
trace_H, trace_H_se  ()          Hutchinson estimate of tr H (sum z^T H z / probes) and its standard error
gHg                  ()          g^T H g (one Hessian-vector product)
sketch_values        (k,)        the k largest-magnitude eigenvalues of H (Lanczos on HVPs)
sketch_vectors       (n, k)      their orthonormal eigenvectors (float32 to halve the file)
layer_names          (L,) str    parameter groups (named parameters of the model), in flat order
layer_bounds         (L + 1,)    int64 offsets of the groups in the flat vector
samples              () int64    N, the number of examples the statistics were taken over
probes               () int64    Hutchinson probes
seed                 () int64    the seed of the probes
model, checkpoint    () str      free text: the model's description and the checkpoint's name
loss                 ()          the mean loss at the checkpoint
eps_convention       () str      "statistics are eps-free; give eps and placement ('inside': x/sqrt(x^2+eps^2);
                                 'outside': x/(|x|+eps), PyTorch) at prediction"
source               () str      "per-example" (vmap of grad) or "data-parallel" (small/large batch difference)
===================  ==========  ==============================================================

Optional keys (files without them still load; what needs them says what to re-collect):

===================  ==========  ==============================================================
noise_groups         (n,) int16  each component's group for the noise sketch (numeric.correlated.quantile_groups:
                                 8 quantile bins of |g_i|/sigma_i x 8 of sigma_i; -1 where sigma_i = 0)
noise_scale          (n,)        sigma_i as the deviations were standardized by (0 where sigma_i = 0); absent: the
                                 projections are of the raw deviations (files written before standardization)
noise_projections    (k, r, G)   k gradient deviations d_e (E[d d^T] = Sigma), standardized, projected on the
                                 sketch's r eigenvectors per group: sum_{i in G} U_ij d_ei/sigma_i (float32)
noise_diagonal       (r, G)      (1/k) sum_e sum_{i in G} U_ij^2 (d_ei/sigma_i)^2 (the same samples' diagonal)
noise_source         () str      "per-example" or "per-rank" (DDP: (g_k - gbar) sqrt(b K/(K - 1)))
skewness             (n,)        per-example gradient skewness m3/sigma^3 (0 where sigma = 0) (float32)
sign_mean            (n,)        mean of sign(per-example gradient): the SignSGD update's mean at B = 1 (float32)
===================  ==========  ==============================================================

The noise sketch (numeric.ProjectedNoise) is O(n + k r G) numbers, never O(k n): with the defaults k = 256, r = 8,
G = 64 it is 131072 float32 (0.5 MB) whatever n is.

H is never stored: predictions from the file use the sketch H ~ U diag(lambda) U^T + diag(d), with d =
diag_H - diag(U diag(lambda) U^T), which is exact on the sketch's span and on the diagonal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FORMAT = "softsign-scaling-stats/1"
EPS_CONVENTION = ("statistics are eps-free; give eps and placement ('inside': x/sqrt(x^2+eps^2); "
                  "'outside': x/(|x|+eps), PyTorch) at prediction")

_ARRAYS = ("g", "g_se", "sigma2", "sigma2_se", "diag_H", "diag_H_se")
_SCALARS = ("trace_H", "trace_H_se", "gHg", "loss")
_INTEGERS = ("samples", "probes", "seed")
_TEXT = ("model", "checkpoint", "source")
_OPTIONAL = {"noise_groups": np.int16, "noise_projections": np.float32, "noise_diagonal": np.float64,
             "noise_scale": np.float64,
             "skewness": np.float32, "sign_mean": np.float32}
NO_SKETCH = ("the statistics file has no noise sketch (written before it existed, or with noise_examples = 0 or "
             "sketch rank 0): re-collect it with `softsign-scaling stats` or collect(..., noise_examples=256, "
             "sketch_rank >= 1)")


@dataclass(frozen=True, eq=False)
class Statistics:
    """g, sigma^2, diag H, tr H (each with its standard error), g^T H g, a sketch of H and the layer map."""

    g: np.ndarray
    g_se: np.ndarray
    sigma2: np.ndarray
    sigma2_se: np.ndarray
    diag_H: np.ndarray
    diag_H_se: np.ndarray
    trace_H: float
    trace_H_se: float
    gHg: float
    sketch_values: np.ndarray
    sketch_vectors: np.ndarray
    layer_names: tuple[str, ...]
    layer_bounds: np.ndarray
    samples: int
    probes: int
    seed: int
    model: str = ""
    checkpoint: str = ""
    loss: float = float("nan")
    source: str = "per-example"
    noise_groups: np.ndarray | None = None       # the noise sketch (optional; see the module docstring)
    noise_projections: np.ndarray | None = None
    noise_diagonal: np.ndarray | None = None
    noise_scale: np.ndarray | None = None
    noise_source: str = ""
    skewness: np.ndarray | None = None
    sign_mean: np.ndarray | None = None
    extra: dict = field(default_factory=dict)  # not saved: live objects (e.g. the exact HVP) for in-process use

    def __post_init__(self) -> None:
        n = self.g.size
        for name in _ARRAYS:
            array = getattr(self, name)
            if array.shape != (n,):
                raise ValueError(f"statistics: {name} has shape {array.shape}, expected ({n},)")
        if self.sketch_vectors.shape != (n, self.sketch_values.size):
            raise ValueError(f"statistics: sketch_vectors has shape {self.sketch_vectors.shape}, "
                             f"expected ({n}, {self.sketch_values.size})")
        bounds = np.asarray(self.layer_bounds)
        if bounds.size != len(self.layer_names) + 1 or bounds[0] != 0 or bounds[-1] != n or np.any(np.diff(bounds) < 0):
            raise ValueError("statistics: layer_bounds must rise from 0 to n with one group per layer name")
        if not (np.all(np.isfinite(self.g)) and np.all(np.isfinite(self.sigma2)) and np.all(self.sigma2 >= 0)):
            raise ValueError("statistics: g and sigma2 must be finite, sigma2 >= 0")
        for name in ("skewness", "sign_mean", "noise_groups", "noise_scale"):
            array = getattr(self, name)
            if array is not None and np.shape(array) != (n,):
                raise ValueError(f"statistics: {name} has shape {np.shape(array)}, expected ({n},)")
        sketch = (self.noise_groups, self.noise_projections, self.noise_diagonal)
        if any(a is not None for a in sketch) and not all(a is not None for a in sketch):
            raise ValueError("statistics: noise_groups, noise_projections and noise_diagonal come together")
        if self.noise_projections is not None:
            k, r, G = np.shape(self.noise_projections)
            if r != self.sketch_values.size or np.shape(self.noise_diagonal) != (r, G):
                raise ValueError(f"statistics: noise_projections (k, r, G) = {np.shape(self.noise_projections)} and "
                                 f"noise_diagonal {np.shape(self.noise_diagonal)} must match the rank-"
                                 f"{self.sketch_values.size} sketch")

    @property
    def has_noise_sketch(self) -> bool:
        return self.noise_projections is not None

    def noise(self, kept: np.ndarray | None = None):
        """The numeric.ProjectedNoise of the sketch (components ``kept`` only, a boolean mask), or a one-line
        ValueError naming what to re-collect."""
        if not self.has_noise_sketch:
            raise ValueError(NO_SKETCH)
        from ..numeric.correlated import projected_noise

        every = kept is None or bool(kept.all())

        def part(array):  # every component kept (the common case): the arrays themselves, not a copy of 1e6 x r
            return array if every else array[kept]

        return projected_noise(self.sketch_values, part(self.sketch_vectors), part(np.asarray(self.noise_groups)),
                               part(self.sigma2), self.noise_projections, self.noise_diagonal,
                               None if self.noise_scale is None else part(np.asarray(self.noise_scale)))

    @property
    def n(self) -> int:
        return self.g.size

    def layers(self) -> list[tuple[str, slice]]:
        return [(name, slice(int(self.layer_bounds[k]), int(self.layer_bounds[k + 1])))
                for k, name in enumerate(self.layer_names)]

    def save(self, path) -> Path:
        path = Path(path)
        arrays = {name: np.asarray(getattr(self, name), dtype=np.float64) for name in _ARRAYS + _SCALARS}
        arrays.update({name: np.asarray(getattr(self, name), dtype=np.int64) for name in _INTEGERS})
        arrays.update({name: np.asarray(getattr(self, name), dtype=str) for name in _TEXT})
        arrays.update(format=np.asarray(FORMAT), eps_convention=np.asarray(EPS_CONVENTION),
                      sketch_values=np.asarray(self.sketch_values, dtype=np.float64),
                      sketch_vectors=np.asarray(self.sketch_vectors, dtype=np.float32),
                      layer_names=np.asarray(self.layer_names, dtype=str),
                      layer_bounds=np.asarray(self.layer_bounds, dtype=np.int64))
        for name, dtype in _OPTIONAL.items():
            if getattr(self, name) is not None:
                arrays[name] = np.asarray(getattr(self, name), dtype=dtype)
        if self.noise_source:
            arrays["noise_source"] = np.asarray(self.noise_source, dtype=str)
        try:
            handle = open(path, "wb")
        except OSError as error:
            raise ValueError(f"cannot write {path}: {error.strerror or error}") from None
        with handle:
            np.savez(handle, **arrays)
        return path


def load(path) -> Statistics:
    """A :class:`Statistics` from an ``.npz`` written by :meth:`Statistics.save` (a one-line ValueError otherwise)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no such statistics file: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if "format" not in data.files or str(data["format"]) != FORMAT:
                raise ValueError(f"{path} is not a statistics file ({FORMAT}); make one with `softsign-scaling stats`")
            values = {name: np.asarray(data[name], dtype=np.float64) for name in _ARRAYS}
            values.update({name: float(data[name]) for name in _SCALARS})
            values.update({name: int(data[name]) for name in _INTEGERS})
            values.update({name: str(data[name]) for name in _TEXT})
            values.update(sketch_values=np.asarray(data["sketch_values"], dtype=np.float64),
                          sketch_vectors=np.asarray(data["sketch_vectors"], dtype=np.float64),
                          layer_names=tuple(str(s) for s in data["layer_names"]),
                          layer_bounds=np.asarray(data["layer_bounds"], dtype=np.int64))
            for name in _OPTIONAL:
                if name in data.files:
                    values[name] = np.asarray(data[name], dtype=np.int64 if name == "noise_groups" else np.float64)
            if "noise_source" in data.files:
                values["noise_source"] = str(data["noise_source"])
    except (OSError, KeyError, EOFError) as error:
        raise ValueError(f"{path}: not a readable statistics file ({type(error).__name__}: {error})") from None
    except ValueError as error:
        if str(error).startswith(str(path)):
            raise
        raise ValueError(f"{path}: not a readable statistics file ({error})") from None
    return Statistics(**values)
