"""Every command that README.md and docs/*.md document leaves a checkout's `git status` clean (issue 21, 1i).

The commands are read from the documents themselves (inline code and non-Python fenced blocks that start with
`softsign-scaling`, `python`, `pip`, `pytest`, `pdflatex` or `.ci/run`; `a && b` is two commands), and each must
have an entry in COVERAGE saying how its cleanliness is proven; a documented command without one fails
(the negative control shows that a new command is caught).  The proofs:

* ``Run``: cheap, run here in a temporary git checkout made from this working tree; `git status --porcelain`
  must stay empty.
* ``Ignored``: the files the command writes into a checkout (its outputs, its cache) are gitignored.
* ``Golden``: the tests that regenerate the command's outputs and compare them byte for byte with the committed
  files.  Where those are slow (minutes of torch), the document carries a stamp, the digest of its generator's
  code and of the model registry (``export.provenance``), and the default run checks that the stamp is
  current: a document left behind by a code or registry change is caught in milliseconds.
* ``NoWrites``: the code the command runs has no file-writing call (read with ast), and ``SlowRun`` runs it in a
  temporary checkout under ``-m slow``.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
PREFIXES = ("softsign-scaling", "python ", "pip ", "pytest", "pdflatex", ".ci/run")
needs_git = pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                               reason="not a git checkout: there is no git status to keep clean")


# --------------------------------------------------------------------------------------------
# The documented commands


def commands_in(text: str) -> list[str]:
    """Every command in a Markdown text: inline code and the lines of non-Python fenced blocks."""
    found = []
    for token in MarkdownIt("commonmark").parse(text):
        if token.type == "inline":
            found += [child.content for child in token.children or () if child.type == "code_inline"]
        elif token.type == "fence" and token.info.strip().split(" ")[0].lower() not in ("python", "py"):
            found += [line.split("  #")[0] for line in token.content.splitlines()]
    commands = []
    for text in found:
        for part in text.split("&&"):
            part = part.strip()
            if part.startswith(PREFIXES):
                commands.append(part)
    return commands


def documented_commands() -> dict[str, list[str]]:
    """command -> the documents that show it."""
    out: dict[str, list[str]] = {}
    for path in DOCUMENTS:
        for command in commands_in(path.read_text(encoding="utf-8")):
            out.setdefault(command, []).append(str(path.relative_to(ROOT)))
    return out


def key(command: str) -> str:
    """What a coverage entry is for: the program and its subcommand or script."""
    words = command.split()
    if words[0] == "python":
        return " ".join(words[:3]) if words[1] == "-m" else " ".join(words[:2])
    if words[0] in ("softsign-scaling", "pip"):
        return " ".join(words[:2])
    return words[0]


# --------------------------------------------------------------------------------------------
# How each is proven clean


@dataclass(frozen=True)
class Run:
    argv: tuple[str, ...]  # run as [python, *argv] for an option (-m, -c) or a script, else as given
    cwd: str = "."
    needs: str = ""  # a program that must be on PATH


@dataclass(frozen=True)
class Ignored:
    paths: tuple[str, ...]  # relative to the checkout


@dataclass(frozen=True)
class Golden:
    tests: tuple[str, ...]  # "tests/file.py::test_name"
    stamped: tuple[tuple[str, str], ...] = ()  # (document, generator module) whose stamp must be current


@dataclass(frozen=True)
class NoWrites:
    code: tuple[str, ...]  # "path" (a whole script) or "path::function"


@dataclass(frozen=True)
class SlowRun:
    argvs: tuple[tuple[str, ...], ...]


DERIVE = Golden(("tests/test_cli.py::test_derive_is_byte_reproducible_and_matches_the_committed_files",
                 "tests/test_numeric_codegen.py::test_committed_module_is_a_fresh_generation"))
ATLAS = Golden(("tests/test_atlas.py::test_atlas_report_is_reproducible",))
SIMULATE = Golden(("tests/test_sim_command.py::test_simulation_document_is_byte_reproducible",),
                  (("docs/simulation.md", "softsign_scaling.sim.report"),))
MOMENTUM = Golden(("tests/test_sim_momentum.py::test_momentum_document_is_byte_reproducible",),
                  (("docs/momentum.md", "softsign_scaling.sim.momentum_report"),))
TOOL_FILES = Ignored(("softsign_scaling.egg-info/PKG-INFO", "build/lib/x.py", ".pytest_cache/v/cache/x",
                      "tests/__pycache__/x.pyc", "softsign_scaling/__pycache__/x.pyc", ".hypothesis/x"))
ETA = ("-m", "softsign_scaling", "eta", "--g", "1,-0.5", "--sigma", "2,1", "--H", "2,0.3;0.3,1", "--eps", "0.1",
       "--batch", "1..4096,inf", "--plot", "eta.png")

COVERAGE: dict[str, tuple] = {
    "softsign-scaling derive": (DERIVE,),
    "softsign-scaling verify": (NoWrites(("softsign_scaling/cli.py::cmd_verify",)),
                                SlowRun((("-m", "softsign_scaling", "verify", "--quiet", "--workers", "2"),))),
    "softsign-scaling atlas": (ATLAS, Ignored((".cache/atlas/x.pkl",))),
    "softsign-scaling appendix": (Golden((
        "tests/test_appendix.py::test_committed_appendix_and_markdown_match_a_fresh_generation",
        "tests/test_appendix.py::test_committed_figures_match_a_fresh_drawing",
        "tests/test_appendix.py::test_appendix_compiles_without_overfull_runs")),),
    "softsign-scaling eta": (Run(ETA), Ignored(("eta.png",))),
    "softsign-scaling simulate": (SIMULATE, Ignored((".cache/simulation/x.pkl",))),
    "softsign-scaling stats": (Ignored(("stats.npz",)), SlowRun((("-m", "softsign_scaling", "stats", "--steps", "20",
                                                                  "--quiet"),))),
    "softsign-scaling predict": (Ignored(("eta_star.png", "eta.png")), SlowRun((
        ("-m", "softsign_scaling", "stats", "--steps", "20", "--quiet"),
        ("-m", "softsign_scaling", "predict", "--stats", "stats.npz", "--eps", "1e-8", "--placement", "outside",
         "--quiet"),
        ("-m", "softsign_scaling", "predict", "--stats", "stats.npz", "--eps", "1e-8", "--plot", "eta.png", "--quiet"),
    ))),
    "softsign-scaling --version": (Run(("-m", "softsign_scaling", "--version")),),
    "softsign-scaling momentum": (MOMENTUM, Ignored((".cache/momentum/x.pkl",))),
    "python derivations/momentum.py": (MOMENTUM, Ignored((".cache/momentum/x.pkl",))),
    "python derivations/simulate.py": (SIMULATE, Ignored((".cache/simulation/x.pkl",))),
    "python derivations/atlas.py": (ATLAS, Ignored((".cache/atlas/x.pkl",))),
    # Every other script of derivations/ writes derive's files (docs/steps, docs/manifest.json) and prints.
    "python derivations/<section>.py": (DERIVE,),
    # From the committed docs/real-model.json (fast golden test); its stamp is the measurement's code and registry,
    # so a change there without `--measure` is caught.  `--measure` writes the json and .cache/heldout (ignored).
    "python -m softsign_scaling.real.report": (Golden(
        ("tests/test_real_report.py::test_real_model_report_is_byte_reproducible",),
        (("docs/real-model.md", "softsign_scaling.real.heldout"),)), Ignored((".cache/heldout/x.json",))),
    "softsign-scaling critical-batch": (Golden(
        ("tests/test_runlevel_real.py::test_run_level_document_is_byte_reproducible",),
        (("docs/run-level.md", "softsign_scaling.real.runlevel_report"),)),),
    "python benchmarks/bench_sim.py": (NoWrites(("benchmarks/bench_sim.py",)),),
    "python benchmarks/bench_correlated.py": (NoWrites(("benchmarks/bench_correlated.py",)),),
    # --suite runs pytest in a fresh clone under a temporary folder, not in this checkout
    "python benchmarks/bench_pipeline.py": (NoWrites(("benchmarks/bench_pipeline.py",)),),
    "python benchmarks/mutation_survey.py": (NoWrites(("benchmarks/mutation_survey.py",)),
                                             SlowRun((("benchmarks/mutation_survey.py", "E-2"),))),
    "pdflatex": (Run(("pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-output-directory", "{tmp}",
                      "appendix.tex"), cwd="docs", needs="pdflatex"),),
    "pip install": (TOOL_FILES,),
    "pytest": (TOOL_FILES,),
    ".ci/run": (TOOL_FILES,),
}


def uncovered(commands) -> list[str]:
    return sorted(command for command in commands if key(command) not in COVERAGE)


def test_every_documented_command_has_a_proof():
    commands = documented_commands()
    assert len(commands) >= 15, sorted(commands)  # the extraction works: the README alone documents more
    assert uncovered(commands) == [], "documented commands with no proof of a clean checkout (add them to COVERAGE)"


def test_every_proof_is_for_a_documented_command():
    keys = {key(command) for command in documented_commands()}
    assert sorted(set(COVERAGE) - keys) == []


def test_negative_control_an_undocumented_proof_is_missed():
    """A document that shows a new command, or a new subcommand, fails the coverage test."""
    text = ("Run `softsign-scaling frobnicate --out x` and then\n\n```\npython derivations/new.py && pytest -q\n```\n"
            "and `softsign-scaling derive` (covered).\n")
    assert commands_in(text) == ["softsign-scaling frobnicate --out x", "python derivations/new.py", "pytest -q",
                                 "softsign-scaling derive"]
    assert uncovered(commands_in(text)) == ["python derivations/new.py", "softsign-scaling frobnicate --out x"]


def _test_exists(nodeid: str) -> bool:
    path, name = nodeid.split("::")
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return any(isinstance(node, ast.FunctionDef) and node.name == name for node in tree.body)


def test_golden_tests_exist():
    named = [t for proofs in COVERAGE.values() for p in proofs if isinstance(p, Golden) for t in p.tests]
    assert named and [t for t in named if not _test_exists(t)] == []
    assert not _test_exists("tests/test_cli.py::test_no_such_test")  # the control


# --------------------------------------------------------------------------------------------
# Stamps: the slow documents are current for this code and this registry


def _stamps() -> list[tuple[str, str]]:
    return sorted({pair for proofs in COVERAGE.values() for p in proofs if isinstance(p, Golden) for pair in p.stamped})


@pytest.mark.parametrize("document, module", _stamps())
def test_measured_document_is_stamped_with_its_current_inputs(document, module):
    from softsign_scaling.export import provenance

    recorded = provenance.stamped((ROOT / document).read_text(encoding="utf-8"))
    assert recorded is not None, f"{document} has no stamp: regenerate it"
    assert recorded == provenance.digest(module), (
        f"{document} was generated from other code or another model registry than this checkout's: regenerate it "
        f"(the README's command for it)")


def test_negative_control_a_stale_stamp_is_caught(tmp_path):
    """The digest moves with a new model in the registry and with any byte of the generator's code, and a
    document with an old stamp is told apart."""
    from softsign_scaling.export import provenance

    module = "softsign_scaling.sim.report"
    current = provenance.digest(module)
    assert provenance.digest(module, models=provenance.registry() + ";half_approx:inside:False") != current
    copy = tmp_path / "softsign_scaling"
    shutil.copytree(provenance.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert provenance.digest(module, package_dir=copy) == current
    report = copy / "sim" / "report.py"
    report.write_text(report.read_text() + "\n# a comment\n")
    assert provenance.digest(module, package_dir=copy) != current
    assert provenance.stamped("text\n<!-- inputs: 0123456789abcdef (...) -->\n") == "0123456789abcdef"
    assert provenance.stamped("no stamp\n") is None


def test_generator_sources_reach_across_its_imports():
    """The digest covers what the generator imports from the export layer, not only its own file, and leaves the
    numeric layers out."""
    from softsign_scaling.export import provenance

    names = {p.relative_to(provenance.PACKAGE_DIR).as_posix() for p in provenance.sources("softsign_scaling.sim.momentum_report")}
    assert {"sim/momentum_report.py", "sim/momentum.py", "sim/multistep.py", "export/markdown.py"} <= names
    assert not any(name.startswith(("numeric/", "sections/")) for name in names)


# --------------------------------------------------------------------------------------------
# Files a command writes into a checkout are ignored


def _ignored(root: Path, path: str) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=root).returncode == 0


@needs_git
def test_what_commands_write_into_a_checkout_is_ignored():
    paths = sorted({path for proofs in COVERAGE.values() for p in proofs if isinstance(p, Ignored) for path in p.paths})
    assert [path for path in paths if not _ignored(ROOT, path)] == []
    assert not _ignored(ROOT, "docs/momentum.md") and not _ignored(ROOT, "notes.txt")  # the control


def test_the_parsers_default_outputs_are_the_ignored_ones():
    """stats and predict write their defaults (stats.npz, eta_star.png) into the working directory."""
    from softsign_scaling.cli import build_parser

    parser = build_parser()
    stats = parser.parse_args(["stats"])
    predict = parser.parse_args(["predict", "--stats", "stats.npz", "--eps", "1e-8"])
    assert (stats.out, predict.plot) == ("stats.npz", "eta_star.png")
    ignored = {path for p in COVERAGE["softsign-scaling stats"] + COVERAGE["softsign-scaling predict"]
               if isinstance(p, Ignored) for path in p.paths}
    assert {stats.out, predict.plot} <= ignored


# --------------------------------------------------------------------------------------------
# Code that writes no file


WRITERS = {"write_text", "write_bytes", "savefig", "save", "savez", "savez_compressed", "mkdir", "touch", "dump",
           "write_derivation_artifacts", "write_appendix", "run_atlas", "run_simulation", "run_momentum"}


def writing_calls(source: str, function: str | None = None) -> list[str]:
    """Calls in ``source`` (or in one of its functions) that write files: known writers, or open() in w/a/x mode."""
    tree = ast.parse(source)
    if function is not None:
        tree = next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == function)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        modes = [a.value for a in node.args[1:2] if isinstance(a, ast.Constant)]
        modes += [k.value.value for k in node.keywords if k.arg == "mode" and isinstance(k.value, ast.Constant)]
        if name in WRITERS or (name == "open" and any(isinstance(m, str) and set(m) & set("wax") for m in modes)):
            found.append((node.lineno, f"line {node.lineno}: {name}"))
    return [text for _, text in sorted(found)]


def test_commands_that_write_nothing_have_no_writing_call():
    for proofs in COVERAGE.values():
        for proof in proofs:
            if isinstance(proof, NoWrites):
                for code in proof.code:
                    path, _, function = code.partition("::")
                    assert writing_calls((ROOT / path).read_text(encoding="utf-8"), function or None) == [], code


def test_negative_control_writing_calls_are_found():
    source = ("def f(p):\n    open(p, 'w').write('x')\n    open(p).read()\n    p.write_text('y')\n"
              "def g(fig):\n    fig.savefig('a.png')\n")
    assert writing_calls(source, "f") == ["line 2: open", "line 4: write_text"]
    assert writing_calls(source) == ["line 2: open", "line 4: write_text", "line 6: savefig"]


# --------------------------------------------------------------------------------------------
# Running the cheap commands in a temporary checkout


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A git checkout of this working tree (tracked and new, not ignored files), committed: status clean."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    root = tmp_path_factory.mktemp("checkout")
    files = _git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=test", "-c", "user.email=test@example.org", "commit", "-qm", "working tree")
    assert _git(root, "status", "--porcelain") == ""
    return root


def run_in(root: Path, argv: tuple[str, ...], cwd: str = ".", scratch: Path | None = None) -> str:
    """Run one command in the checkout (python -m ... and scripts with this interpreter, this checkout's package);
    return `git status --porcelain` afterwards."""
    argv = tuple(a.replace("{tmp}", str(scratch)) for a in argv)
    command = [sys.executable, *argv] if argv[0].startswith("-") or argv[0].endswith(".py") else list(argv)
    env = {**os.environ, "PYTHONPATH": str(root), "MPLBACKEND": "Agg"}
    done = subprocess.run(command, cwd=root / cwd, env=env, capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, f"{shlex.join(command)} failed: {done.stderr[-2000:]}"
    return _git(root, "status", "--porcelain")


def test_cheap_commands_leave_a_checkout_clean(checkout, tmp_path):
    ran = 0
    for name, proofs in COVERAGE.items():
        for proof in proofs:
            if isinstance(proof, Run):
                if proof.needs and shutil.which(proof.needs) is None:
                    continue
                assert run_in(checkout, proof.argv, proof.cwd, scratch=tmp_path) == "", name
                ran += 1
    assert ran >= 2


def test_negative_control_a_dirtying_command_is_caught(checkout):
    """A command that changes a committed file, or leaves a file git does not ignore, dirties the status."""
    try:
        assert "README.md" in run_in(checkout, ("-c", "open('README.md', 'a').write('x')"))
    finally:
        _git(checkout, "checkout", "--", "README.md")
    try:
        assert "notes.txt" in run_in(checkout, ("-c", "open('notes.txt', 'w').write('x')"))
    finally:
        (checkout / "notes.txt").unlink()
    assert _git(checkout, "status", "--porcelain") == ""


@pytest.mark.slow
def test_slow_commands_leave_a_checkout_clean(checkout):
    for name, proofs in COVERAGE.items():
        for proof in proofs:
            if isinstance(proof, SlowRun):
                for argv in proof.argvs:
                    assert run_in(checkout, argv) == "", f"{name}: {shlex.join(argv)}"
