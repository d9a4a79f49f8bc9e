"""SSOJet `GET /api/v1/users/{userid}/loginlogs`: the legacy and the current contract on one path."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from connexion.lifecycle import ConnexionResponse
from sqlalchemy.orm import Session

from ..bounded import loads_json
from ..errors import VendorError, first_line, respond
from ..fastjson import Encoded, document
from ..quickstart import quote_sh
from ..storage import current
from ..storage.criteria import And, Cmp, Expr
from ..storage.events import NEWEST_FIRST, EventQuery, Order, event_rows
from ..storage.memo import remembered, vendor_settings
from ..storage.models import Person, Tenant
from ..storage.records import MAX_ID, holder_by_uuid, members_of, people_by_uuid_prefix
from ..storage.rendered import Const, Derived, Doc, Or, Time, event_json_with
from ..timefmt import EPOCH, go_rfc3339nano
from ..tokens import Principal, TokenKind, hex_secret, resolve
from ..useragent import browser_of, device_of, os_of
from ..useragent import describe as _agent

OLDEST_FIRST: Order = (("occurred_at", False), ("id", False))
OBJECT_ID = re.compile(r"[0-9a-fA-F]{24}")
HEAD_ROUTED = False  # gin routes HEAD only where registered (gin-gonic/gin#1201): HEAD is a 404 here
MAX_CURSOR = 200  # ours are ~50 characters
READ = ("id", "occurred_at", "user_agent", "ip", "country", "city", "client_name")  # what both contracts show
ADMIN_TOKEN_KIND = "api_key"  # what the pytest plugin issues as this vendor's credentials[...]
TOKEN_KINDS = {
    "api_key": TokenKind("an API key of the credential's application (tenant)",
                         lambda rng: f"sk_live_{hex_secret(rng, 24)}", needs_credential=True),
}
# Behaviour switches (control plane: /_loginaudit/vendors/ssojet/settings), their values and defaults.
SETTINGS = {"legacy_order": "oldest_first", "error_types": "api_schema"}
SETTING_CHOICES = {
    "legacy_order": {"oldest_first": "legacy login_logs by ascending CreatedAt, as SSOJet's only published sample",
                     "newest_first": "legacy login_logs newest first"},
    "error_types": {"api_schema": "model.APIErrorResponse: `error` the integer code, `error_code` its name",
                    "error_codes_page": "the error-codes page: `error` the name, `error_code` the integer code"},
}
UNKNOWN_CITY = "UnknownCity"  # the legacy sample's City when the lookup found none
ERRORS = {
    400: (842, "invalid_query_parameters"),
    401: (2001, "unauthorized"),
    404: (801, "resource_not_found"),
    500: (500, "internal_server_error"),
}


def _mode() -> dict[str, Any]:
    try:
        with current().session() as s:
            return vendor_settings(s, "ssojet", SETTINGS)
    except Exception:  # an error body is being built, maybe because the store failed: the defaults
        return SETTINGS


def _body(status: int, description: str, code: tuple[int, str] | None = None) -> dict[str, Any]:
    number, name = code or ERRORS.get(status, (status, "error"))
    if _mode()["error_types"] == "error_codes_page":  # docs.ssojet.com/en/error-codes, its key order too
        return {"error": name, "error_description": description, "error_code": number}
    return {"error": number, "error_code": name, "error_description": description}


def _fail(status: int, description: str, code: tuple[int, str] | None = None) -> VendorError:
    return VendorError(status, _body(status, description, code))


def render_error(status: int, detail: str, headers: Mapping[str, str], path: str) -> ConnexionResponse:
    detail = first_line(detail, "error")
    if status == 401:
        return respond(401, _body(401, "The access token is missing or invalid."), headers)
    if status in (404, 405):  # gin answers an unrouted method with 404 by default
        return respond(404, _body(404, "The requested resource could not be found."), headers)
    if status >= 500:
        return respond(status, _body(status, "An internal server error occurred."), headers)
    return respond(status, _body(status, detail), headers)


def authenticate(token: str, required_scopes: Any = None) -> dict[str, Any]:
    _, principal, _ = resolve("ssojet", token)
    if principal is None or principal.tenant_id is None:
        raise _fail(401, "The access token is missing or invalid.")
    return principal.as_token_info()


def object_id(uuid: str, created_at: datetime) -> str:
    """A record's 24-hex MongoDB ObjectId as SSOJet shows it (`_id`): four bytes of creation time in
    seconds, then eight bytes of the record's uuid, so it is stable and leads back to the record."""
    return f"{int(created_at.timestamp()) & 0xFFFFFFFF:08x}{uuid.replace('-', '')[:16]}"


