"""Ingedata Pulse IAM v3 account logins, as the Verse framework (verse-jsonapi/-sequel/-http) serves them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeGuard

import jwt
from connexion.lifecycle import ConnexionResponse
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import VendorError, failed_request, first_line, respond
from ..fastjson import Encoded, document
from ..framework import request
from ..quickstart import quote_sh
from ..storage import clock, current, directory, settings
from ..storage.criteria import Cmp, Expr, In, IsNull, all_of
from ..storage.events import EventQuery, count_events, event_rows
from ..storage.memo import MISSING, recall, remembered, vendor_settings
from ..storage.models import Credential, Person
from ..storage.records import as_id, credentials_by_id, credentials_of, usable
from ..storage.rendered import AsText, Col, Const, Doc, Field, Obj, Time, event_json
from ..timefmt import iso_ms_offset, ruby_utc
from ..tokens import TokenKind, hex_secret, resolve

JSONAPI = "application/vnd.api+json"
ERROR_TYPE = "application/json"  # Verse sets none on errors; plain JSON is what clients can parse
TOKEN_TTL = timedelta(hours=1)
COUNT_WINDOW = 1000
LOGIN, ACCOUNT, PERSON = "iam/account/logins", "iam/accounts", "iam/people"
FILTERS = ("id", "account_id", "role", "date", "ip")
TRUE_WORDS = {"true", "t", "y", "yes"}
FALSE_SOURCE = "f n false no"  # Verse: any substring of this is false
ADMIN_TOKEN_KIND = "admin_key"  # what the pytest plugin issues as this vendor's credentials[...]
TOKEN_KINDS = {
    "admin_key": TokenKind("API key (PULSE_<hex>) whose token may read every login", lambda rng: _key(rng),
                           grants=("read_all",), needs_credential=True),
    "user_key": TokenKind("API key whose token reads only its own account's logins", lambda rng: _key(rng),
                          grants=("read_own",), needs_credential=True),
    "no_access_key": TokenKind("API key whose token lacks any read scope (403)", lambda rng: _key(rng),
                               needs_credential=True),
}


def _key(rng: Any) -> str:
    return f"PULSE_{hex_secret(rng, 16)}"


def _error(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"errors": [{"status": str(status), "title": title, "detail": detail}]}


def _unauthorized(detail: str = "unauthorized_access") -> VendorError:
    return VendorError(401, _error(401, "Verse::Error::Authorization", detail), content_type=ERROR_TYPE)


def _invalid(*problems: tuple[str, str]) -> VendorError:
    """Verse's renderer: one error object per (message, pointer), every failing key at once."""
    body = {"errors": [{"status": 422, "title": "Verse::Error::ValidationFailed", "detail": detail,
                        "source": {"pointer": pointer}} for detail, pointer in problems]}
    return VendorError(422, body, content_type=ERROR_TYPE)


# Verse's messages for the spec's schema keywords, by parameter (the spec holds the rules themselves).
_MESSAGES = {
    ("page[number]", "type"): "must be an integer", ("page[number]", "minimum"): "must be positive",
    ("page[number]", "maximum"): "must be at most 2147483647",
    ("page[size]", "type"): "must be an integer", ("page[size]", "minimum"): "must be between 1 and 1000",
    ("page[size]", "maximum"): "must be between 1 and 1000",
}
_FIELDS_NO_ARRAY = re.compile(r"^fields\[([^\]]+)\]$")


def _pointer(name: str) -> str:
    """`page[number]` -> `/page/number`, `fields[iam/accounts][]` -> `/fields/iam/accounts`."""
    return "/" + "/".join(part for part in re.split(r"[\[\]]+", name) if part)


