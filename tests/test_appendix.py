"""The appendix: generated from the records, byte-reproducible, and compiled by pdflatex."""

import os
import re
import shutil
from pathlib import Path

import pytest

from softsign_scaling.export import appendix_build
from softsign_scaling.export.appendix import _escape, appendix_tex, derivation_md, display
from softsign_scaling.export.figures import FIGURES, draw

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def test_committed_appendix_and_markdown_match_a_fresh_generation(derivation, verified):
    assert (DOCS / "appendix.tex").read_text() == appendix_tex(derivation, verified, FIGURES,
                                                               appendix_build.atlas_rows())
    assert (DOCS / "derivation.md").read_text() == derivation_md(derivation, verified, FIGURES)


def test_every_step_is_tagged_with_its_label(derivation):
    text = (DOCS / "appendix.tex").read_text()
    for label in derivation.labels:
        assert f"\\tag{{{label}}}" in text, label
    assert "refuted" in text  # the findings table is there


def test_committed_figures_match_a_fresh_drawing(derivation, tmp_path):
    paths = draw(derivation, tmp_path)
    assert sorted(p.name for p in paths) == sorted(FIGURES)
    for path in paths:
        assert path.read_bytes() == (DOCS / "figures" / path.name).read_bytes(), path.name


def _pdflatex_required() -> bool:
    return os.environ.get("CI") == "true"


def test_appendix_compiles_without_overfull_runs(tmp_path):
    if shutil.which("pdflatex") is None:
        if _pdflatex_required():
            pytest.fail("CI must install texlive-latex-base (see .ci/run)")
        pytest.skip("pdflatex not installed")
    work = tmp_path / "docs"
    shutil.copytree(DOCS, work, ignore=shutil.ignore_patterns("*.pdf"))
    ok, log = appendix_build.compile_pdf(work / "appendix.tex")
    assert ok, log
    assert (work / "appendix.pdf").stat().st_size > 10_000
    assert log.count("Overfull \\hbox") <= 2, re.findall(r"Overfull.*", log)
    assert "LaTeX Error" not in log


def test_without_pdflatex_the_tex_is_written_and_install_advice_given(monkeypatch, tmp_path):
    monkeypatch.setattr(appendix_build.shutil, "which", lambda name: None)
    tex = tmp_path / "a.tex"
    tex.write_text("\\documentclass{article}\\begin{document}x\\end{document}")
    ok, message = appendix_build.compile_pdf(tex)
    assert not ok and "apt-get install -y texlive-latex-base" in message


def test_step_snippets_exist_for_input(derivation):
    for label in derivation.labels:
        snippet = (DOCS / "steps" / f"{label}.tex").read_text()
        assert f"\\tag{{{label}}}" in snippet


def test_plain_text_is_escaped_for_latex():
    assert _escape("a_i ~= b^2 -> 0, 50% & $x$ |g| <= 1") == (
        r"a\_i $\approx$ b\textasciicircum{}2 $\to$ 0, 50\% \& \$x\$ $|$g$|$ $\le$ 1")


def test_long_sums_are_split_over_lines():
    import sympy as sp

    x = sp.Symbol("x")
    long_sum = sum(sp.erf(x + k) * sp.exp(-(x - k) ** 2) / (k + 1) for k in range(8))
    tex = display("R", long_sum, tag="E-0")
    assert "\\begin{split}" in tex and tex.count("\\\\") >= 2
