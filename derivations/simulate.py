"""Ground truth (issue 10): the real optimizers on the noisy quadratic model; writes docs/simulation.md.

Same as ``softsign-scaling simulate`` (pass --full, --workers N, --no-cache).  Needs pip install -e '.[sim]'.
"""

import sys

from softsign_scaling.sim.command import main

if __name__ == "__main__":
    sys.exit(main(["simulate", *sys.argv[1:]]))
