"""What one request may cost, enforced on the event loop before any work is done for it.

Handlers that do not run on the event loop (the control plane's, and vendors' on PostgreSQL) run in a
bounded thread pool, and a thread that reads a request body waits on the network: under the FlaskApp
this server had, ten clients that announced a body and sent it slowly held every thread and froze
every vendor. So bodies are read here, asynchronously, within a size limit and a deadline,
and handed on whole; headers are bounded the same way; and control-plane requests (seeding and
scenarios are long) hold at most CONTROL_CONCURRENCY threads, so vendor traffic always has some.
Each refusal is the vendor's own error body, from its `render_error` (the control plane's elsewhere).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from connexion.lifecycle import ConnexionResponse

from .registry import CONTROL, Vendor
from .wire import send_response

Scope = dict[str, Any]
Message = dict[str, Any]

MAX_HEADER_BYTES = 32 * 1024  # all names and values together (nginx's default buffers hold as much)
MAX_TARGET_BYTES = 64 * 1024  # path and query string
MAX_CONTROL_BODY = 10 * 1024 * 1024  # a scenario of 100,000 events fits; the control plane documents 413
MAX_VENDOR_BODY = 64 * 1024  # vendor bodies are credentials (Ingedata's API-key login)
BODY_SECONDS = 30.0  # to send a whole body, however slowly it trickles
CONTROL_CONCURRENCY = 4  # of the thread pool's (anyio's 40 by default)


class RequestLimits:
    def __init__(self, app: Any, vendor_for: Callable[[str], Vendor | None]) -> None:
        self.app = app
        self.vendor_for = vendor_for
        self._control: asyncio.Semaphore | None = None  # made on the serving loop, at first use

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        vendor = self.vendor_for(scope["path"])
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        if sum(len(k) + len(v) for k, v in headers) > MAX_HEADER_BYTES:
            await _answer(send, vendor, scope, 431, f"Request headers exceed {MAX_HEADER_BYTES} bytes")
            return
        if len(scope.get("raw_path") or b"") + len(scope.get("query_string", b"")) > MAX_TARGET_BYTES:
            await _answer(send, vendor, scope, 414, f"Request target exceeds {MAX_TARGET_BYTES} bytes")
            return
        limit = MAX_CONTROL_BODY if vendor is CONTROL else MAX_VENDOR_BODY
        named = dict(headers)
        declared = named.get(b"content-length")
        if declared is not None and (not declared.isdigit() or len(declared) > 12 or int(declared) > limit):
            await _answer(send, vendor, scope, 413, f"Request body exceeds {limit} bytes")
            return
        if declared not in (None, b"0") or b"transfer-encoding" in named:
            body = await _read_body(receive, limit)
            if isinstance(body, int):
                if body:
                    await _answer(send, vendor, scope, body, f"Request body exceeds {limit} bytes" if body == 413
                                  else f"Request body not received within {BODY_SECONDS:.0f} seconds")
                return
            receive = _replay(body, receive)
        if vendor is CONTROL:
            self._control = self._control or asyncio.Semaphore(CONTROL_CONCURRENCY)
            async with self._control:
                await self.app(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _read_body(receive: Any, limit: int) -> bytes | int:
    """The whole body; else the status to answer (413, 408), or 0 when the client went away."""
    chunks, size = [], 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BODY_SECONDS
    while True:
        try:
            message = await asyncio.wait_for(receive(), timeout=max(0.0, deadline - loop.time()))
        except TimeoutError:
            return 408
        if message["type"] == "http.disconnect":
            return 0
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return 413
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        message: Message = await receive()  # after the body: the disconnect, when it comes
        return message

    return replay


async def _answer(send: Any, vendor: Vendor | None, scope: Scope, status: int, detail: str) -> None:
    # outside every vendor's tree: our own problem document, as the control plane renders it
    response: ConnexionResponse = (vendor or CONTROL).module.render_error(status, detail, {}, scope["path"])
    await send_response(send, response, extra=((b"connection", b"close"),))
