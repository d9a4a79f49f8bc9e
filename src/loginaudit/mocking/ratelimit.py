"""Requests per window per credential, answered the way each vendor throttles.

A vendor module may define `render_throttled(decision, path)` (Canvas: 403 `Rate Limit Exceeded`;
Unleash: express-rate-limit's text; Okta: E0000047 with X-Rate-Limit-*); every other vendor answers
429 with `Retry-After` in its own error body. `rate_limit_headers(limit, remaining, reset_in)` puts a
vendor's limit headers on every answer under a rule (Okta).
Counters are per process (fixed windows): with several workers each one counts alone.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from connexion.lifecycle import ConnexionResponse

from ..registry import Vendor
from .credentials import SECRET_HEADERS, SECRET_PARAMS
from .rules import RateLimit, limits

KEPT_WINDOWS = 10_000  # callers remembered at once


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
            if len(self._windows) >= KEPT_WINDOWS and key not in self._windows:
                self._prune(now)
            started, used = self._windows.get(key, (now, 0))
            if now - started >= rule.window_seconds:
                started, used = now, 0
            allowed = used < rule.requests
            used += 1 if allowed else 0
            self._windows[key] = (started, used)
        retry_after = max(1, math.ceil(rule.window_seconds - (now - started)))
        return Decision(allowed, rule.requests, max(0, rule.requests - used), retry_after)

    def _prune(self, now: float) -> None:
        """Forget windows that have ended (their caller starts afresh anyway); if every one is still
        open, the oldest half: a flood of new credentials costs at most KEPT_WINDOWS entries."""
        rules = {r.vendor: r.window_seconds for r in limits()}
        self._windows = {k: w for k, w in self._windows.items() if now - w[0] < rules.get(k[0], 0)}
        if len(self._windows) >= KEPT_WINDOWS:
            by_age = sorted(self._windows.items(), key=lambda item: item[1][0])
            self._windows = dict(by_age[len(by_age) // 2:])

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


def with_headers(vendor: Vendor, decision: Decision, send: Any) -> Any:
    """A vendor that reports its limits on every answer (Okta's X-Rate-Limit-*: `rate_limit_headers`)
    has them added to the response under a rule; others send as they were."""
    render = getattr(vendor.module, "rate_limit_headers", None)
    if render is None:
        return send
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1"))
             for k, v in render(decision.limit, decision.remaining, decision.retry_after).items()]

    async def sending(message: Any) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)
    return sending