def _problem(param: dict[str, Any], values: list[str]) -> str | None:
    """The Verse message for a query parameter the spec's schema rejects, or None."""
    name, schema = param["name"], param.get("schema", {})
    if schema.get("type") == "integer":
        try:
            number = int(values[0])
        except ValueError:
            return _MESSAGES.get((name, "type"), "must be an integer")
        for keyword, sign in (("minimum", 1), ("maximum", -1)):
            if keyword in schema and sign * (number - schema[keyword]) < 0:
                return _MESSAGES.get((name, keyword), f"is out of range ({keyword} {schema[keyword]})")
    elif "pattern" in schema and not re.search(schema["pattern"], values[0]):
        return "is not a sortable field" if name == "sort" else "is invalid"
    elif name == "count" and _verse_boolean(values[0]) is None:
        return "must be a boolean"
    elif (enum := schema.get("items", {}).get("enum")) and any(v not in enum for v in values):
        return f"must be one of `{','.join(enum)}`"
    return None


def _query_problems(operation: dict[str, Any], query: Any) -> list[tuple[str, str]]:
    """Every failing query key of a request, in the spec's parameter order, as Verse validates the whole
    query schema before answering (Connexion stops at the first failing parameter)."""
    problems: list[tuple[str, str]] = []
    keys = list(query.keys())
    fields_seen = False
    for param in operation.get("parameters", ()):
        name = param["name"]
        if param.get("in") != "query":
            continue
        if name == "included[]" and "included" in keys:
            problems.append(("must be an array", "/included"))
        if name.startswith("fields[") and not fields_seen:  # any `fields[type]` without [] (Verse: a hash of arrays)
            fields_seen = True
            problems += [("must be an array", _pointer(k)) for k in keys if _FIELDS_NO_ARRAY.match(k)]
        if name in keys:
            message = _problem(param, list(query.getlist(name)))
            if message:
                problems.append((message, _pointer(name)))
    return problems


def _check_query() -> None:
    """Raise Verse's 422 with every failing key of the request being handled."""
    problems = _query_problems(_operation_of(request.method, request.url.path), request.query_params)
    if problems:
        raise _invalid(*problems)


def _vendor() -> Any:
    from ..registry import VENDORS  # the registry imports handler modules lazily; this avoids a cycle
    return next(v for v in VENDORS if v.module_name == __name__)


@lru_cache(maxsize=64)  # asked on every list request; the routes' paths are fixed
def _operation_of(method: str, path: str) -> dict[str, Any]:
    vendor = _vendor()
    op_id = vendor.operation_for(method, path)
    return (vendor.operation(op_id) if op_id else None) or {}


def _validation(detail: str) -> tuple[str, str]:
    """Connexion's jsonschema detail → Verse's (message, JSON pointer), when the request is not at hand."""
    head = first_line(detail, "is invalid")
    if "'page[number]'" in detail:  # the schema's title, printed in Connexion's detail
        if "maximum" in head:
            return "must be at most 2147483647", "/page/number"
        return ("must be positive" if "minimum" in head else "must be an integer"), "/page/number"
    if "'page[size]'" in detail:
        return ("must be between 1 and 1000" if "imum" in head else "must be an integer"), "/page/size"
    if "'account.person'" in detail:
        return "must be one of `account,account.person`", "/included"
    if "does not match" in head:
        return "is not a sortable field", "/sort"
    return head, ""


def render_error(status: int, detail: str, headers: Mapping[str, str], path: str) -> ConnexionResponse:
    if status == 400:
        failed = failed_request.get()
        problems = _query_problems(_operation_of(failed.method, path), failed.query_params) if failed else []
        return _invalid(*(problems or [_validation(detail)])).as_response()
    if status == 401:
        return respond(401, _error(401, "Verse::Error::Authorization", "unauthorized_access"), headers, ERROR_TYPE)
    if status in (404, 405):
        return respond(404, _error(404, "Verse::Error::NotFound", path), headers, ERROR_TYPE)
    return respond(status, _error(status, "Verse::Error::Base", first_line(detail, "error")), headers, ERROR_TYPE)


# ---- tokens: API key → ES256 JWT, the signing key shared by every worker through the store -----------

