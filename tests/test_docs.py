"""Docs that execute: every >>> example in docs/usage.md, and every fenced ```python block in README.md and docs/*.md."""

import doctest
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MARKDOWN = [ROOT / "README.md"] + sorted(DOCS.glob("*.md"))


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line, source) of every fenced code block whose info string is python (or py)."""
    blocks = []
    for token in MarkdownIt("commonmark").parse(text):
        if token.type == "fence" and token.info.strip().split(" ")[0].lower() in ("python", "py"):
            blocks.append((token.map[0] + 1, token.content))
    return blocks


@pytest.mark.parametrize("name", ["usage.md"])
def test_doc_examples_run(name):
    failures, tried = doctest.testfile(str(DOCS / name), module_relative=False,
                                       optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failures == 0


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_fenced_python_blocks_run(path):
    """The blocks of one file run in order in one namespace, as a reader would paste them."""
    namespace: dict = {"__name__": "__docs__"}
    for line, source in python_blocks(path.read_text()):
        try:
            exec(compile(source, f"{path.name}:{line}", "exec"), namespace)
        except Exception as error:  # the file and line of the block, not only the traceback
            pytest.fail(f"{path.name}, block at line {line}: {type(error).__name__}: {error}")


def test_readme_has_a_python_block():
    assert python_blocks((ROOT / "README.md").read_text()), "the README's example must be a ```python block"


def test_block_extraction_finds_a_broken_block():
    """Negative control: the README example as it was (names a and b undefined) fails."""
    old = "```python\nfrom softsign_scaling import numeric\nnumeric.mean_clip(a, b)\n```\n"
    [(line, source)] = python_blocks(old)
    with pytest.raises(NameError):
        exec(compile(source, f"old:{line}", "exec"), {})


def _atlas_cell(first_cell: str, column: int) -> float:
    for line in (DOCS / "atlas.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if cells[0] == first_cell:
            return float(cells[column])
    raise AssertionError(f"no row {first_cell!r} in docs/atlas.md")


def _agrees(quoted: str, measured: float) -> bool:
    """The quoted figure is the measured one rounded to the quoted digits."""
    decimals = len(quoted.partition(".")[2])
    return abs(float(quoted) - measured) <= 0.5 * 10.0 ** -decimals + 1e-12


@pytest.mark.parametrize("pattern, row, column", [
    (r"erf ≈ x/sqrt\(x\^2 \+ pi/4\): ([0-9.]+)", "erf", 2),
    (r"erf ≈ clip\(2x/sqrt\(pi\)\): ([0-9.]+)", "erf", 4),
    (r"softsign ≈ clip: 1 - 1/sqrt\(2\) = ([0-9.]+)", "softsign x/sqrt(x^2+1)", 4),
    (r"E-12 against the exact SoftSign second moment: ([0-9.]+)", "E-12 vs exact second moment", 1),
])
def test_readme_quotes_the_atlas_numbers(pattern, row, column):
    """Numbers in the README are the atlas's (the old README quoted 0.30 for E-12; the atlas has 0.3062)."""
    import re

    match = re.search(pattern, " ".join((ROOT / "README.md").read_text().split()))
    assert match, pattern
    assert _agrees(match.group(1), _atlas_cell(row, column)), (match.group(1), _atlas_cell(row, column))
