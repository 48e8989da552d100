"""Noise statistics inside a data-parallel (DDP) training loop, without extra backward passes.

Under ``torch.distributed`` each of K ranks computes the gradient g_k of its own minibatch of b examples, and
DDP all-reduces them into gbar = mean_k g_k, the gradient of K b examples.  Per component, for minibatches
drawn independently,

    E[g_k,i^2] = G_i^2 + sigma_i^2/b,      E[gbar_i^2] = G_i^2 + sigma_i^2/(K b),

so each step gives unbiased estimates (the small-batch/large-batch difference estimator)

    sigma_i^2 ~ b K/(K - 1) (mean_k g_k,i^2 - gbar_i^2),   G_i^2 ~ (K gbar_i^2 - mean_k g_k,i^2)/(K - 1).

:class:`NoiseCollector` registers a DDP communication hook that keeps each rank's local gradient bucket (a
copy, O(n) memory) before DDP all-reduces it; after ``loss.backward()``, :meth:`NoiseCollector.update` reads
the all-reduced gradient from ``p.grad``, all-reduces the squared local gradients (one extra all-reduce of n
numbers, no extra backward pass) and accumulates the per-step estimates.  The statistics are averages over
the steps, with standard errors from their spread across steps (the parameters move between steps: collect
over a window short enough that g and sigma do not change much, e.g. the last 20-100 steps before a checkpoint).

In a DDP loop::

    ddp = torch.nn.parallel.DistributedDataParallel(model)
    collector = NoiseCollector(ddp, local_batch=b)        # registers the hook
    for x, y in loader:                                   # each rank: its own b examples
        optimizer.zero_grad()
        loss_fn(ddp(x), y).backward()                     # DDP all-reduces as usual
        collector.update()                                # before optimizer.step()
        optimizer.step()
    g, g_se, sigma2, sigma2_se = collector.result()       # numpy, the same on every rank

The noise sketch comes free too: each rank's deviation d_k = g_k - gbar has E[d_k d_k^T] = (1 - 1/K) Sigma/b, so
(g_k - gbar) sqrt(b K/(K - 1)) is a sample of the per-example covariance Sigma.  Give the collector the sketch's
eigenvectors and the components' groups (``sketch=(vectors, groups)``, from :func:`.collect.collect` on one rank
and numeric.correlated.quantile_groups) and it projects its own deviation (O(n r)), all-gathers the K small
projections (r G numbers each) and keeps them: :meth:`NoiseCollector.sketch_arrays` gives the statistics file's
noise_groups, noise_projections and noise_diagonal.  The K deviations of one step are dependent (they sum to 0),
so the k = K x steps samples are worth about (K - 1) x steps independent ones.

Then ``Statistics`` (with diag H and the sketch from :func:`.collect.collect` on one rank, or without them)
feeds :func:`.predict.prediction`.  ``python -m softsign_scaling.real.distributed`` runs :func:`self_test`
(gloo, 2 local processes).
"""

from __future__ import annotations

import math

import numpy as np


