"""The article's sections (step families), in its order: the one registry of them.

Each family is a module ``sections/<name>.py`` whose ``steps(previous)`` derives its equations from
the definitions and from earlier steps, and returns them as records.  Its :class:`Family` record here
says everything the rest of the package needs to know about it: its place in the order, its title,
which functions of the generated numeric code are printed from its steps (and from which steps),
and which of its module constants a code template reads.  Adding a family is one entry in
:data:`FAMILIES` (and its module); :data:`ORDER`, the appendix's titles, the code generator's list of
functions and the fingerprint of the generated code all read this registry.

softsign        E-1, E-2        SoftSign as Adam without momentum; eps -> oo gives SGD
scurves         E-3, E-4        S-curve approximations
quadratic       E-5 (= P-16)    second-order loss model and the optimal learning rate
sgd             P-9 .. P-15     predecessor: SGD, B_noise, the S-E trade-off
signsgd         P-17 .. P-35    predecessor: SignSGD, the surge
mean            E-6 .. E-10     the mean of the SoftSign update
second_moment   E-11 .. E-13    its second moment
results         E-14 .. E-18    the optimal learning rate, surge, eps -> oo
anchored        A-1 .. A-4      this project's: E-9/E-12 anchored at the exact a = 0 values (the atlas's best)
outside         X-1 .. X-15     this project's: eps outside the root (PyTorch's Adam), its moments and series, eps -> oo, the
                                conversion, the anchored outside form
efficiency      X-20 .. X-27    this project's: the efficiency law with eps (loss decrease at eta*, B_noise(eps), S-E)
momentum        M-1 .. M-12     this project's: momentum beta1, beta2 = 0 (effective batch) and beta2 -> 1 (averaged v)
runlevel        R-1 .. R-7      this project's: the square-root scaling rule (Malladi et al. 2022): B -> kB,
                                eta -> sqrt(k) eta, eps -> eps/sqrt(k); its regime, its error, eps held fixed; Zhang et al. 2019's NQM
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Family:
    """One step family (an article section): the module ``sections/<name>.py`` and what it provides.

    name: the module's name, also the steps' ``section``.
    title: the section's title in the appendix and docs.
    steps: the labels it derives, for readers ("E-6 .. E-10").
    generated: functions of ``numeric/generated/closed_forms.py`` printed from this family's steps.
    inputs: the step labels those functions (or this family's generated module) are printed from;
        the generated code's fingerprint covers exactly these.
    module_file: a generated module of its own (``numeric/<module_file>``), if any.
    constants: names of module-level constants of ``sections/<name>.py`` that a code template reads.
    needs: the families whose steps its builders read (each with what that family needs); None: every family
        before it.  A family derives on the steps of these alone (:func:`context_of`), so that verify's workers
        derive only what the checks they run need; a builder that reads a step of a family not declared here
        raises KeyError (Derivation's lookup), it cannot read a stale or missing one.
    """

    name: str
    title: str
    steps: str
    generated: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    module_file: str = ""
    constants: tuple[str, ...] = ()
    needs: tuple[str, ...] | None = None

    @property
    def module(self) -> str:
        return f"softsign_scaling.sections.{self.name}"

    def constant(self, name: str) -> Any:
        """A constant of the family's module that it declares in ``constants`` (for code templates)."""
        if name not in self.constants:
            raise KeyError(f"family {self.name!r} declares no constant {name!r}; it declares {list(self.constants)}")
        return getattr(importlib.import_module(self.module), name)


FAMILIES: tuple[Family, ...] = (
    Family("softsign", "SoftSign: Adam without momentum", "E-1, E-2"),
    Family("scurves", "S-curve approximations", "E-3, E-4"),
    Family("quadratic", "The second-order model and the optimal learning rate", "E-5 (= P-16)"),
    Family("sgd", "Predecessor: SGD", "P-9 .. P-15",
           generated=("eta_star_sgd",), inputs=("P-10",)),
    Family("signsgd", "Predecessor: SignSGD and the surge", "P-17 .. P-35"),
    Family("mean", "The mean of the update", "E-6 .. E-10",
           generated=("mean_clip", "mean_clip_b0", "mean_approx"), inputs=("E-7", "E-8", "E-9", "E-10")),
    Family("second_moment", "The second moment of the update", "E-11 .. E-13",
           generated=("second_moment_clip", "variance_clip", "second_moment_clip_b0", "variance_clip_b0",
                      "second_moment_approx", "variance_approx"), inputs=("E-11", "E-12")),
    Family("results", "The optimal learning rate with epsilon", "E-14 .. E-18",
           generated=("eta_star_mean_field", "one_minus_beta2", "b_peak_mean_field", "has_surge_mean_field"),
           inputs=("E-14", "E-15")),
    Family("anchored", "Beyond the article: E-9 and E-12 anchored at the exact values at a = 0", "A-1 .. A-4",
           inputs=("A-1", "A-2", "A-4"), module_file="anchored.py", constants=("B_SWITCH", "W")),
    Family("outside", "Beyond the article: eps outside the root (PyTorch's Adam)", "X-1 .. X-15",
           inputs=("X-9", "X-10", "X-12", "X-13", "X-15"), module_file="outside.py",
           needs=("softsign", "scurves", "sgd", "mean", "anchored")),
    Family("limits", "Beyond the article: the moments far from the origin (b -> oo in SGD units, |a| -> oo)",
           "L-1 .. L-9", inputs=("L-1", "L-2", "L-3", "L-4", "L-5", "L-6", "L-7", "L-8", "L-9"),
           module_file="limits.py", constants=("T_FLAT",),
           needs=("softsign", "mean", "second_moment", "anchored", "outside")),
    Family("efficiency", "Beyond the article: the efficiency law with eps, B_noise(eps)",
           "X-20 .. X-27", needs=("quadratic", "sgd", "signsgd", "mean", "second_moment", "results")),
    Family("momentum", "Beyond the article: momentum and an averaged second moment", "M-1 .. M-12",
           needs=("quadratic", "sgd", "mean", "results")),
    Family("runlevel", "Beyond the article: the square-root scaling rule for adaptive methods; the NQM's critical batch",
           "R-1 .. R-7", needs=("quadratic", "mean", "second_moment", "anchored")),
)

ORDER: tuple[str, ...] = tuple(family.name for family in FAMILIES)
BY_NAME: dict[str, Family] = {family.name: family for family in FAMILIES}
SECTION_TITLES: dict[str, str] = {family.name: family.title for family in FAMILIES}


def context_of(name: str, sections: tuple[str, ...]) -> tuple[str, ...]:
    """The families of ``sections`` that family ``name`` derives on, in their order: those it needs, and what they
    need, transitively (a family without declared needs: every family before it in ``sections``)."""
    position = {section: k for k, section in enumerate(sections)}
    wanted: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        declared = BY_NAME[current].needs if current in BY_NAME else None
        before = sections[:position[current]]
        for other in (before if declared is None else [n for n in declared if n in before]):
            if other not in wanted:
                wanted.add(other)
                todo.append(other)
    return tuple(section for section in sections if section in wanted)


def family(name: str) -> Family:
    """The registered family ``name`` (a clear error for an unknown one)."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no step family {name!r}; the families are {list(ORDER)}") from None
