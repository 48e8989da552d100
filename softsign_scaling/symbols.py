"""The article's symbols, shared by every section.

Per component: g (gradient), sigma (noise scale), eps, B; a = g sqrt(B)/sigma and
b = eps sqrt(B)/sigma are the article's reduced variables.  Sums over components
appear as aggregate symbols (G_nu = sum_i nu_i g_i, S_nu = sum_ij nu_i nu_j H_ij,
T_H = sum_i H_ii, ...): the reduction of a trace to them is checked at explicit n.
"""

import sympy as sp

# Scalars of one component
a = sp.Symbol("a", real=True)
b = sp.Symbol("b", positive=True)
z = sp.Symbol("z", real=True)  # standard normal variable
x = sp.Symbol("x", real=True)
u = sp.Symbol("u", real=True)
k = sp.Symbol("k", positive=True)  # slope of an S-curve at 0
g = sp.Symbol("g", real=True)
sigma = sp.Symbol("sigma", positive=True)
eps = sp.Symbol("epsilon", positive=True)
B = sp.Symbol("B", positive=True)
eta = sp.Symbol("eta", positive=True)
nu = sp.Symbol("nu", real=True)
beta = sp.Symbol("beta", positive=True)
kappa2 = sp.Symbol("kappa2", positive=True)
L0 = sp.Symbol("L", real=True)

# Aggregates over components
G_nu = sp.Symbol("G_nu", positive=True)  # sum_i nu_i g_i  (> 0: nu_i has the sign of g_i)
S_nu = sp.Symbol("S_nu", positive=True)  # sum_ij nu_i nu_j H_ij  (> 0 for H positive definite)
T_H = sp.Symbol("T_H", positive=True)  # sum_i H_ii
U_H = sp.Symbol("U_H", real=True)  # sum_{i != j} sign(g_i g_j) H_ij
G_abs = sp.Symbol("G_abs", positive=True)  # sum_i |g_i|
M_phi_g = sp.Symbol("m_g", real=True)  # E[phi]^T g
T_phi = sp.Symbol("T_phi", positive=True)  # Tr(E[phi phi^T] H)
gg = sp.Symbol("gg", positive=True)  # g^T g
gHg = sp.Symbol("gHg", positive=True)  # g^T H g
trSH = sp.Symbol("trSH", positive=True)  # tr(Sigma H)
trS = sp.Symbol("trS", positive=True)  # tr(Sigma)
h = sp.Symbol("h", positive=True)  # H = h I
sigma2_bar = sp.Symbol("sigma2_bar", positive=True)  # an average of sigma_i^2
beta_noise = sp.Symbol("beta_noise", positive=True)
eta_max = sp.Symbol("eta_max", positive=True)
B_noise = sp.Symbol("B_noise", positive=True)
B_noise2 = sp.Symbol("B_noise2", positive=True)
dL_max = sp.Symbol("dL_max", positive=True)
S_steps, E_examples = sp.symbols("S E_examples", positive=True)
S_min, E_min = sp.symbols("S_min E_min", positive=True)
Delta_L = sp.Symbol("Delta_L", positive=True)  # total loss decrease to reach a target

# LaTeX names for printing (sympy.latex(symbol_names=LATEX_NAMES)).
LATEX_NAMES = {
    eps: r"\epsilon",
    kappa2: r"\kappa^{2}",
    G_nu: r"\textstyle\sum_i \nu_i g_i",
    S_nu: r"\textstyle\sum_{i,j} \nu_i \nu_j H_{ij}",
    T_H: r"\textstyle\sum_i H_{ii}",
    U_H: r"\textstyle\sum_{i\neq j} \operatorname{sign}(g_i g_j) H_{ij}",
    G_abs: r"\textstyle\sum_i |g_i|",
    M_phi_g: r"\mathbb{E}[\tilde{\varphi}_B]^{\top} g",
    T_phi: r"\operatorname{Tr}(\mathbb{E}[\tilde{\varphi}_B\tilde{\varphi}_B^{\top}] H)",
    gg: r"g^{\top} g",
    gHg: r"g^{\top} H g",
    trSH: r"\operatorname{tr}(\Sigma H)",
    trS: r"\operatorname{tr}(\Sigma)",
    sigma2_bar: r"\bar{\sigma}^{2}",
    beta_noise: r"\beta_{\text{noise}}",
    eta_max: r"\eta_{\max}",
    B_noise: r"\mathcal{B}_{\text{noise}}",
    B_noise2: r"\mathcal{B}_{\text{noise-2}}",
    B: r"B",
    dL_max: r"\Delta\mathcal{L}_{\max}",
    S_steps: r"S",
    E_examples: r"E",
    S_min: r"S_{\min}",
    E_min: r"E_{\min}",
    Delta_L: r"\Delta\mathcal{L}",
    L0: r"\mathcal{L}(w)",
}

# eps-scaled aggregates of E-16: G_eps = sum (eps nu_i) g_i, S_eps = sum (eps nu_i)(eps nu_j) H_ij,
# Q_eps = eps^2 (1 - beta^2).
G_eps = sp.Symbol("G_eps", positive=True)
S_eps = sp.Symbol("S_eps", positive=True)
Q_eps = sp.Symbol("Q_eps", positive=True)
LATEX_NAMES.update({
    G_eps: r"\textstyle\sum_i (\epsilon\nu_i) g_i",
    S_eps: r"\textstyle\sum_{i,j} (\epsilon\nu_i)(\epsilon\nu_j) H_{ij}",
    Q_eps: r"\epsilon^{2}(1-\beta^{2})",
})

# SignSGD (predecessor article): mu_i = E[sign(g~_i)] and its aggregates
mu = sp.Symbol("mu", real=True)
G_mu = sp.Symbol("G_mu", positive=True)  # sum_i mu_i g_i  (> 0: mu_i has the sign of g_i)
U_mu = sp.Symbol("U_mu", real=True)  # sum_{i != j} mu_i mu_j H_ij

LATEX_NAMES.update({
    mu: r"\mu",
    G_mu: r"\textstyle\sum_i \mu_i g_i",
    U_mu: r"\textstyle\sum_{i\neq j} \mu_i \mu_j H_{ij}",
})

# The reduced variables a = g sqrt(B)/sigma, b = eps sqrt(B)/sigma, and the inverse substitution.
REDUCED = {a: g * sp.sqrt(B) / sigma, b: eps * sp.sqrt(B) / sigma}
TO_REDUCED = {g: a * sigma / sp.sqrt(B), eps: b * sigma / sp.sqrt(B)}
