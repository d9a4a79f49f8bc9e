"""What each server process keeps in memory about the store, and forgets when the store is reset."""

from __future__ import annotations


def forget_all() -> None:
    """After a reset: cached secrets and mock rules, rate-limit counts, the request journal, answers."""
    from .mocking.journal import JOURNAL
    from .mocking.middleware import reseed
    from .mocking.ratelimit import LIMITER
    from .mocking.rules import forget as forget_rules
    from .responses import REMEMBERED
    from .storage.memo import forget as forget_facts
    from .tokens import forget as forget_secrets

    forget_secrets()
    forget_rules()
    LIMITER.clear()
    JOURNAL.clear()
    REMEMBERED.clear()  # stale already (the reset moved the generation); this frees the memory
    forget_facts()
    reseed(None)