def _by_object_id(s: Session, oid: str) -> Person | None:
    hexed = oid.lower()
    prefix = f"{hexed[8:16]}-{hexed[16:20]}-{hexed[20:24]}-"
    return next((p for p in people_by_uuid_prefix(s, prefix) if object_id(p.uuid, p.created_at) == hexed), None)


def _find_user(s: Session, userid: str, tenant_id: int | None) -> int | None:
    """The user a path id names (the current contract's UUID, or the legacy contract's ObjectId), if
    they are active and hold an active login on the API key's application."""
    if not OBJECT_ID.fullmatch(userid):
        return holder_by_uuid(s, userid, tenant_id)
    person = _by_object_id(s, userid)
    return None if person is None else holder_by_uuid(s, person.uuid, tenant_id)


def _user(s: Session, userid: str, principal: Principal) -> int:
    """The user's id, if they hold an active login on the API key's application (remembered per
    store generation: the two loads were a sixth of a request)."""
    person_id = remembered(s, ("ssojet.user", userid, principal.tenant_id),
                           lambda: _find_user(s, userid, principal.tenant_id), keep=lambda i: i is not None)
    if person_id is None:
        raise _fail(404, "The requested resource could not be found.")
    return person_id


def _logins_of(person_id: int, tenant_id: int | None) -> Expr:
    return And((Cmp("person_id", "=", person_id), Cmp("tenant_id", "=", tenant_id),
                Cmp("event_type", "=", "login"), Cmp("successful", "=", True)))


