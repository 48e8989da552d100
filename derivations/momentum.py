"""Issue 12, item 5: momentum models against warmed-up real torch Adam; writes docs/momentum.md and its figure.

Usage: python derivations/momentum.py [--out DIR] [--workers N] [--no-cache]   (needs pip install -e '.[sim]')
The same as `softsign-scaling momentum` (softsign_scaling/sim/command.py), which this runs.
"""

import sys

from softsign_scaling.cli import main

if __name__ == "__main__":
    sys.exit(main(["momentum", *sys.argv[1:]]))
