"""Moved to :mod:`softsign_scaling.codegen.numeric_code` (the code generators have their own layer).

Kept so that existing callers (``cli._EXTRA_WRITERS``) work until they call
:func:`softsign_scaling.codegen.write_all`; remove once they do.
"""

from ..codegen.numeric_code import GENERATED_PATH, derivation_for_numeric, fingerprint, generate, write_numeric_module

__all__ = ["GENERATED_PATH", "derivation_for_numeric", "fingerprint", "generate", "write_numeric_module"]
