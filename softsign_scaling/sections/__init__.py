"""The article's sections, in its order.  Each module's ``steps(previous)`` derives its
equations from the definitions and from earlier steps, and returns them as records.

softsign        E-1, E-2        SoftSign as Adam without momentum; eps -> oo gives SGD
scurves         E-3, E-4        S-curve approximations
quadratic       E-5 (= P-16)    second-order loss model and the optimal learning rate
sgd             P-9 .. P-15     predecessor: SGD, B_noise, the S-E trade-off
signsgd         P-17 .. P-35    predecessor: SignSGD, the surge
mean            E-6 .. E-10     the mean of the SoftSign update
second_moment   E-11 .. E-13    its second moment
results         E-14 .. E-18    the optimal learning rate, surge, eps -> oo
anchored        A-1 .. A-3      this project's: E-9/E-12 anchored at the exact a = 0 values (the atlas's best)
"""

ORDER = ("softsign", "scurves", "quadratic", "sgd", "signsgd", "mean", "second_moment", "results", "anchored")
