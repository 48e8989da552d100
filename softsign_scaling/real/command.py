"""``softsign-scaling stats``, ``predict`` and ``critical-batch``: their :class:`~softsign_scaling.command.Command`
records (``COMMANDS``, added by cli.py like its own); torch is imported only when a command runs."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from ..command import PROG, Command, add_commands, fail, nonnegative_int, parse_batch, positive_int

_fail = fail


def _stats_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="FILE", default="stats.npz", help="the .npz to write (default stats.npz)")
    p.add_argument("--steps", type=nonnegative_int, default=2000, metavar="K",
                   help="training steps before the checkpoint (default 2000)")
    p.add_argument("--hidden", default="64", metavar="LIST", help="hidden widths, comma-separated (default 64)")
    p.add_argument("--probes", type=positive_int, default=32, metavar="N", help="Hutchinson probes, >= 2 (default 32)")
    p.add_argument("--sketch-rank", type=nonnegative_int, default=8, metavar="K",
                   help="rank of the Lanczos sketch of H (default 8; 0: none)")
    p.add_argument("--noise-examples", type=nonnegative_int, default=256, metavar="K",
                   help="examples whose gradient deviations the noise sketch projects (the 'correlated' model; "
                        "default 256; 0: none)")
    p.add_argument("--seed", type=nonnegative_int, default=0, metavar="S", help="seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _predict_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stats", metavar="FILE", required=True, help="a statistics .npz written by `stats`")
    p.add_argument("--eps", metavar="EPS", required=True, help="Adam's epsilon, a number >= 0")
    p.add_argument("--batch", metavar="LIST", default="32..8192",
                   help="batch sizes: numbers and ranges A..C = A, 2A, 4A, ... <= C (default 32..8192)")
    p.add_argument("--placement", choices=("inside", "outside"), default="outside",
                   help="eps outside the root (PyTorch's and optax's Adam: the default) or inside it (the article, "
                        "optax eps_root)")
    p.add_argument("--beta1", metavar="B1", default="0", help="Adam's beta1 in [0, 1) (momentum models; default 0)")
    p.add_argument("--models", metavar="LIST", default=None, help="models, comma-separated (default: every applicable one)")
    p.add_argument("--resamples", type=nonnegative_int, default=8, metavar="R",
                   help="parametric-bootstrap resamples for the bands (default 8; 0: no bands). The value printed is "
                        "the bias-corrected centre eta/median(ratio), inside its basic bootstrap interval")
    p.add_argument("--plot", metavar="FILE", default="eta_star.png", help="the figure to write (default eta_star.png)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def writable(path: Path) -> str | None:
    """Why ``path`` cannot be written (None: it can), found by creating it (removed again if it was new)."""
    existed = path.exists()
    try:
        with open(path, "ab"):
            pass
    except OSError as error:
        return f"cannot write {path}: {error.strerror or error}"
    if not existed:
        path.unlink()
    return None


def _missing() -> str | None:
    import importlib.util

    missing = [name for name in ("torch", "sklearn") if importlib.util.find_spec(name) is None]
    return None if not missing else f"needs {' and '.join(missing)}: pip install -e '.[torch]'"


def cmd_stats(args: argparse.Namespace) -> int:
    reason = _missing()
    if reason:
        return _fail("stats", reason)
    out = Path(args.out)
    if not out.parent.is_dir():
        return _fail("stats", f"--out: the folder {out.parent} does not exist")
    problem = writable(out)
    if problem:
        return _fail("stats", f"--out: {problem}")
    try:
        hidden = tuple(int(item) for item in args.hidden.split(","))
        if not hidden or min(hidden) < 1:
            raise ValueError
    except ValueError:
        return _fail("stats", f"--hidden: give positive integers separated by commas, not {args.hidden!r}")
    if args.probes < 2:
        return _fail("stats", "--probes must be >= 2 (a standard error needs two probes)")
    import torch

    from . import example
    from .collect import check_sketch_rank, collect

    torch.set_num_threads(1)  # small kernels on shared cores: one thread is faster (sim.optimizers.torch_single_thread)
    start = time.perf_counter()
    model = example.mlp(hidden, args.seed)
    try:  # before any training
        check_sketch_rank(args.sketch_rank, sum(p.numel() for p in model.parameters()))
    except ValueError as error:
        return _fail("stats", f"--sketch-rank: {error}")
    x_train, y_train, _, _ = example.digits(args.seed)
    example.train(model, x_train, y_train, steps=args.steps, checkpoints=(), seed=args.seed)
    stats = collect(model, example.loss_fn, example.batches(x_train, y_train, 256), probes=args.probes,
                    sketch_rank=args.sketch_rank, seed=args.seed, progress=not args.quiet,
                    noise_examples=args.noise_examples,
                    model_name=f"digits MLP 64-{'-'.join(map(str, hidden))}-10 (tanh, float64)",
                    checkpoint=f"after {args.steps} Adam steps (lr 1e-3, batch 32, seed {args.seed})")
    try:
        stats.save(out)
    except ValueError as error:
        return _fail("stats", str(error).splitlines()[0])
    print(f"wrote {out}: n = {stats.n} parameters, {stats.samples} examples, loss {stats.loss:.4g}, "
          f"tr H = {stats.trace_H:.4g} +- {stats.trace_H_se:.2g}, in {time.perf_counter() - start:.1f} s")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import numpy as np

    from .predict import REGIMES, caveat, prediction
    from .statsfile import load

    try:
        eps = float(args.eps)
        if not (math.isfinite(eps) and eps >= 0):
            raise ValueError
    except ValueError:
        return _fail("predict", f"--eps: give a finite number >= 0, not {args.eps!r}")
    try:
        beta1 = float(args.beta1)
        if not 0 <= beta1 < 1:
            raise ValueError
    except ValueError:
        return _fail("predict", f"--beta1: give a number in [0, 1), not {args.beta1!r}")
    try:
        batch = [B for B in parse_batch(args.batch) if math.isfinite(B)]
        if not batch:
            raise ValueError("--batch: give at least one finite batch size")
        plot = Path(args.plot)
        if not plot.parent.is_dir():
            raise ValueError(f"--plot: the folder {plot.parent} does not exist")
        problem = writable(plot)
        if problem:
            raise ValueError(f"--plot: {problem}")
        stats = load(args.stats)
        models = None if args.models is None else tuple(m.strip() for m in args.models.split(",") if m.strip())
        start = time.perf_counter()
        result = prediction(stats, eps, batch, placement=args.placement, beta1=beta1, models=models,
                            resamples=args.resamples, progress=not args.quiet)
    except (ValueError, TypeError) as error:
        return _fail("predict", str(error).splitlines()[0])
    print(f"{stats.model}, {stats.checkpoint}: n = {stats.n}, {stats.samples} examples; eps = {eps:g} "
          f"({args.placement}), beta1 = {beta1:g}; H from the rank-{stats.sketch_values.size} sketch + diagonal")
    names = list(result.models)
    recommended = result.recommended
    if recommended is not None:
        names = [recommended] + [name for name in names if name != recommended]
    if recommended == "correlated":
        print(f"recommended: {recommended} (marked *): exact moments plus the noise's correlations from the file's "
              f"sketch ({stats.noise_projections.shape[0]} {stats.noise_source} deviations)")
    elif recommended is not None:
        print(f"recommended: {recommended} (marked *); the file has no noise sketch, so the correlated model, which "
              "the validation recommends, is out: re-collect with `softsign-scaling stats` (--noise-examples)")
    else:
        print("recommended: none of the recommended models (correlated, exact) was selected")
    if recommended is not None:
        print(caveat(recommended, result.batch))
    header = "| B | " + " | ".join(f"{name} *" if name == recommended else name for name in names) + " |"
    print(header)
    print("| --- " * (len(names) + 1) + "|")
    for k, B in enumerate(result.batch):
        cells = []
        for name in names:
            p = result.models[name]
            band = f" ({p.low[k]:.3g}..{p.high[k]:.3g})" if p.low is not None else ""
            cells.append(f"{p.centre[k]:.4g}{band}")
        print(f"| {B:g} | " + " | ".join(cells) + " |")
    for name in names:
        peaks = result.models[name].surge
        print(f"  {name}: surge peak at B = {', '.join(f'{b:.3g}' for b in peaks)}" if peaks
              else f"  {name}: no surge peak inside B = {min(batch):g} .. {max(batch):g}")
    for name, reason in result.refused.items():
        print(f"  {name}: no value: {reason}")
    for B, check in (result.skew or {}).items():
        if check.ascends:
            how = ("the mean sign of the per-example gradients" if check.sign_test is not None
                   else "the skewness of the per-example gradients (Edgeworth)")
            print(f"  B = {B:g}: non-Gaussian regime: by {how} the real step ascends in expectation: no learning rate "
                  "helps (the table's eta* assumes Gaussian noise)")
        elif not 0.8 <= check.factor <= 1.25:
            how = "the per-example signs" if check.sign_test is not None else "the first Edgeworth term"
            print(f"  B = {B:g}: skewed per-example gradients: the expected descent g.E[u] is {check.factor:.2g} times the "
                  f"Gaussian models' (by {how}); eta* scales with it")
    silent = int((stats.sigma2 == 0).sum())
    print(f"regimes (b = eps sqrt(B)/sigma_i): shares {' / '.join(REGIMES)}; {silent} component(s) with sigma = 0 "
          "left out")
    for B in (min(batch), max(batch)):
        print(f"  B = {B:g}: " + "; ".join(f"{layer} {s[0]:.0%}/{s[1]:.0%}/{s[2]:.0%}"
                                         for layer, s in result.regimes[float(B)].items()))
    _plot(result, plot)
    print(f"wrote {plot} ({time.perf_counter() - start:.1f} s)")
    return 0


def _critical_batch_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", default=None,
                   help="the checkout to write docs/ into (default: the checkout this package lives in)")
    p.add_argument("--measure", action="store_true", help="rerun the measurement and rewrite docs/run-level.json")
    p.add_argument("--architecture", metavar="NAME", action="append", default=[],
                   help="measure only this architecture (cnn, teacher, ...; repeatable) and add it to the cached"
                        " docs/run-level.json, keeping the rest of the cache")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def cmd_critical_batch(args: argparse.Namespace) -> int:
    from ..files import repository_root

    if (args.measure or args.architecture) and (reason := _missing()):
        return _fail("critical-batch", reason)
    root = Path(args.out) if args.out is not None else repository_root()
    if not (root / "docs").is_dir():
        return _fail("critical-batch", f"--out: {root} has no docs/ folder (give a checkout of softsign_scaling)")
    from .runlevel_report import build

    try:
        written = build(root, measure=args.measure, progress=not args.quiet, architectures=tuple(args.architecture))
    except (FileNotFoundError, ValueError) as error:
        return _fail("critical-batch", str(error))
    for path in written:
        print(f"wrote {path}")
    return 0


def _plot(result, path: Path) -> None:
    from ..export.figures import EtaCurve, eta_figure

    eta_figure([EtaCurve(name, result.batch, p.centre, band=None if p.low is None else (p.low, p.high))
                for name, p in result.models.items()],
               path, f"eta*(B), eps = {result.eps:g} ({result.placement}); bands: 95% from the statistics")


COMMANDS = (
    Command("stats", "collect g, sigma^2, diag H, tr H and a sketch of H for the bundled digits MLP "
                     "(needs pip install -e '.[torch]')", _stats_arguments, cmd_stats,
            description="Train the bundled example (an MLP on scikit-learn's digits, no download) with "
                        "real torch Adam, then collect its statistics at the checkpoint into an .npz "
                        "(format: softsign_scaling/real/statsfile.py). Progress bars on stderr.",
            epilog=f"example: {PROG} stats --out stats.npz && {PROG} predict --stats stats.npz --eps 1e-8"),
    Command("predict", "eta*(B, eps) of a real model from a statistics file: table, regimes, surge, "
                       "and a figure with error bands", _predict_arguments, cmd_predict,
            description="eta*(B) under every applicable model from the statistics of `stats` (or of "
                        "softsign_scaling.real.collect.collect on your own model), with 95% bands from "
                        "the statistics' standard errors, the surge peaks inside the batch range, and "
                        "each layer's share of components in the SignSGD-like (b < 0.1), middle and "
                        "SGD-like (b > 10) regimes, b = eps sqrt(B)/sigma_i.",
            epilog=f"example: {PROG} predict --stats stats.npz --eps 1e-8 --batch 32..8192 "
                   "--placement outside --plot eta.png"),
    Command("critical-batch", "the whole run: measured critical batch size and best learning rate of the digits "
                              "MLP against B_noise(eps); writes docs/run-level.md",
            _critical_batch_arguments, cmd_critical_batch,
            description="Writes docs/run-level.md and docs/figures/run-level-*.png from the cached measurement "
                        "docs/run-level.json (matplotlib only, byte-reproducible). --measure reruns the "
                        "measurement first (torch, about 10 minutes of one CPU thread): steps to a target held-out "
                        "loss per batch size with the learning rate tuned per B, and the statistics along a "
                        "reference run (issue 23).",
            epilog=f"example: {PROG} critical-batch"),
)


def add_parser(sub) -> None:
    """Add this module's commands to ``sub`` (an argparse subparsers object)."""
    add_commands(sub, COMMANDS)
