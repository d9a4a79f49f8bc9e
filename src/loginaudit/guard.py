"""Who may drive this server: the host names it answers to, and who may write to its control plane.

A web page can POST to http://127.0.0.1:8080/_loginaudit/reset (a "simple" request needs no CORS
preflight), and a DNS-rebinding page can read /_loginaudit/tokens under a host name of its own. So:
- every request's Host must be one the server is known by: the loopback names, the address it is
  bound to and any `--allowed-host` (LOGINAUDIT_ALLOWED_HOSTS); bound to every interface, it takes
  any Host and `serve` warns loudly (421 otherwise);
- a control-plane write sent by a browser from another origin (its Origin or Sec-Fetch-Site says
  so) is refused (403), and so is one with a body type browsers send cross-site unasked (415);
- with a control token (`--control-token`, LOGINAUDIT_CONTROL_TOKEN) the control plane wants
  `Authorization: Bearer <token>` (401), its documentation excepted.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from connexion.problem import problem

from .registry import CONTROL
from .wire import send_response

ALLOWED_HOSTS_ENV = "LOGINAUDIT_ALLOWED_HOSTS"  # comma-separated; "*" takes any
CONTROL_TOKEN_ENV = "LOGINAUDIT_CONTROL_TOKEN"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
TEST_CLIENT_HOST = "testserver"  # Starlette's TestClient; not a name DNS resolves
EVERY_INTERFACE = ("0.0.0.0", "::", "")
SIMPLE_TYPES = ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def allowed_hosts_from_env() -> frozenset[str] | None:
    """The configured host names, or None (any) for `*`."""
    names = {n.strip().lower() for n in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",") if n.strip()}
    return None if "*" in names else frozenset({*LOOPBACK, TEST_CLIENT_HOST, *names})


def hosts_for_bind(host: str, extra: Iterable[str] = ()) -> str:
    """The LOGINAUDIT_ALLOWED_HOSTS value for `serve --host HOST --allowed-host ...`."""
    return "*" if host in EVERY_INTERFACE else ",".join(sorted({host.lower(), *(e.lower() for e in extra)}))


def _host_name(value: str) -> str:
    return (urlsplit(f"//{value}").hostname or "").lower()


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class Guard:
    def __init__(self, app: Any, allowed_hosts: frozenset[str] | None, control_token: str | None) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.control_token = control_token

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        refusal = self._refusal(scope) if scope["type"] == "http" else None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, title, detail, headers = refusal
        await send_response(send, problem(status=status, title=title, detail=detail, headers=headers))

    def _refusal(self, scope: dict[str, Any]) -> tuple[int, str, str, dict[str, str]] | None:
        host_header = _header(scope, b"host") or ""
        host = _host_name(host_header)
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            return (421, "Misdirected Request", f"this server does not answer to host {host[:100]!r}; start it "
                    "with --allowed-host NAME (or LOGINAUDIT_ALLOWED_HOSTS) to add it", {})
        path: str = scope["path"]
        if not CONTROL.serves(path) or CONTROL.serves_docs(path):
            return None
        if self.control_token is not None:
            presented = (_header(scope, b"authorization") or "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(presented.encode(), self.control_token.encode()):
                return (401, "Unauthorized", "the control plane wants Authorization: Bearer <control token>",
                        {"WWW-Authenticate": 'Bearer realm="loginaudit-control"'})
        if scope["method"] in SAFE_METHODS:
            return None
        origin = _header(scope, b"origin")  # host and port: a page on another local port is another origin
        if (origin is not None and urlsplit(origin).netloc.lower() != host_header.lower()) or (
                _header(scope, b"sec-fetch-site") in ("cross-site", "same-site")):
            return 403, "Forbidden", "control-plane writes are not taken from another origin's page", {}
        if (_header(scope, b"content-type") or "").split(";")[0].strip().lower() in SIMPLE_TYPES:
            return 415, "Unsupported Media Type", "control-plane bodies are application/json or YAML", {}
        return None
