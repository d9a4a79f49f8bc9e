"""Unleash Enterprise `GET /api/admin/logins`: login history as JSON or json2csv-style CSV."""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from collections.abc import Mapping
from datetime import timedelta
from functools import lru_cache
from typing import Any

from connexion import NoContent
from connexion.lifecycle import ConnexionResponse
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from ..errors import VendorError, first_line, respond
from ..fastjson import encoded
from ..framework import request
from ..quickstart import quote_sh
from ..storage import clock, current
from ..storage.criteria import Cmp, In, all_of
from ..storage.events import EventQuery, event_rows
from ..storage.memo import vendor_settings
from ..storage.rendered import Col, Doc, Flag, Mapped, NullWhen, Time, columns, event_json, renderer
from ..tokens import TokenKind, hex_secret, resolve

RETENTION = timedelta(hours=336)  # Unleash's default login_history_retention
JSON_TYPE = "application/json"  # sent as the registry's json_type
CSV_TYPE = "text/csv"  # the wire adds "; charset=utf-8", as Express does
COLUMNS = ("id", "username", "auth_type", "created_at", "successful", "ip", "failure_reason")
TYPED_COLUMNS = (*COLUMNS, "type")  # Unleash 8: migration 20260605181500-add-type-to-login-history
# Behaviour switches (control plane: /_loginaudit/vendors/unleash/settings), their values and defaults.
SETTINGS = {"shape": "8.x", "edition": "enterprise"}
SETTING_CHOICES = {
    "shape": {"8.x": "every event carries `type` (login/logout) and logouts are listed (Unleash 8)",
              "7.x": "logins only, no `type` field (Unleash 4.22-7.x)"},
    "edition": {"enterprise": "login history is served (an Enterprise feature)",
                "oss": "the open-source server: no such route, 404 NotFoundError after authentication"},
}
BEARER = re.compile(r"^Bearer\s+", re.IGNORECASE)  # bearer-token-middleware.ts: authHeader.replace(/^Bearer\s+/i, '')
AUTH_TYPES = {"password": "simple", "http_basic": "simple"}  # canonical method → Unleash auth_type

ADMIN_TOKEN_KIND = "admin"  # what the pytest plugin issues as this vendor's credentials[...]
TOKEN_KINDS = {
    "admin": TokenKind("admin API token (*:*.<hex>), carries ADMIN",
                       lambda rng: f"*:*.{hex_secret(rng, 28)}", grants=("ADMIN",)),
    "pat": TokenKind("personal access token (user:<hex>); grant ADMIN for an Admin root role user",
                     lambda rng: f"user:{hex_secret(rng, 28)}", needs_credential=True),
    "client": TokenKind("client API token (Unleash 4-6 name of the backend token)",
                        lambda rng: f"default:development.{hex_secret(rng, 28)}"),
    "backend": TokenKind("backend API token (Unleash 7+): for SDKs and Edge, not the admin API",
                         lambda rng: f"default:development.{hex_secret(rng, 28)}"),
    "frontend": TokenKind("frontend API token", lambda rng: f"default:development.{hex_secret(rng, 28)}"),
    # The secure (v2) formats of src/lib/authentication/authorization-token.ts: selector (16 bytes) and
    # secret (32 bytes), base64url, after the v1 prefix; Unleash still accepts the v1 ones above.
    "admin_v2": TokenKind("admin API token, v2 format (*:*.v2_<selector>_<secret>), carries ADMIN",
                          lambda rng: f"*:*.{_v2(rng)}", grants=("ADMIN",)),
    "pat_v2": TokenKind("personal access token, v2 format (user:v2_<selector>_<secret>)",
                        lambda rng: f"user:{_v2(rng)}", needs_credential=True),
    "backend_v2": TokenKind("backend API token, v2 format (default:development.v2_<selector>_<secret>)",
                            lambda rng: f"default:development.{_v2(rng)}"),
}

def _v2(rng: Any) -> str:
    """`v2_` + base64url(16 random bytes) + `_` + base64url(32), unpadded, as createTokenV2Credential."""
    raw = rng.randbytes(48) if rng else secrets.token_bytes(48)
    return f"v2_{base64.urlsafe_b64encode(raw[:16]).rstrip(b'=').decode()}_" \
           f"{base64.urlsafe_b64encode(raw[16:]).rstrip(b'=').decode()}"


NO_HEADER = ("You must log in to use Unleash. Your request had no authorization header, so we could not "
             "authorize you. Try logging in at /auth/simple/login")
NOT_LOGGED_IN = "You must log in to use Unleash."
NO_ADMIN = ("You don't have the required permissions to perform this operation. To perform this action, "
            'you need the "ADMIN" permission.')


def _error(name: str, message: str, **extra: Any) -> dict[str, Any]:
    """UnleashError.toJSON(): a fresh random id, the name, the message, and details."""
    return {"id": str(uuid.uuid4()), "name": name, "message": message, "details": [{"message": message}],
            **extra}


