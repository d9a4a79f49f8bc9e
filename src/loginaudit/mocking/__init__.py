"""Mock-server behaviours around the vendor APIs: faults, rate limits, `Prefer`, the request journal."""

from __future__ import annotations


def forget() -> None:
    """What a store reset also clears in this process: cached rules, rate-limit counts, the journal."""
    from .journal import JOURNAL
    from .middleware import reseed
    from .ratelimit import LIMITER
    from .rules import forget as forget_rules

    forget_rules()
    LIMITER.clear()
    JOURNAL.clear()
    reseed(None)
