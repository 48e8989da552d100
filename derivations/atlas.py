"""The error atlas: measure every approximation layer against exact references; write docs/atlas.md.

Run: python derivations/atlas.py [--full]
To run the random-problem sweep on a Dask cluster instead of local processes:

    from distributed import Client
    from softsign_scaling.atlas.report import run_atlas
    from softsign_scaling.artifacts import repository_root
    run_atlas(repository_root(), executor=Client("tcp://scheduler:8786").get_executor())
"""

import sys

from softsign_scaling.cli import main

if __name__ == "__main__":
    sys.exit(main(["atlas", *sys.argv[1:]]))
