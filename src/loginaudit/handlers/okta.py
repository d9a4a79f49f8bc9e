"""Okta System Log `GET /api/v1/logs`: LogEvents of sign-ins, bounded and polling queries, Link paging."""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import string
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from connexion.lifecycle import ConnexionResponse

from ..bounded import loads_json
from ..errors import VendorError, respond
from ..fastjson import encoded
from ..framework import request
from ..quickstart import quote_sh
from ..storage import clock, current
from ..storage.criteria import And, Cmp, Expr, IsNull, Or, Text, all_of
from ..storage.events import EventQuery, Order
from ..storage.records import MAX_ID
from ..storage.rendered import (
    Choice,
    Col,
    Concat,
    Const,
    Derived,
    Doc,
    Listed,
    Mapped,
    NullWhen,
    Obj,
    Time,
    event_json_with,
)
from ..storage.rendered import Or as Fallback  # criteria's Or is the filter's
from ..timefmt import EPOCH, parse_iso
from ..tokens import Principal, TokenKind, resolve
from ..useragent import browser_of, device_of, os_of
from . import okta_filter

JSON_TYPE = "application/json"
ADMIN_TOKEN_KIND = "api_token"  # what the pytest plugin issues as this vendor's credentials[...]
LOGS_SCOPE = "okta.logs.read"
_B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def _okta_secret(rng: Any, prefix: str, length: int) -> str:
    pick = rng.choice if rng else secrets.choice
    return prefix + "".join(pick(_B62 + "-_") for _ in range(length))


TOKEN_KINDS = {
    "api_token": TokenKind("SSWS API token of an admin of the credential's org (tenant): reads its System Log",
                           lambda rng: _okta_secret(rng, "00", 40), needs_credential=True),
    "oauth_logs": TokenKind(f"OAuth 2.0 access token (Bearer) of the credential's org with scope {LOGS_SCOPE}",
                            lambda rng: _okta_secret(rng, "eyJraWQiOi", 54), grants=(LOGS_SCOPE,),
                            needs_credential=True),
    "oauth_no_scope": TokenKind(f"OAuth 2.0 access token without {LOGS_SCOPE} (403)",
                                lambda rng: _okta_secret(rng, "eyJraWQiOi", 54), needs_credential=True),
}
DEFAULT_LIMIT, WINDOW, RETENTION = 100, timedelta(days=7), timedelta(days=90)
MAX_CURSOR = 200


# ---- errors: Okta's envelope ---------------------------------------------------------------------------

def _error_id() -> str:
    return "oae" + "".join(secrets.choice(_B62) for _ in range(22))


def _body(code: str, summary: str, causes: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"errorCode": code, "errorSummary": summary, "errorLink": code, "errorId": _error_id(),
            "errorCauses": [{"errorSummary": c} for c in causes]}


def _fail(status: int, code: str, summary: str, *causes: str,
          headers: Mapping[str, str] | None = None) -> VendorError:
    return VendorError(status, _body(code, summary, causes), headers, JSON_TYPE)


INVALID_TOKEN = ("E0000011", "Invalid token provided")
FORBIDDEN = ("E0000006", "You do not have permission to perform the requested action")


def render_error(status: int, detail: str, headers: Mapping[str, str], path: str) -> ConnexionResponse:
    if status == 401:
        return respond(401, _body(*INVALID_TOKEN), headers, JSON_TYPE)
    if status == 404:
        return respond(404, _body("E0000007", f"Not found: Resource not found: {path} (Resource)"), headers, JSON_TYPE)
    if status == 405:
        return respond(405, _body("E0000022", "The endpoint does not support the provided HTTP method"), headers,
                       JSON_TYPE)
    if status == 429:
        return respond(429, _body("E0000047", "API call exceeded rate limit due to too many requests."), headers,
                       JSON_TYPE)
    if status >= 500:
        return respond(status, _body("E0000009", "Internal Server Error"), headers, JSON_TYPE)
    cause = detail.strip().split("\n", 1)[0][:300]
    return respond(400, _body("E0000001", "Api validation failed: request", (cause,)), headers, JSON_TYPE)


def rate_limit_headers(limit: int, remaining: int, reset_in: int) -> dict[str, str]:
    """Okta's rate-limit headers: the window's limit, what is left, and its end in epoch seconds."""
    reset = int(datetime.now(UTC).timestamp()) + reset_in
    return {"X-Rate-Limit-Limit": str(limit), "X-Rate-Limit-Remaining": str(remaining),
            "X-Rate-Limit-Reset": str(reset)}


