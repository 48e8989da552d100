"""Exports of the derivation (the layer above the math and the code generators):

latex           per-step LaTeX snippets (docs/steps/<label>.tex), printed with the article's symbol names
manifest        the machine-readable manifest (docs/manifest.json)
figures         docs/figures/*.png
appendix        docs/appendix.tex and docs/derivation.md from the steps and their check results
appendix_build  ``softsign-scaling appendix``: derive, verify, draw, write, compile

The files are written by :mod:`softsign_scaling.artifacts` (snippets, manifest) through
:mod:`softsign_scaling.files`.  numeric_code and anchored_code here only re-export
:mod:`softsign_scaling.codegen` for callers not yet moved to :func:`softsign_scaling.codegen.write_all`.
"""
