"""Moved to :mod:`softsign_scaling.codegen.anchored_code` (the code generators have their own layer).

Kept so that existing callers (``cli._EXTRA_WRITERS``) work until they call
:func:`softsign_scaling.codegen.write_all`; remove once they do.
"""

from ..codegen.anchored_code import GENERATED, source, write_anchored_module

__all__ = ["GENERATED", "source", "write_anchored_module"]
