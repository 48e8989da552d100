"""Statistics of a PyTorch model at a checkpoint, from a data loader, never forming H (torch.func).

* g: the mean gradient over every example of the loader (one ordinary backward pass per batch);
* sigma_i^2: the per-example gradient variance, from per-example gradients
  (``torch.func.vmap(torch.func.grad(...))``) in chunks, as central sums around g: sum (x - g)^2 and
  sum (x - g)^4 (the latter gives the standard error of sigma_i^2);
* Hessian-vector products: double backward (reverse over reverse, ``torch.autograd.grad`` with
  ``create_graph``; faster here than torch.func's jvp of grad), summed over the loader's batches with
  weights batch/N, so H is the Hessian of the same mean loss;
* diag H and tr H: Hutchinson with seeded Rademacher probes, standard errors from the probes' spread;
* g^T H g: one HVP; a rank-k sketch of H: ``scipy.sparse.linalg.eigsh`` (Lanczos) on the HVP operator;
* the noise sketch (``noise_examples`` = k): k seeded examples' gradient deviations projected on the sketch's
  eigenvectors per group of components (numeric.correlated.ProjectionSketch; the "correlated" model reads it),
  and per component the skewness and the mean sign of the per-example gradients (the small-B regime).

Memory: O(n) vectors plus one chunk of per-example gradients (chunk x n) and the sketch (k x n); the noise
sketch adds O(k r G) (k examples, r eigenvectors, G = 64 groups), never k x n.
The loss function must average over its batch (``reduction="mean"``); the loader must be re-iterable
(a ``DataLoader`` or a list of (inputs, targets) batches) and give the same examples each pass.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable

import numpy as np

from .statsfile import Statistics


def require_torch():
    try:
        import torch
    except ImportError:
        raise ImportError("the real-model statistics need torch: pip install -e '.[torch]'") from None
    return torch


class FlatModel:
    """A model's parameters as one flat float vector, with the loss, its gradient and HVPs as functions of it."""

    def __init__(self, model, loss_fn: Callable, loader: Iterable):
        torch = require_torch()
        from torch.func import functional_call

        self.torch, self.model, self.loss_fn, self.loader = torch, model, loss_fn, loader
        named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
        if not named:
            raise ValueError("the model has no trainable parameters")
        self.names = [name for name, _ in named]
        self.shapes = [p.shape for _, p in named]
        self.sizes = [p.numel() for _, p in named]
        self.bounds = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        self.dtype = named[0][1].dtype
        self.buffers = {name: b.detach() for name, b in model.named_buffers()}
        self.params = {name: p.detach() for name, p in named}
        self._call = functional_call
        self.samples = sum(int(x.shape[0]) for x, _ in loader)
        if self.samples < 2:
            raise ValueError(f"the loader gives {self.samples} example(s): need at least 2")

    @property
    def n(self) -> int:
        return int(self.bounds[-1])

    def flat(self, tensors: dict) -> "object":
        return self.torch.cat([tensors[name].reshape(-1) for name in self.names])

    def unflat(self, vector) -> dict:
        out, start = {}, 0
        for name, shape, size in zip(self.names, self.shapes, self.sizes):
            out[name] = vector[start:start + size].reshape(shape)
            start += size
        return out

    def loss(self, params: dict, x, y):
        return self.loss_fn(self._call(self.model, (params, self.buffers), (x,)), y)

    def mean_loss_and_gradient(self) -> tuple[float, np.ndarray]:
        from torch.func import grad_and_value

        total_loss, total = 0.0, self.torch.zeros(self.n, dtype=self.torch.float64)
        for x, y in self.loader:
            gradient, value = grad_and_value(self.loss)(self.params, x, y)
            weight = x.shape[0] / self.samples
            total += weight * self.flat(gradient).to(self.torch.float64)
            total_loss += weight * float(value)
        return total_loss, total.numpy()

    def per_example(self, x, y):
        """(batch, n) per-example gradients of one batch (vmap of grad)."""
        from torch.func import grad, vmap

        def one(params, xi, yi):
            return self.loss(params, xi[None], yi[None])

        gradients = vmap(grad(one), in_dims=(None, 0, 0))(self.params, x, y)
        return self.torch.cat([gradients[name].reshape(x.shape[0], -1) for name in self.names], dim=1)

    def hvp(self, vector: np.ndarray) -> np.ndarray:
        """H v for the mean loss over the loader (float64 out).

        Reverse over reverse (double backward): measured 50-100x faster here than torch.func's forward-over-reverse
        (``jvp`` of ``grad``), whose dual tensors take slow paths through tanh and cross-entropy on CPU."""
        torch = self.torch
        tangent = [piece for piece in self.unflat(torch.tensor(np.asarray(vector, dtype=np.float64),
                                                               dtype=self.dtype)).values()]
        leaves = {name: p.detach().requires_grad_(True) for name, p in self.params.items()}
        inputs = [leaves[name] for name in self.names]
        total = torch.zeros(self.n, dtype=torch.float64)
        for x, y in self.loader:
            gradients = torch.autograd.grad(self.loss(leaves, x, y), inputs, create_graph=True)
            product = torch.autograd.grad(gradients, inputs, grad_outputs=tangent)
            total += (x.shape[0] / self.samples) * torch.cat([p.reshape(-1) for p in product]).to(torch.float64)
        return total.numpy()


