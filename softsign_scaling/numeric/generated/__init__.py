"""Written by codegen (softsign_scaling/codegen/), do not edit: regenerate with `softsign-scaling derive`.

Every module here is printed from the derivation or fitted by mpmath, and holds expressions and coefficients only;
the runtime code that evaluates them lives in the ordinary modules of softsign_scaling/numeric/.

closed_forms     the clipped and approximate moments (E-7 .. E-12, stable forms of stable.py; the clipped ones as
                 region tables, evaluated by numeric/regions.py), the closures
                 (E-14, E-15, P-10)                                                  codegen/numeric_code.py
anchored         A-1 .. A-4: the anchors k0(b), 1 - s0(b), C(b) (closed forms, large-b series coefficients) and
                 A-3/A-4's shapes                                                    codegen/anchored_code.py
anchored_table   the anchored fast route's table in log b (fitted by mpmath)          codegen/anchored_code.py
exact_tables     the fast exact moments' tables (fitted to numeric/_quadrature.py)    codegen/moments_code.py
outside_tables   the same, eps outside the root (fitted to numeric/_outside.py)      codegen/moments_code.py
outside          X-9, X-10, X-12 .. X-15: eps outside the root                        codegen/outside_code.py
limits           L-1 .. L-9: the large-b forms in SGD units, the large-|a| forms      codegen/limits_code.py
"""