class NoiseCollector:
    """Accumulates g and sigma^2 from per-rank and all-reduced gradients of a ``DistributedDataParallel`` model."""

    def __init__(self, ddp_model, local_batch: int, process_group=None, sketch=None):
        import torch
        import torch.distributed as dist

        if local_batch < 1:
            raise ValueError(f"local_batch must be >= 1, not {local_batch}")
        self.torch, self.dist, self.group = torch, dist, process_group
        self.world = dist.get_world_size(process_group)
        if self.world < 2:
            raise ValueError("the difference estimator needs at least 2 ranks")
        self.b = local_batch
        self.params = [p for p in ddp_model.module.parameters() if p.requires_grad]
        sizes = [p.numel() for p in self.params]
        self.offsets = {id(p): int(o) for p, o in zip(self.params, np.concatenate([[0], np.cumsum(sizes)[:-1]]))}
        self.n = int(sum(sizes))
        self.local = torch.zeros(self.n, dtype=torch.float64)
        self.steps = 0
        self.sums = {key: np.zeros(self.n) for key in ("g", "g2", "s", "s2")}
        self.builder = None
        if sketch is not None:
            from ..numeric.correlated import GROUP_BINS, ProjectionSketch

            vectors, groups = sketch
            self.builder = ProjectionSketch(vectors, groups, count=GROUP_BINS[0] * GROUP_BINS[1])
        ddp_model.register_comm_hook(self, NoiseCollector._hook)

    @staticmethod
    def _hook(state: "NoiseCollector", bucket):
        """Copy the local gradients of this bucket, then all-reduce as DDP's default hook does (mean over ranks)."""
        buffer = bucket.buffer()
        start = 0
        for p in bucket.parameters():
            size = p.numel()
            offset = state.offsets[id(p)]
            state.local[offset:offset + size] = buffer[start:start + size].to(state.torch.float64)
            start += size
        buffer.div_(state.world)
        return state.dist.all_reduce(buffer, group=state.group, async_op=True).get_future().then(
            lambda future: future.value()[0])

    def update(self) -> None:
        """Record this step (call after backward, before the optimizer step)."""
        torch = self.torch
        average = torch.cat([p.grad.reshape(-1).to(torch.float64) for p in self.params])
        squares = self.local * self.local
        self.dist.all_reduce(squares, group=self.group)
        squares = (squares / self.world).numpy()
        gbar = average.numpy()
        K, b = self.world, self.b
        sigma2 = b * K / (K - 1) * (squares - gbar * gbar)
        for key, value in (("g", gbar), ("g2", gbar * gbar), ("s", sigma2), ("s2", sigma2 * sigma2)):
            self.sums[key] += value
        if self.builder is not None:
            deviation = (self.local.numpy() - gbar) * math.sqrt(b * K / (K - 1))
            projected, squares = self.builder.project(deviation[None, :])
            mine = torch.from_numpy(projected[0])
            everyone = [torch.empty_like(mine) for _ in range(K)]
            self.dist.all_gather(everyone, mine, group=self.group)
            total = torch.from_numpy(squares)
            self.dist.all_reduce(total, group=self.group)
            self.builder.add_projected(torch.stack(everyone).numpy(), total.numpy())
        self.steps += 1

    def sketch_arrays(self) -> dict:
        """The statistics file's noise sketch keys from the per-rank deviations (needs ``sketch=`` at construction)."""
        if self.builder is None:
            raise ValueError("the collector was made without sketch=(vectors, groups): no noise sketch")
        projections, diagonal = self.builder.arrays()
        return {"noise_groups": self.builder.groups, "noise_projections": projections, "noise_diagonal": diagonal,
                "noise_source": "per-rank"}

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(g, g_se, sigma2, sigma2_se): means over the recorded steps and standard errors from their spread."""
        T = self.steps
        if T < 2:
            raise ValueError(f"record at least 2 steps for standard errors (have {T})")
        g = self.sums["g"] / T
        sigma2 = self.sums["s"] / T
        g_se = np.sqrt(np.maximum(self.sums["g2"] / T - g * g, 0.0) / (T - 1))
        sigma2_se = np.sqrt(np.maximum(self.sums["s2"] / T - sigma2 * sigma2, 0.0) / (T - 1))
        return g, g_se, sigma2, sigma2_se


# --------------------------------------------------------------------------------------------------------
# Self-test: gloo, local processes, a fixed linear model (lr = 0, so g and sigma are fixed and known exactly).


def _data(seed: int = 0, examples: int = 256, features: int = 6, classes: int = 3):
    import torch

    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(examples, features, generator=generator, dtype=torch.float64)
    y = torch.randint(0, classes, (examples,), generator=generator)
    model = torch.nn.Linear(features, classes).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=torch.float64) * 0.5)
    return x, y, model


def population(seed: int = 0, per_example: bool = False):
    """The exact g and sigma^2 (ddof 0) of the self-test's data set, from per-example gradients (and those, (N, n),
    with ``per_example``)."""
    import torch
    from torch.func import functional_call, grad, vmap

    x, y, model = _data(seed)
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss(p, xi, yi):
        return torch.nn.functional.cross_entropy(functional_call(model, p, (xi[None],)), yi[None])

    per = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)
    flat = torch.cat([per[k].reshape(x.shape[0], -1) for k in params], dim=1).numpy()
    if per_example:
        return flat.mean(axis=0), flat.var(axis=0), flat
    return flat.mean(axis=0), flat.var(axis=0)


def _worker(rank: int, world: int, port: int, steps: int, local_batch: int, seed: int, queue, sketch=None) -> None:
    import os

    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        x, y, model = _data(seed)
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        collector = NoiseCollector(ddp, local_batch, sketch=sketch)
        generator = torch.Generator().manual_seed(seed * 1000 + rank + 1)  # each rank its own minibatches
        for _ in range(steps):
            index = torch.randint(0, x.shape[0], (local_batch,), generator=generator)
            ddp.zero_grad()
            torch.nn.functional.cross_entropy(ddp(x[index]), y[index]).backward()
            collector.update()  # no optimizer step: the parameters stay, so g and sigma are fixed
        if rank == 0:
            queue.put(collector.result() if sketch is None else (collector.result(), collector.sketch_arrays()))
    finally:
        dist.destroy_process_group()


def self_test(world: int = 2, steps: int = 400, local_batch: int = 8, seed: int = 0, port: int | None = None,
              sketch=None):
    """Run the collector on ``world`` local gloo processes; return (estimates, (g, sigma2) exact); with
    ``sketch=(vectors, groups)`` the estimates are (result(), sketch_arrays())."""
    import socket

    import torch.multiprocessing as mp

    if port is None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    context = mp.get_context("spawn")
    queue = context.SimpleQueue()
    processes = mp.start_processes(_worker, args=(world, port, steps, local_batch, seed, queue, sketch), nprocs=world,
                                   join=False, start_method="spawn")
    while queue.empty():  # read before the join: a large result would block rank 0 on a full pipe
        if processes.join(timeout=0.1):  # raises if a rank failed
            raise RuntimeError("the ranks finished without a result")
    result = queue.get()
    while not processes.join():
        pass
    return result, population(seed)


if __name__ == "__main__":  # pragma: no cover
    (g, g_se, s2, s2_se), (g_true, s2_true) = self_test()
    z = (s2 - s2_true) / s2_se
    print(f"sigma^2: max |z| = {np.abs(z).max():.2f} over {z.size} components; sum ratio {s2.sum() / s2_true.sum():.4f}")
    print(f"g: max |z| = {np.abs((g - g_true) / g_se).max():.2f}")
