"""A seeded bit-identity comparison of the numeric layer (issue 24: a refactoring must change no bit).

Evaluates every public numeric function (the moments of every family, the outside series, the momentum forms) and
every registered model's eta_star / loss_decrease / surge_peak / b_noise (and each per-component model's own
moments, both placements) on fixed seeded inputs, including the extreme regimes (b = 0, b < 1e-150, b >= 1e50,
|a| >= 1e50, eps beyond 1e100, B = 0+ and B = inf, the outside placement, beta1 > 0, an operator H), and hashes the
float64 bytes of every result (an error's one-line message is hashed instead of a value).

Run: python benchmarks/numeric_identity.py --write FILE   (record; e.g. on main before a change)
     python benchmarks/numeric_identity.py --compare FILE (exit 1 and list what differs)
     python benchmarks/numeric_identity.py --speed BASE_DIR [--rounds R]
                                                (time this tree against another checkout's package, alternating
                                                 fresh processes in one run; prints the ratios)
Bits, not tolerances: numpy's exp/log differ by ulps across CPUs (AVX512), so a digest is compared on the machine
that wrote it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from softsign_scaling import numeric  # noqa: E402
from softsign_scaling.numeric import momentum, outside_series  # noqa: E402

SEED = 20261206


def _bytes(value) -> bytes:
    if isinstance(value, (tuple, list)):
        return b"(" + b",".join(_bytes(item) for item in value) + b")"
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bool, np.bool_)):
        return b"T" if value else b"F"
    array = np.asarray(value, dtype=float)
    return str(array.shape).encode() + np.ascontiguousarray(array).tobytes()


def _digest(function, *args, **kwargs) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = function(*args, **kwargs)
        extra = b""
        if hasattr(value, "peaks"):  # SurgePeak: the float, its peaks and its limit
            extra = _bytes([list(p) for p in value.peaks]) + _bytes(value.limit)
        payload = _bytes(value) + extra
    except Exception as error:  # noqa: BLE001 - an error's message is part of the behaviour
        payload = f"{type(error).__name__}: {error}".encode()
    return hashlib.sha256(payload).hexdigest()[:16]


def ab_points(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(a, b): random regular points and every regime edge, crossed."""
    a_regular = rng.standard_normal(400) * np.exp(rng.uniform(-3, 4, 400))
    b_regular = np.exp(rng.uniform(-12, 8, 400))
    a_edges = np.array([0.0, -0.0, 1e-300, -1e-30, 0.3, -2.5, 7.0, 40.0, -1e6, 1e20, 1e49, 1e50, -1e50, 3e60, -1e200,
                        1e300, 1.7e308])
    b_edges = np.array([0.0, 5e-324, 1e-200, 1e-151, 1e-150, 2e-150, 1e-100, 1e-8, 0.1, 1.0, 9.99, 10.0, 10.01, 1e3,
                        1e8, 1e49, 1e50, 2e50, 1e100, 1e200, 1e300, 1.7e308])
    A, Bg = np.meshgrid(a_edges, b_edges)
    return np.concatenate([a_regular, A.ravel()]), np.concatenate([b_regular, Bg.ravel()])


def moment_digests(a: np.ndarray, b: np.ndarray) -> dict[str, str]:
    out = {}
    names = [name for name in numeric.__all__ if name.startswith(("mean_", "second_moment_", "variance_", "moments_"))]
    names += [name for name in ("mean_anchored", "variance_anchored", "second_moment_anchored", "moments_anchored",
                                "mean_anchored_outside", "variance_anchored_outside", "moments_anchored_outside")
              if hasattr(numeric, name)]
    for name in sorted(set(names)):
        function = getattr(numeric, name)
        out[f"{name}(grid)"] = _digest(function, a, b)
        out[f"{name}(point)"] = _digest(function, 0.7, 0.3)
        out[f"{name}(point b=0)"] = _digest(function, -1.3, 0.0)
        if name.endswith("_exact") and not name.startswith("moments"):
            keep = np.abs(a) < 50
            out[f"{name}(quadrature)"] = _digest(function, a[keep][::7], b[keep][::7], method="quadrature")
    for name in ("mean_outside_large_b", "second_moment_outside_large_b", "outside_large_b_bounds",
                 "mean_outside_small_b", "second_moment_outside_small_b", "k0_outside", "s0_outside"):
        function = getattr(outside_series, name)
        if name in ("k0_outside", "s0_outside"):
            out[f"outside_series.{name}"] = _digest(function, b)
        else:
            big = b > 20
            small = (b < 0.01) & (b > 0)
            out[f"outside_series.{name}(big)"] = _digest(function, a[big], b[big])
            out[f"outside_series.{name}(small)"] = _digest(function, a[small], b[small])
    for name in numeric.model_names():
        model = numeric.get_model(name)
        for field in ("moments", "outside", "far", "outside_far"):
            form = getattr(model, field, None)
            if callable(form):
                finite = b < 1e50 if field in ("moments", "outside") else b >= 1e50
                out[f"model {name}.{field}"] = _digest(form, a[finite], b[finite])
    return out