@lru_cache(maxsize=8)
def _load_key(pem: str) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _signing_key(s: Session) -> ec.EllipticCurvePrivateKey:
    """One ES256 key for every worker, kept in the store where the control plane never shows it."""
    pem = settings.read_private(s, "ingedata").get("jwt_key")
    if pem is None:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        try:
            with s.begin_nested():
                settings.write_private(s, "ingedata", {"jwt_key": pem})
        except IntegrityError:  # another worker made one first
            pem = settings.read_private(s, "ingedata")["jwt_key"]
    return _load_key(pem)


def loginWithApiKey(body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    _, principal, _ = resolve("ingedata", str(body.get("key", "")))
    if principal is None or principal.credential_id is None:
        raise _unauthorized()
    with current().session() as s:
        cred = s.get(Credential, principal.credential_id)
        assert cred is not None
        claims = {"u": cred.id, "r": cred.role, "s": list(principal.grants),
                  "exp": int((clock.now(s) + TOKEN_TTL).timestamp())}
        token = jwt.encode(claims, _signing_key(s), algorithm="ES256")
    return {"meta": {"token": token}}, 200, {"Content-Type": JSONAPI}


_JWT_MESSAGES = ((jwt.InvalidSignatureError, "Signature verification failed"),
                 (jwt.DecodeError, "Not enough or too many segments"))


def _verified(s: Session, token: str) -> dict[str, Any] | str:
    """The token's claims if the store's key signed it, else the message Verse answers."""
    try:
        return dict(jwt.decode(token, _signing_key(s).public_key(), algorithms=["ES256"],
                               options={"verify_exp": False, "require": ["exp"]}))
    except jwt.PyJWTError as exc:
        return next((m for kind, m in _JWT_MESSAGES if isinstance(exc, kind)), str(exc))


def _account_state(s: Session, ident: Any) -> tuple[int, datetime | None] | None:
    """(organization, expiry) of an account that can sign in but for its expiry; None if it cannot."""
    account = s.get(Credential, ident) if isinstance(ident, int) and not isinstance(ident, bool) else None
    if account is None or not usable(account, datetime.min.replace(tzinfo=UTC)):
        return None
    return account.tenant_id, account.expires_at


_JWT, _ACCOUNT = "ingedata.jwt", "ingedata.account"  # what _decode remembers, and _decoded_at recalls


def _decode(token: str) -> dict[str, Any]:
    """A signature check and the account's load, each remembered per store generation (they were a
    fifth of a request): the key and the account change only by a write, which moves it. When the
    store's generation has them (and the clock) remembered, no transaction is opened for them."""
    known = _decoded_at(current().generation(), token)
    if known is not None:
        return known
    with current().session() as s:
        claims = remembered(s, (_JWT, token), lambda: _verified(s, token), keep=lambda c: not isinstance(c, str))
        if isinstance(claims, str):
            raise _unauthorized(claims)
        now = clock.now(s)  # the store's clock, so tests can expire tokens
        if claims["exp"] <= now.timestamp():
            raise _unauthorized("Signature has expired")
        state = remembered(s, (_ACCOUNT, claims.get("u")), lambda: _account_state(s, claims.get("u")))
        if not _signs_in(state, now):  # Verse loads the account on every request
            raise _unauthorized()
        return _token_info(claims, state)


def _signs_in(state: tuple[int, datetime | None] | None, now: datetime) -> TypeGuard[tuple[int, datetime | None]]:
    return state is not None and (state[1] is None or state[1] > now)


def _token_info(claims: dict[str, Any], state: tuple[int, datetime | None]) -> dict[str, Any]:
    # the organization rides along: the handler scopes by it without loading the account again
    return {"sub": str(claims.get("u")), "claims": dict(claims), "organization": state[0]}


def _decoded_at(at: str | None, token: str) -> dict[str, Any] | None:
    """`_decode`'s answer for a token generation `at` has remembered valid, with its account, else None
    (then `_decode` asks the store, as it does for every refusal)."""
    claims, now = recall((_JWT, token), at), clock.now_at(at)
    if claims is MISSING or now is None or claims["exp"] <= now.timestamp():
        return None
    state = recall((_ACCOUNT, claims.get("u")), at)
    return None if state is MISSING or not _signs_in(state, now) else _token_info(claims, state)


_RUBY_WHITESPACE = " \t\n\v\f\r"
_RUBY_WORDS = re.compile(f"[{_RUBY_WHITESPACE}]+")


def authenticate(token: str, required_scopes: Any = None, request: Any = None) -> dict[str, Any]:
    """`Authorization: Bearer <jwt>` as verse-http's default strategy reads it (lib/verse/http/auth.rb):
    the header must match `^Bearer ` (case-sensitive, else no credentials) and the token is
    `auth.split(" ")[1]`, Ruby's awk-style split, so extra whitespace and trailing words are ignored."""
    raw = request.headers.get("authorization", "") if request is not None else f"Bearer {token}"
    if not raw.startswith("Bearer "):
        raise _unauthorized()
    words = _RUBY_WORDS.split(raw.strip(_RUBY_WHITESPACE))
    if len(words) < 2:  # "Bearer " and nothing: no credentials
        raise _unauthorized()
    return _decode(words[1])


def authenticate_cookie(token: str, required_scopes: Any = None) -> dict[str, Any]:
    return _decode(token)


# ---- documents ---------------------------------------------------------------------------------------

# Behaviour switches (control plane: /_loginaudit/vendors/ingedata/settings), their values and defaults.
SETTINGS = {"time_format": "ruby"}
SETTING_CHOICES = {"time_format": {
    "ruby": "a Ruby Time as the Verse stack renders it: JSON.generate falls back to Time#to_s, "
            "2024-06-10 08:15:02 +0000 (seconds, the server zone's offset)",
    "iso8601": "ISO 8601 with milliseconds and an offset, 2024-06-10T08:15:02.123+00:00 (an app that loads "
               "ActiveSupport or Oj)"}}
_TIME_FORMAT: ContextVar[str] = ContextVar("ingedata_time_format", default="ruby")


def _use_time_format(s: Session) -> None:
    """Read once per request, before any record is rendered."""
    _TIME_FORMAT.set(vendor_settings(s, "ingedata", SETTINGS)["time_format"])


def _time(at: datetime | None) -> str | None:
    """verse-jsonapi's renderer hands a model's Time to JSON.generate with no time handling, and
    verse-core loads no ActiveSupport (it patches only BigDecimal#to_json): the json gem then
    writes Time#to_s. Sequel gives times in the (UTC) server's local zone: `+0000`."""
    if at is None:
        return None
    return ruby_utc(at) if _TIME_FORMAT.get() == "ruby" else iso_ms_offset(at)


LOGIN_ATTRIBUTES = ("role", "date", "ip")  # belongs_to's key is no field; the role is the account's


@lru_cache(maxsize=64)
def _login_doc(time_format: str, wanted: tuple[str, ...] | None) -> Doc:
    """An account login resource (the attributes `fields[...]` keeps, all when None), rendered by the
    store (storage/rendered.py) in the time format of the instance's setting."""
    every: dict[str, Field] = {"role": Col("role"),
                               "date": Time("occurred_at", "ruby_utc" if time_format == "ruby" else "iso_ms_offset"),
                               "ip": Col("ip")}
    attributes = tuple((k, f) for k, f in every.items() if wanted is None or k in wanted)
    return (("type", Const(LOGIN)), ("id", AsText("id")), ("attributes", Obj(attributes)),
            ("relationships", Obj((("account", Obj((("data", Obj((("type", Const(ACCOUNT)),
                                                                  ("id", AsText("credential_id"))))),))),))))


def _account(c: Credential) -> dict[str, Any]:
    return {"type": ACCOUNT, "id": str(c.id),
            "attributes": {"email": c.login, "account_type": c.account_type, "auth_type": c.auth_method,
                           "enabled": c.enabled, "person_id": c.person_id, "organization_id": c.tenant_id,
                           "created_at": _time(c.created_at), "updated_at": _time(c.updated_at),
                           "expires_at": _time(c.expires_at)},
            "relationships": {"person": {"data": {"type": PERSON, "id": str(c.person_id)}}}}


_PERSON_EMPTY = ("picture_url", "gender", "relationship_status", "organizational_unit", "birthday",
                 "secondary_email", "contact_number", "physical_address", "number_of_kids", "father_name",
                 "mother_name", "spouse_name", "place_of_birth")


def _person(p: Person) -> dict[str, Any]:
    attributes: dict[str, Any] = {"first_name": p.first_name, "middle_name": p.middle_name, "last_name": p.last_name}
    attributes.update(dict.fromkeys(_PERSON_EMPTY))
    attributes.update(created_at=_time(p.created_at), updated_at=_time(p.updated_at), facets={})
    return {"type": PERSON, "id": str(p.id), "attributes": attributes}


def _sparse(resource: dict[str, Any], fields: dict[str, list[str]]) -> dict[str, Any]:
    wanted = fields.get(resource["type"])
    if wanted is None:
        return resource
    return {**resource, "attributes": {k: v for k, v in resource["attributes"].items() if k in wanted}}


# ---- the query ---------------------------------------------------------------------------------------

def _scopes(token_info: dict[str, Any]) -> tuple[set[str], int]:
    claims = token_info["claims"]
    scopes = set(claims.get("s") or ())
    if not scopes & {"read_all", "read_own"}:
        raise VendorError(403, _error(403, "Verse::Error::Unauthorized", "unauthorized"), content_type=ERROR_TYPE)
    return scopes, int(claims.get("u") or 0)


def _verse_boolean(value: str) -> bool | None:
    """verse-schema's coalescer: %w[t y true yes].include?(value) (case-sensitive) is true, a substring
    of "f n false no" false, anything else not a boolean (None)."""
    if value in TRUE_WORDS:
        return True
    if value in FALSE_SOURCE:
        return False
    return None


def _as_int(values: list[str]) -> tuple[int, ...]:
    """Ids among the values; anything else cannot equal a stored id, so it matches nothing."""
    return tuple(i for i in map(as_id, values) if i is not None)


_VERSE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}")


