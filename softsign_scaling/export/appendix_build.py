"""`softsign-scaling appendix`: derive, verify, draw, write docs/appendix.tex and docs/derivation.md, compile."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ..artifacts import write_derivation_artifacts
from ..files import write_text
from ..pipeline import derivation, verify
from .appendix import appendix_tex, derivation_md
from .figures import FIGURES, draw

INSTALL_TEX = "pdflatex not found: install TeX (Debian/Ubuntu: apt-get install -y texlive-latex-base) to build the PDF"


def compile_pdf(tex_path: Path) -> tuple[bool, str]:
    """Run pdflatex twice in a scratch folder (labels settle); copy the PDF beside the .tex.

    Returns (ok, log tail).  SOURCE_DATE_EPOCH keeps the PDF's dates fixed.
    """
    if shutil.which("pdflatex") is None:
        return False, INSTALL_TEX
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        shutil.copy(tex_path, work / tex_path.name)
        figures = tex_path.parent / "figures"
        if figures.is_dir():
            shutil.copytree(figures, work / "figures")
        env = {"SOURCE_DATE_EPOCH": "1732665600", "FORCE_SOURCE_DATE": "1", "PATH": "/usr/bin:/bin:/usr/local/bin"}
        for _ in range(2):
            run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex_path.name],
                                 cwd=work, capture_output=True, text=True, env=env, timeout=300)
            if run.returncode != 0:
                return False, run.stdout[-3000:]
        shutil.copy(work / (tex_path.stem + ".pdf"), tex_path.with_suffix(".pdf"))
        log = (work / (tex_path.stem + ".log")).read_text(errors="replace")
        return True, log


def atlas_rows() -> list:
    """The atlas's layer-4 summary (the same sweep as `softsign-scaling atlas`, seeded)."""
    from ..atlas import meanfield
    from ..atlas.report import REPEATS
    from ..atlas.run import sweep

    return meanfield.summarise(sweep(meanfield.ratios, meanfield.settings(REPEATS[False]), progress=False))


def build_appendix(root: Path, workers: int | None, compile_wanted: bool, progress: bool = False) -> int:
    """Write everything under root/docs; compile when asked and pdflatex exists.  Exit code 1 on a LaTeX error.

    ``progress``: the checks' progress bar on stderr (the command passes True on a terminal only).
    """
    derived = derivation()
    write_derivation_artifacts(derived, root)
    results = verify(derived, workers=workers, progress=progress)
    docs = root / "docs"
    draw(derived, docs / "figures")
    tex = docs / "appendix.tex"
    write_text(tex, appendix_tex(derived, results, FIGURES, atlas_rows()))
    write_text(docs / "derivation.md", derivation_md(derived, results, FIGURES))
    print(f"wrote {tex} and {docs / 'derivation.md'}")
    if not compile_wanted:
        return 0
    ok, log = compile_pdf(tex)
    if not ok:
        print(log)
        return 0 if log == INSTALL_TEX else 1
    overfull = log.count("Overfull \\hbox")
    print(f"compiled {tex.with_suffix('.pdf')} ({overfull} overfull hboxes)")
    return 0

