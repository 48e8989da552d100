"""Derive and check the article's scurves section; write its artifacts (docs/steps, docs/manifest.json).

Run: python derivations/scurves.py
"""

import sys

from softsign_scaling.report import run_section_script

if __name__ == "__main__":
    sys.exit(run_section_script(("scurves",)))
