"""softsign-scaling: derive, check and document Su Jianlin's SoftSignSGD learning-rate scaling law.

Also runs as `python -m softsign_scaling`.  `softsign-scaling COMMAND --help` describes each command.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from . import __version__

from .command import (OUT_HELP, PROG, Command, CommandError, add_commands, fail, output_root, parse_batch,  # noqa: F401
                      parse_numbers, positive_int)

_fail = fail


# ---------------------------------------------------------------------------------------------------------
# derive, verify, appendix, atlas


def _table(results) -> str:
    header = f"{'label':<7} {'kind':<13} {'method':<8} {'max abs err':>12} {'digits':>6}  {'verdict':<8} check"
    rows = [header, "-" * len(header)]
    for r in results:
        err = "-" if r.max_abs_error is None else f"{r.max_abs_error:.3g}"
        digits = "-" if r.digits is None else str(r.digits)
        rows.append(f"{r.label:<7} {r.kind:<13} {r.method:<8} {err:>12} {digits:>6}  {r.verdict:<8} {r.name}")
    return "\n".join(rows)


DERIVE_OUTPUTS = ("docs/steps", "softsign_scaling/numeric")


def write_derived(derivation, root: Path, force: bool = False) -> list[Path]:
    """What `derive` writes under ``root`` from ``derivation``: docs/steps/*.tex, docs/manifest.json and the generated
    numeric modules (each rewritten only when its bytes change); the paths written."""
    from .artifacts import write_derivation_artifacts
    from .codegen import write_all

    return write_derivation_artifacts(derivation, root) + write_all(derivation, root, force=force)


def cmd_derive(args: argparse.Namespace) -> int:
    from .pipeline import derivation as derived

    root = output_root("derive", args.out, DERIVE_OUTPUTS)
    start = time.perf_counter()
    derivation = derived()  # once per process (a test session's worker has it already)
    written = write_derived(derivation, root, force=args.force)
    elapsed = time.perf_counter() - start
    print(f"derived {len(derivation)} steps in {elapsed:.1f} s; {len(written)} files changed under {root}")
    for path in written:
        print(f"  wrote {path}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from .pipeline import verify

    # The bar goes to stderr (stdout keeps the table or the JSON clean), on a terminal or not.
    results = verify(workers=args.workers, progress=not args.quiet)
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


APPENDIX_OUTPUTS = ("docs/steps", "docs/figures")


def cmd_appendix(args: argparse.Namespace) -> int:
    from .export.appendix_build import build_appendix

    root = output_root("appendix", args.out, APPENDIX_OUTPUTS)
    return build_appendix(root, workers=args.workers, compile_wanted=not args.no_pdf, progress=sys.stderr.isatty())


ATLAS_OUTPUTS = ("docs/figures", ".cache/atlas")


def cmd_atlas(args: argparse.Namespace) -> int:
    from .atlas.report import run_atlas
    from .atlas.run import process_pool

    root = output_root("atlas", args.out, ATLAS_OUTPUTS)
    cache = None if args.no_cache else root / ".cache" / "atlas"
    start = time.perf_counter()
    with process_pool(args.workers) as executor:
        path = run_atlas(root, full=args.full, executor=executor, cache=cache, progress=sys.stderr.isatty())
    print(f"wrote {path} in {time.perf_counter() - start:.1f} s")
    return 0


# ---------------------------------------------------------------------------------------------------------
# eta: a user's own problem


def parse_matrix(text: str) -> list[list[float]] | list[float]:
    """'2,0.3;0.3,1' -> [[2, 0.3], [0.3, 1]] (rows separated by ';'); '2,1' -> the diagonal [2, 1]."""
    rows = [parse_numbers(row, "H") for row in text.split(";") if row.strip()]
    if len(rows) == 1:
        return rows[0]
    if len({len(row) for row in rows}) != 1:
        raise ValueError(f"--H: rows of different lengths {[len(row) for row in rows]} (separate rows with ';')")
    return rows


def load_problem(path: str) -> dict:
    """g, sigma, H, eps (and optionally batch) from a .json object or an .npz archive."""
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"--input: no such file {path}")
    try:
        if file.suffix == ".npz":
            import numpy as np

            with np.load(file, allow_pickle=False) as data:
                problem = {key: data[key].tolist() for key in data.files}
        else:
            problem = json.loads(file.read_text())
    except (OSError, ValueError, EOFError) as error:  # EOFError: an empty .npz
        raise ValueError(f"--input: cannot read {path}: {error or type(error).__name__}") from None
    if not isinstance(problem, dict):
        raise ValueError(f"--input: {path} must hold an object with keys g, sigma, H, eps (and optionally batch)")
    unknown = set(problem) - {"g", "sigma", "H", "eps", "batch"}
    if unknown:
        raise ValueError(f"--input: unknown keys {sorted(unknown)} in {path}; the keys are g, sigma, H, eps, batch")
    return problem


def _model_names() -> list[str]:
    from . import numeric

    # numeric.MODELS: the registry of models (names, or records with a .name).
    return [getattr(model, "name", model) for model in numeric.MODELS]


def eta_table(problem: dict, batch: list[float]) -> tuple[list[str], list[list[float | None]], dict[str, str]]:
    """(models, eta*[batch][model], why a model gave no value): every model of numeric.MODELS on one problem."""
    from . import numeric

    g, sigma, H, eps = problem["g"], problem["sigma"], problem["H"], problem["eps"]
    numeric.eta_star(batch, g, sigma, H, eps)  # bad input: the default model's one-line ValueError
    models, columns, refused = _model_names(), [], {}
    for model in models:
        try:
            columns.append([float(v) for v in numeric.eta_star(batch, g, sigma, H, eps, model=model)])
        except ValueError as error:  # e.g. kappa2 = "mean" is infinite for g_i = 0 at eps = 0
            refused[model] = str(error)
            columns.append([None] * len(batch))
    rows = [[column[i] for column in columns] for i in range(len(batch))]
    return models, rows, refused


def format_eta_table(models: list[str], batch: list[float], rows: list[list[float | None]]) -> str:
    widths = [max(10, len(m)) for m in models]
    lines = [f"{'B':>8}  " + "  ".join(f"{m:>{w}}" for m, w in zip(models, widths))]
    for B, row in zip(batch, rows):
        cells = ("-" if v is None else f"{v:.6g}" for v in row)
        lines.append(f"{B:>8g}  " + "  ".join(f"{c:>{w}}" for c, w in zip(cells, widths)))
    return "\n".join(lines)


def plot_eta(models: list[str], batch: list[float], rows: list[list[float | None]], path: Path) -> None:
    """eta*(B) of every model, log-log; B = inf as a dotted level at the right edge."""
    from .export.figures import EtaCurve, eta_figure

    finite = [i for i, B in enumerate(batch) if math.isfinite(B)]
    curves = []
    for j, model in enumerate(models):
        points = [i for i in finite if rows[i][j] is not None]
        full = [rows[i][j] for i, B in enumerate(batch) if not math.isfinite(B) and rows[i][j] is not None]
        if points:
            curves.append(EtaCurve(model, [batch[i] for i in points], [rows[i][j] for i in points],
                                   limit=full[0] if full else None))
    eta_figure(curves, path, r"$\eta^*(B)$ for every model (dotted: $B \to \infty$)")


def cmd_eta(args: argparse.Namespace) -> int:
    try:
        problem = load_problem(args.input) if args.input else {}
        if args.g is not None:
            problem["g"] = parse_numbers(args.g, "g")
        if args.sigma is not None:
            problem["sigma"] = parse_numbers(args.sigma, "sigma")
        if args.H is not None:
            problem["H"] = parse_matrix(args.H)
        if args.eps is not None:
            eps = parse_numbers(args.eps, "eps")
            if len(eps) != 1:
                raise ValueError(f"--eps: give one number >= 0, not {len(eps)}")
            problem["eps"] = eps[0]
        missing = [key for key in ("g", "sigma", "H", "eps") if key not in problem]
        if missing:
            raise ValueError(f"missing {', '.join('--' + k for k in missing)} (or give them in --input FILE)")
        batch = parse_batch(args.batch) if args.batch else (
            [float(B) for B in problem["batch"]] if "batch" in problem else parse_batch("1..4096,inf"))
        if args.plot:
            plot_path = Path(args.plot)
            if not plot_path.parent.is_dir():
                raise ValueError(f"--plot: the folder {plot_path.parent} does not exist")
        models, rows, refused = eta_table(problem, batch)
        print(format_eta_table(models, batch, rows))
        for model, reason in refused.items():
            print(f"  {model}: no value: {reason}")
        if args.plot:
            plot_eta(models, batch, rows, plot_path)
            print(f"wrote {plot_path}")
    except (ValueError, TypeError) as error:
        return _fail("eta", str(error).splitlines()[0])
    return 0


# ---------------------------------------------------------------------------------------------------------


def _derive_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", help=OUT_HELP.format(
        what="docs/steps/*.tex, docs/manifest.json and softsign_scaling/numeric/generated/closed_forms.py, generated/anchored.py"))
    p.add_argument("--force", action="store_true",
                   help="regenerate numeric/generated/closed_forms.py even when its inputs' fingerprint is unchanged (~40 s)")


def _verify_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per check")
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="processes for the checks, N >= 1 (default: up to 2)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _appendix_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", help=OUT_HELP.format(
        what="docs/ (steps, manifest, appendix.tex, appendix.pdf, derivation.md, figures)"))
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="processes for the checks, N >= 1 (default: up to 2)")
    p.add_argument("--no-pdf", action="store_true", help="write the .tex only, do not run pdflatex")


def _atlas_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", help=OUT_HELP.format(
        what="docs/atlas.md, docs/figures/atlas_*.png and the cache .cache/atlas/"))
    p.add_argument("--full", action="store_true", help="denser grids and more random problems")
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="processes, N >= 1 (default: all cores)")
    p.add_argument("--no-cache", action="store_true", help="recompute every sweep task (default: resume from .cache/atlas)")


def _eta_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--g", metavar="LIST", help="gradient g, comma-separated (e.g. 1,-0.5)")
    p.add_argument("--sigma", metavar="LIST", help="noise scale per component, > 0, comma-separated")
    p.add_argument("--H", metavar="MATRIX", help="Hessian: rows separated by ';' (e.g. '2,0.3;0.3,1'), "
                                                 "or one row meaning its diagonal")
    p.add_argument("--eps", metavar="EPS", help="Adam's epsilon, >= 0 (0 is SignSGD)")
    p.add_argument("--batch", metavar="LIST",
                   help="batch sizes: numbers, inf, and ranges A..C = A, 2A, 4A, ... <= C (default 1..4096,inf)")
    p.add_argument("--input", metavar="FILE", help="a .json object or .npz archive with g, sigma, H, eps "
                                                   "(and optionally batch); options given as well override it")
    p.add_argument("--plot", metavar="FILE", help="also draw eta*(B) of every model into FILE (.png, .pdf, .svg)")


COMMANDS = (
    Command("derive", "derive every step; write the LaTeX snippets, the manifest and the numeric code",
            _derive_arguments, cmd_derive,
            description="Derive every step in SymPy and write docs/steps/*.tex, docs/manifest.json, "
                        "softsign_scaling/numeric/generated/closed_forms.py and generated/anchored.py under the project root."),
    Command("verify", "run every check and print a table (or --json); exit 1 iff a check fails",
            _verify_arguments, cmd_verify,
            description="Run every check of every step.  A progress bar goes to stderr "
                        "(also when stderr is not a terminal; --quiet turns it off)."),
    Command("appendix", "write docs/appendix.tex, docs/derivation.md and the figures; compile the PDF",
            _appendix_arguments, cmd_appendix,
            description="Derive, verify and draw; write docs/appendix.tex, docs/derivation.md and "
                        "docs/figures/*.png; compile docs/appendix.pdf when pdflatex exists."),
    Command("atlas", "measure every approximation layer against exact references; write docs/atlas.md",
            _atlas_arguments, cmd_atlas,
            description="The error atlas: every approximation layer against exact references; writes "
                        "docs/atlas.md and its figures, caching the sweep in .cache/atlas."),
    Command("eta", "eta*(B) of your own problem under every model (a table; --plot draws it)",
            _eta_arguments, cmd_eta,
            description="The optimal learning rate eta*(B) of one SoftSignSGD step on your problem, "
                        "under every model of softsign_scaling.numeric.  Writes nothing but --plot's file.",
            epilog=f"example: {PROG} eta --g 1,-0.5 --sigma 2,1 --H '2,0.3;0.3,1' --eps 0.1 "
                   "--batch 1..4096,inf --plot eta.png"),
)


def all_commands() -> tuple[Command, ...]:
    """Every subcommand: cli's, then the simulation's and the real model's (their modules import no torch/jax)."""
    from .real import command as real_command
    from .sim import command as sim_command

    return COMMANDS + sim_command.COMMANDS + real_command.COMMANDS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__.split("\n\n")[0],
        epilog=f"`{PROG} COMMAND --help` describes each command; `python -m softsign_scaling` is the same program.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_commands(sub, all_commands())
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CommandError as error:
        return _fail(args.command, str(error))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
