"""One command protocol (issue 24): every subcommand is a Command record in its package's COMMANDS, added by
command.add_commands; no module registers a parser any other way."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import pytest

from softsign_scaling import cli, command

PACKAGE = Path(__file__).resolve().parents[1] / "softsign_scaling"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_the_parser_is_the_commands_records():
    records = cli.all_commands()
    names = [record.name for record in records]
    assert names[:5] == ["derive", "verify", "appendix", "atlas", "eta"]
    assert {"simulate", "momentum", "stats", "predict"} <= set(names)
    assert len(names) == len(set(names))
    parsers = _subcommands(cli.build_parser())
    assert list(parsers) == names
    for record in records:
        args = parsers[record.name].parse_args(["--stats", "x", "--eps", "1"] if record.name == "predict" else [])
        assert args.func is record.run  # every command runs through its record


def add_parser_calls(source: str) -> list[int]:
    """Lines of ``x.add_parser(...)`` calls (argparse's subparsers): a parser registered by hand."""
    return [node.lineno for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and node.func.attr == "add_parser"]


def test_one_registration_style():
    """Only command.add_commands calls ``sub.add_parser``: cli, sim and real list Command records."""
    offenders = {path.relative_to(PACKAGE).as_posix(): lines for path in sorted(PACKAGE.rglob("*.py"))
                 if path != PACKAGE / "command.py" and (lines := add_parser_calls(path.read_text()))}
    assert offenders == {}
    assert add_parser_calls((PACKAGE / "command.py").read_text())  # the one place
    # The negative control: an old-style registration is found.
    assert add_parser_calls("def f(subparsers):\n    p = subparsers.add_parser('x')\n") == [2]


def test_a_command_registered_twice_is_refused():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    record = command.Command("x", "a toy", lambda p: None, lambda args: 0)
    command.add_commands(sub, [record])
    with pytest.raises(ValueError, match="registered twice"):
        command.add_commands(sub, [record])


def test_momentum_command_is_registered_and_checks_its_libraries(monkeypatch, capsys):
    from softsign_scaling.sim import command as sim_command

    args = cli.build_parser().parse_args(["momentum", "--workers", "2", "--no-cache"])
    assert args.func is sim_command.cmd_momentum and args.workers == 2 and args.no_cache
    monkeypatch.setattr("softsign_scaling.sim.optimizers.missing_libraries", lambda: ["torch"])
    assert cli.main(["momentum"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "momentum needs torch" in err