def render_throttled(decision: Any, path: str) -> ConnexionResponse:
    headers = rate_limit_headers(decision.limit, 0, decision.retry_after)
    return respond(429, _body("E0000047", "API call exceeded rate limit due to too many requests."), headers,
                   JSON_TYPE)


# ---- auth: `SSWS <api token>` or `Bearer <access token>` ---------------------------------------------

# okta 3.4.6's generated client sends `SSWS<token>` without a space (configuration.py auth_settings:
# authorization_mode + access_token); Okta's own SDK works against Okta, so the scheme is read as a prefix.
_SCHEME = re.compile(r"^(ssws|bearer)\s*(\S+)$", re.IGNORECASE)


def authenticate(token: str, required_scopes: Any = None) -> dict[str, Any]:
    match = _SCHEME.match(token.strip())
    if match is None:
        raise _fail(401, *INVALID_TOKEN)
    scheme, secret = match.group(1).lower(), match.group(2)
    _, principal, _ = resolve("okta", secret)
    if principal is None or principal.tenant_id is None:
        raise _fail(401, *INVALID_TOKEN)
    if (principal.kind == "api_token") != (scheme == "ssws"):
        raise _fail(401, *INVALID_TOKEN)  # an API token is only ever SSWS, an access token only Bearer
    if principal.kind != "api_token" and LOGS_SCOPE not in principal.grants:
        challenge = f'Bearer authorization_uri="", error="insufficient_scope", scope="{LOGS_SCOPE}"'
        raise _fail(403, *FORBIDDEN, headers={"WWW-Authenticate": challenge})
    return principal.as_token_info()


# ---- the LogEvent ------------------------------------------------------------------------------------

_ID_SPACE, _ID_MIX = 62 ** 17, 0x9E3779B97F4A7C15F39CC0605  # odd, not a multiple of 31: invertible mod 62**17


@lru_cache(maxsize=65536)  # 17 divmods per row were 7% of a walk's page; a page repeats its people
def user_id(person_id: int) -> str:
    """An Okta-shaped user id (`00u` + 17 base62 characters), stable and reversible."""
    n, out = (person_id * _ID_MIX) % _ID_SPACE, []
    for _ in range(17):
        n, digit = divmod(n, 62)
        out.append(_B62[digit])
    return "00u" + "".join(reversed(out))


def person_of(okta_id: str) -> int | None:
    if len(okta_id) != 20 or not okta_id.startswith("00u") or any(ch not in _B62 for ch in okta_id[3:]):
        return None
    n = 0
    for ch in okta_id[3:]:
        n = n * 62 + _B62.index(ch)
    person = (n * pow(_ID_MIX, -1, _ID_SPACE)) % _ID_SPACE
    return person if 0 < person <= MAX_ID else None


def event_type(kind: str, ok: bool) -> str:
    return "user.session.start" if kind == "login" else "user.session.end"


def legacy_event_type(kind: str, ok: bool) -> str:
    if kind == "login":
        return "core.user_auth.login_success" if ok else "core.user_auth.login_failed"
    return "core.user_auth.logout_success"


def display_message(kind: str, ok: bool) -> str:
    return "User login to Okta" if kind == "login" else "User logout from Okta"


def outcome_result(kind: str, ok: bool) -> str:
    return "SUCCESS" if ok else "FAILURE"


def severity(kind: str, ok: bool) -> str:
    return "INFO" if ok else "WARN"


DERIVED: dict[str, okta_filter.Derive] = {
    "eventType": event_type, "legacyEventType": legacy_event_type, "displayMessage": display_message,
    "outcome.result": outcome_result, "severity": severity,
}
CREDENTIAL_TYPES = {"password": "PASSWORD", "http_basic": "PASSWORD", "oidc": "OIDC", "saml": "SAML2",
                    "google": "IDP", "github": "IDP"}
DEVICES = {"Desktop": "Computer", "Mobile": "Mobile", "Tablet": "Tablet", "Bot": "Unknown", "": "Unknown"}


# What the LogEvent derives from one column, by Python rules SQL cannot say (storage/rendered.py's Derived),
# each cached by its argument: SQLite calls them per row, and a call that hits the cache costs SQLite's
# ~0.3 µs where one through two more Python frames cost ~0.6.
@lru_cache(maxsize=65536)
def _actor_id(person_id: int | None) -> str:
    return "unknown" if person_id is None else user_id(person_id)


