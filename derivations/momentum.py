"""Issue 12, item 5: momentum models against warmed-up real torch Adam; writes docs/momentum.md and its figure.

Usage: python derivations/momentum.py [--out DIR] [--workers N] [--no-cache]   (needs pip install -e '.[sim]')
"""

import argparse
import sys
import time
from pathlib import Path

from softsign_scaling.sim.optimizers import INSTALL_HINT, missing_libraries


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", metavar="DIR", default=str(Path(__file__).resolve().parent.parent),
                        help="repository root to write docs/ into (default: this checkout)")
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="processes, N >= 1 (default 1)")
    parser.add_argument("--no-cache", action="store_true", help="recompute every task (default: .cache/momentum)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        print("error: --workers must be >= 1", file=sys.stderr)
        return 2
    missing = missing_libraries()
    if missing:
        print(f"error: needs {', '.join(missing)}: {INSTALL_HINT}", file=sys.stderr)
        return 2
    from softsign_scaling.atlas.run import process_pool
    from softsign_scaling.sim.momentum_report import run_momentum

    root = Path(args.out)
    start = time.perf_counter()
    with process_pool(args.workers) as executor:
        path = run_momentum(root, executor=executor, cache=None if args.no_cache else root / ".cache" / "momentum",
                            progress=sys.stderr.isatty())
    print(f"wrote {path} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
