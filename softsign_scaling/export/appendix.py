"""The LaTeX appendix (docs/appendix.tex) and its Markdown twin (docs/derivation.md), from the step records.

Both walk the derivation in the article's order; each step shows its label, its
defining integral or limit, the derived result (sympy.latex, the article's symbol
names), what its "≈" means, and its checks with their measured errors.  Long
expressions are broken over lines (split) and a line that is still too wide is
scaled to the text width, so there is no run of overfull boxes.
"""

from __future__ import annotations

import sympy as sp

from ..sections import ORDER, SECTION_TITLES
from ..steps import CheckResult, Derivation, Step
from .latex import RELATION_WORDS, latex
from .asciimath import to_latex, to_markdown
from .lhs import left_side
from .markdown import table

FIGURE_CAPTIONS = {
    "scurves.png": r"erf and its two S-curve approximations, E-3 and E-4 ($k = 2/\sqrt{\pi}$).",
    "mean.png": r"The mean of the update: clipped (E-8), its S-curve form (E-9) and the exact SoftSign mean.",
    "second_moment.png": r"The second moment: clipped (E-11), the article's E-12 and the exact SoftSign value.",
    "surge.png": r"E-14's $\eta^*(B)$: a surge appears iff $S > 2T$; dots mark $B_{\text{peak}}$ of E-15.",
}
LINE_BUDGET = 150  # characters of LaTeX source per displayed line, a proxy for width


_TEXT_TOKENS = (
    # ASCII math of statements -> LaTeX, longest tokens first
    ("~=", r"$\approx$"), ("->", r"$\to$"), ("!=", r"$\neq$"), ("<=", r"$\le$"), (">=", r"$\ge$"),
    ("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"), ("#", r"\#"), ("_", r"\_"),
    ("{", r"\{"), ("}", r"\}"), ("~", r"\textasciitilde{}"), ("^", r"\textasciicircum{}"),
    ("<", r"$<$"), (">", r"$>$"), ("|", r"$|$"),
)


def _escape(text: str) -> str:
    """Plain text (with ASCII math) as LaTeX text, one pass so replacements are not re-escaped."""
    out, i = [], 0
    while i < len(text):
        for token, repl in _TEXT_TOKENS:
            if text.startswith(token, i):
                out.append(repl)
                i += len(token)
                break
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _terms(expr: sp.Basic) -> list[str]:
    """LaTeX of the terms of a sum in SymPy's print order (one term if not a sum)."""
    if isinstance(expr, sp.Add):
        return [latex(t) for t in sp.Add.make_args(expr)] if len(expr.args) > 1 else [latex(expr)]
    return [latex(expr)]


SHOWN_TERMS = 4  # a polynomial (a series) with more terms than TOO_MANY_TERMS shows its SHOWN_TERMS lowest-order ones
TOO_MANY_TERMS = 12


def _shown(expr: sp.Basic) -> str:
    """LaTeX of expr; a polynomial in one symbol with many terms (an asymptotic series) as its lowest-order terms,
    then a dots-and-count tail: a reader wants the shape, the manifest and docs/steps/*.tex keep every term."""
    if isinstance(expr, sp.Add) and len(expr.args) > TOO_MANY_TERMS and len(expr.free_symbols) == 1:
        (x,) = expr.free_symbols
        if expr.is_polynomial(x):
            terms = sorted(sp.Add.make_args(expr), key=lambda t: sp.degree(t, x))
            head = latex(terms[0]) + "".join((" " if latex(t).startswith("-") else " + ") + latex(t)
                                                for t in terms[1:SHOWN_TERMS])
            return head + rf" + \cdots\ (\text{{{len(terms)} terms, up to }} {latex(x)}^{{{sp.degree(expr, x)}}})"
    return latex(expr)


def _fit(line: str) -> str:
    """\\fitwidth (defined in the preamble) shrinks a line wider than the text, and never enlarges one."""
    return r"\fitwidth{" + line + "}"


def relation_text(step: Step) -> str:
    """What the step's relation means, in one phrase: the kind's word unless the meaning already starts with it."""
    word, meaning = RELATION_WORDS[step.relation.kind], step.relation.meaning
    if meaning.lower().startswith(word.split()[0]):
        return meaning
    return f"{word}: {meaning}"


