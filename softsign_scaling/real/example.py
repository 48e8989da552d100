"""The bundled example: an MLP on scikit-learn's digits (1797 8x8 images, shipped with scikit-learn: no download).

:func:`digits` splits the data once (seeded) into a training part and a held-out part; :func:`mlp` builds
the network in float64; :func:`train` runs real ``torch.optim.Adam`` on the training part and returns the
parameters at the requested checkpoints.  Deterministic: torch's deterministic algorithms, one thread,
seeded generators.
"""

from __future__ import annotations

import numpy as np

from .collect import require_torch

HELD_OUT = 597  # examples held out from training (the rest, 1200, train)


def require_sklearn():
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("the digits example needs scikit-learn: pip install -e '.[torch]'") from None
    return load_digits


def digits(seed: int = 0):
    """(x_train, y_train, x_held, y_held) as float64/int64 torch tensors; pixels scaled to [0, 1]."""
    torch = require_torch()
    data = require_sklearn()()
    order = np.random.default_rng(seed).permutation(data.target.size)
    x = torch.tensor(data.data[order] / 16.0, dtype=torch.float64)
    y = torch.tensor(data.target[order], dtype=torch.int64)
    return x[HELD_OUT:], y[HELD_OUT:], x[:HELD_OUT], y[:HELD_OUT]


def mlp(hidden: tuple[int, ...] = (64,), seed: int = 0):
    """64 -> hidden... -> 10, tanh, float64, seeded initialisation."""
    torch = require_torch()
    torch.manual_seed(seed)
    layers, width = [], 64
    for size in hidden:
        layers += [torch.nn.Linear(width, size), torch.nn.Tanh()]
        width = size
    layers.append(torch.nn.Linear(width, 10))
    return torch.nn.Sequential(*layers).double()


def loss_fn(outputs, targets):
    torch = require_torch()
    return torch.nn.functional.cross_entropy(outputs, targets)


def batches(x, y, size: int) -> list:
    """The examples as a list of (inputs, targets) batches of at most ``size`` (a re-iterable loader)."""
    return [(x[i:i + size], y[i:i + size]) for i in range(0, x.shape[0], size)]


def train(model, x, y, *, steps: int, checkpoints: tuple[int, ...], lr: float = 1e-3, batch: int = 32,
          seed: int = 0) -> dict[int, dict]:
    """Real Adam (betas 0.9, 0.999, eps 1e-8) on minibatches drawn with replacement; state_dict copies at ``checkpoints``."""
    torch = require_torch()
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    saved = {}
    if 0 in checkpoints:
        saved[0] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for step in range(1, steps + 1):
        index = torch.randint(0, x.shape[0], (batch,), generator=generator)
        optimizer.zero_grad()
        loss_fn(model(x[index]), y[index]).backward()
        optimizer.step()
        if step in checkpoints:
            saved[step] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return saved


def parameter_count(hidden: tuple[int, ...]) -> int:
    widths = (64, *hidden, 10)
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
