"""How this process's numpy computes exp, log and log1p, and how to start a process where it uses the C library's.

On x86-64 CPUs with AVX512F numpy 2 dispatches float64 exp/log/log1p to its own SIMD code, whose results differ from
the C library's (libm's, which numba's compiled code calls) by an ulp here and there.  Tests that compare bits between
numpy and a compiled path, and the golden files, must hold on both kinds of machine: such tests ask
:func:`numpy_uses_libm` instead of reading CPU flags, and :data:`LIMITED_DISPATCH` starts a process whose numpy uses
libm's functions on any x86-64 CPU (numpy reads ``NPY_DISABLE_CPU_FEATURES`` at import; ``X86_V4`` is numpy 2's
AVX512 dispatch target, the AVX512 names numpy 1.x's; names a build does not know are ignored).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np

LIMITED_DISPATCH = {
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL "
                                "AVX512_ICL AVX512_SPR",
}


def numpy_uses_libm() -> bool:
    """numpy's exp, log and log1p give the C library's bits (``math``'s) on a seeded sample across their ranges."""
    rng = np.random.default_rng(20261206)
    x = 10.0 ** rng.uniform(-300, 300, 4000)
    e = rng.uniform(-700, 700, 4000)
    return (np.array_equal(np.log(x), [math.log(v) for v in x])
            and np.array_equal(np.log1p(x), [math.log1p(v) for v in x])
            and np.array_equal(np.exp(e), [math.exp(v) for v in e]))


def limited_dispatch_env() -> dict[str, str]:
    return {**os.environ, **LIMITED_DISPATCH}


def libm_under_limited_dispatch() -> bool:
    """Whether a process started with :data:`LIMITED_DISPATCH` has a numpy that uses the C library's functions."""
    code = "import sys; sys.path.insert(0, sys.argv[1]); import platform_math; print(platform_math.numpy_uses_libm())"
    here = os.path.dirname(os.path.abspath(__file__))
    result = subprocess.run([sys.executable, "-c", code, here], capture_output=True, text=True,
                            env=limited_dispatch_env(), timeout=120)
    return result.returncode == 0 and result.stdout.strip() == "True"