def _encode_cursor(at: datetime, ident: int) -> str:
    micros = (at - EPOCH) // timedelta(microseconds=1)
    return base64.b64encode(json.dumps({"c": micros, "id": ident}).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError(cursor)
        raw = loads_json(base64.b64decode(cursor, validate=True))
        micros, ident = raw["c"], raw["id"]
        if not isinstance(micros, int) or not isinstance(ident, int) or isinstance(ident, bool) \
                or not 0 < ident <= MAX_ID:
            raise ValueError(cursor)
        return EPOCH + timedelta(microseconds=micros), ident
    except (ValueError, KeyError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise _fail(400, "cursor is invalid") from None


def _legacy(s: Session, person: int, principal: Principal, client_id: str | None) -> dict[str, Any]:
    if not client_id:
        raise _fail(400, "client_id is required")
    tenant = s.get(Tenant, principal.tenant_id)
    if tenant is None or tenant.client_id != client_id:
        raise _fail(400, "The client is invalid or missing.", (1001, "invalid_client"))
    order = OLDEST_FIRST if vendor_settings(s, "ssojet", SETTINGS)["legacy_order"] == "oldest_first" else NEWEST_FIRST
    logs = []
    for ev in event_rows(s, EventQuery(where=_logins_of(person, principal.tenant_id), order=order), READ):
        name, os_name, device = _agent(ev.user_agent or "")
        # Name is what SSOJet stored at login (its sample: Name "Amazon CloudFront" with an empty
        # UserAgent); an event arranged without one gets its agent's family, as if stored then
        logs.append({"IpAddress": ev.ip or "", "Country": ev.country or "", "City": ev.city or UNKNOWN_CITY,
                     "UserAgent": ev.user_agent or "", "Name": name if ev.client_name is None else ev.client_name,
                     "Os": os_name, "Device": device,
                     "CreatedAt": go_rfc3339nano(ev.occurred_at)})  # milliseconds, as SSOJet stores them
    return {"login_logs": logs}


# An audit log entry of the current contract (the agent's family, OS and device class by ua-parser's
# rules, as SSOJet's Go service derives them), rendered by the store (storage/rendered.py).
AUDIT_LOG: Doc = (("city", Or("city", "")), ("country", Or("country", "")),
                  ("created_at", Time("occurred_at", "go_ms")), ("device", Derived("user_agent", device_of)),
                  ("event", Const("login")),
                  ("ip_address", Or("ip", "")), ("name", Derived("user_agent", browser_of)),
                  ("os", Derived("user_agent", os_of)), ("user_agent", Or("user_agent", "")))
CURSOR = ("occurred_at", "id")  # what the next page's cursor is made of


def _current(s: Session, person: int, principal: Principal, limit: int, cursor: str | None) -> Encoded:
    after = _decode_cursor(cursor) if cursor else None
    written = event_json_with(s, EventQuery(where=_logins_of(person, principal.tenant_id), limit=limit + 1,
                                            after=after), AUDIT_LOG, CURSOR, shown=limit)
    texts = written.texts
    last = written.extra(limit - 1) if written.read > limit else None
    return document([("audit_logs", Encoded("[" + ",".join(texts) + "]")), ("limit", limit),
                     ("next_cursor", _encode_cursor(last.occurred_at, last.id) if last is not None else "")])


def getUserLoginLogs(userid: str, token_info: dict[str, Any], client_id: str | None = None,
                     event: str | None = None, limit: int = 50,
                     cursor: str | None = None) -> tuple[Any, int, dict[str, str]]:
    principal: Principal = token_info["principal"]
    with current().session() as s:
        person = _user(s, userid, principal)
        body = (_current(s, person, principal, limit, cursor) if event == "login"
                else _legacy(s, person, principal, client_id))
    return body, 200, {"Content-Type": "application/json"}


def _user_json(p: Person, last_login: datetime | None, tenant: Tenant) -> dict[str, Any]:
    """One user of SSOJet's "List All Users" (docs.ssojet.com user-management/list-users), key order
    as its sample; what the emulator does not model is the sample's null/empty value. Its times keep
    our stored microseconds."""
    account = object_id(tenant.uuid, tenant.created_at)
    return {"_id": object_id(p.uuid, p.created_at), "account_id": account,
            "connection_id": object_id(tenant.uuid[::-1], tenant.created_at), "email": p.email,
            "first_name": p.first_name, "last_name": p.last_name, "groups": None, "raw_attributes": None,
            "roles": None, "passkey_credential": None, "phone_id": "", "created_at": go_rfc3339nano(p.created_at, 6),
            "modified_at": go_rfc3339nano(p.updated_at, 6), "email_verified": False, "is_active": p.active,
            "LastLoginAt": go_rfc3339nano(last_login, 6) if last_login else None, "tenants": None, "identities": None}


def listUsers(token_info: dict[str, Any], client_id: str | None = None) -> tuple[Any, int, dict[str, str]]:
    """`GET /api/v1/users?client_id=`: the application's users, so a connector can find the ids it
    then reads login logs of (each user's `_id` works as `userid`)."""
    principal: Principal = token_info["principal"]
    if not client_id:
        raise _fail(400, "client_id is required")
    with current().session() as s:
        tenant = s.get(Tenant, principal.tenant_id)
        if tenant is None or tenant.client_id != client_id:
            raise _fail(400, "The client is invalid or missing.", (1001, "invalid_client"))
        users = [_user_json(person, last_login, tenant) for person, last_login in members_of(s, tenant.id)]
    return users, 200, {"Content-Type": "application/json"}


def example_call(root: str, token: Any, session: Any) -> str:
    """The key's credential names a user (its person) of an application (its tenant's client_id)."""
    cred = token.credential
    if cred is None:
        return f"curl -H {quote_sh('Authorization: Bearer ' + token.secret)} {root}/api/v1/users?client_id=..."
    url = f"{root}/api/v1/users/{cred.person.uuid}/loginlogs?client_id={cred.tenant.client_id}"
    return f"curl -H {quote_sh('Authorization: Bearer ' + token.secret)} {quote_sh(url)}"
