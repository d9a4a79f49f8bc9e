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

from connexion import request
from connexion.lifecycle import ConnexionResponse

from ..bounded import loads_json
from ..errors import VendorError, respond
from ..quickstart import quote_sh
from ..storage import clock, current
from ..storage.criteria import And, Cmp, Expr, IsNull, Or, Text, all_of
from ..storage.events import EventQuery, EventRow, Order, event_rows
from ..storage.records import MAX_ID, login_names
from ..timefmt import EPOCH, iso_ms_z, parse_iso
from ..tokens import Principal, TokenKind, resolve
from ..useragent import describe
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
READ = ("id", "uuid", "occurred_at", "credential_id", "person_id", "username", "event_type", "successful",
        "failure_reason", "auth_method", "ip", "user_agent", "country", "city", "request_id")
CREDENTIAL_TYPES = {"password": "PASSWORD", "http_basic": "PASSWORD", "oidc": "OIDC", "saml": "SAML2",
                    "google": "IDP", "github": "IDP"}
DEVICES = {"Desktop": "Computer", "Mobile": "Mobile", "Tablet": "Tablet", "Bot": "Unknown", "": "Unknown"}


def _place(ev: EventRow) -> dict[str, Any]:
    return {"city": ev.city, "state": None, "country": ev.country, "postalCode": None, "geolocation": None}


def _log_event(ev: EventRow, names: Mapping[int, Any]) -> dict[str, Any]:
    kind, ok = ev.event_type, ev.successful
    login = names.get(ev.credential_id) if ev.credential_id is not None else None
    browser, os_name, device = describe(ev.user_agent or "")
    transaction = ev.request_id or ev.uuid.replace("-", "")[:24]
    ip_chain = [{"ip": ev.ip, "geographicalContext": _place(ev), "version": "V6" if ":" in ev.ip else "V4",
                 "source": None}] if ev.ip else []
    return {
        "actor": {"id": user_id(ev.person_id) if ev.person_id is not None else "unknown", "type": "User",
                  "alternateId": ev.username,
                  "displayName": f"{login.first_name} {login.last_name}" if login is not None else "unknown",
                  "detailEntry": None},
        "client": {"userAgent": {"rawUserAgent": ev.user_agent or "UNKNOWN", "os": os_name or "Unknown",
                                 "browser": browser.upper() or "UNKNOWN"},
                   "zone": "null", "device": DEVICES[device], "id": None, "ipAddress": ev.ip,
                   "geographicalContext": _place(ev)},
        "device": None,
        "authenticationContext": {"authenticationProvider": None,
                                  "credentialProvider": None,
                                  "credentialType": CREDENTIAL_TYPES.get(ev.auth_method) if kind == "login" else None,
                                  "issuer": None, "interface": None, "authenticationStep": 0,
                                  "externalSessionId": "unknown" if not ok else "idx" + transaction},
        "displayMessage": display_message(kind, ok),
        "eventType": event_type(kind, ok),
        "outcome": {"result": outcome_result(kind, ok), "reason": None if ok else ev.failure_reason},
        "published": iso_ms_z(ev.occurred_at),
        "securityContext": {"asNumber": None, "asOrg": None, "isp": None, "domain": None, "isProxy": None},
        "severity": severity(kind, ok),
        "debugContext": {"debugData": {"requestId": transaction, "requestUri": "/idp/idx/identify",
                                       "url": "/idp/idx/identify?"}},
        "legacyEventType": legacy_event_type(kind, ok),
        "transaction": {"type": "WEB", "id": transaction, "detail": {}},
        "uuid": ev.uuid,
        "version": "0",
        "request": {"ipChain": ip_chain},
        "target": None,
    }


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


def _link(params: Mapping[str, str], rel: str) -> str:
    path = request.url.path.rstrip("/")  # the router saw `/api/v1/logs/`; Okta's URL has no slash
    url = str(request.url.replace(path=path, query=urlencode(params)))
    return f'<{url}>; rel="{rel}"'


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
        rows = event_rows(s, EventQuery(where=where, order=order, limit=limit + 1, after=cursor), READ)
        page = rows[:limit]
        names = login_names(s, (ev.credential_id for ev in page))
        body = [_log_event(ev, names) for ev in page]
    params = dict(request.query_params)
    links = [_link(params, "self")]
    if len(rows) > limit or polling:  # a polling query always has a next page: what arrives later
        last = page[-1] if page else None
        next_after = (_encode_cursor((last.id,) if polling else (last.occurred_at, last.id)) if last
                      else after or _encode_cursor((0,)))
        links.append(_link({**params, "after": next_after}, "next"))
    return body, 200, {"Content-Type": JSON_TYPE, "Link": ", ".join(links)}


def example_call(root: str, token: Any, session: Any) -> str:
    return f"curl -H {quote_sh('Authorization: SSWS ' + token.secret)} {quote_sh(root + '/api/v1/logs?limit=10')}"