def display(lhs: str, expr: sp.Basic, tag: str | None = None, sign: str = "=") -> str:
    """An equation (tagged) or equation* whose long sums are split over lines."""
    env = "equation" if tag else "equation*"
    tag_tex = f"\\tag{{{tag}}}\\label{{eq:{tag}}}" if tag else ""
    if isinstance(expr, sp.Tuple):
        parts = [_shown(e) for e in expr]
        line = lhs + f" {sign} " + r"\left(" + r",\quad ".join(parts) + r"\right)"
        if len(line) <= 2 * LINE_BUDGET:
            return f"\\begin{{{env}}}\n{_fit(line)}{tag_tex}\n\\end{{{env}}}"
        # too wide for one line: the left-hand side, then one element per line, centred (gathered: split would
        # indent every line by the left-hand side's width); each line shrunk to the width only if it must be
        lines = [_fit(f"{lhs} {sign}")] + [_fit((r"\Big( " if k == 0 else "") + part
                                              + ("," if k < len(parts) - 1 else r" \Big)"))
                                         for k, part in enumerate(parts)]
        body = " \\\\\n".join(lines)
        return f"\\begin{{{env}}}\n\\begin{{gathered}}\n{body}\n\\end{{gathered}}{tag_tex}\n\\end{{{env}}}"
    whole = _shown(expr)
    if len(whole) + len(lhs) <= LINE_BUDGET or not isinstance(expr, sp.Add) or whole != latex(expr):
        return f"\\begin{{{env}}}\n{_fit(lhs + f' {sign} ' + whole)}{tag_tex}\n\\end{{{env}}}"
    lines, current = [], ""
    for term in _terms(expr):
        piece = term if not current else (term if term.startswith("-") else "+ " + term)
        if current and len(current) + len(piece) > LINE_BUDGET:
            lines.append(current)
            current = piece
        else:
            current = f"{current} {piece}".strip()
    lines.append(current)
    body = f"{lhs} &{sign} {_fit(lines[0])}" + "".join(f" \\\\\n&\\quad {_fit(line)}" for line in lines[1:])
    return f"\\begin{{{env}}}\n\\begin{{split}}\n{body}\n\\end{{split}}{tag_tex}\n\\end{{{env}}}"


def _error(r: CheckResult) -> str:
    if r.max_abs_error is None:
        return "--"
    return "0" if r.max_abs_error == 0 else f"{r.max_abs_error:.2e}"


def _checks_table(results: list[CheckResult]) -> str:
    rows = [r"{\small\begin{longtable}{@{}p{0.45\linewidth}lllr@{}}",
            r"\textbf{check} & \textbf{kind} & \textbf{method} & \textbf{verdict} & \textbf{max error}\\ \hline"]
    for r in results:
        digits = f" ({r.digits} d)" if r.digits else ""
        verdict = r"\textbf{refuted}" if r.verdict == "refuted" else r.verdict
        rows.append(f"{to_latex(r.name)} & {r.kind} & {r.method}{digits} & {verdict} & {_error(r)}\\\\")
    rows.append(r"\end{longtable}}")
    return "\n".join(rows)


def _step_tex(step: Step, results: list[CheckResult]) -> str:
    parts = [f"\\subsection*{{{step.label}}}", to_latex(step.statement) + "."]
    parts.append(r"\noindent\emph{Defined by:}")
    parts.append(display(r"\mathcal{D}", step.definition) if not isinstance(step.definition, sp.Equality)
                 else display(latex(step.definition.lhs), step.definition.rhs))
    parts.append(r"\noindent\emph{Derived:}")
    lhs, sign = left_side(step)
    parts.append(display(lhs, step.result, tag=step.label, sign=sign))
    if step.printed is not None and sp.srepr(step.printed) != sp.srepr(step.result):
        parts.append(r"\noindent\emph{As printed:}")
        parts.append(display(lhs, step.printed, sign=sign))
    parts.append(f"\\noindent\\emph{{Meaning of the relation:}} {to_latex(relation_text(step))}.")
    if step.note:
        parts.append(r"\noindent\emph{Note:} " + to_latex(step.note))
    parts.append(_checks_table(results))
    return "\n\n".join(parts)


def _claims_tex(results: list[CheckResult]) -> str:
    rows = [r"{\small\begin{longtable}{@{}lp{0.34\linewidth}lp{0.42\linewidth}@{}}",
            r"\textbf{step} & \textbf{claim} & \textbf{verdict} & \textbf{evidence}\\ \hline"]
    for r in results:
        if r.kind != "claim":
            continue
        verdict = r"\textbf{refuted}" if r.verdict == "refuted" else r.verdict
        rows.append(f"{r.label} & {to_latex(r.name)} & {verdict} & \\raggedright {_escape(r.detail[:400])}\\tabularnewline")
    rows.append(r"\end{longtable}}")
    return "\n".join(rows)


def _atlas_tex(rows) -> str:
    """The atlas's mean-field table (docs/atlas.md, layer 4): eta*_model / eta*_exact on random problems."""
    out = [r"{\small\begin{longtable}{@{}lrrrrr@{}}",
           r"\textbf{model} & \textbf{median} & \textbf{p10} & \textbf{p90} & \textbf{worst} & "
           r"\textbf{within 10\%}\\ \hline"]
    for r in rows:
        out.append(f"{_escape(r.name)} & {r.median:.3f} & {r.p10:.3f} & {r.p90:.3f} & {r.worst:.3f} & "
                   f"{100 * r.within_10pct:.1f}\\%\\\\")
    out.append(r"\end{longtable}}")
    return "\n".join(out)


