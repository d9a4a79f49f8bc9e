"""Requests per window per credential, answered the way each vendor throttles.

A vendor module may define `render_throttled(decision, path)` (Canvas: 403 `Rate Limit Exceeded`;
Unleash: express-rate-limit's text); every other vendor answers 429 with `Retry-After` in its own
error body.  Counters are per process (fixed windows): with several workers each one counts alone.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

from connexion.lifecycle import ConnexionResponse

from ..registry import Vendor
from .credentials import SECRET_HEADERS, SECRET_PARAMS
from .rules import RateLimit


def credential_key(headers: list[tuple[bytes, bytes]], query_string: bytes) -> str:
    """Who is calling, as a digest of whatever credential the request carries (anonymous callers share one).
    Only the credential counts: the same token on another page URL is the same caller."""
    parts = [v for k, v in headers if k.decode("latin-1").lower() in SECRET_HEADERS]
    parts += [v.encode() for k, v in parse_qsl(query_string.decode("latin-1")) if k in SECRET_PARAMS]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16] if parts else "anonymous"


@dataclass
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # whole seconds until the window resets


class Limiter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def take(self, rule: RateLimit, who: str) -> Decision:
        now = time.monotonic()
        key = (rule.vendor, who)
        with self._lock:
            started, used = self._windows.get(key, (now, 0))
            if now - started >= rule.window_seconds:
                started, used = now, 0
            allowed = used < rule.requests
            used += 1 if allowed else 0
            self._windows[key] = (started, used)
        retry_after = max(1, math.ceil(rule.window_seconds - (now - started)))
        return Decision(allowed, rule.requests, max(0, rule.requests - used), retry_after)

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()


LIMITER = Limiter()


def throttled(vendor: Vendor, decision: Decision, path: str) -> ConnexionResponse:
    custom = getattr(vendor.module, "render_throttled", None)
    if custom is not None:
        response: ConnexionResponse = custom(decision, path)
        return response
    rendered: ConnexionResponse = vendor.module.render_error(
        429, "Too Many Requests", {"Retry-After": str(decision.retry_after)}, path)
    return rendered
