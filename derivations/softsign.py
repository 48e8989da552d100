"""Derive and check the article's softsign section; write its artifacts (docs/steps, docs/manifest.json).

Run: python derivations/softsign.py
"""

import sys

from softsign_scaling.report import run_section_script

if __name__ == "__main__":
    sys.exit(run_section_script(("softsign",)))
