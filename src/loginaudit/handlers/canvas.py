"""Canvas LMS Authentications Log: compound documents with bookmark pagination in `Link`."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote_plus, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from connexion.lifecycle import ConnexionResponse
from sqlalchemy.orm import Session

from ..bounded import loads_json
from ..errors import VendorError, first_line, respond
from ..fastjson import Encoded, document, written
from ..framework import request
from ..quickstart import quote_sh
from ..storage import clock, current
from ..storage.criteria import And, Cmp, Expr, In, IsNull, Or, all_of
from ..storage.events import EventQuery, EventRow
from ..storage.memo import remembered, remembered_each, vendor_settings
from ..storage.models import Credential, Person, Tenant
from ..storage.records import MAX_ID, as_id, credentials_of, find, first_root_tenant, login_rows, logins_where, root_of
from ..storage.rendered import Col, Const, Doc, Obj, ZonedTime, event_json_with
from ..timefmt import clamp_utc, iso_s_z, local_iso_seconds
from ..tokens import Principal, TokenKind, hex_secret, resolve

JSON_TYPE = "application/json"  # sent as the registry's json_type
STRING_IDS = "application/json+canvas-string-ids"
RETENTION = timedelta(days=365)
MAX_PER_PAGE = 100
MAX_BOOKMARK = 200  # ours are ~60 characters; a longer one is not ours
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="canvas-lms"'}
NOT_FOUND = {"errors": [{"message": "The specified resource does not exist."}]}
NOT_AUTHORIZED = {"status": "unauthorized", "errors": [{"message": "user not authorized to perform that action"}]}
LOG_RIGHTS = {"view_statistics", "manage_user_logins"}

# Behaviour switches (control plane: /_loginaudit/vendors/canvas/settings), their values and defaults.
SETTINGS = {"api_auth_error_updates": False, "throttle_status": "403", "pseudonyms_route": True}
SETTING_CHOICES = {
    "throttle_status": {
        "403": "403 Forbidden (Rate Limit Exceeded), as app/middleware/request_throttle.rb sends it",
        "429": "429 Too Many Requests (Rate Limit Exceeded), for clients written against a 429-throttling Canvas"},
}


def _token(rng: Any) -> str:
    return f"{rng.randrange(1, 99999) if rng else 1}~{hex_secret(rng, 32)}"


ADMIN_TOKEN_KIND = "site_admin"  # what the pytest plugin issues as this vendor's credentials[...]
TOKEN_KINDS = {
    "user": TokenKind("a user's access token: can read their own events", _token, needs_credential=True),
    "account_admin": TokenKind("an account admin's token (view_statistics, read_sis, view_user_logins on the "
                               "credential's root account)", _token,
                               grants=("view_statistics", "read_sis", "view_user_logins"), needs_credential=True),
    "site_admin": TokenKind("a Site Admin's token: every account", _token,
                            grants=("site_admin", "read_sis", "manage_sis", "view_user_logins"),
                            needs_credential=True),
}


def render_error(status: int, detail: str, headers: Mapping[str, str], path: str) -> ConnexionResponse:
    detail = first_line(detail, "error")
    if status == 401:
        body: dict[str, Any] = {"status": "unauthenticated", "errors": [{"message": "user authorization required"}]}
        return respond(401, body, {**headers, **CHALLENGE}, JSON_TYPE)
    if status in (404, 405):  # Rails routes an unknown method like an unknown path
        return respond(404, NOT_FOUND, {}, JSON_TYPE)
    if status >= 500:
        return respond(status, {"errors": [{"message": "An error occurred."}]}, headers, JSON_TYPE)
    return respond(status, {"errors": [{"message": detail}]}, headers, JSON_TYPE)


_THROTTLED = {"403": "403 Forbidden (Rate Limit Exceeded)\n", "429": "429 Too Many Requests (Rate Limit Exceeded)\n"}


def render_throttled(decision: Any, path: str) -> ConnexionResponse:
    """Canvas's RequestThrottle#rate_limit_exceeded: 403 in plain text with the bucket's remainder
    (or the 429 variant when the vendor setting asks for it)."""
    with current().session() as s:
        status = vendor_settings(s, "canvas", SETTINGS)["throttle_status"]
    return respond(int(status), _THROTTLED[status], {"X-Rate-Limit-Remaining": "0.0"}, "text/plain; charset=utf-8")


def authenticate(token: str, required_scopes: Any = None) -> dict[str, Any]:
    status, principal, expired_at = resolve("canvas", token)
    if status == "expired" and expired_at is not None:
        body = {"errors": [{"message": "Expired access token.", "expired_at": iso_s_z(expired_at)}]}
        raise VendorError(401, body, CHALLENGE, JSON_TYPE)
    if principal is None:
        raise VendorError(401, {"errors": [{"message": "Invalid access token."}]}, CHALLENGE, JSON_TYPE)
    return principal.as_token_info()


class Caller:
    """What the token's user may see: site admin, or the log rights on one root account."""

    def __init__(self, session: Session, principal: Principal) -> None:
        self.principal = principal
        self.grants = set(principal.grants)
        self.site_admin = "site_admin" in self.grants
        self.root_id, zone = remembered(session, ("canvas.caller", principal.credential_id),
                                        lambda: _home(session, principal.credential_id))
        self.zone = _zone(zone)

    def can_read_logs_of(self, root_id: int) -> bool:
        return self.site_admin or (bool(self.grants & LOG_RIGHTS) and root_id == self.root_id)

    def has(self, *rights: str) -> bool:
        return self.site_admin or bool(self.grants & set(rights))


