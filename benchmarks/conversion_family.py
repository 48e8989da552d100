"""How well a constant c in eps_in = c eps_out converts PyTorch's eps (outside the root) into the article's
(inside), over the atlas's problem family (atlas/meanfield.py: n in {4, 16, 64}, rho, coupling, eps_rel > 0,
11 batch sizes from B_simple/100 to 1000 B_simple; the first seed of each combination).

For each (problem, B): eta*_exact,inside(c eps) / eta*_exact,outside(eps).  Prints, per c, the median ratio,
the ratio farthest from 1 and the share within 10% and 5%; then the share within 10% per eps_rel.
Run: PYTHONPATH=$PWD python benchmarks/conversion_family.py   (about a minute)
"""

import itertools

import numpy as np

from softsign_scaling import numeric
from softsign_scaling.atlas import meanfield

CONSTANTS = (1.0, 1.2, 1.3, 1.35, 1.4, 1.5, 1.7, 2.0, 2.5, 3.0)
EPS_REL = tuple(e for e in meanfield.EPS_REL_VALUES if e > 0)


def main() -> None:
    by_eps = {e: [] for e in EPS_REL}
    for n, rho, eps_rel, coupling in itertools.product(meanfield.N_VALUES, meanfield.RHO_VALUES, EPS_REL,
                                                       meanfield.COUPLINGS):
        p = meanfield.problem(0, n, rho, eps_rel, coupling)
        q = p.problem
        outside = numeric.eta_star(p.B, numeric.Problem(q.g, q.sigma, q.H, q.eps, placement="outside"),
                                   model="exact")
        by_eps[eps_rel].append(np.array([numeric.eta_star(p.B, numeric.Problem(q.g, q.sigma, q.H, c * q.eps),
                                                          model="exact") / outside for c in CONSTANTS]))
    every = np.concatenate([r for rows in by_eps.values() for r in rows], axis=1)
    print("c      median  farthest  within 10%  within 5%")
    for k, c in enumerate(CONSTANTS):
        x = every[k]
        print(f"{c:<6g} {np.median(x):6.3f}  {x[np.argmax(np.abs(np.log(x)))]:8.3f}  {np.mean(np.abs(x - 1) <= 0.1):10.2f}"
              f"  {np.mean(np.abs(x - 1) <= 0.05):9.2f}")
    for eps_rel, rows in by_eps.items():
        x = np.concatenate(rows, axis=1)
        shares = " ".join(f"{c:g}:{np.mean(np.abs(x[k] - 1) <= 0.1):.2f}" for k, c in enumerate(CONSTANTS))
        print(f"eps_rel {eps_rel:g}: within 10% by c  {shares}")


if __name__ == "__main__":
    main()
