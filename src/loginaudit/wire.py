"""Per-vendor wire details Connexion cannot express: the exact JSON Content-Type string.

Specs declare plain `application/json` (what clients generate from and Connexion validates); the
vendor's server actually sends e.g. `application/json; charset=utf-8` (Express, Rails) or
`application/json;charset=UTF-8` (QRadar's Java stack).  This middleware rewrites the header.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]


class JsonContentType:
    def __init__(self, app: Any, json_type_for: Callable[[str], str | None]) -> None:
        self.app = app
        self.json_type_for = json_type_for

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        wire = self.json_type_for(scope["path"]) if scope["type"] == "http" else None
        if not wire:
            await self.app(scope, receive, send)
            return
        wire_bytes = wire.encode("latin-1")

        async def rewriting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = []
                for key, value in message.get("headers", []):
                    if key.lower() == b"content-type" and value.split(b";")[0].strip().lower() == b"application/json":
                        value = wire_bytes
                    headers.append((key, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, rewriting_send)