def _bar(total, desc, progress):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="pass", disable=not progress, file=sys.stderr, leave=False)


def check_sketch_rank(rank: int, n: int) -> None:
    """The Lanczos sketch's rank must be below n - 1 (a one-line error, before any work)."""
    if rank < 0:
        raise ValueError(f"sketch_rank must be >= 0, not {rank}")
    if rank > 0 and rank >= n - 1:
        raise ValueError(f"sketch_rank must be below n - 1 = {n - 1} (the model has n = {n} parameters), not {rank}")


def collect(model, loss_fn: Callable, loader: Iterable, *, probes: int = 32, sketch_rank: int = 8, seed: int = 0,
            chunk: int = 64, progress: bool = True, model_name: str = "", checkpoint: str = "",
            noise_examples: int = 256) -> Statistics:
    """The :class:`Statistics` of ``model`` at its current parameters over every example of ``loader``.

    ``probes`` Hutchinson probes (>= 2, for a standard error), a rank-``sketch_rank`` Lanczos sketch of H
    (0: none), per-example gradients ``chunk`` examples at a time, the noise sketch from ``noise_examples``
    examples (at most all of them; 0: none; it needs sketch_rank >= 1).  Seeded: the same call gives the same bits.
    """
    if probes < 2:
        raise ValueError(f"probes must be >= 2 (for a standard error), not {probes}")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, not {chunk}")
    if noise_examples < 0:
        raise ValueError(f"noise_examples must be >= 0, not {noise_examples}")
    from ..sim.optimizers import torch_single_thread

    with torch_single_thread():  # small kernels: a thread pool on shared cores waits more than it computes
        return _collect(model, loss_fn, loader, probes, sketch_rank, seed, chunk, progress, model_name, checkpoint,
                        noise_examples)