def _as_time(values: list[str]) -> tuple[datetime, ...]:
    """verse-schema's Time coalescer: a value starting `YYYY-MM-DD[ T]HH:MM:SS` is `Time.utc` of those
    six numbers (fraction and offset ignored: equality then holds only for a whole-second time);
    anything else goes through Time.parse (here: ISO 8601)."""
    out = []
    for v in values:
        try:
            if _VERSE_TIME.match(v):
                out.append(datetime(int(v[0:4]), int(v[5:7]), int(v[8:10]), int(v[11:13]), int(v[14:16]),
                                    int(v[17:19]), tzinfo=UTC))
                continue
            at = datetime.fromisoformat(v.replace("Z", "+00:00"))
            out.append((at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC))
        except (ValueError, OverflowError):  # an impossible date, or past year 9999 in UTC: equal to no time
            continue
    return tuple(out)


def _filter_values(name: str) -> list[str] | None:
    """filter[f]=v is one value (equality), filter[f][]=v… a list (IN; empty matches nothing); None
    when the request does not filter on f."""
    query = request.query_params
    if f"filter[{name}][]" in query:
        return list(query.getlist(f"filter[{name}][]"))
    if f"filter[{name}]" in query:
        return [query[f"filter[{name}]"]]
    return None


def _filters() -> Expr | None:
    """The login filters as criteria; unknown filter keys are dropped."""
    exprs: list[Expr | None] = []
    for name in FILTERS:
        values = _filter_values(name)
        if values is None:
            continue
        match name:
            case "id":
                exprs.append(In("id", _as_int(values)))
            case "account_id":
                exprs.append(In("credential_id", _as_int(values)))
            case "role":
                exprs.append(In("role", tuple(values)))
            case "date":
                exprs.append(In("occurred_at", _as_time(values)))
            case "ip":
                exprs.append(In("ip", tuple(values)))
    return all_of(*exprs)


