"""The real optimizers, one registry: each entry calls the library itself (never a re-implementation).

An update function takes minibatch gradients, a (samples, n) float64 array, and eps, and returns the
(samples, n) float64 update u of one step from a fresh state with learning rate 1 (the step is
w -> w - eta u).  The libraries' rules are elementwise, so the Monte Carlo samples are simply the
leading dimension of one parameter tensor: one library call per batch of samples.

================  =======  =================================================================
name              library  one step from a fresh state, lr = 1
================  =======  =================================================================
optax_softsign    optax    scale_by_adam(b1=0, b2=0, eps=0, eps_root=eps^2): g/sqrt(g^2 + eps^2)
torch_adam        torch    Adam(lr=1, betas=(0, 0), eps=eps): g/(|g| + eps) (eps outside the root)
torch_adam_0.9    torch    Adam(lr=1, betas=(0.9, 0.999), eps=eps): the same first step (bias correction)
torch_sgd         torch    SGD(lr=1): g
optax_signsgd     optax    scale_by_sign(): sign(g)
================  =======  =================================================================

:func:`verify_formulas` checks each row's formula on known vectors in float64.  torch and jax are
imported inside the functions, so this module imports without them.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

INSTALL_HINT = "pip install -e '.[sim]'"


def missing_libraries() -> list[str]:
    """The optional libraries (torch, jax, optax) that are not installed."""
    return [name for name in ("torch", "jax", "optax") if importlib.util.find_spec(name) is None]


def require(*libraries: str) -> None:
    """Raise ImportError with the install command when a library is missing."""
    missing = [name for name in libraries if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(f"the simulation needs {', '.join(missing)}: {INSTALL_HINT}")


# --------------------------------------------------------------------------------------------
# optax (jax in float64 through the enable_x64 context manager: no global configuration change)


_JITTED: dict[str, Callable] = {}  # per process: one compiled function per optax transformation


def _optax_call(kind: str, grads: np.ndarray, eps: float) -> np.ndarray:
    """One optax update of a fresh state, jit-compiled, computed in float64 (jax.enable_x64 context)."""
    require("jax", "optax")
    import jax
    import jax.numpy as jnp
    import optax

    with jax.enable_x64(True):
        if kind not in _JITTED:
            def update(g, eps_root):
                if kind == "softsign":
                    transform = optax.scale_by_adam(b1=0.0, b2=0.0, eps=0.0, eps_root=eps_root)
                else:
                    transform = optax.scale_by_sign()
                return transform.update(g, transform.init(g))[0]

            _JITTED[kind] = jax.jit(update)
        g = jnp.asarray(np.ascontiguousarray(grads, dtype=np.float64))
        out = _JITTED[kind](g, jnp.asarray(eps * eps, dtype=jnp.float64))
        return np.asarray(out, dtype=np.float64)


def optax_softsign(grads: np.ndarray, eps: float) -> np.ndarray:
    return _optax_call("softsign", grads, eps)


def optax_signsgd(grads: np.ndarray, eps: float) -> np.ndarray:
    return _optax_call("sign", grads, eps)


# --------------------------------------------------------------------------------------------
# torch


@contextmanager
def torch_single_thread():
    """torch with one intra-op thread inside the block (restored after).

    The steps are small elementwise kernels; on a shared 2-core machine torch's default thread pool
    spends more time waiting for busy cores than computing (measured 100x slower under load), and
    parallelism comes from the executor's processes instead.
    """
    require("torch")
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield torch
    finally:
        torch.set_num_threads(previous)


def _torch_step(grads: np.ndarray, make_optimizer: Callable) -> np.ndarray:
    with torch_single_thread() as torch:
        with torch.no_grad():
            parameter = torch.zeros(grads.shape, dtype=torch.float64, requires_grad=True)
        optimizer = make_optimizer(torch, [parameter])
        parameter.grad = torch.from_numpy(np.ascontiguousarray(grads, dtype=np.float64))
        optimizer.step()
        return -parameter.detach().numpy().copy()  # from w = 0: u = -(w after the step)


def torch_adam(grads: np.ndarray, eps: float) -> np.ndarray:
    return _torch_step(grads, lambda torch, p: torch.optim.Adam(p, lr=1.0, betas=(0.0, 0.0), eps=eps))


def torch_adam_momentum(grads: np.ndarray, eps: float) -> np.ndarray:
    return _torch_step(grads, lambda torch, p: torch.optim.Adam(p, lr=1.0, betas=(0.9, 0.999), eps=eps))


def torch_sgd(grads: np.ndarray, eps: float) -> np.ndarray:
    return _torch_step(grads, lambda torch, p: torch.optim.SGD(p, lr=1.0))


@dataclass(frozen=True)
class Optimizer:
    name: str
    library: str
    call: str          # the library call, as written in the docs
    formula: str       # what one fresh step computes, per component
    bounded: bool      # |u_i| <= 1 always (gives the range for the Bernstein test)
    update: Callable[[np.ndarray, float], np.ndarray]
    reference: Callable[[np.ndarray, float], np.ndarray]  # the formula in numpy, for verify_formulas


OPTIMIZERS: dict[str, Optimizer] = {o.name: o for o in (
    Optimizer("optax_softsign", "optax", "optax.scale_by_adam(b1=0, b2=0, eps=0, eps_root=eps**2)",
              "g/sqrt(g^2 + eps^2)", True, optax_softsign, lambda g, e: g / np.sqrt(g * g + e * e)),
    Optimizer("torch_adam", "torch", "torch.optim.Adam(lr=1, betas=(0, 0), eps=eps)",
              "g/(|g| + eps)", True, torch_adam, lambda g, e: g / (np.abs(g) + e)),
    Optimizer("torch_adam_0.9", "torch", "torch.optim.Adam(lr=1, betas=(0.9, 0.999), eps=eps), first step",
              "g/(|g| + eps)", True, torch_adam_momentum, lambda g, e: g / (np.abs(g) + e)),
    Optimizer("torch_sgd", "torch", "torch.optim.SGD(lr=1)", "g", False, torch_sgd, lambda g, e: g.copy()),
    Optimizer("optax_signsgd", "optax", "optax.scale_by_sign()", "sign(g)", True, optax_signsgd,
              lambda g, e: np.sign(g)),
)}


def optimizer(name: str) -> Optimizer:
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name]


def known_vectors() -> np.ndarray:
    """Gradients that exercise each formula: signs, zero-adjacent, tiny and huge magnitudes, eps-sized values."""
    values = np.array([1.0, -1.0, 0.5, -2.0, 1e-3, -1e-3, 3e-8, -7e-9, 1e3, -1e6, 0.1, -0.1, 1.5e-2, 2.5e-1])
    return np.stack([values, -values[::-1], values * 0.37])


def verify_formulas(eps_values=(1e-8, 1e-3, 0.1, 1.0)) -> dict[str, float]:
    """Max relative difference between each library's step and its stated formula on known vectors (float64).

    A correct call agrees to a few ulps (the libraries compute in a different order); a wrong
    convention (eps inside vs outside, a bias correction) differs at O(1) on the eps-sized entries.
    """
    grads = known_vectors()
    worst: dict[str, float] = {}
    for name, opt in OPTIMIZERS.items():
        error = 0.0
        for eps in eps_values:
            got, want = opt.update(grads, eps), opt.reference(grads, eps)
            if got.dtype != np.float64 or got.shape != grads.shape:
                raise TypeError(f"{name} returned {got.dtype} {got.shape}, not float64 {grads.shape}")
            error = max(error, float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-300))))
        worst[name] = error
    return worst
