"""Derive and check the article's results section; write its artifacts (docs/steps, docs/manifest.json).

Run: python derivations/results.py
"""

import sys

from softsign_scaling.report import run_section_script

if __name__ == "__main__":
    sys.exit(run_section_script(("quadratic", "results")))