_SORT_COLUMNS = {"id": "id", "account_id": "credential_id", "role": "role", "date": "occurred_at",
                 "ip": "ip"}


def _order(sort: str | None) -> tuple[tuple[str, bool], ...]:
    """Sequel's `order` replaces the previous one, so only the last key of the list takes effect."""
    if not sort:
        return (("id", False),)
    last = sort.split(",")[-1].strip()
    desc = last.startswith("-")
    column = last.lstrip("-").removeprefix("account_logins.")
    return ((_SORT_COLUMNS[column], desc),)


def listAccountLogins(token_info: dict[str, Any], page_number: int = 1, page_size: int = 1000,
                      sort: str | None = None, count: str | None = None, **_: Any) -> tuple[Any, int, dict[str, str]]:
    scopes, user = _scopes(token_info)
    query = request.query_params
    _check_query()
    counted = count is not None and bool(_verse_boolean(count))
    offset, size = (page_number - 1) * page_size, page_size
    included = set(query.getlist("included[]"))
    fields = {t: query.getlist(f"fields[{t}][]") for t in (LOGIN, ACCOUNT, PERSON) if f"fields[{t}][]" in query}
    with current().session() as s:
        _use_time_format(s)
        where = all_of(IsNull("credential_id", negate=True), Cmp("event_type", "=", "login"),
                       Cmp("successful", "=", True), Cmp("tenant_id", "=", token_info["organization"]),
                       None if "read_all" in scopes else Cmp("credential_id", "=", user), _filters())
        page = EventQuery(where=where, order=_order(sort), offset=offset, limit=size)
        wanted = fields.get(LOGIN)
        login_doc = _login_doc(_TIME_FORMAT.get(), None if wanted is None else tuple(wanted))
        doc: dict[str, Any] = {"data": Encoded("[" + ",".join(event_json(s, page, login_doc)) + "]")}
        extra: dict[tuple[str, str], dict[str, Any]] = {}
        if included & {"account", "account.person"}:
            rows = event_rows(s, page, ("credential_id",))
            accounts = credentials_by_id(s, {ev.credential_id for ev in rows})
            for ev in rows:
                cred = accounts[ev.credential_id]
                extra.setdefault((ACCOUNT, str(cred.id)), _sparse(_account(cred), fields))
                if "account.person" in included:
                    extra.setdefault((PERSON, str(cred.person_id)), _sparse(_person(cred.person), fields))
        if extra:
            doc["included"] = list(extra.values())
        if counted:
            window = count_events(s, where, cap=COUNT_WINDOW, offset=offset)
            doc["meta"] = {"count": offset + window, "more": window == COUNT_WINDOW}
        else:
            doc["meta"] = {}
    return document(list(doc.items())), 200, {"Content-Type": JSONAPI}


