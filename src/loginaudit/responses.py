"""Remembered answers: a vendor GET asked again, unchanged, is answered from memory.

Polling connectors and Prism-style load ask the same page over and over; answering it again costs
Connexion's routing, security and validation, the store and the vendor's document (2-16 ms of CPU).
An answer is kept when it was a 2xx to a vendor GET, keyed on the method, path, query string and
every header the request carried (credentials, Accept, Range, Version, Host all change answers),
and is used while two things hold:
- the store is unchanged: its generation (moved inside every transaction that writes, on every
  backend and by every worker) is read on each request, so any write, reset, clock or setting
  change is seen by the next request;
- it is at most MAX_AGE old: what changes with time alone (a running store clock's windows, a
  token's expiry) is at most that stale.
The middleware sits inside the guard, the request limits and the mock behaviours (faults, rate
limits, Prefer and the journal act on every request) and in front of Connexion; a hit skips
security, which is sound only under the two rules above: the same credential, unchanged since.
Concurrent identical misses wait for the first (single flight); the whole is capped in bytes.
An answer is kept only from its key's second miss within MAX_AGE: a walk's pages are asked once each.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .registry import CONTROL, Vendor
from .storage import Store, current

ENV = "LOGINAUDIT_RESPONSE_CACHE"  # "0" turns it off
MAX_AGE = 1.0  # seconds
MAX_BYTES = 64 * 1024 * 1024
MAX_ENTRY = 1024 * 1024
MAX_ASKED = 100_000  # keys remembered as asked once (a key is ~100-1,000 bytes)
Message = dict[str, Any]


@dataclass
class Answer:
    generation: str | None
    made: float
    start: Message
    body: bytes

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.start.get("headers", [])) + 200


class Remembered:
    def __init__(self) -> None:
        self.answers: OrderedDict[tuple[Any, ...], Answer] = OrderedDict()
        self.bytes = 0
        self.pending: dict[tuple[Any, ...], asyncio.Future[None]] = {}
        self.asked: OrderedDict[tuple[Any, ...], float] = OrderedDict()  # keys missed once, and when

    def asked_before(self, key: tuple[Any, ...], at: float) -> bool:
        """Whether `key` missed within MAX_AGE before `at` (noting this miss): an answer is kept from its
        key's second miss on, so a walk's pages, each asked once, are never copied and kept for nothing."""
        before = self.asked.pop(key, None)
        self.asked[key] = at
        while self.asked:
            oldest_key, oldest = next(iter(self.asked.items()))
            if at - oldest <= MAX_AGE and len(self.asked) <= MAX_ASKED:
                break
            del self.asked[oldest_key]
        return before is not None and at - before <= MAX_AGE

    def get(self, key: tuple[Any, ...], now_generation: str | None) -> Answer | None:
        answer = self.answers.get(key)
        if answer is None:
            return None
        if answer.generation != now_generation or time.monotonic() - answer.made > MAX_AGE:
            self.drop(key)
            return None
        self.answers.move_to_end(key)
        return answer

    def put(self, key: tuple[Any, ...], answer: Answer) -> None:
        """Keep `answer`, first letting go of the expired ones at the old end: a connector's walk never
        asks a page twice, and without this its answers filled the byte cap (64 MB of a 214 MB server)."""
        if answer.size > MAX_ENTRY:
            return
        self.drop(key)
        while self.answers:
            oldest_key, oldest = next(iter(self.answers.items()))
            if answer.made - oldest.made <= MAX_AGE:
                break
            self.drop(oldest_key)
        self.answers[key] = answer
        self.bytes += answer.size
        while self.bytes > MAX_BYTES:
            self.drop(next(iter(self.answers)))

    def drop(self, key: tuple[Any, ...]) -> None:
        gone = self.answers.pop(key, None)
        if gone is not None:
            self.bytes -= gone.size

    def clear(self) -> None:
        self.answers.clear()
        self.asked.clear()
        self.bytes = 0


REMEMBERED = Remembered()


async def _generation(store: Store) -> str | None:
    """SQLite answers from a local file in tens of microseconds: asked on the loop; a networked
    database from a thread, so the loop never waits on the network."""
    if store.engine.dialect.name == "sqlite":
        return store.generation()
    return await asyncio.to_thread(store.generation)


class ResponseCache:
    def __init__(self, app: Any, vendor_for: Callable[[str], Vendor | None]) -> None:
        self.app = app
        self.vendor_for = vendor_for
        self.enabled = os.environ.get(ENV, "1") != "0"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        vendor = self.vendor_for(scope["path"]) if scope["type"] == "http" and scope["method"] == "GET" else None
        if not self.enabled or vendor is None or vendor is CONTROL:
            await self.app(scope, receive, send)
            return
        store = current()  # in the key too: two stores that never wrote both have no generation
        key = (store.url, scope["path"], scope.get("query_string", b""), tuple(scope.get("headers", [])))
        # The generation is read only where an answer can be used or kept: a walk's page, asked once,
        # reads it nowhere but in its own read (~2.5% of Unleash's miss).
        while key in REMEMBERED.answers or key in REMEMBERED.pending:
            hit = REMEMBERED.get(key, await _generation(store))
            if hit is not None:
                await send(hit.start)
                await send({"type": "http.response.body", "body": hit.body})
                return
            waiting = REMEMBERED.pending.get(key)
            if waiting is None:
                break
            await asyncio.shield(waiting)  # another request is making this answer: use it, or try again
        if not REMEMBERED.asked_before(key, time.monotonic()):
            await self.app(scope, receive, send)
            return
        # in flight from here, before anything awaits: an identical request arriving meanwhile waits for it
        flight: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        REMEMBERED.pending[key] = flight
        try:
            now = await _generation(store)  # before the answer is made: it is at least this new
            await self._answer(scope, receive, send, key, now)
        finally:
            REMEMBERED.pending.pop(key, None)
            flight.set_result(None)

    async def _answer(self, scope: dict[str, Any], receive: Any, send: Any, key: tuple[Any, ...],
                      now: str | None) -> None:
        start: Message = {}
        chunks: list[bytes] = []

        async def keeping_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and 200 <= start.get("status", 0) < 300:
                    REMEMBERED.put(key, Answer(now, time.monotonic(), dict(start), b"".join(chunks)))
            await send(message)

        await self.app(scope, receive, keeping_send)
