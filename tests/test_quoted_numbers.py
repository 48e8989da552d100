"""Numbers the README and docs/models.md quote from the generated documents are the documents' numbers.

Each entry reads a figure from a generated document (a regular expression on its text, whitespace collapsed)
and fills it into the sentence or table row the quoting document must contain.  So a regenerated document
whose numbers moved fails here until the quotes are updated from it (issue 21: README's 1.24 was typed in
and went stale).  The negative control perturbs one figure of a document and checks that the quote is then
reported.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_ROWS = (r"### mlp \(n = [0-9]+\) .*? ([0-9]+) rows, .*?### cnn .*? ([0-9]+) rows, .*?### transformer .*? ([0-9]+) rows, "
             r".*?### teacher .*? ([0-9]+) rows,")


def real_four(model: str, extra: str = "") -> str:
    """A model's median (and ``extra``'s groups) in each of docs/real-model.md's four per-network tables, in order."""
    return ".*?".join(rf"### {arch} \(n = .*?\| {model} \| ([0-9.]+) \|{extra}"
                      for arch in ("mlp", "cnn", "transformer", "teacher"))


SURGE = r"betas \(0\.9, 0\.95\), state frozen: ([0-9.]+ \.\. [0-9.]+)"

# (quoting document, generated document, pattern in the generated one, the quote with its groups filled in)
QUOTES = [
    ("README.md", "docs/simulation.md", r"\| exact \| ([0-9.]+) \| ([0-9% -]+?) \|",
     "| `exact` | median {0}, within 10% on {1} |"),
    ("README.md", "docs/simulation.md", r"\| anchored \| ([0-9.]+) \| ([0-9% -]+?) \|",
     "| `anchored` (the default) | median {0}, within 10% on {1} |"),
    ("README.md", "docs/simulation.md", r"([0-9]+) \(problem, eps, B\) settings", "real optax SoftSign; {0} settings"),
    ("README.md", "docs/real-model.md", REAL_ROWS, "{0}, {1}, {2} and {3} settings (docs/real-model.md)"),
    ("README.md", "docs/real-model.md", real_four(r"exact\[outside\]"), "| `exact[outside]` | medians {0}, {1}, {2} and {3} |"),
    ("README.md", "docs/real-model.md", real_four(r"exact\[outside\]"), "too large by {0}, {1}, {2} and {3} times at the median"),
    ("README.md", "docs/real-model.md", real_four(r"anchored\[outside\]"),
     "| `anchored[outside]` | medians {0}, {1}, {2} and {3} |"),
    ("README.md", "docs/real-model.md", real_four(r"exact\[outside\]\+corr", r" [0-9]+% \| ([0-9]+%) \|"),
     "| `exact[outside]+corr` | medians {0}, {2}, {4} and {6}; within 1.5x on {1}, {3}, {5} and {7} |"),
    ("README.md", "docs/real-model.md", real_four(r"correlated\[outside\]", r" [0-9]+% \| ([0-9]+%) \|"),
     "| `correlated[outside]` | medians {0}, {2}, {4} and {6}; within 1.5x on {1}, {3}, {5} and {7} |"),
    ("README.md", "docs/real-model.md", real_four(r"exact\[outside\]\+corr@population", r" [0-9]+% \| ([0-9]+%) \|"),
     "within 1.5x on {1}, {3}, {5} and {7} of the settings"),
    ("README.md", "docs/real-model.md",
     r"### mlp \(n = .*?\| exact\[outside\] \| [0-9.]+ \| [^|]+\| [^|]+\| ([-+0-9.]+) \| \+?([-0-9.]+) \|",
     "(slope {0} on the MLP between B = 8 and 128) where the measured one rises (+{1})"),
    ("README.md", "docs/real-model.md", r"### mlp \(n = .*?\| anchored\[inside\] \| ([0-9.]+) \|.*?\| exact\[outside\] \| ([0-9.]+) \|",
     "({0} to {1} at the median for a fresh step on the MLP)"),
    ("README.md", "docs/real-model.md", r"## Momentum .*?\| 8 \| [^|]+\| [^|]+\| [^|]+\| [^|]+\| ([0-9.]+) \|.*?\| 64 \| [^|]+\| [^|]+\| "
     r"[^|]+\| [^|]+\| ([0-9.]+) \|", "`anchored[outside, fresh]` | {0} and {1} |"),
    ("README.md", "docs/real-model.md", r"## Momentum .*?\| 8 \| [^|]+\| [^|]+\| [^|]+\| [^|]+\| ([0-9.]+) \|.*?\| 64 \| [^|]+\| [^|]+\| "
     r"[^|]+\| [^|]+\| ([0-9.]+) \|", "the same fresh models are {0}x and {1}x too"),
    ("README.md", "docs/momentum.md", r"Over the ([0-9]+) rows of section 2", "{0} rows (docs/momentum.md, section 2)"),
    ("README.md", "docs/momentum.md", r"\| all \| all \| [^|]+\| [^|]+\| [^|]+\| ([^|]+?) \|",
     "(`fresh_anchored`) | median {0} |"),
    ("README.md", "docs/momentum.md", r"low by a factor ([0-9]+) at the median \(([0-9.]+ \.\. [0-9.]+)\)",
     "about {0}x too small at the median ({1},"),
    ("README.md", "docs/momentum.md", r"low by a factor ([0-9]+) at the median \(([0-9.]+ \.\. [0-9.]+)\)",
     "by {0}x at the median ({1}) over"),
    ("README.md", "docs/momentum.md", r"is low by a factor ([0-9.]+) \(median\)", "low by a factor {0} (the state"),
    ("README.md", "docs/momentum.md", r"low by factors ([0-9]+) \(`softsign_momentum`\) and ([0-9]+) \(the article",
     "|g~_t|): low by {0}x"),
    ("README.md", "docs/momentum.md", r"low by factors ([0-9]+) \(`softsign_momentum`\) and ([0-9]+) \(the article",
     "one-step model: low by {1}x here"),
    ("README.md", "docs/momentum.md", SURGE, "peaks at {0} for betas (0.9, 0.95)"),
    ("README.md", "docs/momentum.md", r"betas \(0\.9, 0\.999\), state frozen: ([0-9.]+ \.\. [0-9.]+)", "and {0} for"),
    ("README.md", "docs/momentum.md", r"betas \(0\.0, 0\.0\), state frozen: ([0-9.]+ \.\. [0-9.]+)",
     "against {0} without momentum"),
    ("README.md", "docs/momentum.md", r"betas \(0\.9, 0\.95\), state rebuilt at B: ([0-9.]+ \.\. [0-9.]+).*?betas "
     r"\(0\.9, 0\.999\), state rebuilt at B: ([0-9.]+ \.\. [0-9.]+)", "and larger: {0} and {1}, on"),
    ("README.md", "docs/atlas.md", r"\| 30 \| ([0-9.]+) \| [0-9.]+ \| [0-9.]+ \| [0-9.e-]+ \|", "the exact B_noise is {0} times"),
    ("README.md", "docs/atlas.md", r"At eps = 30 median\|g\| its exact B_noise is ([0-9.]+) times", "value on the atlas's"
     " random problems and {0} times"),
    ("docs/models.md", "docs/atlas.md", r"\| 0\.03 \| ([0-9.]+) \| .*?\| 0\.3 \| ([0-9.]+) \| .*?\| 3 \| ([0-9.]+) \| .*?\| 30 \| "
     r"([0-9.]+) \| [0-9.]+ \| [0-9.]+ \| ([0-9.]+) \|", "**rises**: {0}, {1}, {2} and {3} times"),
    ("docs/models.md", "docs/atlas.md", r"\| 30 \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| ([0-9.]+) \|", "(to {0} of its eps = 0"),
    ("docs/models.md", "docs/atlas.md", r"second family.*?\| 0\.03 \| ([0-9.]+) \| .*?\| 0\.3 \| ([0-9.]+) \| .*?\| 3 \| "
     r"([0-9.]+) \| .*?\| 30 \| ([0-9.]+) \|", "**falls**: {0}, {1}, {2} and {3} times"),
    ("docs/models.md", "docs/atlas.md", r"## 6\..*?\| mean_field\[kappa2=mean\] \| ([0-9.]+) \|", "to exact {0} with the arithmetic"),
    ("docs/models.md", "docs/atlas.md", r"## 6\..*?\| mean_field\[kappa2=harmonic\] \| ([0-9.]+) \|", "kappa^2, {0} with the harmonic"),
    ("docs/models.md", "docs/atlas.md", r"Zhang et al\. 2019: .*?\(([0-9]+) seeds\)", "w0 ~ N(0, I), {0} seeds"),
    ("README.md", "docs/run-level.md", r"\| adam-0\.999 \| ([0-9.]+) \| ([0-9.]+) \| [0-9.]+ \| (?:yes|no) \| ([0-9.]+) \|",
     "Adam (0.9, 0.999) is {0} against a predicted {1}"),
    ("README.md", "docs/run-level.md", r"within 2x of the measured B_crit for ([0-9]+) of ([0-9]+) settings",
     "within 2x for {0} of {1} Adam settings"),
    ("README.md", "docs/run-level.md", r"\| adam-0\.999 \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| (?:yes|no) \| ([0-9.]+) \|",
     "slope is {0} against the square-root rule"),
    ("README.md", "docs/run-level.md", r"\| cnn \| [0-9.]+ \| [0-9]+ \| [^|]+\| [^|]+\| ([0-9.]+) \|",
     "On a small CNN the same prediction is {0}x too large"),
    ("README.md", "docs/run-level.md", r"\* cnn: .*? B_noise grows ([0-9.]+)x over the run", "(B_noise grows {0}x during"),
    ("README.md", "docs/run-level.md", r"\| teacher \| [0-9.]+ \| [0-9]+ \| ([0-9.]+) \([^|]+\| [^|]+\| ([0-9.]+) \|",
     "on the teacher-student MLP it is {1}x the measured {0}"),
    ("README.md", "docs/run-level.md", r"\| transformer \| [0-9.]+ \| [0-9]+ \| ([0-9.]+) \([^|]+\| [^|]+\| ([0-9.]+) \|",
     "on the character transformer {1}x the measured {0}"),
]


def _flat(text: str) -> str:
    return " ".join(text.split())


def quote_problems(quotes, read) -> list[str]:
    problems = []
    for quoting, generated, pattern, template in quotes:
        match = re.search(pattern, _flat(read(generated)))
        if match is None:
            problems.append(f"{generated}: no {pattern!r}")
            continue
        expected = template.format(*(group.strip() for group in match.groups()))
        if expected not in _flat(read(quoting)):
            problems.append(f"{quoting} should quote {generated} as {expected!r}")
    return problems


def _read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def test_quoted_numbers_are_the_documents():
    assert quote_problems(QUOTES, _read) == []


@pytest.mark.parametrize("document, old, new", [("docs/real-model.md", "| exact[outside] | 12 |", "| exact[outside] | 13 |"),
                                                ("docs/momentum.md", "state frozen: 0.998 .. 1.000", "state frozen: 0.998 .. 1.010")])
def test_negative_control_a_moved_number_is_reported(document, old, new):
    assert old in _read(document)
    moved = lambda name: _read(name).replace(old, new) if name == document else _read(name)  # noqa: E731
    assert quote_problems(QUOTES, moved) != []