def problems(rng: np.random.Generator) -> dict[str, numeric.Problem]:
    n = 7
    g, sigma = rng.standard_normal(n), rng.uniform(0.5, 2.0, n)
    diag = rng.uniform(0.1, 1.0, n)
    root = rng.standard_normal((n, n)) / 3
    dense = root @ root.T + np.diag(diag)
    out = {
        "diag": numeric.Problem(g, sigma, diag, 1e-2),
        "dense": numeric.Problem(g, sigma, dense, 0.3),
        "sign": numeric.Problem(g, sigma, dense, 0.0),
        "huge_eps": numeric.Problem(g, sigma, diag, 1e120),
        "far_eps": numeric.Problem(g, sigma, diag, 1e48),
        "tiny_eps": numeric.Problem(g, sigma, diag, 1e-160),
        "huge_g": numeric.Problem(g * 1e55, sigma, diag * 1e-110, 1e-3),
        "outside": numeric.Problem(g, sigma, dense, 0.05, placement="outside"),
        "outside_far": numeric.Problem(g, sigma, diag, 1e60, placement="outside"),
        "momentum": numeric.Problem(g, sigma, diag, 0.1, beta1=0.9),
        "zero_g": numeric.Problem(np.r_[g[:3], 0.0], sigma[:4], diag[:4], 0.2),
        "operator": numeric.Problem(g, sigma, lambda v: dense @ v, 0.2, H_diagonal=np.diag(dense)),
    }
    return out


BATCHES = np.array([1e-12, 0.5, 1.0, 3.0, 64.0, 1e3, 1e6, 1e40, 1e120, np.inf])


def model_digests(rng: np.random.Generator, quick: bool) -> dict[str, str]:
    out = {}
    for label, problem in problems(rng).items():
        for name in numeric.model_names():
            model = numeric.get_model(name)
            variants = model.atlas_variants() or {name: {}}
            for variant, options in variants.items():
                key = f"{label}/{variant}"
                out[f"eta_star {key}"] = _digest(numeric.eta_star, BATCHES, problem, model=name, **options)
                out[f"loss_decrease {key}"] = _digest(numeric.loss_decrease, BATCHES, problem, model=name, **options)
                if not quick and label in ("diag", "dense", "sign", "outside", "momentum", "huge_eps"):
                    out[f"surge_peak {key}"] = _digest(numeric.surge_peak, problem, model=name, **options)
                if not quick and label in ("diag", "dense", "outside"):
                    out[f"b_noise {key}"] = _digest(numeric.b_noise, problem, model=name, **options)
                    out[f"dl_max {key}"] = _digest(numeric.dl_max, problem, model=name, **options)
        out[f"eta_star_sgd {label}"] = _digest(numeric.eta_star_sgd, BATCHES, problem)
        out[f"averaged_large_b {label}"] = _digest(momentum.averaged_large_b, problem)
        out[f"averaged_surge_mean_field {label}"] = _digest(momentum.averaged_surge_mean_field, problem)
    out["eta_star bad option"] = _digest(numeric.eta_star, 1.0, problems(np.random.default_rng(SEED))["diag"],
                                         model="anchored", kappa2="harmonic")
    outside = problems(np.random.default_rng(SEED))["outside"]
    out["eps_inside_equivalent"] = _digest(numeric.eps_inside_equivalent, np.array([1.0, 64.0]), outside)
    return out


def digests(quick: bool = False) -> dict[str, str]:
    rng = np.random.default_rng(SEED)
    a, b = ab_points(rng)
    out = moment_digests(a, b)
    out.update(model_digests(rng, quick))
    return out


