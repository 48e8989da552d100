"""Bad input to softsign_scaling.numeric: a ValueError or TypeError naming the parameter, never a silent NaN."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from softsign_scaling import numeric

G = [1.0, -0.5]
SIGMA = [2.0, 1.0]
H = [[2.0, 0.3], [0.3, 1.0]]
EPS = 0.1


def eta(**changes):
    args = {"B": 64.0, "g": G, "sigma": SIGMA, "H": H, "eps": EPS, "model": "mean_field"}
    args.update(changes)
    return lambda: numeric.eta_star(**args)


def peak(**changes):
    args = {"g": G, "sigma": SIGMA, "H": H, "eps": EPS}
    args.update(changes)
    options = {key: args.pop(key) for key in ("model", "kappa2") if key in args}
    return lambda: numeric.surge_peak(numeric.Problem(**args), model=options.get("model", "mean_field"),
                                      kappa2=options.get("kappa2"))


def sgd(**changes):
    args = {"B": 64.0, "g": G, "sigma": SIGMA, "H": H}
    args.update(changes)
    return lambda: numeric.eta_star_sgd(**args)


CASES = [
    # batch size
    ("B negative", eta(B=-1.0), ValueError, "B"),
    ("B zero", eta(B=0.0), ValueError, "B"),
    ("B zero in an array", eta(B=[1.0, 0.0]), ValueError, "B"),
    ("B NaN", eta(B=math.nan), ValueError, "B"),
    ("B NaN in an array", eta(B=[1.0, math.nan, math.inf]), ValueError, "B"),
    ("B string", eta(B="64"), TypeError, "B"),
    ("B complex", eta(B=64 + 0j), TypeError, "B"),
    ("B bool", eta(B=True), TypeError, "B"),
    ("B None", eta(B=None), TypeError, "B"),
    ("sgd B negative", sgd(B=-2.0), ValueError, "B"),
    # eps
    ("eps negative", eta(eps=-1e-8), ValueError, "eps"),
    ("eps NaN", eta(eps=math.nan), ValueError, "eps"),
    ("eps inf", eta(eps=math.inf), ValueError, "eps"),
    ("eps array", eta(eps=[0.1, 0.2]), ValueError, "eps"),
    ("eps string", eta(eps="0.1"), TypeError, "eps"),
    ("peak eps negative", peak(eps=-0.1), ValueError, "eps"),
    # sigma
    ("sigma zero", eta(sigma=[2.0, 0.0]), ValueError, "sigma"),
    ("sigma negative", eta(sigma=[-2.0, 1.0]), ValueError, "sigma"),
    ("sigma NaN", eta(sigma=[2.0, math.nan]), ValueError, "sigma"),
    ("sigma inf", eta(sigma=[2.0, math.inf]), ValueError, "sigma"),
    ("sigma length", eta(sigma=[2.0, 1.0, 1.0]), ValueError, "sigma"),
    ("sgd sigma zero", sgd(sigma=[0.0, 1.0]), ValueError, "sigma"),
    # g
    ("g NaN", eta(g=[math.nan, 1.0]), ValueError, "g"),
    ("g inf", eta(g=[math.inf, 1.0]), ValueError, "g"),
    ("g 2-D", eta(g=[[1.0, 2.0]]), ValueError, "g"),
    ("g empty", eta(g=[], sigma=[], H=np.zeros((0, 0))), ValueError, "g"),
    ("g complex", eta(g=[1 + 1j, 1.0]), TypeError, "g"),
    ("g strings", eta(g=["1", "2"]), TypeError, "g"),
    ("g objects", eta(g=np.array([1.0, None], dtype=object)), TypeError, "g"),
    ("g all zero", eta(g=[0.0, 0.0]), ValueError, "g"),
    ("peak g NaN", peak(g=[1.0, math.nan]), ValueError, "g"),
    # H
    ("H NaN", eta(H=[[2.0, math.nan], [math.nan, 1.0]]), ValueError, "H"),
    ("H inf", eta(H=[[math.inf, 0.0], [0.0, 1.0]]), ValueError, "H"),
    ("H not square", eta(H=[[2.0, 0.3, 0.0], [0.3, 1.0, 0.0]]), ValueError, "H"),
    ("H wrong size", eta(H=np.eye(3)), ValueError, "H"),
    ("H not symmetric", eta(H=[[2.0, 0.3], [0.0, 1.0]]), ValueError, "H"),
    ("H barely not symmetric", eta(H=[[2.0, 0.3], [0.3 + 1e-9, 1.0]]), ValueError, "H"),  # 5e-10 of the scale
    ("H not positive definite", eta(H=[[1.0, 2.0], [2.0, 1.0]]), ValueError, "H"),
    ("H singular", eta(H=[[1.0, 1.0], [1.0, 1.0]]), ValueError, "H"),
    ("H diagonal zero", eta(H=[1.0, 0.0]), ValueError, "H"),
    ("H diagonal length", eta(H=[1.0, 1.0, 1.0]), ValueError, "H"),
    ("H 3-D", eta(H=np.ones((2, 2, 2))), ValueError, "H"),
    ("H complex", eta(H=np.eye(2) * (1 + 0j)), TypeError, "H"),
    ("sgd H not symmetric", sgd(H=[[2.0, 1.0], [0.0, 1.0]]), ValueError, "H"),
    ("peak H not positive definite", peak(H=[[1.0, 2.0], [2.0, 1.0]]), ValueError, "H"),
    # model and kappa2
    ("unknown model", eta(model="adam"), ValueError, "model"),
    ("model not a string", eta(model=3), ValueError, "model"),
    ("peak unknown model", peak(model="sgd"), ValueError, "model"),
    ("kappa2 unknown", eta(kappa2="medium"), ValueError, "kappa2"),
    ("kappa2 array", eta(kappa2=[1.0, 2.0]), ValueError, "kappa2"),
    ("kappa2 with a model that does not take it", eta(model="anchored", kappa2="harmonic"), ValueError, "kappa2"),
    ("kappa2 default name with anchored", eta(model="anchored", kappa2="mean"), ValueError, "kappa2"),
    ("kappa2 with exact", eta(model="exact", kappa2=2.0), ValueError, "kappa2"),
    ("peak kappa2 with clip", peak(model="clip", kappa2="ratio"), ValueError, "kappa2"),
    ("loss kappa2 with approx", lambda: numeric.loss_decrease(1.0, G, SIGMA, H, EPS, model="approx", kappa2="mean"),
     ValueError, "kappa2"),
    ("loss unknown model", lambda: numeric.loss_decrease(1.0, G, SIGMA, H, EPS, model="adam"), ValueError, "model"),
    ("loss B zero", lambda: numeric.loss_decrease(0.0, G, SIGMA, H, EPS), ValueError, "B"),
    # the problem
    ("placement unknown", lambda: numeric.Problem(G, SIGMA, H, EPS, placement="middle"), ValueError, "placement"),
    ("averaged outside", lambda: numeric.eta_star(1.0, numeric.Problem(G, SIGMA, H, EPS, placement="outside"),
                                                  model="averaged"), ValueError, "model"),
    ("beta1 one", lambda: numeric.Problem(G, SIGMA, H, EPS, beta1=1.0), ValueError, "beta1"),
    ("problem and arrays", lambda: numeric.eta_star(1.0, numeric.Problem(G, SIGMA, H, EPS), SIGMA), TypeError,
     "sigma"),
    ("eps missing", lambda: numeric.eta_star(1.0, G, SIGMA, H), TypeError, "eps"),
    ("kappa2 negative", eta(kappa2=-1.0), ValueError, "kappa2"),
    ("kappa2 NaN", eta(kappa2=math.nan), ValueError, "kappa2"),
    ("kappa2 infinite mean", eta(g=[1.0, 0.0], eps=0.0, model="mean_field"), ValueError, "kappa2"),
    # moment functions of (a, b)
    ("a NaN", lambda: numeric.mean_clip(math.nan, 1.0), ValueError, "a"),
    ("a inf", lambda: numeric.second_moment_clip(math.inf, 1.0), ValueError, "a"),
    ("b negative zero-ish", lambda: numeric.mean_clip(1.0, -1e-300), ValueError, "b"),
    ("b negative", lambda: numeric.variance_clip(1.0, -1.0), ValueError, "b"),
    ("b NaN", lambda: numeric.mean_exact(1.0, math.nan), ValueError, "b"),
    ("b inf", lambda: numeric.second_moment_exact(1.0, math.inf), ValueError, "b"),
    ("b inf in an array", lambda: numeric.variance_exact([1.0, 2.0], [1.0, math.inf]), ValueError, "b"),
    ("a complex", lambda: numeric.mean_clip(1j, 1.0), TypeError, "a"),
    ("b string", lambda: numeric.mean_exact(1.0, "1"), TypeError, "b"),
    ("a and b do not broadcast", lambda: numeric.mean_clip([1.0, 2.0], [1.0, 2.0, 3.0]), ValueError, "a"),
    ("approx b negative", lambda: numeric.mean_approx(1.0, -1.0), ValueError, "b"),
    ("approx a NaN", lambda: numeric.variance_approx(math.nan, 1.0), ValueError, "a"),
]


@pytest.mark.parametrize("call, error, name", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_by_name(call, error, name):
    with pytest.raises(error) as raised:
        call()
    assert re.match(rf"{name}\b", str(raised.value)), str(raised.value)  # the message starts with the name


def test_full_batch_is_the_limit():
    """B = inf is allowed and gives the B -> oo limit of every model."""
    for model in numeric.MODELS:
        at_inf = numeric.eta_star(math.inf, G, SIGMA, H, EPS, model=model)
        large = numeric.eta_star(1e14, G, SIGMA, H, EPS, model=model)
        assert math.isfinite(at_inf) and abs(large / at_inf - 1) < 1e-6, model
    assert numeric.eta_star_sgd(math.inf, G, SIGMA, H) == pytest.approx(np.dot(G, G) / (np.array(G) @ np.array(H) @ G),
                                                                        rel=1e-15)


def test_sign_sgd_at_eps_zero():
    """eps = 0 is SignSGD: the clip and exact models coincide (both are the sign), no NaN anywhere."""
    B = np.array([1e-8, 1.0, 1e8, math.inf])
    clip = numeric.eta_star(B, G, SIGMA, H, 0.0, model="clip")
    exact = numeric.eta_star(B, G, SIGMA, H, 0.0, model="exact")
    assert np.all(np.isfinite(clip)) and np.array_equal(clip, exact)
    for model in numeric.MODELS:
        kappa2 = "ratio" if "kappa2" in numeric.get_model(model).options else None
        assert np.all(np.isfinite(numeric.eta_star(B, [1.0, 0.0], SIGMA, H, 0.0, model=model, kappa2=kappa2)))


def test_messages_print_plain_numbers():
    """Issue 9 item 8: 'smallest value 0.0', never 'np.float64(0.0)'."""
    for call in (eta(B=np.array([1.0, 0.0])), eta(eps=np.float64(-1.0)), eta(kappa2=np.float64(-2.0)),
                 lambda: numeric.mean_clip(1.0, np.float64(-0.5)), eta(sigma=np.array([2.0, -1.0]))):
        with pytest.raises(ValueError) as raised:
            call()
        assert "np." not in str(raised.value) and "float64(" not in str(raised.value), str(raised.value)
    with pytest.raises(ValueError, match=r"smallest value 0\.0\)"):
        eta(B=np.array([1.0, 0.0]))()


def test_shapes_and_scalars():
    assert isinstance(numeric.mean_clip(1.0, 2.0), float)
    assert isinstance(numeric.eta_star(3, G, SIGMA, H, EPS), float)
    assert isinstance(numeric.mean_exact(np.float32(1.0), 2), float)
    assert numeric.mean_clip(np.ones((2, 3)), np.ones(3)).shape == (2, 3)
    assert numeric.eta_star(np.ones((4, 1)), G, SIGMA, H, EPS).shape == (4, 1)
    assert numeric.second_moment_exact([1, 2], 1).dtype == np.float64  # integers are accepted
    assert numeric.mean_clip(np.array([]), 1.0).shape == (0,)
