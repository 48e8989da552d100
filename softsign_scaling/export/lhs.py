"""The left-hand side of each step's displayed result: what the derived expression is the value of.

A step's ``result`` is a bare expression (E-2's is ``x``; E-7's is a pair of split points), and its
``definition`` is whatever it was derived from: sometimes the very quantity (a Limit or an Integral,
whose value the result is), often a defining relation of an intermediate (``k = erf'(0)``).  So:

* a step named in :data:`NAMES` shows that name (the article's notation for the quantity);
* otherwise a Limit, Integral or Derivative definition is shown itself (the result is its value),
  and a tuple of those term by term;
* otherwise the step's label, :math:`\\mathcal{R}_{\\text{E-n}}`, so a new step is never shown bare.

The relation sign is ``\\approx`` for a named quantity of an approximation step, else ``=``.
"""

from __future__ import annotations

import sympy as sp

from ..steps import Step
from .latex import latex

_PHI = r"\tilde{\varphi}"
_CLIP = r"\operatorname{clip}\!\left(\tfrac{a + z}{b}, -1, 1\right)"

# label -> LaTeX of the quantity that the step's result is (or approximates); a tuple result gets a tuple.
NAMES: dict[str, str] = {
    "E-1": r"\operatorname{softsign}(x, \epsilon)",
    "E-3": r"S(x)",
    "E-4": r"S(x)",
    "E-5": r"\eta^*",
    "P-9": r"\mathbb{E}[\tilde{g}^{\top} H \tilde{g}]",
    "P-10": r"\eta^*_{\text{SGD}}",
    "P-11": r"\eta^*_{\text{SGD}}",
    "P-12": r"\left(\eta_{\max},\ \mathcal{B}_{\text{noise}}\right)",
    "P-13": r"\mathcal{B}_{\text{simple}}",
    "P-14": r"\Delta\mathcal{L}^*_{\text{SGD}}",
    "P-15": r"\left(\left(\tfrac{S}{S_{\min}} - 1\right)\left(\tfrac{E}{E_{\min}} - 1\right),\ "
            r"\tfrac{E_{\min}}{S_{\min}}\right)",
    "P-17": r"\mathbb{E}[\operatorname{sign}(\tilde{g})]",
    "P-18": r"\operatorname{erf}(x)",
    "P-19": r"\mu_i = \mathbb{E}[\operatorname{sign}(\tilde{g}_i)]",
    "P-20": r"\left(\mathbb{E}[\operatorname{sign}(\tilde{g}_i)^2],\ "
            r"\mathbb{E}[\operatorname{sign}(\tilde{g}_1)\operatorname{sign}(\tilde{g}_2)]\right)",
    "P-21": r"\eta^*_{\text{SignSGD}}",
    "P-22": r"\Delta\mathcal{L}^*_{\text{SignSGD}}",
    "P-24": r"\eta^*_{\text{SignSGD}}",
    "P-25": r"\mu_i",
    "P-26": r"\eta^*_{\text{SignSGD}}",
    "P-27": r"\eta^*_{\text{SignSGD}}\big|_{B \ll \pi\kappa^2/2}",
    "P-28": r"\eta^*_{\text{SignSGD}}",
    "P-29": r"\left(\beta_{\text{noise}},\ \eta_{\max}\right)",
    "P-31": r"\Delta\mathcal{L}^*_{\text{SignSGD}}",
    "P-32": r"\left(\Delta\mathcal{L}_{\max},\ \mathcal{B}_{\text{noise-2}}\right)",
    "P-33": r"\mathcal{B}_{\text{noise}}",
    "P-34": r"\frac{1}{\mathcal{B}_{\text{noise-2}}} - \frac{1}{\mathcal{B}_{\text{noise}}}",
    "P-35": r"\left(\left(\tfrac{S}{S_{\min}} - 1\right)\left(\tfrac{E}{E_{\min}} - 1\right),\ "
            r"\tfrac{E_{\min}}{S_{\min}}\right)",
    "E-6": r"\operatorname{softsign}(x, \epsilon)",
    "E-7": r"\left(z_-,\ z_+\right)",
    "E-8": r"\mathbb{E}\left[" + _CLIP + r"\right]",
    "E-9": r"\mathbb{E}[" + _PHI + r"]",
    "E-10": r"\mathbb{E}[" + _PHI + r"_i]",
    "E-11": r"\mathbb{E}\left[" + _CLIP + r"^2\right]",
    "E-12": r"\mathbb{E}[" + _PHI + r"^2]",
    "E-13": r"\mathbb{E}[" + _PHI + _PHI + r"^{\top}]_{ij}",
    "E-14": r"\eta^*",
    # E-15's result is the denominator of beta_*^2 = T/(S - T), where d eta*/d beta (E-14) vanishes.
    "E-15": r"\textstyle\sum_i H_{ii} / \beta_*^{2}",
    "E-16": r"\eta^* / \epsilon",
    "A-1": r"k_0(b)",
    "A-2": r"s_0(b)",
    "A-3": r"\left(m(a, b),\ s(a, b)\right)",
    "A-4": r"\left(b\,k_0(b),\ 1 - s_0(b),\ C(b)\right)",
    "X-1": r"\operatorname{softsign}_{\text{out}}(x, \epsilon)",
    "X-2": r"S_{\text{out}}(x)",
    "X-4": r"\left(\tfrac{|x|^*}{\epsilon},\ \max_x \left|\operatorname{softsign}(x, \epsilon) - "
           r"\operatorname{softsign}_{\text{out}}(x, \epsilon)\right|\right)",
    "X-7": r"\left(\lim b\,\mathbb{E}[u],\ \lim b^2\mathbb{E}[u^2],\ C_1^{\text{out}},\ C_2^{\text{out}},\ "
           r"C_1^{\text{in}},\ C_2^{\text{in}}\right)",
    "X-8": r"\left(\lim_{\epsilon \to \infty} \tfrac{\eta^*}{\epsilon},\ D^{\text{out}},\ D^{\text{in}}\right)",
    "X-9": r"\left(\mathbb{E}[u_{\text{out}}],\ \mathbb{E}[u_{\text{out}}^2]\right)_{b \to \infty}",
    "X-10": r"\left(D(a),\ \lim_{b \to 0} \tfrac{1 - \mathbb{E}[u_{\text{out}}^2]}{b \log(1/b)},\ "
            r"\lim_{b \to 0} \tfrac{1 - \mathbb{E}[u_{\text{in}}^2]}{b}\right)",
    "X-11": r"\left(b_{\text{in}}\right)_{b \to \infty,\ b \to 0,\ b \ll 1 \ll a}",
    "X-12": r"k_0^{\text{out}}(b)",
    "X-13": r"s_0^{\text{out}}(b)",
    "X-14": r"\left(m^{\text{anch}}_{\text{out}},\ s^{\text{anch}}_{\text{out}}\right)",
    "X-15": r"\left(b\,k_0^{\text{out}},\ b^2 s_0^{\text{out}},\ \tfrac{C^{\text{out}}}{b}\right)_{b \ge 10}",
    "L-1": r"\left(\mu(r),\ \nu(r)\right)_{b \to \infty}",
    "L-2": r"\left(\mu^{\text{approx}}(r),\ \nu^{\text{approx}}(r)\right)_{b \to \infty}",
    "L-3": r"\left(\mu^{\text{anch}}(r),\ \nu^{\text{anch}}(r)\right)_{b \to \infty}",
    "L-4": r"\left(\mu_{\text{out}}(r),\ \nu_{\text{out}}(r)\right)_{b \to \infty}",
    "L-5": r"\left(m,\ v\right)_{|a| \to \infty}",
    "L-6": r"\left(m_{\text{out}},\ v_{\text{out}}\right)_{|a| \to \infty}",
    "L-7": r"\left(\mu^{\text{clip}},\ \nu^{\text{clip}}\right)_{\text{upper corner}}",
    "L-8": r"\left(m^{\text{clip}},\ v^{\text{clip}}\right)_{|a| \to \infty}",
    "L-9": r"\left(\mu^{\text{anch}}_{\text{out}},\ \nu^{\text{anch}}_{\text{out}}\right)_{b \ge 10^{50}}",
    "M-1": r"\left(\mathbb{E}[m],\ \operatorname{Var}[m]\right)",
    "M-2": r"B_{\text{eff}}",
    "M-3": r"\eta^*(B; \beta_1)",
    "M-4": r"\left(\text{surge condition},\ B_{\text{peak}}(\beta_1)\right)",
    "M-5": r"\left(v,\ \mathbb{E}[u],\ \mathbb{E}[u^2]\right)",
    "M-6": r"\eta^*_{\text{avg}}",
    "M-7": r"\left(\text{surge condition},\ B_{\text{peak}},\ \tfrac{\eta^*(B_{\text{peak}})}{\eta^*(\infty)}\right)",
    "X-20": r"\Delta\mathcal{L}(B)",
    "X-21": r"\left(\Delta\mathcal{L}_{\max}(\epsilon),\ \mathcal{B}_{\text{noise}}(\epsilon)\right)",
    "X-22": r"\left(\left(\tfrac{S}{S_{\min}} - 1\right)\left(\tfrac{E}{E_{\min}} - 1\right),\ "
            r"\tfrac{E_{\min}}{S_{\min}}\right)",
    "X-23": r"\left(\lim_{\epsilon \to 0} \Delta\mathcal{L}_{\max},\ \lim_{\epsilon \to 0} "
            r"\mathcal{B}_{\text{noise}}\right)",
    "X-24": r"\tfrac{1}{\mathcal{B}_{\text{noise}}(\epsilon)} - \tfrac{1}{B_{\text{peak}}(\epsilon)}",
    "X-25": r"\left(\lim_{\epsilon \to \infty} \mathcal{B}_{\text{noise}}^{\text{mf}},\ "
            r"\lim_{\epsilon \to \infty} \mathcal{B}_{\text{noise}}^{\text{exact}}\right)",
    "X-26": r"\tfrac{d \ln \mathcal{B}_{\text{noise}}}{d\epsilon}",
    "X-27": r"\left(\tfrac{g^2}{\sigma^2} B_{\text{half}}(\epsilon = 0),\ \tfrac{g^2}{\sigma^2} B_{\text{half}}(\epsilon \to \infty),\ "
            r"\tfrac{g^2}{\sigma^2} \mathcal{B}_{\text{noise}}^{\text{mf}}\right)",
    "M-8": r"\eta^*_{\text{avg}}\ (\text{equal } \kappa_i^2)",
    "M-9": r"\left(\text{surge condition},\ B_{\text{peak}},\ \tfrac{\eta^*(B_{\text{peak}})}{\eta^*(\infty)}\right)_{\text{avg}}",
    "M-10": r"a_1 = \lim_{B \to \infty} B \left(\tfrac{\eta^*(B)}{\eta^*(\infty)} - 1\right)",
    "M-11": r"\Delta L(\eta^*;\ \beta_1)",
    "M-12": r"\left(\Delta L_{\text{avg}},\ \Delta L_{\text{avg}}\ (\text{equal } \kappa_i^2)\right)",
    "R-1": r"\left(\tfrac{a'}{a},\ \tfrac{b'}{b}\right)",
    "R-2": r"\eta^*\big|_{\text{leading order in } a}",
    "R-3": r"\tfrac{\eta^*(k B,\ \epsilon/\sqrt{k})}{\sqrt{k}\,\eta^*(B,\ \epsilon)}\Big|_{\text{leading order in } a}",
    "R-4": r"\tfrac{\eta^*(k B,\ \epsilon/\sqrt{k})}{\sqrt{k}\,\eta^*(B,\ \epsilon)} - 1\ \text{(first order in } a^2)",
    "R-5": r"\left(\lim_{b \to 0} \tfrac{k_0(b)}{s_0(b)},\ \lim_{b \to \infty} \tfrac{k_0(b)}{b\,s_0(b)}\right)",
    "R-6": r"\left(\tilde{k}_0(b),\ \tilde{s}_0(b)\right)",
    "R-7": r"\left(T_{11},\ T_{12},\ T_{13},\ T_{21},\ T_{22},\ T_{23},\ T_{31},\ T_{32},\ T_{33},\ f_1,\ f_2,\ "
           r"f_3\right)",
}

# Named quantities that a step computes exactly although its relation is an approximation: E-7's split
# points are exact; the approximation is the clip that they split.
EXACT = {"E-7"}

_SHOWN_AS_THEMSELVES = (sp.Limit, sp.Integral, sp.Derivative)


def left_side(step: Step) -> tuple[str, str]:
    """(LaTeX of the left-hand side, relation sign) for the step's displayed result."""
    if step.label in NAMES:
        approximate = step.relation.kind == "approximation" and step.label not in EXACT
        return NAMES[step.label], r"\approx" if approximate else "="
    definition = step.definition
    if isinstance(definition, _SHOWN_AS_THEMSELVES):
        return latex(definition), "="
    if (isinstance(definition, sp.Tuple) and isinstance(step.result, sp.Tuple)
            and len(definition) == len(step.result)
            and all(isinstance(part, _SHOWN_AS_THEMSELVES) for part in definition)):
        return r"\left(" + r",\quad ".join(latex(part) for part in definition) + r"\right)", "="
    return r"\mathcal{R}_{\text{" + step.label + "}}", "="
