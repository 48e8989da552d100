"""The machine-readable manifest of the derivation (docs/manifest.json)."""

from __future__ import annotations

import json

import sympy as sp

from ..steps import Derivation
from .latex import latex


def manifest(derivation: Derivation) -> str:
    records = []
    for step in derivation.steps:
        records.append({
            "label": step.label,
            "section": step.section,
            "statement": step.statement,
            "relation": {"kind": step.relation.kind, "meaning": step.relation.meaning},
            "definition": sp.sstr(step.definition),
            "result": sp.sstr(step.result),
            "result_srepr": sp.srepr(step.result),
            "result_latex": latex(step.result),
            "printed": None if step.printed is None else sp.sstr(step.printed),
            "depends": list(step.depends),
            "checks": [c.name for c in step.checks],
            "extras": {name: sp.sstr(value) for name, value in step.extras},
            "note": step.note,
        })
    return json.dumps({"generator": "softsign_scaling", "steps": records}, indent=1, ensure_ascii=False) + "\n"