def _no_header() -> dict[str, Any]:
    return _error("AuthenticationRequired", NO_HEADER, path="/auth/simple/login", type="password",
                  defaultHidden=False)


def render_error(status: int, detail: str, headers: Mapping[str, str], path: str) -> ConnexionResponse:
    detail = first_line(detail, "error")
    if status == 401:
        body = _no_header()
    elif status in (404, 405):  # Express has no 405: an unrouted method is a 404
        body = _error("NotFoundError", f"The path you were looking for ({path}) is not available.")
        status = 404
    elif status >= 500:
        body = _error("InternalError", "Unexpected error")
    else:
        body = _error("ValidationError", detail)
    return respond(status, body, headers, JSON_TYPE)


def render_throttled(decision: Any, path: str) -> ConnexionResponse:
    """express-rate-limit as Unleash configures it: 429, its default text, draft-6 `RateLimit-*` headers."""
    headers = {"RateLimit-Limit": str(decision.limit), "RateLimit-Remaining": "0",
               "RateLimit-Reset": str(decision.retry_after), "Retry-After": str(decision.retry_after)}
    return respond(429, "Too many requests, please try again later.", headers, "text/html; charset=utf-8")


def authenticate(token: str, required_scopes: Any = None) -> dict[str, Any]:
    """Admin API tokens and ADMIN personal access tokens pass; a `Bearer` prefix (any case, any
    whitespace after it) is stripped as Unleash's bearer-token middleware does."""
    secret = BEARER.sub("", token.strip())
    if not secret:
        raise VendorError(401, _no_header(), content_type=JSON_TYPE)
    _, principal, _ = resolve("unleash", secret)
    if principal is None:
        raise VendorError(401, _error("UnauthorizedError", NOT_LOGGED_IN), content_type=JSON_TYPE)
    if principal.kind in ("client", "backend", "backend_v2", "frontend"):
        raise VendorError(403, {"message": "invalid token: expected a different token type for this endpoint"},
                          content_type=JSON_TYPE)
    if "ADMIN" not in principal.grants:
        raise VendorError(403, _error("PermissionError", NO_ADMIN, permissions=["ADMIN"]), content_type=JSON_TYPE)
    return principal.as_token_info()


@lru_cache(maxsize=256)  # a client sends the same Accept every time; parsing it was 3% of a miss
def _wants_csv(accept: str) -> bool:
    ranked = parse_accept_header(accept or "*/*", MIMEAccept)
    return ranked.quality("text/csv") > ranked.quality("application/json")


# A row as Unleash's login-history store maps it (the new `type` column last, as a row mapper that
# gained it would add it); rendered by the store (storage/rendered.py).
DOC: Doc = (("id", Col("id")), ("username", Col("username")),
            ("auth_type", Mapped("auth_method", tuple(AUTH_TYPES.items()))),
            ("created_at", Time("occurred_at", "iso_ms_z")), ("successful", Flag("successful")), ("ip", Col("ip")),
            ("failure_reason", NullWhen("successful", Col("failure_reason"))))
TYPED_DOC: Doc = (*DOC, ("type", Col("event_type")))


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace('"', '""') + '"'


def to_csv(rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> str:
    """json2csv 7 `Parser()` defaults: quoted header and strings, bare scalars, no trailing EOL."""
    lines = [",".join(f'"{c}"' for c in columns)]
    lines += [",".join(_csv_cell(row[c]) for c in columns) for row in rows]
    return "\n".join(lines)


def getLoginHistory(token_info: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    tenant = token_info["principal"].tenant_id  # a token of a user of one instance reads that instance only
    with current().session() as s:
        mode = vendor_settings(s, "unleash", SETTINGS)
        if mode["edition"] == "oss":  # no route: app.js's catch-all, after the admin API's auth
            raise VendorError(404, _error("NotFoundError", f"The path you were looking for ({request.url.path}) "
                                                          "is not available."), content_type=JSON_TYPE)
        typed = mode["shape"] == "8.x"
        since = clock.now(s) - RETENTION
        kinds = In("event_type", ("login", "logout")) if typed else Cmp("event_type", "=", "login")
        where = all_of(kinds, Cmp("occurred_at", ">=", since),
                       None if tenant is None else Cmp("tenant_id", "=", tenant))
        doc, query = TYPED_DOC if typed else DOC, EventQuery(where=where)
        if _wants_csv(request.headers.get("accept", "")):
            render = renderer(doc)
            rows = [render(ev) for ev in event_rows(s, query, columns(doc))]
        else:
            return encoded('{"events":[' + ",".join(event_json(s, query, doc)) + "]}"), 200, \
                {"Content-Type": JSON_TYPE}
    if not rows:
        return NoContent, 204, {"Content-Type": CSV_TYPE}
    return to_csv(rows, TYPED_COLUMNS if typed else COLUMNS), 200, {"Content-Type": CSV_TYPE}


def example_call(root: str, token: Any, session: Any) -> str:
    """The admin token as Unleash takes it (no scheme needed)."""
    return f"curl -H {quote_sh('Authorization: ' + token.secret)} {root}/api/admin/logins"
