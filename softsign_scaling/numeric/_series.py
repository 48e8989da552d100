"""Series evaluation shared by the runtime modules that read generated coefficients (numeric/generated/)."""


def horner(coefficients, x):
    """sum_k coefficients[k] x^k by Horner's rule, innermost first: c0 + x*(c1 + x*(... + x*c_n)), the same
    operations in the same order as the printed nested form (so the same bits)."""
    value = coefficients[-1]
    for coefficient in reversed(coefficients[:-1]):
        value = coefficient + x * value
    return value
