"""Markdown tables for the generated documents (docs/atlas.md, docs/derivation.md).

A cell's text may hold a pipe (``|g|``, ``x/(|x|+1)``); unescaped, GitHub's table
parser takes it as a cell boundary, so a row gains a cell or a header stops being
a header.  Every generated table goes through :func:`table`, which escapes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def cell(value: object) -> str:
    """One cell's text: pipes escaped, line breaks flattened (a row is one line)."""
    text = str(value).replace("\r", " ").replace("\n", " ")
    return text.replace("\\|", "|").replace("|", "\\|")


def row(values: Sequence[object]) -> str:
    return "| " + " | ".join(cell(v) for v in values) + " |"


def table(header: Sequence[object], rows: Iterable[Sequence[object]]) -> list[str]:
    """The lines of a pipe table; every row must have as many cells as the header."""
    lines = [row(header), "| " + " | ".join("---" for _ in header) + " |"]
    for values in rows:
        if len(values) != len(header):
            raise ValueError(f"a table row has {len(values)} cells, its header {len(header)}: {values!r}")
        lines.append(row(values))
    return lines
