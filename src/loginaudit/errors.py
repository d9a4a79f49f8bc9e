"""Every error leaves in the envelope of the vendor whose URL it was sent to.

Connexion raises its own problems (validation 400, missing credentials 401, unknown route 404,
405); handlers and security functions raise `VendorError` with a body already in the vendor's
shape.  One app-wide handler turns both into the vendor's response: error handlers cannot be set
per API in Connexion 3, so the vendor is picked from the request path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.problem import problem
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from .bounded import excerpt

log = logging.getLogger(__name__)


class VendorError(ProblemException):  # type: ignore[misc]
    """A finished vendor error response, raised from a handler or a security function."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None,
                 content_type: str = "application/json") -> None:
        super().__init__(status=status, title="vendor error", detail=None)
        self.body = body
        self.vendor_headers = dict(headers or {})
        self.content_type = content_type

    def as_response(self) -> ConnexionResponse:
        return respond(self.status, self.body, self.vendor_headers, self.content_type)


def respond(status: int, body: Any, headers: Mapping[str, str] | None = None,
            content_type: str = "application/json") -> ConnexionResponse:
    raw = body if isinstance(body, str | bytes) else json.dumps(body, separators=(",", ":"))
    return ConnexionResponse(status_code=status, body=raw, content_type=content_type,
                             headers=dict(headers or {}))


# The router's bare phrases, as the texts the server has always answered with (Werkzeug's, from the
# Flask days): a vendor renderer that shows the detail keeps its bytes.
ROUTER_TEXTS = {
    (404, "Not Found"): "The requested URL was not found on the server. If you entered the URL manually please "
                        "check your spelling and try again.",
    (405, "Method Not Allowed"): "The method is not allowed for the requested URL.",
}

# The request whose error is being rendered, for a renderer that reports more than Connexion's first failure
# (Connexion's request context is not set yet when its validation fails).
failed_request: ContextVar[ConnexionRequest | None] = ContextVar("failed_request", default=None)

# The per-vendor renderer of framework errors: (status, detail, headers, path) -> response. The detail
# is Connexion's, whole (a validation detail names the failing schema keyword and instance).
Renderer = Callable[[int, str, Mapping[str, str], str], ConnexionResponse]


def first_line(detail: str | None, fallback: str) -> str:
    """Connexion's validation details dump the whole schema after the first line; keep that line,
    and of a rejected value quoted in it (it can be megabytes) only an excerpt."""
    return excerpt((detail or fallback).strip().split("\n", 1)[0] or fallback, 300)


def install(app: Any, renderer_for: Callable[[str], Renderer | None],
            allowed_for: Callable[[str], tuple[str, ...]]) -> None:
    """Register the app-wide handlers; `renderer_for(path)` finds the vendor renderer, if any, and
    `allowed_for(path)` the documented methods for a 405's Allow header."""

    def render(request: ConnexionRequest, status: int, title: str | None, detail: str | None,
               headers: Mapping[str, str] | None) -> ConnexionResponse:
        renderer = renderer_for(request.url.path)
        if status >= 500:
            log.error("%s on %s %s: %s", status, request.method, request.url.path, detail or title)
        text = detail or title or "error"
        out = dict(headers or {})
        if status == 405:
            out["Allow"] = ", ".join(allowed_for(request.url.path))
        if renderer is None:
            return problem(status=status, title=title or "Error", detail=first_line(text, "error"), headers=out)
        token = failed_request.set(request)
        try:
            rendered = renderer(status, text, out, request.url.path)
        finally:
            failed_request.reset(token)
        if rendered.status_code != 405:  # Express, Rails and gin answer an unrouted method 404, without Allow
            rendered.headers.pop("Allow", None)
        return rendered

    def on_problem(request: ConnexionRequest, exc: ProblemException) -> ConnexionResponse:
        if isinstance(exc, VendorError):
            return exc.as_response()
        return render(request, exc.status, exc.title, exc.detail, exc.headers)

    def on_http(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
        detail = ROUTER_TEXTS.get((exc.status_code, exc.detail), exc.detail)
        return render(request, exc.status_code, None, detail, exc.headers)

    def on_undecodable(request: ConnexionRequest, exc: UnicodeDecodeError) -> ConnexionResponse:
        return render(request, 400, "Bad Request", "Request body is not valid UTF-8", None)

    def on_crash(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
            # SQLite's write lock not had within busy_timeout (several processes on one file): busy, not broken
            return render(request, 503, "Service Unavailable", "The store is busy; retry", {"Retry-After": "1"})
        log.exception("unhandled error on %s", request.url.path, exc_info=exc)
        return render(request, 500, "Internal Server Error", "Internal Server Error", None)

    app.add_error_handler(ProblemException, on_problem)
    app.add_error_handler(HTTPException, on_http)
    app.add_error_handler(UnicodeDecodeError, on_undecodable)  # Connexion decodes bodies unguarded
    app.add_error_handler(Exception, on_crash)