@lru_cache(maxsize=4096)
def _os(user_agent: str | None) -> str:
    return os_of(user_agent) or "Unknown"


@lru_cache(maxsize=4096)
def _browser(user_agent: str | None) -> str:
    return browser_of(user_agent).upper() or "UNKNOWN"


@lru_cache(maxsize=4096)
def _device(user_agent: str | None) -> str:
    return DEVICES[device_of(user_agent)]


def _short_uuid(uuid: str) -> str:
    return uuid.replace("-", "")[:24]


def _by_kind(derive: okta_filter.Derive) -> Choice:
    """A field the filter's DERIVED also computes from (kind, success), as the Doc says it: by kind
    (login or not), then by success where the two differ."""
    def by_success(kind: str) -> str | Choice:
        ok, failed = derive(kind, True), derive(kind, False)
        return ok if ok == failed else Choice("successful", ok, failed)
    return Choice("event_type", by_success("login"), by_success("logout"), equals="login")


_PLACE = Obj((("city", Col("city")), ("state", Const(None)), ("country", Col("country")),
              ("postalCode", Const(None)), ("geolocation", Const(None))))
# The request's id, else one made from the event's uuid.
_TRANSACTION = Fallback("request_id", Derived("uuid", _short_uuid, sql="substr(replace({c}, '-', ''), 1, 24)"))
# A LogEvent as the System Log API writes it (developer.okta.com, LogEvent object), its keys in that order;
# written by the store (storage/rendered.py). `displayName` is the credential holder's name.
LOG_EVENT: Doc = (
    ("actor", Obj((("id", Derived("person_id", _actor_id)), ("type", Const("User")), ("alternateId", Col("username")),
                   ("displayName", Fallback("login_name", "unknown", blank=False)), ("detailEntry", Const(None))))),
    ("client", Obj((("userAgent", Obj((("rawUserAgent", Fallback("user_agent", "UNKNOWN")),
                                       ("os", Derived("user_agent", _os)),
                                       ("browser", Derived("user_agent", _browser))))),
                    ("zone", Const("null")), ("device", Derived("user_agent", _device)), ("id", Const(None)),
                    ("ipAddress", Col("ip")), ("geographicalContext", _PLACE)))),
    ("device", Const(None)),
    ("authenticationContext", Obj((
        ("authenticationProvider", Const(None)), ("credentialProvider", Const(None)),
        ("credentialType", Choice("event_type", Mapped("auth_method", tuple(CREDENTIAL_TYPES.items()), keep=False),
                                  Const(None), equals="login")),
        ("issuer", Const(None)), ("interface", Const(None)), ("authenticationStep", Const(0)),
        ("externalSessionId", Choice("successful", Concat("idx", _TRANSACTION), "unknown"))))),
    ("displayMessage", _by_kind(display_message)),
    ("eventType", _by_kind(event_type)),
    ("outcome", Obj((("result", _by_kind(outcome_result)),
                     ("reason", NullWhen("successful", Col("failure_reason")))))),
    ("published", Time("occurred_at", "iso_ms_z")),
    ("securityContext", Obj(tuple((key, Const(None)) for key in ("asNumber", "asOrg", "isp", "domain", "isProxy")))),
    ("severity", _by_kind(severity)),
    ("debugContext", Obj((("debugData", Obj((("requestId", _TRANSACTION), ("requestUri", Const("/idp/idx/identify")),
                                             ("url", Const("/idp/idx/identify?"))))),))),
    ("legacyEventType", _by_kind(legacy_event_type)),
    ("transaction", Obj((("type", Const("WEB")), ("id", _TRANSACTION), ("detail", Obj(()))))),
    ("uuid", Col("uuid")),
    ("version", Const("0")),
    ("request", Obj((("ipChain", Listed("ip", Obj((
        ("ip", Col("ip")), ("geographicalContext", _PLACE),
        ("version", Choice("ip", "V6", "V4", contains=":")), ("source", Const(None)))))),))),
    ("target", Const(None)),
)


# ---- the query ---------------------------------------------------------------------------------------

