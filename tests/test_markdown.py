"""Every table in the Markdown documents parses as a table, and each row has as many cells as its header."""

from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from softsign_scaling.export.markdown import cell, table

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))

# The surge table's header and a row of the S-curve table as docs/atlas.md had them (issue 9, item 2).
OLD_ATLAS = """| problem | eps / median|g| | model |
| --- | --- | --- |
| with surge | 0 | exact |

| S(x) | k |
| --- | --- |
| PyTorch form x/(|x|+1) | 1 |
"""


def _cells(line: str) -> int:
    """Cells of a pipe-table row as GFM splits it: at pipes not escaped by a backslash, outer pipes dropped."""
    line = line.strip()
    count, escaped = 1, False
    for char in line[1:-1] if line.startswith("|") and line.endswith("|") and len(line) > 1 else line:
        if char == "|" and not escaped:
            count += 1
        escaped = char == "\\" and not escaped
    return count


def table_problems(text: str) -> list[str]:
    """Rows whose cell count differs from their table's header, and table-like lines that are not in a table."""
    parser = MarkdownIt("commonmark").enable("table")
    lines = text.splitlines()
    problems, in_table = [], set()
    for token in parser.parse(text):
        if token.type != "table_open":
            continue
        first, end = token.map
        in_table.update(range(first, end))
        header = _cells(lines[first])
        for number in range(first + 2, end):
            if _cells(lines[number]) != header:
                problems.append(f"line {number + 1}: {_cells(lines[number])} cells, header {header}: {lines[number]}")
    fenced = set()
    for token in parser.parse(text):
        if token.type in ("fence", "code_block"):
            fenced.update(range(*token.map))
    for number, line in enumerate(lines):
        if line.startswith("|") and number not in in_table and number not in fenced:
            problems.append(f"line {number + 1} looks like a table row but is not in a table: {line}")
    return problems


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_table_row_has_the_headers_cell_count(path):
    assert table_problems(path.read_text()) == []


def test_the_old_atlas_tables_are_caught():
    """Negative control: the unescaped header stops being a table, the unescaped row gains a cell."""
    problems = table_problems(OLD_ATLAS)
    assert any("not in a table" in p and "median|g|" in p for p in problems), problems
    assert any("4 cells, header 2" in p for p in problems), problems


def test_generated_tables_escape_pipes():
    lines = table(("problem", "eps / median|g|"), [("with surge", "x/(|x|+1)")])
    assert lines[0] == r"| problem | eps / median\|g\| |"
    assert table_problems("\n".join(lines) + "\n") == []
    assert cell(r"already \| escaped") == r"already \| escaped"
    with pytest.raises(ValueError, match="2 cells, its header 1"):
        table(("one",), [("a", "b")])
