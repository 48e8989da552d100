"""Four small float64 networks for the held-out validation (:mod:`.heldout`), each with a training set and a
separate, larger held-out population, all from data on this machine (no download).

* ``mlp``: the digits MLP 64 -> 64 -> 10 (tanh), scikit-learn's digits;
* ``cnn``: a small CNN on the same digits (conv 1->6 3x3, avg-pool, conv 6->8 3x3, avg-pool, linear 32 -> 10);
* ``transformer``: a one-block character-level transformer (d = 16, 2 heads, context 16, 32 symbols) on the
  text of Python's own standard library (``*.py`` files of ``sysconfig``'s stdlib directory; the training
  text and the population's text come from different files);
* ``teacher``: a student MLP 16 -> 8 -> 1 (tanh) regressing a fixed random teacher of the same shape plus
  label noise 0.1, Gaussian inputs: fresh samples, so the population (16384 examples) is ~110 times the
  parameter count and training never repeats an example.

Each :class:`Architecture` gives ``data(seed)`` -> (x_train, y_train, x_population, y_population), ``build(seed)``
-> the float64 module, ``loss_fn`` (a mean over the batch) and ``train`` (real ``torch.optim.Adam``, batch 32,
minibatches drawn with replacement from the training set; ``teacher`` draws fresh inputs every step).
Deterministic: seeded generators, one thread.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .collect import require_torch


@dataclass(frozen=True)
class Architecture:
    name: str
    description: str
    data: Callable
    build: Callable
    loss_fn: Callable
    checkpoints: tuple[int, ...]  # early, mid, late (Adam steps)
    lr: float
    fresh: Callable | None = None  # seed -> (x, y) batch sampler for online training (teacher-student)

    def train(self, model, x, y, seed: int = 0) -> dict[int, dict]:
        """Real Adam(lr, betas 0.9/0.999, eps 1e-8), batch 32; state_dict copies at the checkpoints."""
        torch = require_torch()
        generator = torch.Generator().manual_seed(seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=self.lr)
        saved = {}
        for step in range(1, max(self.checkpoints) + 1):
            if self.fresh is not None:
                xb, yb = self.fresh(generator, 32)
            else:
                index = torch.randint(0, x.shape[0], (32,), generator=generator)
                xb, yb = x[index], y[index]
            optimizer.zero_grad()
            self.loss_fn(model(xb), yb).backward()
            optimizer.step()
            if step in self.checkpoints:
                saved[step] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        return saved


def _cross_entropy(outputs, targets):
    torch = require_torch()
    return torch.nn.functional.cross_entropy(outputs, targets)


def _sequence_cross_entropy(outputs, targets):
    """Mean next-symbol cross-entropy over every position of every sequence (outputs: batch x T x V)."""
    torch = require_torch()
    return torch.nn.functional.cross_entropy(outputs.reshape(-1, outputs.shape[-1]), targets.reshape(-1))


def _half_mse(outputs, targets):
    return 0.5 * ((outputs.reshape(-1) - targets.reshape(-1)) ** 2).mean()


# ------------------------------------------------------------------------------------------------ digits


DIGITS_TRAIN = 1000  # the rest (797) is the population


def _digits(seed: int, image: bool):
    torch = require_torch()
    from .example import require_sklearn

    data = require_sklearn()()
    order = np.random.default_rng(seed).permutation(data.target.size)
    x = torch.tensor(data.data[order] / 16.0, dtype=torch.float64)
    if image:
        x = x.reshape(-1, 1, 8, 8)
    y = torch.tensor(data.target[order], dtype=torch.int64)
    return x[:DIGITS_TRAIN], y[:DIGITS_TRAIN], x[DIGITS_TRAIN:], y[DIGITS_TRAIN:]


def _mlp(seed: int):
    from .example import mlp

    return mlp((64,), seed)


def _cnn(seed: int):
    torch = require_torch()
    torch.manual_seed(seed)
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.Tanh(), nn.AvgPool2d(2),
                         nn.Conv2d(6, 8, 3, padding=1), nn.Tanh(), nn.AvgPool2d(2),
                         nn.Flatten(), nn.Linear(32, 10)).double()


# ------------------------------------------------------------------------------------------- transformer


CONTEXT, VOCAB, WIDTH, HEADS = 16, 32, 16, 2
TEXT_TRAIN, TEXT_POPULATION = 4096, 2048  # windows of CONTEXT + 1 symbols


def stdlib_text() -> tuple[str, str]:
    """(training text, population text): the stdlib's ``*.py`` files in name order, even-numbered files for
    training and odd-numbered ones for the population (different files: held-out text, not held-out windows)."""
    import sysconfig
    from pathlib import Path

    files = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    if len(files) < 20:
        raise ValueError(f"found {len(files)} stdlib .py files: the transformer's text needs the standard library's sources")
    read = [f.read_text(encoding="utf-8", errors="replace") for f in files]
    return "".join(read[0::2]), "".join(read[1::2])


def _symbols(train_text: str) -> dict[str, int]:
    """The VOCAB - 1 most frequent characters of the training text (ties by code point); the rest -> VOCAB - 1."""
    counts: dict[str, int] = {}
    for c in train_text:
        counts[c] = counts.get(c, 0) + 1
    top = sorted(counts, key=lambda c: (-counts[c], c))[:VOCAB - 1]
    return {c: k for k, c in enumerate(top)}


def _windows(text: str, table: dict[str, int], count: int, rng) -> np.ndarray:
    codes = np.array([table.get(c, VOCAB - 1) for c in text], dtype=np.int64)
    starts = rng.choice(codes.size - CONTEXT - 1, size=count, replace=False)
    return codes[starts[:, None] + np.arange(CONTEXT + 1)[None, :]]


def _text(seed: int):
    torch = require_torch()
    train_text, population_text = stdlib_text()
    table = _symbols(train_text)
    rng = np.random.default_rng(seed)
    train = torch.tensor(_windows(train_text, table, TEXT_TRAIN, rng))
    population = torch.tensor(_windows(population_text, table, TEXT_POPULATION, rng))
    return train[:, :-1], train[:, 1:], population[:, :-1], population[:, 1:]


def _transformer(seed: int):
    torch = require_torch()
    torch.manual_seed(seed)
    nn = torch.nn

    class Block(nn.Module):
        """Pre-norm causal self-attention and a 2x MLP, written with plain ops (vmap-safe)."""

        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB, WIDTH)
            self.position = nn.Parameter(0.1 * torch.randn(CONTEXT, WIDTH))
            self.norm1, self.norm2, self.norm3 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
            self.qkv = nn.Linear(WIDTH, 3 * WIDTH)
            self.proj = nn.Linear(WIDTH, WIDTH)
            self.up = nn.Linear(WIDTH, 2 * WIDTH)
            self.down = nn.Linear(2 * WIDTH, WIDTH)
            self.head = nn.Linear(WIDTH, VOCAB)
            self.register_buffer("mask", torch.triu(torch.full((CONTEXT, CONTEXT), -math.inf), 1))

        def forward(self, tokens):
            T = tokens.shape[-1]
            h = self.embed(tokens) + self.position[:T]
            q, k, v = self.qkv(self.norm1(h)).split(WIDTH, dim=-1)
            size = WIDTH // HEADS

            def heads(t):
                return t.reshape(*t.shape[:-1], HEADS, size).transpose(-2, -3)

            scores = heads(q) @ heads(k).transpose(-1, -2) / math.sqrt(size) + self.mask[:T, :T]
            mixed = (scores.softmax(dim=-1) @ heads(v)).transpose(-2, -3).reshape(*h.shape)
            h = h + self.proj(mixed)
            h = h + self.down(torch.tanh(self.up(self.norm2(h))))
            return self.head(self.norm3(h))

    return Block().double()


# ---------------------------------------------------------------------------------------- teacher-student


TEACHER_IN, TEACHER_HIDDEN, TEACHER_NOISE = 16, 8, 0.1
TEACHER_TRAIN, TEACHER_POPULATION = 1024, 16384


def _teacher_net(seed: int):
    torch = require_torch()
    torch.manual_seed(seed)
    nn = torch.nn
    return nn.Sequential(nn.Linear(TEACHER_IN, TEACHER_HIDDEN), nn.Tanh(), nn.Linear(TEACHER_HIDDEN, 1)).double()


@functools.lru_cache(maxsize=1)
def _teacher_function():
    torch = require_torch()
    net = _teacher_net(1234)
    with torch.no_grad():  # a teacher with O(1) outputs
        net[0].weight.mul_(2.0)
        net[2].weight.mul_(3.0)
    return net


def _teacher_sample(generator, count: int):
    torch = require_torch()
    teacher = _teacher_function()
    x = torch.randn(count, TEACHER_IN, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        y = teacher(x).reshape(-1) + TEACHER_NOISE * torch.randn(count, generator=generator, dtype=torch.float64)
    return x, y


def _teacher_data(seed: int):
    torch = require_torch()
    x_train, y_train = _teacher_sample(torch.Generator().manual_seed(10_000 + seed), TEACHER_TRAIN)
    x_pop, y_pop = _teacher_sample(torch.Generator().manual_seed(20_000 + seed), TEACHER_POPULATION)
    return x_train, y_train, x_pop, y_pop


ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in (
    Architecture("mlp", "MLP 64 -> 64 -> 10 (tanh) on scikit-learn's digits", lambda s: _digits(s, False), _mlp,
                 _cross_entropy, (50, 400, 2000), 1e-3),
    Architecture("cnn", "CNN conv(1->6, 3x3) tanh avgpool conv(6->8, 3x3) tanh avgpool linear(32 -> 10) on digits",
                 lambda s: _digits(s, True), _cnn, _cross_entropy, (50, 400, 2000), 3e-3),
    Architecture("transformer", f"one-block character transformer (d {WIDTH}, {HEADS} heads, context {CONTEXT}, "
                 f"{VOCAB} symbols) on the Python standard library's source text", _text, _transformer,
                 _sequence_cross_entropy, (50, 400, 1500), 3e-3),
    Architecture("teacher", f"student MLP {TEACHER_IN} -> {TEACHER_HIDDEN} -> 1 (tanh) on a random teacher of the "
                 f"same shape, label noise {TEACHER_NOISE}, fresh Gaussian inputs", _teacher_data, _teacher_net,
                 _half_mse, (50, 500, 3000), 3e-3, fresh=_teacher_sample),
)}


def parameter_count(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