def _home(session: Session, credential_id: int | None) -> tuple[int | None, str]:
    """The root account and time zone of the token's login."""
    cred = session.get(Credential, credential_id) if credential_id else None
    return (root_of(session, cred.tenant).id, cred.tenant.time_zone) if cred else (None, "UTC")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return ZoneInfo("UTC")


def _denied(session: Session) -> VendorError:
    flag = vendor_settings(session, "canvas", SETTINGS)["api_auth_error_updates"]
    return VendorError(403 if flag else 401, NOT_AUTHORIZED, {}, JSON_TYPE)


def _not_found() -> VendorError:
    return VendorError(404, NOT_FOUND, {}, JSON_TYPE)


def _parse_time(value: str | None) -> datetime | None:
    """TimeHelper.try_parse: ISO 8601, or nothing (bad values are silently ignored)."""
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return clamp_utc(at if at.tzinfo else at.replace(tzinfo=UTC))  # Ruby's Time has no year 9999 limit


def _per_page(value: str | None) -> int:
    """Api.per_page_for: Ruby's to_i (leading digits, else 0), clamped to 1..100; default 10."""
    if value is None:
        return 10
    digits = ""
    for ch in value.strip():
        if ch.isdigit() or (not digits and ch in "+-"):
            digits += ch
        else:
            break
    try:
        n = int(digits)
    except ValueError:
        n = 0
    return max(1, min(MAX_PER_PAGE, n))


