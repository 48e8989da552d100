"""A mutation audit of the code outside the derivation (the numeric layer, the simulation, the real-model tools).

The derivation's steps have their own mutation test (tests/test_mutations.py, every step, every mutant kind).  This
audit covers the rest by hand-picked mutants: each is one small change to one line (a flipped comparison, a dropped
term, a wrong constant, a formula swapped for its neighbour) that a test should notice, applied to a copy of the
repository, against the test files that cover that module.  A mutant is killed when those tests fail.

It starts with the survivors of the first audit (issue 21: 46 of 61 killed) and adds mutants of the same kinds in the
same modules.  Equivalent mutants (no input tells them apart) are listed with the reason and not counted.

Usage:
  python benchmarks/mutation_audit.py            every mutant (~10-15 minutes on 2 cores)
  python benchmarks/mutation_audit.py NAME ...   the named mutants only
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]


class Mutant(NamedTuple):
    name: str
    path: str        # relative to the repository
    original: str    # must occur in the file; its first occurrence at or after `after` is replaced
    mutated: str
    tests: tuple[str, ...]
    after: str = ""  # an anchor before the original (to pick one occurrence among several)


MUTANTS = (
    # real/predict.py (the survivors of the first audit first)
    Mutant("predict.surge_refinement", "softsign_scaling/real/predict.py", "shift * (x1 - x0)", "shift * (x1 + x0)",
           ("tests/test_real.py",)),
    Mutant("predict.regime_sqrt_B", "softsign_scaling/real/predict.py", "b = eps * math.sqrt(B) / np.where",
           "b = eps * B / np.where", ("tests/test_real.py",)),
    Mutant("predict.infinite_band", "softsign_scaling/real/predict.py",
           "low, high = eta / np.quantile(ratios, 0.975, axis=0), eta / np.quantile(ratios, 0.025, axis=0)",
           "low, high = eta * 0.0, eta * np.inf", ("tests/test_real.py",)),
    Mutant("predict.band_levels", "softsign_scaling/real/predict.py", "np.quantile(ratios, 0.975, axis=0)",
           "np.quantile(ratios, 0.75, axis=0)", ("tests/test_real.py",)),
    Mutant("predict.surge_any_rise", "softsign_scaling/real/predict.py",
           "if values[k] > values[k - 1] and values[k] >= values[k + 1]:", "if values[k] > values[k - 1]:",
           ("tests/test_real.py",)),
    # sim/nqm.py
    Mutant("nqm.symmetrise_half", "softsign_scaling/sim/nqm.py", "return (array + array.T) / 2", "return array / 2",
           ("tests/test_sim.py",)),
    Mutant("nqm.zero_diagonal", "softsign_scaling/sim/nqm.py", "if not (array > 0).all():",
           "if not (array >= 0).all():", ("tests/test_sim.py",)),
    Mutant("nqm.colour_transposed", "softsign_scaling/sim/nqm.py", "z @ self.root.T", "z @ self.root",
           ("tests/test_sim.py",)),
    Mutant("nqm.negative_eps", "softsign_scaling/sim/nqm.py", "eps >= 0)", "eps >= -1)", ("tests/test_sim.py",)),
    # sim/optimizers.py
    Mutant("optimizers.error_formula", "softsign_scaling/sim/optimizers.py", "np.abs(got - want)", "np.abs(got - got)",
           ("tests/test_sim.py",)),
    Mutant("optimizers.softsign_reference", "softsign_scaling/sim/optimizers.py",
           "lambda g, e: g / np.sqrt(g * g + e * e)", "lambda g, e: g / (np.abs(g) + e)", ("tests/test_sim.py",)),
    # sim/estimate.py
    Mutant("estimate.delta_se", "softsign_scaling/sim/estimate.py", "residual.var(ddof=1) / N", "residual.var(ddof=1)",
           ("tests/test_sim.py",)),
    Mutant("estimate.bernstein_constant", "softsign_scaling/sim/estimate.py", "7 * value_range * log_term / (3 * (N - 1))",
           "value_range * log_term / (3 * (N - 1))", ("tests/test_sim.py",)),
    # numeric/_kernel.py (compiled; tests/test_kernel.py compares it with the numpy path)
    Mutant("kernel.outside_variance_switch", "softsign_scaling/numeric/_kernel.py",
           "r = 1.0 if bi < b_low else ratio[i]", "r = 1.0 if bi <= b_low else ratio[i]", ("tests/test_kernel.py",),
           after="def _outside_variance"),
    Mutant("kernel.inside_variance_switch", "softsign_scaling/numeric/_kernel.py", "if bi < b_low:", "if bi <= b_low:",
           ("tests/test_kernel.py",)),
    Mutant("kernel.kink_branch", "softsign_scaling/numeric/_kernel.py",
           "kink = bi * math.log1p(1.0 / bi) if bi > 1.0", "kink = bi * math.log1p(1.0 / bi) if bi > 10.0",
           ("tests/test_kernel.py",)),
    # numeric (the families' sign form) and the models
    Mutant("numeric.sign_mean_odd", "softsign_scaling/numeric/families.py",
           "return np.copysign(_g.mean_clip_b0(np.abs(a)), a)", "return _g.mean_clip_b0(np.abs(a))",
           ("tests/test_numeric_properties.py",)),
    Mutant("problem.symmetry_tolerance", "softsign_scaling/numeric/problem.py",
           "<= 0.5e-12 * scale:", "<= 0.5e-2 * scale:", ("tests/test_numeric_input.py",)),
    Mutant("problem.zero_gradient", "softsign_scaling/numeric/problem.py",
           "if not any(np.asarray(g[start:stop]).any() for start, stop in _spans(n)):", "if False:",
           ("tests/test_numeric_input.py",)),
    Mutant("problem.diagonal_dominance", "softsign_scaling/numeric/problem.py",
           "(diagonal > np.abs(dense).sum(axis=1) - diagonal).all()", "(diagonal > 0).all()",
           ("tests/test_numeric_input.py",)),
    Mutant("efficiency.half_saturation", "softsign_scaling/numeric/efficiency.py", "excess = ratio(np.exp(grid)) - 0.5",
           "excess = ratio(np.exp(grid)) - 0.4", ("tests/test_efficiency.py",)),
    Mutant("models.peak_tolerance", "softsign_scaling/numeric/models.py",
           "if values[k] - max(low_left, low_right) <= _PEAK_TOLERANCE * values[k]:",
           "if values[k] - min(low_left, low_right) <= _PEAK_TOLERANCE * values[k]:",
           ("tests/test_numeric_registry.py", "tests/test_numeric_properties.py")),
    # real/statsfile.py
    Mutant("statsfile.format_check", "softsign_scaling/real/statsfile.py",
           'if "format" not in data.files or str(data["format"]) != FORMAT:',
           'if "format" not in data.files:', ("tests/test_real.py",)),
)

# No input tells these apart from the code: listed, not counted.
EQUIVALENT = {
    "kernel.outside_mean_switch (r = 1.0 if bi <= b_low, in _outside_mean)":
        "the outside mean table's ratio is exactly 1.0 at b = OUTSIDE_B_LOW for every a "
        "(tests/test_fitted_tables.py::test_the_switches_below_the_tables_are_seamless), so both sides give the same "
        "bits at the switch point",
}


def apply(tree: Path, mutant: Mutant) -> str:
    path = tree / mutant.path
    text = path.read_text(encoding="utf-8")
    start = text.index(mutant.after) if mutant.after else 0
    at = text.index(mutant.original, start)
    path.write_text(text[:at] + mutant.mutated + text[at + len(mutant.original):], encoding="utf-8")
    return text


def killed(tree: Path, mutant: Mutant) -> tuple[bool, float]:
    original = apply(tree, mutant)
    start = time.time()
    try:
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *mutant.tests],
                                cwd=tree, env={**__import__("os").environ, "PYTHONPATH": str(tree),
                                               "NUMBA_CACHE_DIR": str(tree / ".numba")},
                                capture_output=True, text=True)
    finally:
        (tree / mutant.path).write_text(original, encoding="utf-8")
    return result.returncode != 0, time.time() - start


def main(names: list[str]) -> int:
    chosen = [m for m in MUTANTS if not names or m.name in names]
    unknown = set(names) - {m.name for m in MUTANTS}
    if unknown:
        print(f"unknown mutants: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        tree = Path(folder)
        archive = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        for name in archive.decode().split("\0"):
            if name and (ROOT / name).is_file():
                (tree / name).parent.mkdir(parents=True, exist_ok=True)
                (tree / name).write_bytes((ROOT / name).read_bytes())
        for mutant in chosen:  # every original must be there (a stale audit is an error, not a survivor)
            text = (tree / mutant.path).read_text(encoding="utf-8")
            if mutant.original not in text[text.index(mutant.after) if mutant.after else 0:]:
                print(f"{mutant.name}: {mutant.original!r} is not in {mutant.path}", file=sys.stderr)
                return 2
        results = []
        for mutant in chosen:
            dead, seconds = killed(tree, mutant)
            results.append(dead)
            print(f"{'killed  ' if dead else 'SURVIVED'} {mutant.name:34s} {seconds:6.1f} s  {', '.join(mutant.tests)}",
                  flush=True)
    print(f"\n{sum(results)} of {len(results)} mutants killed ({100 * sum(results) / len(results):.0f}%)")
    for name, reason in EQUIVALENT.items():
        print(f"equivalent (not counted): {name}: {reason}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
