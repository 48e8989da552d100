"""Command line: ``softsign-scaling derive`` / ``verify [--json]`` / ``appendix`` (also ``python -m softsign_scaling``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def _table(results) -> str:
    header = f"{'label':<7} {'kind':<13} {'method':<8} {'max abs err':>12} {'digits':>6}  {'verdict':<8} check"
    rows = [header, "-" * len(header)]
    for r in results:
        err = "-" if r.max_abs_error is None else f"{r.max_abs_error:.3g}"
        digits = "-" if r.digits is None else str(r.digits)
        rows.append(f"{r.label:<7} {r.kind:<13} {r.method:<8} {err:>12} {digits:>6}  {r.verdict:<8} {r.name}")
    return "\n".join(rows)


def cmd_derive(args: argparse.Namespace) -> int:
    from .artifacts import repository_root, write_derivation_artifacts
    from .pipeline import derive

    start = time.perf_counter()
    derivation = derive()
    root = Path(args.out) if args.out else repository_root()
    written = write_derivation_artifacts(derivation, root)
    for extra in _EXTRA_WRITERS:
        written += extra(derivation, root, force=args.force)
    elapsed = time.perf_counter() - start
    print(f"derived {len(derivation)} steps in {elapsed:.1f} s; {len(written)} files changed under {root}")
    for path in written:
        print(f"  wrote {path}")
    return 0


# Later exports (numeric module, appendix) register writers here: f(derivation, root) -> list[Path].
_EXTRA_WRITERS: list = []
_EXTRA_WRITERS.append(lambda derivation, root, force=False: __import__("softsign_scaling.export.numeric_code", fromlist=["_"]).write_numeric_module(derivation, root, force))  # numeric/_generated.py
_EXTRA_WRITERS.append(lambda derivation, root, force=False: __import__("softsign_scaling.export.anchored_code", fromlist=["_"]).write_anchored_module(derivation, root))  # numeric/_anchored.py


def cmd_verify(args: argparse.Namespace) -> int:
    from .pipeline import verify

    results = verify(workers=args.workers, progress=not args.json and sys.stderr.isatty())
    if args.json:
        print(json.dumps([r.as_json() for r in results], indent=1))
    else:
        print(_table(results))
        counts = {v: sum(r.verdict == v for r in results) for v in ("pass", "refuted", "fail")}
        print(f"\n{len(results)} checks: {counts['pass']} pass, {counts['refuted']} refuted (findings), {counts['fail']} fail")
        for r in results:
            if r.verdict != "pass":
                print(f"  {r.label} {r.name}: {r.verdict}: {r.detail} {r.where}")
    return 1 if any(r.verdict == "fail" for r in results) else 0


def cmd_appendix(args: argparse.Namespace) -> int:
    from .artifacts import repository_root
    from .export.appendix_build import build_appendix

    root = Path(args.out) if args.out else repository_root()
    return build_appendix(root, workers=args.workers, compile_wanted=not args.no_pdf)


def cmd_atlas(args: argparse.Namespace) -> int:
    from .artifacts import repository_root
    from .atlas.report import run_atlas

    root = Path(args.out) if args.out else repository_root()
    cache = None if args.no_cache else root / ".cache" / "atlas"
    executor = None
    if args.workers is not None:
        from concurrent.futures import ProcessPoolExecutor

        if args.workers < 1:
            raise SystemExit("--workers must be >= 1")
        executor = ProcessPoolExecutor(max_workers=args.workers)
    start = time.perf_counter()
    try:
        path = run_atlas(root, full=args.full, executor=executor, cache=cache, progress=sys.stderr.isatty())
    finally:
        if executor is not None:
            executor.shutdown()
    print(f"wrote {path} in {time.perf_counter() - start:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="softsign-scaling", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("derive", help="derive every step and write the generated artifacts")
    p.add_argument("--out", help="repository root to write docs/ into (default: this checkout)")
    p.add_argument("--force", action="store_true",
                   help="regenerate numeric/_generated.py even when its inputs' fingerprint is unchanged (~40 s)")
    p.set_defaults(func=cmd_derive)
    p = sub.add_parser("verify", help="run every check and print a table (or --json)")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per check")
    p.add_argument("--workers", type=int, default=None, help="processes for the checks (default: up to 2)")
    p.set_defaults(func=cmd_verify)
    p = sub.add_parser("appendix", help="write docs/appendix.tex, docs/derivation.md and the figures; compile the PDF")
    p.add_argument("--out", help="repository root to write docs/ into (default: this checkout)")
    p.add_argument("--workers", type=int, default=None, help="processes for the checks (default: up to 2)")
    p.add_argument("--no-pdf", action="store_true", help="write the .tex only, do not run pdflatex")
    p.set_defaults(func=cmd_appendix)
    p = sub.add_parser("atlas", help="measure every approximation layer against exact references; write docs/atlas.md")
    p.add_argument("--out", help="repository root to write docs/ into (default: this checkout)")
    p.add_argument("--full", action="store_true", help="denser grids and more random problems")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--no-cache", action="store_true", help="recompute every sweep task (default: resume from .cache/atlas)")
    p.set_defaults(func=cmd_atlas)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