def _collect(model, loss_fn, loader, probes, sketch_rank, seed, chunk, progress, model_name, checkpoint,
             noise_examples) -> Statistics:
    flat = FlatModel(model, loss_fn, loader)
    torch = flat.torch
    n, N = flat.n, flat.samples
    check_sketch_rank(sketch_rank, n)
    loss, g = flat.mean_loss_and_gradient()

    # sigma^2 and its standard error: central sums around the exact mean g (no cancellation)
    centre = torch.from_numpy(g)
    s2 = torch.zeros(n, dtype=torch.float64)
    s3 = torch.zeros(n, dtype=torch.float64)
    s4 = torch.zeros(n, dtype=torch.float64)
    signs = torch.zeros(n, dtype=torch.float64)
    with _bar(N, "per-example gradients", progress) as bar:
        for x, y in loader:
            for start in range(0, x.shape[0], chunk):
                rows = flat.per_example(x[start:start + chunk], y[start:start + chunk]).to(torch.float64) - centre
                squared = rows * rows
                s2 += squared.sum(dim=0)
                s3 += (squared * rows).sum(dim=0)
                s4 += (squared * squared).sum(dim=0)
                signs += torch.sign(rows + centre).sum(dim=0)
                bar.update(rows.shape[0])
    sigma2 = (s2 / (N - 1)).numpy()
    spread = (s2 / N).numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        skewness = np.where(spread > 0, (s3 / N).numpy() / np.where(spread > 0, spread, 1.0) ** 1.5, 0.0)
    m4 = (s4 / N).numpy()
    sigma2_se = np.sqrt(np.maximum(m4 - sigma2**2, 0.0) / N)
    g_se = np.sqrt(sigma2 / N)

    # The sketch first: H = U diag(lambda) U^T + R.  Hutchinson then probes only the residual R (deflation, as in
    # Hutch++): diag H = diag(U diag(lambda) U^T) + mean z * Rz, tr H = sum lambda + mean z^T R z (Rademacher z).
    values, vectors = _sketch(flat, sketch_rank, seed, progress)
    generator = torch.Generator().manual_seed(seed)
    d1, d2 = np.zeros(n), np.zeros(n)
    traces = np.empty(probes)
    with _bar(probes, "Hutchinson probes", progress) as bar:
        for k in range(probes):
            z = (torch.randint(0, 2, (n,), generator=generator, dtype=torch.int8).to(torch.float64) * 2 - 1).numpy()
            residual = flat.hvp(z) - vectors @ (values * (vectors.T @ z))
            product = z * residual
            d1 += product
            d2 += product * product
            traces[k] = product.sum()
            bar.update(1)
    diag_H = d1 / probes + (vectors * vectors) @ values
    diag_H_se = np.sqrt(np.maximum(d2 / probes - (d1 / probes) ** 2, 0.0) / (probes - 1))
    gHg = float(g @ flat.hvp(g))
    noise = {}
    if noise_examples > 0 and values.size > 0:
        noise = _noise_sketch(flat, loader, g, sigma2, vectors, min(noise_examples, N), seed, chunk, progress)
    stats = Statistics(
        g=g, g_se=g_se, sigma2=sigma2, sigma2_se=sigma2_se, diag_H=diag_H, diag_H_se=diag_H_se,
        trace_H=float(traces.mean() + values.sum()), trace_H_se=float(traces.std(ddof=1) / math.sqrt(probes)), gHg=gHg,
        sketch_values=values, sketch_vectors=vectors, layer_names=tuple(flat.names), layer_bounds=flat.bounds,
        samples=N, probes=probes, seed=seed, model=model_name or type(model).__name__, checkpoint=checkpoint,
        loss=float(loss), source="per-example", skewness=skewness, sign_mean=(signs / N).numpy(), **noise)
    stats.extra["hvp"] = flat.hvp
    return stats


def _noise_sketch(flat: FlatModel, loader, g, sigma2, vectors, k: int, seed: int, chunk: int, progress) -> dict:
    """The noise sketch's arrays from k examples drawn without replacement (seeded) from the loader's N: their
    deviations d_e = x_e - g, E[d d^T] = the per-example covariance (ddof 0), projected per group."""
    from ..numeric.correlated import GROUP_BINS, ProjectionSketch, quantile_groups

    torch = flat.torch
    groups = quantile_groups(g, np.sqrt(sigma2))
    builder = ProjectionSketch(vectors, groups, count=GROUP_BINS[0] * GROUP_BINS[1])
    chosen = np.sort(np.random.default_rng([seed, 22]).choice(flat.samples, size=k, replace=False))
    offset = 0
    with _bar(k, "noise sketch", progress) as bar:
        for x, y in loader:
            size = int(x.shape[0])
            local = chosen[(chosen >= offset) & (chosen < offset + size)] - offset
            offset += size
            for start in range(0, local.size, chunk):
                index = torch.from_numpy(local[start:start + chunk])
                rows = flat.per_example(x[index], y[index]).to(torch.float64).numpy() - g
                builder.add(rows)
                bar.update(index.numel())
    projections, diagonal = builder.arrays()
    return {"noise_groups": groups, "noise_projections": projections, "noise_diagonal": diagonal,
            "noise_source": "per-example"}


def _sketch(flat: FlatModel, rank: int, seed: int, progress: bool) -> tuple[np.ndarray, np.ndarray]:
    """The ``rank`` largest-magnitude eigenpairs of H by Lanczos (scipy's eigsh on the HVP operator)."""
    n = flat.n
    if rank == 0:
        return np.zeros(0), np.zeros((n, 0))
    from scipy.sparse.linalg import LinearOperator, eigsh

    with _bar(None, "Lanczos sketch", progress) as bar:
        def matvec(v):
            bar.update(1)
            return flat.hvp(np.asarray(v, dtype=np.float64).reshape(-1))

        operator = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
        start = np.random.default_rng(seed).standard_normal(n)
        values, vectors = eigsh(operator, k=rank, which="LM", v0=start, tol=1e-4, ncv=min(n, max(2 * rank + 1, 20)))
    order = np.argsort(-np.abs(values))
    return values[order], vectors[:, order]
