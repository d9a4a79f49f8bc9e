"""One ASGI middleware for the mock-server behaviours, in the order a real request meets them:
journal (records everything below) -> injected faults -> rate limit -> `Prefer` -> the vendor API."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..registry import Vendor
from ..wire import HEAD_KEY, send_response
from . import prefer, ratelimit, rules
from .journal import JOURNAL, Entry

Scope = dict[str, Any]
Message = dict[str, Any]


class DroppedConnection(BaseException):
    """Raised after the response head is sent: the server closes the connection without a body.

    A BaseException so Starlette's ServerErrorMiddleware (which catches Exception) lets it through to
    the server untouched, as an abort rather than an application error."""


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection) and not (
            isinstance(exc, BaseExceptionGroup) and exc.subgroup(DroppedConnection) is not None)


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
_random = random.Random()


def reseed(seed: int | None) -> None:
    _random.seed(seed)


def _not_journaled(vendor: Vendor | None, path: str) -> bool:
    """The control plane, documentation and the landing page are the harness, not the API under test."""
    if vendor is None:
        return path == "/" or path.startswith("/specs/")
    return vendor.name == "control" or vendor.serves_docs(path)


class MockBehaviours:
    def __init__(self, app: Any, vendor_for: Callable[[str], Vendor | None]) -> None:
        self.app = app
        self.vendor_for = vendor_for

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        vendor = self.vendor_for(path)
        if _not_journaled(vendor, path):
            await self.app(scope, receive, send)
            return
        if vendor is None and not JOURNAL.size:
            await self.app(scope, receive, send)
            return
        operation = vendor.operation_for(scope["method"], path) if vendor else None
        entry = JOURNAL.open(when=datetime.now(UTC),
                             method="HEAD" if scope.get(HEAD_KEY) else scope["method"], path=path,
                             query_string=scope.get("query_string", b""),
                             headers=scope.get("headers", []), vendor=vendor.name if vendor else None,
                             operation=operation)
        started = time.perf_counter()

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start" and entry is not None:
                entry.status = message["status"]
            await send(message)

        try:
            if vendor is None:
                await self.app(scope, receive, recording_send)
            else:
                await self._vendor(vendor, operation, entry, scope, receive, recording_send)
        finally:
            if entry is not None:
                entry.latency_ms = round((time.perf_counter() - started) * 1000, 3)

    async def _vendor(self, vendor: Vendor, operation: str | None, entry: Entry | None, scope: Scope,
                      receive: Any, send: Any) -> None:
        def outcome(name: str) -> None:
            if entry is not None:
                entry.outcome = name

        path = scope["path"]
        fault = rules.fault_for(vendor.name, operation)
        if fault is not None:
            low, high = fault.delay_ms, fault.delay_max_ms
            delay = low if high is None else _random.uniform(low, high)
            if delay > 0:
                await asyncio.sleep(delay / 1000)
            if fault.drop_rate and _random.random() < fault.drop_rate:
                outcome("fault-drop")
                await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]})
                raise DroppedConnection(f"injected connection drop on {path}")
            if fault.error_rate and _random.random() < fault.error_rate:
                outcome("fault-error")
                await send_response(send, vendor.module.render_error(
                    fault.error_status, "injected fault", {}, path))
                return
        limit = rules.limit_for(vendor.name)
        if limit is not None:
            headers = scope.get("headers", [])
            decision = ratelimit.LIMITER.take(limit, ratelimit.credential_key(headers, scope.get("query_string", b"")))
            if not decision.allowed:
                outcome("throttled")
                await send_response(send, ratelimit.throttled(vendor, decision, path))
                return
            send = ratelimit.with_headers(vendor, decision, send)
        if operation is not None:
            header = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"prefer"), None)
            pref = prefer.parse(header, scope.get("query_string", b""))
            if pref is not None:
                accept = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"accept"), None)
                outcome("prefer")
                await send_response(send, prefer.respond(vendor, operation, pref, accept, path))
                return
        await self.app(scope, receive, send)
