"""Exports of the derivation: per-step LaTeX snippets and a machine-readable manifest."""
