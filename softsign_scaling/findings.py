"""The project's findings: the article's claims that the checks refute, recorded once.

A :class:`~softsign_scaling.checks.base.Claim` names its finding (``finding="..."``)
when the project expects the claim to be refuted.  Its verdict is then "refuted"
when the evidence refutes it, and "fail" when the evidence no longer does (the
finding is not reproduced).  A claim with no finding recorded must hold: a new
refutation is a failure until someone records it here, with its evidence.

The README's list of findings is tested against this record.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    key: str
    label: str  # the step whose claim it refutes
    headline: str  # one sentence, as the README states it
    evidence: str  # where the evidence comes from (the claim's detail holds the numbers)


FINDINGS: dict[str, Finding] = {
    f.key: f
    for f in (
        Finding("s-not-monotone", "E-15",
                "\"nu_i shrinks, so sum nu_i nu_j H_ij shrinks\" is false for general SPD H",
                "a seeded random search over SPD H finds S(eps) increasing; the claim's detail gives g, H and eps"),
        Finding("eps-creates-surge", "E-15",
                "in the mean-field model (E-14), a larger eps can create a surge",
                "g = [1]*6 + [-1e-3]*4, H = ones(10) + 0.1 I: S <= 2T as eps -> 0, S > 2T at eps ~ 3e-3 (E-15's"
                " mean-field condition; the exact Gaussian model and real optax/torch steps show no such surge on"
                " this problem: docs/simulation.md, sections 3b and 6)"),
        Finding("e18-pi-over-2", "E-18",
                "E-18's pi/2 is an artefact of E-12",
                "the exact eps -> oo limit of the Gaussian SoftSign model has noise sigma^2/B (P-10 with Sigma/B); "
                "E-18, from E-12, has pi sigma^2/(2B)"),
        Finding("b-noise-direction", "X-26",
                "under the mean field, B_noise(eps) can fall, rise, or do both as eps grows",
                "d ln B_noise/d eps = 2 eps (W_S - W_kappa) (X-26) on a log eps grid for 500 seeded random problems;"
                " the claim's detail gives the counts and the first non-monotone problem"),
        Finding("b-noise-dip", "X-27",
                "exactly, one component's B_noise dips below both its eps = 0 and its eps -> oo values",
                "the exact half-saturation batch by quadrature: 1.106 sigma^2/g^2 at eps = 0, about 0.85 at"
                " eps = |g|, 1 as eps -> oo (the mean field: pi/2 for every eps)"),
    )
}


def finding(key: str) -> Finding:
    try:
        return FINDINGS[key]
    except KeyError:
        raise KeyError(f"no finding {key!r} is recorded; recorded: {sorted(FINDINGS)}") from None