def appendix_tex(derivation: Derivation, results: list[CheckResult], figures: tuple[str, ...],
                 atlas_rows: list | None = None) -> str:
    by_label: dict[str, list[CheckResult]] = {}
    for r in results:
        by_label.setdefault(r.label, []).append(r)
    out = [
        r"\documentclass[10pt]{article}",
        r"% Byte-reproducible PDF: no trailer ID, no dates, no pdfTeX banner (with SOURCE_DATE_EPOCH, see appendix_build).",
        r"\ifdefined\pdftrailerid\pdftrailerid{}\pdfinfoomitdate=1\pdfsuppressptexinfo=-1\fi",
        r"\usepackage[margin=2.2cm]{geometry}",
        r"\usepackage{amsmath,amssymb,graphicx,longtable}",
        r"\allowdisplaybreaks",
        r"\newsavebox{\fitbox}",
        r"\newcommand{\fitwidth}[1]{\sbox{\fitbox}{$\displaystyle #1$}\ifdim\wd\fitbox>0.85\linewidth"
        r"\resizebox{0.85\linewidth}{!}{\usebox{\fitbox}}\else\usebox{\fitbox}\fi}",
        r"\title{Appendix: SoftSignSGD and the learning-rate scaling law, derived and checked}",
        r"\author{generated by \texttt{softsign-scaling appendix}}",
        r"\date{}",
        r"\sloppy",
        r"\begin{document}",
        r"\maketitle",
        "This appendix reproduces, step by step, Su Jianlin's derivation of how Adam's $\\epsilon$ changes the "
        "optimal learning rate $\\eta^*(B)$ (kexue.fm 10563), and the predecessor results it builds on "
        "(kexue.fm 10542). Labels E-$n$ and P-$n$ are the articles' equation numbers. Every result below was "
        "derived by SymPy from its definition or an earlier step; every check was run by "
        "\\texttt{softsign-scaling verify}: symbolic proofs, or mpmath at 30 significant digits on at least "
        "50 points; approximations report their maximum error on the stated domain. A \\emph{refuted} claim is a "
        "finding about the article, with its evidence.",
        "",
        "Reduced variables: $a = g\\sqrt{B}/\\sigma$, $b = \\epsilon\\sqrt{B}/\\sigma$; aggregates such as "
        "$\\sum_i \\nu_i g_i$ are single symbols, and their reduction from traces is checked at explicit $n$.",
    ]
    for section in ORDER:
        steps = derivation.section(section)
        if not steps:
            continue
        out.append(f"\\section{{{to_latex(SECTION_TITLES.get(section, section))}}}")  # titles are ASCII math too
        for step in steps:
            out.append(_step_tex(step, by_label.get(step.label, [])))
    out.append(r"\section{The article's claims and their verdicts}")
    out.append(_claims_tex(results))
    if atlas_rows:
        out.append(r"\section{What the approximations cost: the error atlas}")
        out.append("Ratio $\\eta^*_{\\text{model}}/\\eta^*_{\\text{exact}}$ over the atlas's random problems "
                   "and batch sizes (\\texttt{softsign-scaling atlas}, docs/atlas.md, layer 4); exact = the "
                   "per-component exact SoftSign moments under the Gaussian model.")
        out.append(_atlas_tex(atlas_rows))
    if figures:
        out.append(r"\section{Figures}")
        for name in figures:
            out.append("\\begin{figure}[h]\n\\centering\n"
                       f"\\includegraphics[width=0.85\\linewidth]{{figures/{name}}}\n"
                       f"\\caption{{{FIGURE_CAPTIONS.get(name, name)}}}\n\\end{{figure}}")
    out.append(r"\end{document}")
    return "\n\n".join(out) + "\n"


def derivation_md(derivation: Derivation, results: list[CheckResult], figures: tuple[str, ...]) -> str:
    """docs/derivation.md: the same walk-through in Markdown with $$ math (GitHub renders it)."""
    by_label: dict[str, list[CheckResult]] = {}
    for r in results:
        by_label.setdefault(r.label, []).append(r)
    out = ["# The derivation, step by step", "",
           "Generated by `softsign-scaling appendix` from the step records; the LaTeX version is "
           "[appendix.tex](appendix.tex). Labels E-n / P-n are the articles' equation numbers.", ""]
    for section in ORDER:
        steps = derivation.section(section)
        if not steps:
            continue
        out += [f"## {SECTION_TITLES.get(section, section)}", ""]
        for step in steps:
            lhs, sign = left_side(step)
            out += [f"### {step.label}", "", to_markdown(step.statement) + ".", "",
                    "$$", f"{lhs} {sign} {latex(step.result)} \\tag{{{step.label}}}", "$$", "",
                    f"*Relation:* {to_markdown(relation_text(step))}.", ""]
            rows = by_label.get(step.label, [])
            if rows:
                out += table(("check", "kind", "method", "verdict", "max error"),
                             [(r.name, r.kind, r.method, r.verdict, _error(r)) for r in rows])
                out.append("")
    findings = [r for r in results if r.verdict == "refuted"]
    out += ["## Findings: claims the checks refute", ""]
    for r in findings:
        out += [f"* **{r.label}, {r.name}**: {r.detail}", ""]
    if figures:
        out += ["## Figures", ""]
        for name in figures:
            out += [f"![{FIGURE_CAPTIONS.get(name, name)}](figures/{name})", ""]
    return "\n".join(out)
