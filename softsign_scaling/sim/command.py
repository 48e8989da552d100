"""``softsign-scaling simulate`` and ``softsign-scaling momentum``: their :class:`~softsign_scaling.command.Command`
records (``COMMANDS``, added by cli.py like its own); torch/jax are imported only when a command runs."""

from __future__ import annotations

import argparse
import sys
import time

from ..command import OUT_HELP, Command, add_commands, output_root, positive_int


def _simulate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", help=OUT_HELP.format(
        what="docs/simulation.md, docs/figures/sim_*.png and the cache .cache/simulation/"))
    p.add_argument("--full", action="store_true", help="more problems and Monte Carlo samples")
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="processes, N >= 1 (default: all cores)")
    p.add_argument("--no-cache", action="store_true",
                   help="recompute every task (default: resume from .cache/simulation)")


def _missing(command: str) -> int | None:
    """Exit status 2 with a one-line error when the simulation's libraries are missing, else None."""
    from .optimizers import INSTALL_HINT, missing_libraries

    missing = missing_libraries()
    if missing:
        print(f"error: {command} needs {', '.join(missing)}: {INSTALL_HINT}", file=sys.stderr)
        return 2
    return None


def cmd_simulate(args: argparse.Namespace) -> int:
    if (status := _missing("simulate")) is not None:
        return status
    if args.workers is not None and args.workers < 1:
        print("error: --workers must be >= 1", file=sys.stderr)
        return 2
    from ..atlas.run import process_pool
    from .report import run_simulation

    root = output_root("simulate", args.out, ("docs/figures", ".cache/simulation"))
    cache = None if args.no_cache else root / ".cache" / "simulation"
    start = time.perf_counter()
    with process_pool(args.workers) as executor:
        path = run_simulation(root, full=args.full, executor=executor, cache=cache, progress=sys.stderr.isatty())
    print(f"wrote {path} in {time.perf_counter() - start:.1f} s")
    return 0


def _momentum_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", help=OUT_HELP.format(
        what="docs/momentum.md, docs/figures/momentum_*.png and the cache .cache/momentum/"))
    p.add_argument("--workers", type=positive_int, default=1, metavar="N", help="processes, N >= 1 (default 1)")
    p.add_argument("--no-cache", action="store_true", help="recompute every task (default: resume from .cache/momentum)")


def cmd_momentum(args: argparse.Namespace) -> int:
    if (status := _missing("momentum")) is not None:
        return status
    from ..atlas.run import process_pool
    from .momentum_report import run_momentum

    root = output_root("momentum", args.out, ("docs/figures", ".cache/momentum"))
    start = time.perf_counter()
    with process_pool(args.workers) as executor:
        path = run_momentum(root, executor=executor, cache=None if args.no_cache else root / ".cache" / "momentum",
                            progress=sys.stderr.isatty())
    print(f"wrote {path} in {time.perf_counter() - start:.1f} s")
    return 0


COMMANDS = (
    Command("simulate", "real optax/torch optimizers on the noisy quadratic model; write docs/simulation.md "
                        "(needs pip install -e '.[sim]')", _simulate_arguments, cmd_simulate),
    Command("momentum", "momentum and the averaged second moment against warmed-up real torch Adam; write "
                        "docs/momentum.md (needs pip install -e '.[sim]')", _momentum_arguments, cmd_momentum,
            description="The momentum models (M-steps) against warmed-up real torch Adam on the noisy quadratic "
                        "model; writes docs/momentum.md and its figure, caching the tasks in .cache/momentum."),
)


def add_parser(sub) -> None:
    """Add this module's commands to ``sub`` (an argparse subparsers object): cli.py's protocol, for a parser of
    one's own (tests, ``python -m softsign_scaling.sim.command``)."""
    add_commands(sub, COMMANDS)


def main(argv: list[str] | None = None) -> int:
    """``python -m softsign_scaling.sim.command``: the simulation's commands alone."""
    parser = argparse.ArgumentParser(prog="softsign-scaling")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
