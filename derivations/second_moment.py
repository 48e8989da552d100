"""Derive and check the article's second moment section; write its artifacts (docs/steps, docs/manifest.json).

Run: python derivations/second_moment.py
"""

import sys

from softsign_scaling.report import run_section_script

if __name__ == "__main__":
    sys.exit(run_section_script(("second_moment",)))
