"""Docs that execute: every >>> example in docs/*.md (hand-written ones) runs here."""

import doctest
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("name", ["usage.md"])
def test_doc_examples_run(name):
    failures, tried = doctest.testfile(str(DOCS / name), module_relative=False,
                                       optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failures == 0
