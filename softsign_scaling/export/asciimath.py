"""The ASCII math of the step records' prose (statements, meanings, notes, check names) as LaTeX math.

The records say ``softsign(x, eps) = x/sqrt(x^2 + eps^2)`` in plain text (they are also printed by
``verify`` and the derivation scripts).  For the appendix, :func:`to_latex` finds the math spans of such a
sentence (maximal runs of math tokens: symbols, numbers, operators, known functions, bracketed groups)
and writes each as ``$...$``; the prose between them is escaped as LaTeX text.  The rules:

* Greek names (``eps``, ``sigma_i``, ``kappa^2``, ``beta1``) -> ``\\epsilon``, ``\\sigma_{i}``, ``\\kappa^{2}``,
  ``\\beta_{1}``; ``pi`` -> ``\\pi``, ``oo`` -> ``\\infty``; ``g~`` -> ``\\tilde{g}``; ``eta*`` -> ``\\eta^*``;
* ``x^2``, ``x^(-1/2)``, ``E[phi]^T`` -> superscripts (``^T`` is the transpose); ``a_ij``, ``B_peak``,
  ``sum_{i!=j}`` -> subscripts; ``sqrt(...)`` -> ``\\sqrt{...}``; ``E[`` -> ``\\mathbb{E}[``;
  ``erf``, ``exp``, ``sign``, ``softsign``, ``clip``, ``Tr`` -> upright operator names; ``sum`` -> ``\\sum``;
* ``~=``, ``->``, ``<=``, ``>=``, ``!=``, ``<<`` -> ``\\approx``, ``\\to``, ``\\le``, ``\\ge``, ``\\neq``, ``\\ll``;
* step labels (``E-12``, ``P-10``) and English words stay prose; a lone ``a`` or ``I`` is the article.

A span whose brackets do not balance is left as escaped text, so the output always compiles.
"""

from __future__ import annotations

import re

GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "kappa", "lambda", "mu", "nu", "xi",
    "pi", "rho", "sigma", "tau", "phi", "chi", "psi", "omega", "Sigma", "Delta", "Gamma", "Phi", "Omega",
}
ALIASES = {"sigma2_bar": r"\bar{\sigma}^{2}", "eps": r"\epsilon", "epsilon": r"\epsilon", "phi": r"\varphi", "oo": r"\infty", "dL": r"\Delta\mathcal{L}"}
FUNCTIONS = {"erf", "erfc", "exp", "sign", "softsign", "clip", "Tr", "tr", "min", "max", "log", "diag", "median",
             "Var", "Cov", "N"}
WORD_SUBSCRIPTS = {"max", "min", "peak", "noise", "simple", "sat", "root", "Adam", "prev", "bar", "exact", "star"}
OPERATORS = {
    "==": "=", "~=": r"\approx", "->": r"\to", "<=": r"\le", ">=": r"\ge", "!=": r"\neq", "<<": r"\ll", ">>": r"\gg",
    "~": r"\sim", "=": "=", "<": "<", ">": ">", "+": "+", "-": "-", "/": "/", "*": r"\cdot ", "|": "|",
}
TOKEN = re.compile(r"""
    (?P<label>\b[EPA]-\d+\b)
  | (?P<possessive>'s\b)
  | (?P<hyphenated>\b[A-Za-z]+(?:-[A-Za-z]{3,})+\b)
  | (?P<absword>\|[a-z]{3,}\|)
  | (?P<number>\d+(?:\.\d+)?(?:e[-+]?\d+)?)
  | (?P<name>[A-Za-z][A-Za-z0-9]*~?(?:_(?:\{[^{}]*\}|[A-Za-z0-9]+))*~?\*?)
  | (?P<op>==|~=|->|<=|>=|!=|<<|>>|~|[=<>+\-/*|^])
  | (?P<open>[(\[])
  | (?P<close>[)\]])
  | (?P<comma>,)
  | (?P<space>\s+)
  | (?P<other>.)
""", re.VERBOSE)

_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"$<$",
                 ">": r"$>$", "|": r"$|$"}


def escape_text(text: str) -> str:
    """Plain text as LaTeX text."""
    return "".join(_TEXT_ESCAPES.get(char, char) for char in text)