def _time(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise _fail(400, "E0000001", f"Api validation failed: {name}",
                    f"{name}: The date format in your query is not recognized. Please enter dates using "
                    "ISO8601 string format.. ") from None


def _encode_cursor(values: tuple[Any, ...]) -> str:
    """The opaque `after`: the last row's order key (time as microseconds, then id)."""
    raw = [(v - EPOCH) // timedelta(microseconds=1) if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(raw, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, polling: bool) -> tuple[Any, ...]:
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError(cursor)
        raw = loads_json(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != (1 if polling else 2) or \
                not all(isinstance(v, int) and not isinstance(v, bool) for v in raw) or not 0 <= raw[-1] <= MAX_ID:
            raise ValueError(cursor)
        return tuple(raw) if polling else (EPOCH + timedelta(microseconds=raw[0]), raw[1])
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise _fail(400, "E0000001", "Api validation failed: after", "after: The after cursor is invalid") from None


def _keywords(q: str) -> Expr | None:
    """`q`: every keyword (case-insensitive) somewhere in the event's text fields."""
    fields = ("username", "ip", "user_agent", "country", "city", "failure_reason")
    words = q.split()
    if len(words) > 10 or any(len(w) > 40 for w in words):
        raise _fail(400, "E0000001", "Api validation failed: q",
                    "q: at most 10 keywords of at most 40 characters each")
    return all_of(*(Or(tuple(Text(f, "contains", w, casefold=True) for f in fields)) for w in words))


def _link(base: str, params: Mapping[str, str], rel: str) -> str:
    query = urlencode(params)
    return f'<{base}?{query}>; rel="{rel}"' if query else f'<{base}>; rel="{rel}"'


def listLogEvents(token_info: dict[str, Any], since: str | None = None, until: str | None = None,
                  after: str | None = None, filter: str | None = None, q: str | None = None,
                  limit: int = DEFAULT_LIMIT, sortOrder: str = "ASCENDING") -> tuple[Any, int, dict[str, str]]:  # noqa: N803
    """Bounded queries (an `until`, or DESCENDING) page by `published`; polling queries (no `until`,
    ASCENDING) page in the order the store received events, and always link to the next page."""
    principal: Principal = token_info["principal"]
    polling = until is None and sortOrder == "ASCENDING"
    start, end = _time("since", since), _time("until", until)
    try:
        where_filter = okta_filter.parse(filter, DERIVED, person_of) if filter else None
    except okta_filter.FilterError as exc:
        raise _fail(400, "E0000031", "Invalid search criteria.", str(exc)) from None
    where_q = _keywords(q) if q else None
    cursor = _decode_cursor(after, polling) if after else None
    with current().session() as s:
        now = clock.now(s)
        end = end or now
        start = start or (end - WINDOW)
        if start > end:
            raise _fail(400, "E0000001", "Api validation failed: since", "since: since must be before until")
        start = max(start, now - RETENTION)  # the System Log keeps 90 days
        unknown_users = And((IsNull("tenant_id"), IsNull("credential_id")))  # failed sign-ins of unknown names
        scope = Or((Cmp("tenant_id", "=", principal.tenant_id), unknown_users))
        where = all_of(scope, Cmp("occurred_at", ">=", start), Cmp("occurred_at", "<" if until else "<=", end),
                       where_filter, where_q)
        desc = sortOrder == "DESCENDING"
        order: Order = (("id", False),) if polling else (("occurred_at", desc), ("id", desc))
        written = event_json_with(s, EventQuery(where=where, order=order, limit=limit + 1, after=cursor), LOG_EVENT,
                                  ("id", "occurred_at"), shown=limit)
    texts = written.texts
    body = encoded("[" + ",".join(texts) + "]")
    url = request.url
    base = f"{url.scheme}://{url.netloc}{url.path.rstrip('/')}"  # the router saw `/api/v1/logs/`; Okta's has none
    params = dict(request.query_params)
    links = [_link(base, params, "self")]
    if written.read > limit or polling:  # a polling query always has a next page: what arrives later
        last = written.extra(len(texts) - 1) if texts else None
        next_after = (_encode_cursor((last.id,) if polling else (last.occurred_at, last.id)) if last
                      else after or _encode_cursor((0,)))
        links.append(_link(base, {**params, "after": next_after}, "next"))
    return body, 200, {"Content-Type": JSON_TYPE, "Link": ", ".join(links)}


def example_call(root: str, token: Any, session: Any) -> str:
    return f"curl -H {quote_sh('Authorization: SSWS ' + token.secret)} {quote_sh(root + '/api/v1/logs?limit=10')}"
