"""Per-vendor wire details Connexion cannot express: the exact JSON Content-Type string, and
whether the vendor's router answers HEAD on a GET route.

Specs declare plain `application/json` (what clients generate from and Connexion validates); the
vendor's server actually sends e.g. `application/json; charset=utf-8` (Express, Rails) or
`application/json;charset=UTF-8` (QRadar's Java stack).  This middleware rewrites the header.
A text type without a charset gets `; charset=utf-8`, as those servers add it.
Express, Rails and JAX-RS answer HEAD like GET without a body (Connexion's default); gin does not
route HEAD to GET handlers (gin-gonic/gin#1201), so a vendor module may say `HEAD_ROUTED = False`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connexion.lifecycle import ConnexionResponse

from .registry import Vendor

Scope = dict[str, Any]
Message = dict[str, Any]
HEAD_KEY = "loginaudit.head"  # set in the scope of a HEAD answered as GET


async def send_response(send: Any, response: ConnexionResponse, *, body: bool = True,
                        extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    """A finished response straight onto the ASGI channel (answers made before Connexion runs)."""
    raw = response.body if isinstance(response.body, bytes) else str(response.body or "").encode()
    headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in response.headers.items()
               if k.lower() != "content-length"]
    headers += [(b"content-length", str(len(raw)).encode()), *extra]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": raw if body else b""})


def _wire_type(value: bytes, json_type: bytes | None) -> bytes:
    """The vendor's JSON type for JSON; a text type without a charset gets `; charset=utf-8`, as
    Express, Rails and Werkzeug add it (and as the spec, which names bare `text/csv`, cannot say)."""
    media = value.split(b";")[0].strip().lower()
    if media == b"application/json" and json_type is not None:
        return json_type
    if media.startswith(b"text/") and b"charset" not in value.lower():
        return value + b"; charset=utf-8"
    return value


class VendorWire:
    def __init__(self, app: Any, vendor_for: Callable[[str], Vendor | None]) -> None:
        self.app = app
        self.vendor_for = vendor_for

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        vendor = self.vendor_for(scope["path"]) if scope["type"] == "http" else None
        if vendor is None:
            await self.app(scope, receive, send)
            return
        wire_bytes = vendor.json_type.encode("latin-1") if vendor.json_type != "application/json" else None

        async def rewriting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = []
                for key, value in message.get("headers", []):
                    if key.lower() == b"content-type":
                        value = _wire_type(value, wire_bytes)
                    headers.append((key, value))
                message = {**message, "headers": headers}
            await send(message)

        if scope["method"] != "HEAD":
            await self.app(scope, receive, rewriting_send)
            return
        if not getattr(vendor.module, "HEAD_ROUTED", True):
            await send_response(rewriting_send, vendor.module.render_error(404, "Not Found", {}, scope["path"]),
                                body=False)
            return

        async def bodiless_send(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await rewriting_send(message)

        # HEAD is GET without the body (Content-Length kept): everything inside, response validation
        # included, sees the GET; the journal still records HEAD.
        await self.app({**scope, "method": "GET", HEAD_KEY: True}, receive, bodiless_send)
