"""Code generation: the numeric modules printed from the derivation (numpy/scipy only, no SymPy).

numeric_code    numeric/generated/closed_forms.py: the clipped moments (stable forms of stable.py), E-9/E-12, the closures
anchored_code   numeric/generated/anchored.py: the anchored closed form (A-1 .. A-4), and numeric/generated/anchored_table.py: its fast
                route's table in log b, fitted by mpmath (refitted only when its fingerprint changes)
moments_code    numeric/generated/exact_tables.py: the fast exact moments' tables, fitted to numeric/_quadrature.py
outside_code    numeric/generated/outside.py: eps outside the root: anchored form (X-12 .. X-15), X-9/X-10 series

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
    from .moments_code import write_moment_tables
    from .numeric_code import write_numeric_module
    from .outside_code import write_outside_module

    return (write_numeric_module(derivation, root, force) + write_anchored_module(derivation, root, force)
            + write_moment_tables(root, force) + write_outside_module(derivation, root, force))