def _symbol(name: str) -> str:
    """One identifier (no subscript) as LaTeX: greek, alias, function, or a letter/word with trailing digits."""
    if name in ALIASES:
        return ALIASES[name]
    if name in GREEK:
        return "\\" + name
    if name in FUNCTIONS:
        return r"\operatorname{" + name + "}"
    if name == "sum":
        return r"\textstyle\sum"
    if name == "lim":
        return r"\lim"
    if name == "sqrt":
        return r"\sqrt"
    if re.fullmatch(r"sqrt\d+", name):
        return r"\sqrt{" + name[4:] + "}"
    match = re.fullmatch(r"([A-Za-z]+?)(\d+)", name)
    if match and (match.group(1) in GREEK or match.group(1) in ALIASES or len(match.group(1)) == 1):
        return _symbol(match.group(1)) + "_{" + match.group(2) + "}"
    if len(name) == 1:
        return name
    return r"\mathrm{" + name + "}"


def _subscript(sub: str) -> str:
    if sub.startswith("{"):
        return "_{" + _math_of(sub[1:-1]) + "}"
    if sub in WORD_SUBSCRIPTS or (len(sub) > 2 and re.fullmatch(r"[A-Za-z]+\d*", sub)):
        return r"_{\text{" + sub + "}}"
    return "_{" + sub + "}"


def _name(token: str) -> str:
    if token in ALIASES:
        return ALIASES[token]
    star = token.endswith("*")
    token = token.rstrip("*")
    tilde = "~" in token
    token = token.replace("~", "")
    base, _, sub = token.partition("_")
    out = _symbol(base)
    if sub and ("_" in sub.replace("{", "").split("}")[0] and not sub.startswith("{")
                or out.startswith(r"\mathrm") or "_{" in out):  # a code name: mean_clip_b0, second_moment_approx
        return r"\texttt{" + escape_text(token) + "}"
    if tilde:
        out = r"\tilde{" + out + "}"
    if sub:
        out += _subscript(sub)
    if star:
        out += "^*"
    return out


def _is_math_word(token: str) -> bool:
    core = token.rstrip("*~")
    base = core.partition("_")[0]
    if "_" in core or token.endswith(("*", "~")) or re.search(r"\d", core):
        return True
    return (base in GREEK or base in ALIASES or base in FUNCTIONS or base in ("sqrt", "sum", "lim")
            or (len(base) == 1 and base not in ("a", "I", "A")))


def _tokens(text: str) -> list[tuple[str, str]]:
    return [(match.lastgroup, match.group()) for match in TOKEN.finditer(text)]


class _Unbalanced(ValueError):
    pass


def _math_of(text: str) -> str:
    """LaTeX math of an ASCII-math span (no $)."""
    tokens = [t for t in _tokens(text) if t[0] != "space"]
    out, i = _translate(tokens, 0, None)
    if i != len(tokens):
        raise _Unbalanced(text)
    return out


def _group(tokens: list[tuple[str, str]], i: int) -> tuple[str, int]:
    """The bracketed group starting at tokens[i] (an opening bracket): (its inside in LaTeX, index after it)."""
    closing = ")" if tokens[i][1] == "(" else "]"
    inside, j = _translate(tokens, i + 1, closing)
    return inside, j + 1


def _translate(tokens: list[tuple[str, str]], i: int, closing: str | None) -> tuple[str, int]:
    out: list[str] = []
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "close":
            if value != closing:
                raise _Unbalanced(value)
            return "".join(out), i
        if kind == "open":
            inside, i = _group(tokens, i)
            previous = out[-1] if out else ""
            if previous == r"\sqrt":
                out[-1] = r"\sqrt{" + inside + "}"
            elif value == "[":
                if previous == "E" or previous == r"\mathrm{E}":
                    out[-1] = r"\mathbb{E}"
                out.append("[" + inside + "]")
            else:
                out.append(r"\left(" + inside + r"\right)" if len(inside) > 24 else "(" + inside + ")")
            continue
        if kind == "op" and value == "^":
            if i + 1 >= len(tokens):
                raise _Unbalanced("^")
            nxt_kind, nxt = tokens[i + 1]
            if nxt_kind == "open":
                inside, i = _group(tokens, i + 1)
                out.append("^{" + inside + "}")
                continue
            out.append("^{" + (r"\top" if nxt == "T" else _name(nxt) if nxt_kind == "name" else nxt) + "}")
            i += 2
            continue
        if kind == "op":
            out.append(" " + OPERATORS[value] + " " if value in ("==", "~=", "->", "<=", ">=", "!=", "<<", ">>", "=")
                       else OPERATORS[value])
        elif kind == "name":
            if out and re.search(r"[A-Za-z0-9}]$", out[-1]):
                out.append(r"\,")
            out.append(_name(value))
        elif kind == "number":
            mantissa, _, exponent = value.partition("e")
            if out and re.search(r"[A-Za-z0-9}]$", out[-1]):
                out.append(r"\,")
            if exponent:
                out.append((r"10" if mantissa == "1" else mantissa + r"\times 10") + "^{" + str(int(exponent)) + "}")
            else:
                out.append(value)
        elif kind == "comma":
            out.append(r",\ ")
        elif kind in ("label", "possessive", "hyphenated"):
            out.append(r"\text{" + value + "}")
        elif kind == "absword":
            out.append(r"|\text{" + value[1:-1] + "}|")
        elif value == "_" and i + 1 < len(tokens) and tokens[i + 1][0] in ("name", "number"):
            out.append("_{" + tokens[i + 1][1] + "}")
            i += 2
            continue
        else:
            out.append(escape_text(value) if value not in ".;!?" else value)
        i += 1
    if closing is not None:
        raise _Unbalanced("unclosed")
    return "".join(out), i


