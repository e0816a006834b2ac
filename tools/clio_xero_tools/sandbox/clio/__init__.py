"""A local stand-in for the Clio Manage API v4 (see docs/sandbox-clio.md).

::

    from clio_xero_tools.sandbox.clio import ClioSandbox, seed_firm
    sb = ClioSandbox(clock=ManualClock(), validate_responses=True)
    seed = seed_firm(sb, contacts=50)
"""

from __future__ import annotations

from .sandbox import ClioSandbox
from .seed import FirmSeed, seed_firm

__all__ = ["ClioSandbox", "FirmSeed", "seed_firm"]
