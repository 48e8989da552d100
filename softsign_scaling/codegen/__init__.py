"""Code generation: the numeric modules printed from the derivation (numpy/scipy only, no SymPy).

Every module it writes is in numeric/generated/ and holds expressions and coefficients; the runtime that evaluates
them is numeric/'s ordinary modules (tests/test_layers.py: no runtime line in codegen's strings).

numeric_code    generated/closed_forms.py: the clipped moments (stable forms of stable.py), E-9/E-12, the closures
anchored_code   generated/anchored.py: the anchored closed form's expressions and series (A-1 .. A-4; evaluated by
                numeric/anchored_closed.py), and generated/anchored_table.py: the fast route's table in log b
                (numeric/anchored_fast.py), fitted by mpmath (refitted only when its fingerprint changes)
moments_code    generated/exact_tables.py, generated/outside_tables.py: the fast exact moments' tables, fitted to
                numeric/_quadrature.py and numeric/_outside.py (evaluated by numeric/_fast.py)
limits_code     generated/limits.py: the large-b forms in SGD units (L-1 .. L-4, L-7, L-9) and the large-|a|
                forms (L-5, L-6, clip's L-8; served by numeric/_far.py and numeric/families.py)
outside_code    generated/outside.py: eps outside the root: the anchored form's expressions and series (X-12 .. X-15;
                evaluated by numeric/anchored_outside.py), X-9/X-10's series (numeric/outside_series.py)

Reads the math layer (steps, stable forms, the family registry); never imports the exports or the commands.
"""

from __future__ import annotations

from pathlib import Path

from ..steps import Derivation


def write_all(derivation: Derivation, root: Path, force: bool = False) -> list[Path]:
    """Write every generated module under ``root``; the paths written (a module is rewritten only when its
    bytes change; ``generated/closed_forms.py`` and ``generated/exact_tables.py`` are not even regenerated while their inputs'
    fingerprints are unchanged, unless ``force``)."""
    from .anchored_code import write_anchored_module
    from .limits_code import write_limits_module
    from .moments_code import write_moment_tables
    from .numeric_code import write_numeric_module
    from .outside_code import write_outside_module

    return (write_numeric_module(derivation, root, force) + write_anchored_module(derivation, root, force)
            + write_moment_tables(root, force) + write_outside_module(derivation, root, force)
            + write_limits_module(derivation, root, force))
