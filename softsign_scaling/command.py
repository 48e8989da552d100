"""The one command protocol: every subcommand of ``softsign-scaling`` is a :class:`Command` (name, help,
add_arguments, run), listed in its subpackage's ``COMMANDS`` (cli.py: derive, verify, appendix, atlas, eta, momentum;
sim.command: simulate; real.command: stats, predict) and added to the parser by :func:`add_commands`.  The helpers
every command shares (the output root check, one-line errors, argument types, batch lists) live here, below every
command module.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROG = "softsign-scaling"


@dataclass(frozen=True)
class Command:
    """One subcommand: ``add_arguments(parser)`` declares its options, ``run(args) -> exit status`` does the work
    (importing anything heavy inside, so that ``--help`` and the other commands never need it)."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str | None = None
    epilog: str | None = None


def add_commands(sub, commands) -> None:
    """Add each :class:`Command` of ``commands`` to ``sub`` (an argparse subparsers object); a name twice is an
    error (two registrations of one command)."""
    seen = set(getattr(sub, "choices", {}) or {})
    for command in commands:
        if command.name in seen:
            raise ValueError(f"command {command.name!r} is registered twice")
        seen.add(command.name)
        parser = sub.add_parser(command.name, help=command.help, description=command.description,
                                epilog=command.epilog)
        command.add_arguments(parser)
        parser.set_defaults(func=command.run)


OUT_HELP = ("project root to write into (created if its parent exists): {what} go under DIR exactly as in a "
            "checkout. Default: the checkout this package was installed from; outside a checkout, --out is required")


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit code 1."""


def fail(command: str, message: str) -> int:
    print(f"{PROG} {command}: error: {message}", file=sys.stderr)
    return 1


# ---------------------------------------------------------------------------------------------------------
# Where output goes


def _is_checkout(path: Path) -> bool:
    """A checkout (clone) of this project: its pyproject names the package and the source tree is there."""
    pyproject = path / "pyproject.toml"
    if not (pyproject.is_file() and (path / "softsign_scaling").is_dir()):
        return False
    try:
        return 'name = "softsign_scaling"' in pyproject.read_text(errors="replace")
    except OSError:
        return False


def _writable_dir(path: Path) -> str | None:
    """None if files can be created in ``path`` (or, if it is missing, in its parent, which must exist)."""
    if path.exists():
        if not path.is_dir():
            return f"{path} is not a directory"
        probe = path
    else:
        probe = path.parent
        if not probe.exists():
            return f"{path}: its parent {probe} does not exist"
        if not probe.is_dir():
            return f"{path}: {probe} is not a directory"
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as error:
        return f"{path}: cannot write in {probe} ({error.strerror or error})"
    return None


def output_root(command: str, out: str | None, subdirectories: tuple[str, ...]) -> Path:
    """The root to write under, checked before any slow work.

    With --out: DIR (its parent must exist; DIR and the subdirectories must be writable).  Without: the
    checkout this package lives in, else the current directory if it is a checkout, else an error.
    """
    if out is not None:
        root = Path(out).expanduser()
    else:
        from .artifacts import PACKAGE_DIR

        for candidate in (PACKAGE_DIR.parent, Path.cwd()):
            if _is_checkout(candidate):
                root = candidate
                break
        else:
            raise CommandError(f"{Path.cwd()} is not a checkout of softsign_scaling (and the package is installed "
                               "outside one): run it in a clone of the project, or pass --out DIR")
    problem = _writable_dir(root)
    if problem:
        raise CommandError(problem)
    for sub in subdirectories:  # the deepest existing folder on the way to each output folder
        existing = root / sub
        while not existing.exists() and existing != root:
            existing = existing.parent
        if existing != root and existing.exists() and (problem := _writable_dir(existing)):
            raise CommandError(problem)
    return root


def _integer_from(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= {low}, not {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be an integer >= {low}, not {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _integer_from(text, 1)


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _integer_from(text, 0)


def parse_numbers(text: str, name: str) -> list[float]:
    """'1, -0.5, 2e-3' -> floats (inf allowed); a one-line ValueError otherwise."""
    values = []
    for item in text.replace(" ", "").split(","):
        try:
            values.append(float(item))
        except ValueError:
            raise ValueError(f"--{name}: {item!r} is not a number (give comma-separated numbers, e.g. 1,-0.5)") \
                from None
    return values


def parse_batch(text: str) -> list[float]:
    """Batch sizes: comma-separated numbers, 'inf', and ranges A..C meaning A, 2A, 4A, ... up to C.

    '1,2,4..4096' and '1..4096' both mean the powers of two from 1 to 4096.
    """
    values: list[float] = []
    for item in text.replace(" ", "").split(","):
        if ".." in item:
            start_text, _, stop_text = item.partition("..")
            start, stop = parse_numbers(start_text, "batch")[0], parse_numbers(stop_text, "batch")[0]
            if not (0 < start < math.inf and start <= stop < math.inf):
                raise ValueError(f"--batch: range {item!r} needs 0 < start <= stop < inf")
            value = start
            while value <= stop * (1 + 1e-12):
                values.append(value)
                value *= 2
        else:
            values.extend(parse_numbers(item, "batch"))
    return sorted(set(values))