def _single(resource_id: str, token_info: dict[str, Any], render: Any, load: Any) -> tuple[Any, int, dict[str, str]]:
    scopes, user = _scopes(token_info)
    with current().session() as s:
        _use_time_format(s)
        ident = as_id(resource_id)
        record = load(s, ident) if ident is not None else None
        owner = record if isinstance(record, Credential) else None
        if record is not None and "read_all" not in scopes:
            own = s.get(Credential, user)
            visible = own is not None and (owner.id == own.id if owner else record.id == own.person_id)
            record = record if visible else None
        elif record is not None:  # read_all reads its own organization's accounts and people
            org = token_info["organization"]  # each organization is its own Pulse instance
            record = record if (owner.tenant_id == org if owner else any(
                c.tenant_id == org for c in credentials_of(s, record.id, active_only=False))) else None
        if record is None:
            raise VendorError(404, _error(404, "Verse::Error::RecordNotFound", resource_id), content_type=ERROR_TYPE)
        return {"data": render(record)}, 200, {"Content-Type": JSONAPI}


def getAccount(resource_id: str, token_info: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    return _single(resource_id, token_info, _account, lambda s, i: s.get(Credential, i))


def getPerson(resource_id: str, token_info: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    return _single(resource_id, token_info, _person, lambda s, i: s.get(Person, i))


# ---- the accounts and people index routes, and accounts/me ------------------------------------------

_INDEX = {  # route kind -> (filterable fields, the table name a `table.column` sort may qualify with)
    "accounts": (("id", "email", "account_type", "auth_type", "enabled", "person_id", "organization_id"), "accounts"),
    "people": (("id", "first_name", "middle_name", "last_name"), "people"),
}
_ID_FIELDS = {"id", "person_id", "organization_id"}


def _as_bool(values: list[str]) -> tuple[bool, ...]:
    """Verse's boolean coercion per value; a value that is neither matches nothing."""
    return tuple(b for b in map(_verse_boolean, values) if b is not None)


def _index_filters(fields: tuple[str, ...]) -> dict[str, tuple[Any, ...]]:
    where: dict[str, tuple[Any, ...]] = {}
    for name in fields:
        values = _filter_values(name)
        if values is None:
            continue
        where[name] = (_as_int(values) if name in _ID_FIELDS else _as_bool(values) if name == "enabled"
                       else tuple(values))
    return where


def _index(kind: directory.Kind, token_info: dict[str, Any], page_number: int, page_size: int, sort: str | None,
           count: str | None, render: Any) -> tuple[Any, int, dict[str, str]]:
    """Verse's index: the same paging, count window, last-key sort, filters, included and fields as
    account_logins, over an organization's accounts or people (read_own: its own account or person)."""
    scopes, user = _scopes(token_info)
    query = request.query_params
    _check_query()
    counted = count is not None and bool(_verse_boolean(count))
    filterable, table = _INDEX[kind]
    order = ("id", False)
    if sort:
        last = sort.split(",")[-1].strip()
        order = (last.lstrip("-").removeprefix(f"{table}."), last.startswith("-"))
    offset = (page_number - 1) * page_size
    fields = {t: query.getlist(f"fields[{t}][]") for t in (ACCOUNT, PERSON) if f"fields[{t}][]" in query}
    included = set(query.getlist("included[]"))
    scope = {"organization": token_info["organization"], "own": None if "read_all" in scopes else user,
             "where": _index_filters(filterable)}
    with current().session() as s:
        _use_time_format(s)
        records = directory.page(s, kind, order=order, offset=offset, limit=page_size, **scope)
        doc: dict[str, Any] = {"data": [_sparse(render(r), fields) for r in records]}
        if kind == "accounts" and "person" in included:
            people = {r.person_id: r.person for r in records}
            doc["included"] = [_sparse(_person(p), fields) for p in people.values()]
        if counted:
            window = directory.count(s, kind, cap=COUNT_WINDOW, offset=offset, **scope)
            doc["meta"] = {"count": offset + window, "more": window == COUNT_WINDOW}
        else:
            doc["meta"] = {}
    return doc, 200, {"Content-Type": JSONAPI}


def listAccounts(token_info: dict[str, Any], page_number: int = 1, page_size: int = 1000, sort: str | None = None,
                 count: str | None = None, **_: Any) -> tuple[Any, int, dict[str, str]]:
    return _index("accounts", token_info, page_number, page_size, sort, count, _account)


def listPeople(token_info: dict[str, Any], page_number: int = 1, page_size: int = 1000, sort: str | None = None,
               count: str | None = None, **_: Any) -> tuple[Any, int, dict[str, str]]:
    return _index("people", token_info, page_number, page_size, sort, count, _person)


def getMe(token_info: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    """`accounts/me`, the key-test call: the token's own account, whatever its read scopes."""
    with current().session() as s:
        _use_time_format(s)
        account = s.get(Credential, int(token_info["claims"].get("u") or 0))
        if account is None:
            raise _unauthorized()
        return {"data": _account(account)}, 200, {"Content-Type": JSONAPI}


def example_call(root: str, token: Any, session: Any) -> str:
    """Two steps, as Pulse: the API key for a JWT, then the JWT as a Bearer token."""
    body = '{"key": "' + token.secret + '"}'
    logins = quote_sh(root + "/api/v3/iam/account_logins?page[size]=10")
    return (f"curl -X POST -H 'Content-Type: application/json' -d {quote_sh(body)} {root}/api/v3/iam/auth/api/login\n"
            f"curl -H 'Authorization: Bearer <meta.token from above>' {logins}")
