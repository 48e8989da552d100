import pytest


@pytest.fixture(scope="session")
def derivation():
    from softsign_scaling.pipeline import derivation as full

    return full()


@pytest.fixture(scope="session")
def verified(derivation):
    """Every check's result, computed once per test session (the slowest part of the suite)."""
    from softsign_scaling.pipeline import verify

    return verify(derivation, workers=2)
