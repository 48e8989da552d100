"""``softsign-scaling simulate``: argparse setup and handler (cli.py registers it with two lines)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_parser(sub, workers_type=int, out_help: str = "repository root to write docs/ into (default: this checkout)",
               resolve_root=None) -> argparse.ArgumentParser:
    """Add the ``simulate`` subcommand to ``sub`` (an argparse subparsers object).

    cli.py passes its own ``--workers`` type, ``--out`` help and output check (``resolve_root(out)`` -> Path,
    raising its one-line error before any slow work), so every command treats them alike."""
    p = sub.add_parser("simulate", help="real optax/torch optimizers on the noisy quadratic model; write "
                                        "docs/simulation.md (needs pip install -e '.[sim]')")
    p.add_argument("--out", metavar="DIR", help=out_help)
    p.add_argument("--full", action="store_true", help="more problems and Monte Carlo samples")
    p.add_argument("--workers", type=workers_type, default=None, metavar="N", help="processes, N >= 1 (default: all cores)")
    p.add_argument("--no-cache", action="store_true",
                   help="recompute every task (default: resume from .cache/simulation)")
    p.set_defaults(func=cmd_simulate, resolve_root=resolve_root)
    return p


def cmd_simulate(args: argparse.Namespace) -> int:
    from ..artifacts import repository_root
    from .optimizers import INSTALL_HINT, missing_libraries

    missing = missing_libraries()
    if missing:
        print(f"error: simulate needs {', '.join(missing)}: {INSTALL_HINT}", file=sys.stderr)
        return 2
    if args.workers is not None and args.workers < 1:
        print("error: --workers must be >= 1", file=sys.stderr)
        return 2
    from .report import run_simulation

    resolve = getattr(args, "resolve_root", None)
    root = resolve(args.out) if resolve is not None else (Path(args.out) if args.out else repository_root())
    cache = None if args.no_cache else root / ".cache" / "simulation"
    from ..atlas.run import process_pool

    start = time.perf_counter()
    with process_pool(args.workers) as executor:
        path = run_simulation(root, full=args.full, executor=executor, cache=cache, progress=sys.stderr.isatty())
    print(f"wrote {path} in {time.perf_counter() - start:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m softsign_scaling.sim.command`` (until cli.py registers the subcommand)."""
    parser = argparse.ArgumentParser(prog="softsign-scaling")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