def _spans(text: str, prose=escape_text) -> list[tuple[bool | None, str]]:
    """Split text into (is_math, piece): runs of math tokens; a bracket group is kept whole, and is math
    when it follows a math token directly (f(x), x^(1/2)) or after an operator, or holds no prose word."""
    tokens = _tokens(text)
    pieces: list[list] = []  # [is_math, [token values], kind of the last non-space token]
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "space":
            if pieces:
                pieces[-1][1].append(value)
            else:
                pieces.append([False, [value], "space"])
            i += 1
            continue
        if kind == "open":
            depth, j = 0, i
            while j < len(tokens):
                depth += tokens[j][0] == "open"
                depth -= tokens[j][0] == "close"
                j += 1
                if depth == 0:
                    break
            group = tokens[i:j]
            text_of_group = "".join(v for _, v in group)
            last = pieces[-1] if pieces else None
            attached = (last is not None and last[0]
                        and (not last[1][-1].isspace() or last[2] == "op"))
            prose_inside = any(k == "name" and not _is_math_word(v) or k in ("hyphenated", "label")
                               for k, v in group)
            if attached or (not prose_inside and depth == 0):
                if attached:
                    last[1].append(text_of_group)
                    last[2] = "close"
                else:
                    pieces.append([True, [text_of_group], "close"])
            else:  # prose in brackets: the inside converted on its own
                inner = text_of_group[1:-1] if depth == 0 else text_of_group
                converted = text_of_group[0] + to_latex(inner, prose) + text_of_group[-1] if depth == 0 else None
                pieces.append([None, [converted if converted is not None else prose(text_of_group)], "prose"])
            i = j
            continue
        is_math = (kind in ("number", "op", "close", "absword")
                   or (kind == "other" and value == "_")
                   or (kind == "name" and _is_math_word(value))
                   or (kind == "name" and value == "a" and _next_is_op(tokens, i))
                   or (kind == "name" and bool(pieces) and pieces[-1][1][-1] == "_")
                   or (kind == "label" and (_next_is_op(tokens, i)
                                            or bool(pieces) and pieces[-1][0] is True and pieces[-1][2] == "op")))
        if pieces and pieces[-1][0] == is_math and is_math is not None:
            pieces[-1][1].append(value)
            pieces[-1][2] = kind
        else:
            pieces.append([is_math, [value], kind])
        i += 1
    # Trailing spaces of a math span belong to the prose after it.
    out: list[tuple[bool | None, str]] = []
    for is_math, parts, _ in pieces:
        piece = "".join(parts)
        if is_math:
            stripped = piece.rstrip()
            out.append((True, stripped))
            if stripped != piece:
                out.append((False, piece[len(stripped):]))
        else:
            out.append((is_math, piece))
    return out


def _next_is_op(tokens: list[tuple[str, str]], i: int) -> bool:
    for kind, value in tokens[i + 1:]:
        if kind != "space":
            return kind == "op" and value not in ("-",)
    return False


def _lone_prose(piece: str) -> bool:
    """A 'math' span that is only a prose-like operator or a hyphen (e.g. 'S-curve', 'two-sided')."""
    return piece in ("-", "/", "*", "=", "|")


def to_latex(text: str, prose=escape_text) -> str:
    """LaTeX text of a prose sentence with ASCII math: math spans as $...$, the rest through ``prose``
    (LaTeX escaping by default; :func:`to_markdown` keeps it as it is)."""
    out = []
    for is_math, piece in _spans(text, prose):
        if is_math is None:  # already converted (prose in brackets)
            out.append(piece)
            continue
        if not is_math or not piece or _lone_prose(piece):
            out.append(prose(piece))
            continue
        try:
            out.append("$" + _math_of(piece).strip() + "$")
        except (_Unbalanced, KeyError):
            out.append(prose(piece))
    return "".join(out)


def to_markdown(text: str) -> str:
    """The same for Markdown with $...$ math (GitHub): the prose is left as it is."""
    return to_latex(text, prose=lambda piece: piece)