def _encode_bookmark(ev: EventRow) -> str:
    raw = json.dumps([ev.occurred_at.astimezone(UTC).isoformat(), ev.id], separators=(",", ":"))
    return "bookmark:" + base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_bookmark(page: str | None) -> tuple[datetime, int] | None:
    """An undecodable or foreign bookmark means the first page, as BookmarkedCollection does."""
    if not page or not page.startswith("bookmark:") or len(page) > MAX_BOOKMARK:
        return None
    token = page.removeprefix("bookmark:")
    try:
        at, ident = loads_json(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None or not isinstance(ident, int) or isinstance(ident, bool) or not 0 < ident <= MAX_ID:
            return None
        return clamp_utc(parsed), ident
    except (ValueError, TypeError):  # BadInput, binascii.Error and UnicodeDecodeError are ValueErrors
        return None


def _page_urls(route: str, pages: list[str], per_page: int) -> list[str]:
    """Api.build_links_hash: the route helper's absolute URL for the record itself (its own id even
    when the request named it by `self` or an SIS id), then the other query parameters as Rails's
    `to_query` writes them (each pair escaped, pairs sorted), then page and per_page (page raw); the
    request's query read once for all of a page's links."""
    url = urlsplit(str(request.url))
    kept = sorted(f"{quote_plus(k)}={quote_plus(v)}" for k, v in parse_qsl(url.query, keep_blank_values=True)
                  if k not in ("page", "per_page", "access_token", "api_key"))
    return [urlunsplit((url.scheme, url.netloc, f"/api/v1/audit/authentication/{route}",
                        "&".join([*kept, f"page={page}&per_page={per_page}"]), "")) for page in pages]


def _link_header(route: str, next_page: str | None, per_page: int) -> str:
    current_page = request.query_params.get("page") or "first"
    if _decode_bookmark(current_page) is None:
        current_page = "first"
    links = [(current_page, "current")]
    if next_page:
        links.append((next_page, "next"))
    links.append(("first", "first"))
    urls = _page_urls(route, [page for page, _ in links], per_page)
    return ",".join(f'<{url}>; rel="{rel}"' for url, (_, rel) in zip(urls, links, strict=True))


def _login_json(c: Any, caller: Caller) -> dict[str, Any]:
    out: dict[str, Any] = {"id": c.id, "user_id": c.person_id, "account_id": c.tenant_id, "unique_id": c.login}
    if caller.has("read_sis", "manage_sis"):
        out.update(sis_user_id=c.sis_id, integration_id=c.integration_id)
    out.update(authentication_provider_id=None, created_at=local_iso_seconds(c.created_at, caller.zone))
    return out


def _account_json(session: Session, tenant_id: int) -> dict[str, Any] | None:
    t = session.get(Tenant, tenant_id)
    if t is None:
        return None
    root = root_of(session, t)
    return {"id": t.id, "name": t.name, "uuid": t.uuid, "parent_account_id": t.parent_id,
            "root_account_id": None if root.id == t.id else root.id,
            "workflow_state": "active" if t.active else "deleted", "default_time_zone": t.time_zone,
            "default_storage_quota_mb": 500, "default_user_storage_quota_mb": 50,
            "default_group_storage_quota_mb": 50}


def _account(session: Session, tenant_id: int) -> dict[str, Any] | None:
    return remembered(session, ("canvas.account", tenant_id), lambda: _account_json(session, tenant_id))


def _user_json(c: Any, caller: Caller, login_id: str | None) -> dict[str, Any]:
    """The user of login row `c` (its person's columns ride along in the row)."""
    name = " ".join(x for x in (c.first_name, c.last_name) if x)
    out: dict[str, Any] = {"id": c.person_id, "name": name,
                           "created_at": local_iso_seconds(c.person_created_at, caller.zone),
                           "sortable_name": f"{c.last_name}, {c.first_name}", "short_name": name}
    if caller.has("read_sis"):
        # the user's SIS id is their login's (pseudonym.sis_user_id): the value linked.logins shows
        out.update(sis_user_id=c.sis_id, integration_id=c.integration_id)
    if caller.has("manage_sis"):
        out["sis_import_id"] = None
    if caller.has("view_user_logins") and login_id is not None:
        out["login_id"] = login_id
    return out


@lru_cache(maxsize=256)
def event_doc(zone: str, year: int) -> Doc:
    """An audit event as Canvas writes it, its time in the caller's account zone, written by the store
    (storage/rendered.py; the zone's offsets from the year before `year` to the one after are in the
    statement). No page views are stored, so `links.page_view` is never dangling."""
    return (("id", Col("uuid")), ("created_at", ZonedTime("occurred_at", zone, year - 1, year + 1)),
            ("event_type", Col("event_type")),
            ("links", Obj((("login", Col("credential_id")), ("account", Col("tenant_id")), ("user", Col("person_id")),
                           ("page_view", Const(None))))))


PAGE_KEYS = ("occurred_at", "id", "credential_id")  # beside each event: its bookmark and its login


class _Linked(NamedTuple):
    """What a page links for one login: its account and user ids, its login and user documents as the
    body writes them (JSON text, ids stringified for `canvas-string-ids`)."""

    tenant_id: int
    person_id: int
    login: str
    user: str


def _linked(session: Session, ids: Iterable[int | None], caller: Caller, string_ids: bool) -> dict[int, _Linked]:
    """Each login's linked documents, rendered once per store generation and caller's view (rights, zone,
    string ids): a walk through hourly windows links the same users page after page (rendering them was a
    third of a Canvas page, and encoding the page's ~100 linked dicts ~6% of it). The user document is
    the one its login shows (its SIS ids, its login_id)."""
    def load(wanted: list[int]) -> dict[int, _Linked]:
        return {i: _Linked(c.tenant_id, c.person_id, written(_shown(_login_json(c, caller), string_ids)),
                           written(_shown(_user_json(c, caller, c.login), string_ids)))
                for i, c in login_rows(session, wanted).items()}
    view = ("canvas.linked", caller.site_admin, frozenset(caller.grants), caller.zone.key, string_ids)
    return remembered_each(session, view, ids, load)


def _document(session: Session, events: Encoded, logins_used: Iterable[int | None], caller: Caller,
              string_ids: bool) -> Encoded:
    """The compound document: the page's events (written by the store), and the logins, accounts and
    users they link, each once, in first-use order."""
    root = f"{request.url.scheme}://{request.url.netloc}/api/v1"
    used = list(logins_used)
    known = _linked(session, used, caller, string_ids)
    logins: dict[int, _Linked] = {}
    for credential_id in used:
        if credential_id in known:
            logins.setdefault(credential_id, known[credential_id])
    accounts = [a for a in (_account(session, t) for t in {link.tenant_id: None for link in logins.values()})
                if a is not None]
    users: dict[int, str] = {}
    for link in logins.values():
        users.setdefault(link.person_id, link.user)
    links = {"events.login": None, "events.account": f"{root}/accounts/{{events.account}}",
             "events.user": None, "events.page_view": None}
    linked = Encoded('{"logins":[' + ",".join(link.login for link in logins.values()) + '],"accounts":'
                     + written(_shown(accounts, string_ids))
                     + ',"users":[' + ",".join(users.values()) + '],"page_views":[]}')
    return document([("links", links), ("events", events), ("linked", linked)])


_ID_KEY = re.compile(r"(^|_)id\Z")
_IDS_KEY = re.compile(r"(^|_)ids\Z")


def _shown(value: Any, string_ids: bool) -> Any:
    """A linked record as the caller asked for it: its ids as strings under `canvas-string-ids`."""
    return _stringify_ids(value) if string_ids else value


def _stringify_ids(value: Any) -> Any:
    """`application/json+canvas-string-ids`, as lib/api.rb's stringify_json_ids: an integer under a
    key matching /(^|_)id$/ (id, user_id, ...) or in an array under /(^|_)ids$/ becomes a string;
    nothing else does (an event's `links.login/account/user` stay integers)."""
    if isinstance(value, list):
        return [_stringify_ids(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, v in value.items():
        if _ID_KEY.search(key):
            out[key] = _as_string_id(v)
        elif _IDS_KEY.search(key) and isinstance(v, list):
            out[key] = [_as_string_id(i) for i in v]
        else:
            out[key] = _stringify_ids(v)
    return out


def _as_string_id(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _audited() -> Expr:
    """Canvas audits successful logins and logouts of known logins; failed attempts never reach it."""
    return And((IsNull("credential_id", negate=True),
                Or((Cmp("event_type", "=", "logout"), Cmp("successful", "=", True)))))


def _respond(session: Session, route: str, scope: Expr, caller: Caller, start_time: str | None,
             end_time: str | None, per_page: str | None, page: str | None) -> tuple[Any, int, dict[str, str]]:
    size = _per_page(per_page)
    start, end = _parse_time(start_time), _parse_time(end_time)
    oldest = clock.now(session) - RETENTION
    where = all_of(scope, _audited(), Cmp("occurred_at", ">=", max(start, oldest) if start else oldest),
                   Cmp("occurred_at", "<=", end) if end else None)
    after = _decode_bookmark(page)
    doc = event_doc(caller.zone.key, clock.now(session).year)
    written = event_json_with(session, EventQuery(where=where, limit=size + 1, after=after), doc, PAGE_KEYS,
                              shown=size)
    texts = written.texts
    body = _document(session, Encoded("[" + ",".join(texts) + "]"), written.stored("credential_id")[:size], caller,
                     STRING_IDS in request.headers.get("accept", ""))
    next_page = _encode_bookmark(written.extra(size - 1)) if written.read > size else None
    return body, 200, {"Content-Type": JSON_TYPE, "Link": _link_header(route, next_page, size)}


def _login_route(login_id: str, token_info: dict[str, Any], **params: Any) -> tuple[Any, int, dict[str, str]]:
    with current().session() as s:
        caller = Caller(s, token_info["principal"])
        if params.pop("alias", False) and not vendor_settings(s, "canvas", SETTINGS)["pseudonyms_route"]:
            raise _not_found()  # config/routes.rb routes only logins/:login_id
        ident = as_id(login_id)
        cred = s.get(Credential, ident) if ident is not None else None
        if cred is None or not cred.active:
            raise _not_found()
        if not caller.can_read_logs_of(root_of(s, cred.tenant).id):
            raise _denied(s)
        return _respond(s, f"logins/{cred.id}", Cmp("credential_id", "=", cred.id), caller, **params)


def queryByLogin(login_id: str, token_info: dict[str, Any], start_time: str | None = None,
                 end_time: str | None = None, per_page: str | None = None,
                 page: str | None = None) -> tuple[Any, int, dict[str, str]]:
    return _login_route(login_id, token_info, start_time=start_time, end_time=end_time, per_page=per_page,
                        page=page)


def queryByPseudonym(pseudonym_id: str, token_info: dict[str, Any], start_time: str | None = None,
                     end_time: str | None = None, per_page: str | None = None,
                     page: str | None = None) -> tuple[Any, int, dict[str, str]]:
    return _login_route(pseudonym_id, token_info, start_time=start_time, end_time=end_time, per_page=per_page,
                        page=page, alias=True)


_HEX_FORM = re.compile(r"hex:(sis_\w+):((?:[0-9A-Fa-f]{2})+)")
_NAMED_FORM = re.compile(r"(sis_\w+|lti_\w+|uuid):(.+)")
_PLAIN_ID = re.compile(r"\d{1,18}")  # Api::ID_REGEX


def parse_id_form(raw: str) -> tuple[str, str | int] | None:
    """Api.sis_parse_id: (lookup, value) for `12`, `sis_user_id:X`, `hex:sis_user_id:5858` (the
    value hex-encoded, for ids with slashes), `uuid:X`; None for anything else."""
    text = raw.strip()
    if match := _HEX_FORM.fullmatch(text):
        try:
            return match[1], bytes.fromhex(match[2]).decode()
        except UnicodeDecodeError:
            return None
    if match := _NAMED_FORM.fullmatch(text):
        return match[1], match[2]
    if _PLAIN_ID.fullmatch(text):
        return "id", int(text)
    return None


def _find_root_account(s: Session, account_id: str, caller_root: int | None) -> int | None:
    """The id of the active root account `account_id` names (Account.root_accounts.active), by
    Api#api_find_all: `self` is the domain's root account (here, the caller's), `default` the
    oldest root account; `site_admin` and forms accounts have no lookup for are unknown."""
    tenant: Tenant | None
    if account_id == "self":
        tenant = s.get(Tenant, caller_root) if caller_root is not None else None
    elif account_id == "default":
        tenant = first_root_tenant(s)
    else:
        form = parse_id_form(account_id)
        if form is None:
            return None
        lookup, value = form
        if lookup == "id":
            tenant = s.get(Tenant, value)
        elif lookup == "sis_account_id":
            tenant = find(s, Tenant, sis_id=value)
        else:  # sis_integration_id: accounts carry none here; lti_/uuid: no such lookup for accounts
            return None
    if tenant is None or not tenant.active or tenant.parent_id is not None:
        return None
    return tenant.id


def queryByAccount(account_id: str, token_info: dict[str, Any], start_time: str | None = None,
                   end_time: str | None = None, per_page: str | None = None,
                   page: str | None = None) -> tuple[Any, int, dict[str, str]]:
    with current().session() as s:
        caller = Caller(s, token_info["principal"])
        tenant_id = remembered(s, ("canvas.root_account", account_id, caller.root_id),
                               lambda: _find_root_account(s, account_id, caller.root_id))
        if tenant_id is None:
            raise _not_found()
        if not caller.can_read_logs_of(tenant_id):
            raise _denied(s)
        return _respond(s, f"accounts/{tenant_id}", Cmp("tenant_id", "=", tenant_id), caller, start_time, end_time,
                        per_page, page)


_USER_LOOKUPS = {"sis_user_id": "sis_id", "sis_integration_id": "integration_id", "sis_login_id": "login"}


def _find_user(s: Session, user_id: str, caller: Caller) -> Person | None:
    """Api#api_find(User.active, id): `self` is the caller; `sis_user_id:`, `sis_integration_id:` and
    `sis_login_id:` (case-insensitive, `LOWER(unique_id)`) go through the user's active logins
    (pseudonyms) on the domain's root account (the caller's); `uuid:` is the user's uuid;
    `lti_context_id:` and `lti_user_id:` its LTI context id."""
    person: Person | None = None
    form = None if user_id == "self" else parse_id_form(user_id)
    if user_id == "self":
        person = s.get(Person, caller.principal.person_id) if caller.principal.person_id else None
    elif form is None:
        return None
    elif form[0] == "id":
        person = s.get(Person, form[1])
    elif form[0] == "uuid":
        person = find(s, Person, uuid=str(form[1]))
    elif form[0] in ("lti_context_id", "lti_user_id"):  # both look up users.lti_context_id
        person = find(s, Person, lti_context_id=str(form[1]))
    elif form[0] in _USER_LOOKUPS:
        logins = logins_where(s, _USER_LOOKUPS[form[0]], str(form[1]), casefold=form[0] == "sis_login_id")
        scoped = [c for c in logins if caller.root_id is None or root_of(s, c.tenant).id == caller.root_id]
        person = scoped[0].person if scoped else None
    return person if person is not None and person.active else None


def queryByUser(user_id: str, token_info: dict[str, Any], start_time: str | None = None,
                end_time: str | None = None, per_page: str | None = None,
                page: str | None = None) -> tuple[Any, int, dict[str, str]]:
    with current().session() as s:
        caller = Caller(s, token_info["principal"])
        person = _find_user(s, user_id, caller)
        if person is None:
            raise _not_found()
        scope: Expr = Cmp("person_id", "=", person.id)
        if not (caller.site_admin or person.id == caller.principal.person_id):
            # Only the logins on the caller's own root account, deactivated ones included, and always:
            # a person's other accounts (active or not) are never the caller's to read.
            mine = [c for c in credentials_of(s, person.id, active_only=False)
                    if caller.can_read_logs_of(root_of(s, c.tenant).id)]
            if not any(c.active for c in mine):
                raise _denied(s)
            scope = In("credential_id", tuple(c.id for c in mine))
        return _respond(s, f"users/{person.id}", scope, caller, start_time, end_time, per_page, page)


def example_call(root: str, token: Any, session: Any) -> str:
    """`accounts/self`: the caller's root account (the token's credential's)."""
    return (f"curl -H {quote_sh('Authorization: Bearer ' + token.secret)} "
            f"{quote_sh(root + '/api/v1/audit/authentication/accounts/self?per_page=10')}")