SPEED_CODE = r"""
import json, sys, time
import numpy as np
from softsign_scaling import numeric
rng = np.random.default_rng(20261129)
n = 10**6
g, sigma, h = rng.standard_normal(n), rng.uniform(0.5, 2.0, n), rng.uniform(0.1, 1.0, n)
problem = numeric.Problem(g, sigma, h, 1e-3)
B = np.geomspace(1.0, 1e4, 20)
a, b = rng.standard_normal(10**6) * 3, np.exp(rng.uniform(-10, 5, 10**6))
small = numeric.Problem(g[:20000], sigma[:20000], h[:20000], 1e-3)
jobs = {
    "eta_star anchored n=1e6 x 20 B": lambda: numeric.eta_star(B, problem, model="anchored"),
    "eta_star exact n=1e6 x 20 B": lambda: numeric.eta_star(B, problem, model="exact"),
    "eta_star clip n=1e6 x 20 B": lambda: numeric.eta_star(B, problem, model="clip"),
    "eta_star mean_field n=1e6 x 20 B": lambda: numeric.eta_star(B, problem, model="mean_field"),
    "moments_exact 1e6 points": lambda: numeric.moments_exact(a, b),
    "mean_clip 1e6 points": lambda: numeric.mean_clip(a, b),
    "variance_approx 1e6 points": lambda: numeric.variance_approx(a, b),
    "surge_peak anchored n=2e4": lambda: numeric.surge_peak(small, model="anchored"),
    "scalar mean_exact x 2000": lambda: [numeric.mean_exact(0.5, 0.3) for _ in range(2000)],
}
only = sys.argv[1] if len(sys.argv) > 1 else ""
jobs = {name: job for name, job in jobs.items() if only in name}
numeric.eta_star(B, problem, model="anchored"), numeric.eta_star(B[:2], problem, model="exact")  # warm-up
out = {}
for name, job in jobs.items():
    start = time.process_time()
    job()
    out[name] = time.process_time() - start
print(json.dumps(out))
"""


def speed(base: Path, rounds: int, only: str = "") -> int:
    """CPU seconds of the same jobs in this tree and in ``base`` (a directory holding a softsign_scaling package),
    alternating fresh processes (this, base, this, base, ...) so that the machine's load falls on both alike;
    the ratio of the medians, this/base, per job."""
    import os
    import statistics
    import subprocess

    times: dict[str, dict[str, list[float]]] = {"this": {}, "base": {}}
    for _ in range(rounds):
        for label, tree in (("this", ROOT), ("base", base)):
            env = {**os.environ, "PYTHONPATH": str(tree)}
            out = subprocess.run([sys.executable, "-c", SPEED_CODE, only], env=env, capture_output=True, text=True,
                                 check=True, cwd=str(tree))
            for name, seconds in json.loads(out.stdout.strip().splitlines()[-1]).items():
                times[label].setdefault(name, []).append(seconds)
    print(f"| job | this tree (CPU s, median of {rounds}) | base | this/base |")
    print("| --- | --- | --- | --- |")
    worst = 0.0
    for name in times["this"]:
        mine, theirs = statistics.median(times["this"][name]), statistics.median(times["base"][name])
        worst = max(worst, mine / theirs)
        print(f"| {name} | {mine:.3g} | {theirs:.3g} | {mine / theirs:.3f} |")
    print(f"largest ratio: {worst:.3f}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path)
    group.add_argument("--compare", type=Path)
    group.add_argument("--speed", type=Path, metavar="BASE_DIR", help="time against another tree's package")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="", help="--speed: only the jobs whose name contains this")
    parser.add_argument("--quick", action="store_true", help="skip surge_peak and b_noise")
    args = parser.parse_args(argv)
    if args.speed:
        return speed(args.speed, args.rounds, args.only)
    found = digests(args.quick)
    if args.write:
        args.write.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
        print(f"{len(found)} digests written to {args.write}")
        return 0
    recorded = json.loads(args.compare.read_text())
    differ = sorted(key for key in recorded.keys() & found.keys() if recorded[key] != found[key])
    missing = sorted(recorded.keys() - found.keys())
    new = sorted(found.keys() - recorded.keys())
    for key in differ:
        print(f"DIFFERS  {key}")
    for key in missing:
        print(f"MISSING  {key}")
    for key in new:
        print(f"new      {key}")
    common = len(recorded.keys() & found.keys())
    print(f"{common - len(differ)} of {common} identical; {len(missing)} missing, {len(new)} new")
    return 1 if differ or missing else 0


if __name__ == "__main__":
    sys.exit(main())
