"""IBM QRadar / Juniper JSA: `GET /api/access/login_attempts` (Range paging, filter, sort, fields over the
store) and the endpoints a connector calls around it (`/help/versions`, `/system/about`,
`/config/access/users`), under QRadar's whole `/api` tree."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from connexion.lifecycle import ConnexionResponse

from ..errors import VendorError, first_line, respond
from ..fastjson import encoded
from ..framework import request
from ..quickstart import quote_sh
from ..storage import current
from ..storage.criteria import Cmp, Expr, IsNull, all_of
from ..storage.events import EventQuery, count_events
from ..storage.memo import vendor_settings
from ..storage.records import MAX_ID, users_of_console
from ..storage.rendered import Choice, Col, Doc, Field, Time, event_json
from ..tokens import Principal, TokenKind, hex_secret, resolve
from .qradar_filter import FilterError, check_literals, evaluate, parse, to_store

# A login attempt as QRadar writes it (AccessLoginAttempt: HTTP_BASIC or LOGIN_PAGE, SUCCESS or FAILURE,
# milliseconds since 1970, the remote IP, the user's id); rendered by the store (storage/rendered.py).
ATTEMPT: dict[str, Field] = {
    "attempt_method": Choice("auth_method", "HTTP_BASIC", "LOGIN_PAGE", equals="http_basic"),
    "attempt_result": Choice("successful", "SUCCESS", "FAILURE"),
    "attempt_time": Time("occurred_at", "epoch_ms"), "remote_ip": Col("ip"), "user_id": Col("credential_id")}
FIELDS = tuple(ATTEMPT)  # what `fields=` may name, in the record's order
SORT_KEYS = {"attempt_time": ("occurred_at", False), "user_id": ("credential_id", False),
             "remote_ip": ("ip", False), "attempt_result": ("successful", False),
             "attempt_method": ("not_http_basic", False)}  # HTTP_BASIC sorts before LOGIN_PAGE
DEFAULT_ORDER = (("occurred_at", True), ("id", True))
RANGE = re.compile(r"^\s*items\s*=\s*(\d+)\s*-\s*(\d+)\s*$")
KNOWN_VERSIONS = ("12.0", "12.1", "13.0", "13.1", "14.0", "15.0", "15.1", "16.0", "17.0", "18.0", "19.0", "20.0",
                  "21.0", "22.0", "23.0", "24.0", "25.0", "26.0", "27.0")
REMOVED = {"1.0", "2.0", "3.0", "3.1", "4.0", "5.0", "5.1", "6.0", "7.0", "8.0", "9.0", "10.0", "11.0"}
# IBM's "QRadar and API versions" table (ibm.com/docs SS42VS_SHR c_rest_api_getting_started):
# release -> (the REST API version it introduced, the versions it supports, external version).
RELEASES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "7.4.0": ("13.0", ("13.0", "12.1", "12.0"), "7.4.0"),
    "7.4.0 FP1": ("13.1", ("13.1", "13.0", "12.1", "12.0"), "7.4.0"),
    "7.4.1": ("14.0", ("14.0", "13.1", "13.0", "12.1", "12.0"), "7.4.1"),
    "7.4.2": ("15.0", ("15.0", "14.0", "13.1", "13.0"), "7.4.2"),
    "7.4.3": ("16.0", ("16.0", "15.0", "14.0"), "7.4.3"),
    "7.5.0": ("17.0", ("17.0", "16.0", "15.0"), "7.5.0"),
    "7.5.0 UP2": ("18.0", ("18.0", "17.0", "16.0"), "7.5.0"),
    "7.5.0 UP3": ("19.0", ("19.0", "18.0", "17.0"), "7.5.0"),
    "7.5.0 UP6": ("20.0", ("20.0", "19.0", "18.0"), "7.5.0"),
    "7.5.0 UP7": ("21.0", ("21.0", "20.0", "19.0"), "7.5.0"),
    "7.5.0 UP8": ("22.0", ("22.0", "21.0", "20.0"), "7.5.0"),
    "7.5.0 UP9": ("23.0", ("23.0", "22.0", "21.0"), "7.5.0"),
    "7.5.0 UP10": ("24.0", ("24.0", "23.0", "22.0"), "7.5.0"),
    "7.5.0 UP11": ("25.0", ("25.0", "24.0", "23.0"), "7.5.0"),
    "7.5.0 UP12": ("26.0", ("26.0", "25.0", "24.0"), "7.5.0"),
    "7.5.0 UP13": ("26.0", ("26.0", "25.0", "24.0"), "7.5.0"),
    "7.5.0 UP14": ("27.0", ("27.0", "26.0", "25.0"), "7.5.0"),
}
# Behaviour switches (control plane: /_loginaudit/vendors/qradar/settings), their values and defaults.
SETTINGS = {"release": "7.5.0 UP14"}
SETTING_CHOICES = {"release": {name: f"serves API versions up to {newest}; {', '.join(supported)} supported, "
                                     "older ones deprecated" for name, (newest, supported, _) in RELEASES.items()}}
HTTP_MESSAGES = {
    401: "You are unauthorized to access the requested resource.",
    403: "Your account is not authorized to access the requested resource",
    404: "We could not find the resource you requested.",
    405: "The requested method is not supported for this resource.",
    406: "The server could not produce a response in the requested version or media type.",
    409: "The request could not be completed due to a conflict with the current state of the resource",
    422: "The request was well-formed but was unable to be followed due to semantic errors",
    500: "Unexpected internal server error",
}
NO_SEC = ('No SEC header present in request. Please provide it via "SEC: token". You may also use BASIC '
          'authentication parameters if this host supports it. e.g. "Authorization: Basic base64Encoding"')

ADMIN_TOKEN_KIND = "sec_admin"  # what the pytest plugin issues as this vendor's credentials[...]
TOKEN_KINDS = {
    "sec_admin": TokenKind("authorized service token whose user role has ADMIN: sees every attempt",
                           lambda rng: _uuid_like(rng), grants=("ADMIN", "API")),
    "sec_user": TokenKind("authorized service token without ADMIN: sees its credential's attempts",
                          lambda rng: _uuid_like(rng), grants=("API",), needs_credential=True),
    "sec_nocap": TokenKind("authorized service token whose role lacks API capability (403)",
                           lambda rng: _uuid_like(rng)),
    "basic_admin": TokenKind("a password for HTTP Basic as the credential's login, ADMIN role",
                             lambda rng: hex_secret(rng, 12), grants=("ADMIN", "API"), needs_credential=True),
    "basic_user": TokenKind("a password for HTTP Basic as the credential's login, non-admin role",
                            lambda rng: hex_secret(rng, 12), grants=("API",), needs_credential=True),
}


def _uuid_like(rng: Any) -> str:
    h = hex_secret(rng, 16)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _body(status: int, code: int, message: str, description: str = "") -> dict[str, Any]:
    return {"http_response": {"code": status, "message": HTTP_MESSAGES.get(status, _phrase(status))}, "code": code,
            "description": description, "details": {}, "message": message}


def _fail(status: int, code: int, message: str, description: str = "") -> VendorError:
    return VendorError(status, _body(status, code, message, description))


def render_error(status: int, detail: str, headers: Mapping[str, str], path: str) -> ConnexionResponse:
    detail = first_line(detail, "error")
    if status == 401:
        return respond(401, _body(401, 18, NO_SEC), headers)
    if status == 400:  # Connexion's parameter validation: QRadar's "request parameter is not valid"
        return respond(422, _body(422, 1005, detail, "A request parameter is not valid."), headers)
    if status >= 500:
        return respond(status, _body(status, 1020, "Unexpected internal server error",
                                  "An error occurred while retiriving login attempts."), headers)
    return respond(status, _body(status, status, detail), headers)


def _checked(principal: Principal | None, message: str) -> dict[str, Any]:
    if principal is None:
        raise _fail(401, 18, message)
    if not {"ADMIN", "API"} & set(principal.grants):
        raise _fail(403, 26, "User has insufficient capabilities to access this endpoint resource")
    return principal.as_token_info()


def authenticate_sec(token: str, required_scopes: Any = None) -> dict[str, Any]:
    _, principal, _ = resolve("qradar", token.strip())
    if principal is not None and not principal.kind.startswith("sec_"):
        principal = None
    return _checked(principal, "Invalid authorization token. The SEC token is unknown, revoked or expired.")


def authenticate_basic(username: str, password: str, required_scopes: Any = None) -> dict[str, Any]:
    _, principal, _ = resolve("qradar", password)
    if principal is not None and (not principal.kind.startswith("basic_") or principal.login != username):
        principal = None
    return _checked(principal, "Invalid username or password.")


# The versions each release serves, oldest first: every known one up to the version it introduced.
SERVED = {name: tuple(v for v in KNOWN_VERSIONS if float(v) <= float(newest))
          for name, (newest, _, _) in RELEASES.items()}


def _release() -> str:
    """The emulated release's name (the vendor setting)."""
    with current().session() as s:
        return str(vendor_settings(s, "qradar", SETTINGS)["release"])


def _check_version(value: str | None) -> str | None:
    """A version the emulated release serves (its newest, the supported ones and the deprecated
    older ones) passes; a removed one or one it does not know is 406 (code 3). The release, when a
    `Version` made it look (no store read otherwise: login attempts' hot path)."""
    if value is None or not value.strip():
        return None
    version = value.strip()
    version = f"{version}.0" if version.isdigit() else version
    release = _release()
    if version in SERVED[release]:
        return release
    if version in REMOVED:
        raise _fail(406, 3, f"Version ({value}) from header parameter (Version) has been removed and is no longer "
                            "valid. Please refer to documentation for list of valid versions.")
    raise _fail(406, 3, f"Version ({value}) from header parameter (Version) is not a valid version. Please refer to "
                        "documentation for list of valid versions.")


def _fields(value: str | None, known: tuple[str, ...] = FIELDS) -> tuple[str, ...]:
    if value is None or not value.strip():
        return known
    wanted = [f.strip() for f in unquote(value).split(",")]
    for name in wanted:
        if name not in known:
            raise _fail(422, 30, f'Specified field "{name}" is not recognized by this endpoint for media type '
                                 '"application/json"')
    return tuple(f for f in known if f in wanted)


def _filter(value: str | None) -> Expr | None:
    if value is None or not value.strip():
        return None
    try:
        return to_store(parse(unquote(value)))
    except FilterError as exc:
        raise _fail(422, 1010, "A filter parameter was invalid. Please make sure that the syntax is correct: "
                               f"Error Parsing filter ({exc})", "Invalid filter criteria supplied.") from None


def _sort(value: str | None) -> tuple[tuple[str, bool], ...]:
    if value is None or not value.strip():
        return DEFAULT_ORDER
    order = []
    for raw in unquote(value).split(","):
        key = raw.strip()
        desc = key.startswith("-")
        name = key.lstrip("+-").strip()
        if name not in SORT_KEYS or key.count("-") + key.count("+") > 1:
            raise _fail(422, 1030, f"The sort field {name or raw!r} is not valid for this endpoint",
                        "The sort field or order is not valid")
        column, _ = SORT_KEYS[name]
        order.append((column, desc))
    return (*order, *DEFAULT_ORDER)


def _range(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    match = RANGE.match(value)
    if match is None:
        raise _fail(422, 36, "Failed to parse Range header. The syntax of the Range header must follow this "
                             "pattern: items=x-y")
    start, end = (min(MAX_ID, int(g)) if len(g) <= 19 else MAX_ID for g in match.groups())  # ends past the data clamp
    if end < start:
        raise _fail(422, 36, 'Range of pages specified in "Range" header is negative. Non-negative page range '
                             "must be specified.")
    return start, end


@lru_cache(maxsize=64)
def _doc(fields: tuple[str, ...]) -> Doc:
    """The attempt's document with just `fields`, in the order asked."""
    return tuple((f, ATTEMPT[f]) for f in fields)


def getLoginAttempts(token_info: dict[str, Any], filter: str | None = None,
                     sort: str | None = None, fields: str | None = None) -> tuple[Any, int, dict[str, str]]:
    headers = request.headers
    _preamble()
    chosen = _fields(fields)
    where = _filter(filter)
    order = _sort(sort)
    span = _range(headers.get("range"))
    principal: Principal = token_info["principal"]
    visible = all_of(IsNull("credential_id", negate=True), Cmp("event_type", "=", "login"),
                     None if "ADMIN" in principal.grants else Cmp("credential_id", "=", principal.credential_id),
                     # a tenant is a console of its own: a user's token, ADMIN or not, reads that console only
                     None if principal.tenant_id is None else Cmp("tenant_id", "=", principal.tenant_id))
    where = all_of(visible, where)
    with current().session() as s:
        total = count_events(s, where)
        if span is not None and span[0] >= total:
            return [], 200, {"Content-Type": "application/json", "Content-Range": f"items */{total}"}
        start, end = span if span is not None else (0, max(total - 1, 0))
        end = min(end, total - 1)  # also keeps huge Range ends out of SQL
        page = event_json(s, EventQuery(where=where, order=order, offset=start, limit=end - start + 1),
                          _doc(chosen))
    out = {"Content-Type": "application/json"}
    if page:
        out["Content-Range"] = f"items {start}-{start + len(page) - 1}/{total}"
    return encoded("[" + ",".join(page) + "]"), 200, out


_JSON_ACCEPTS = ("application/json", "application/*", "*/*")


def _check_accept(value: str | None) -> None:
    """QRadar answers JSON only: an Accept that admits no JSON is 406 (code 3, its version/media
    type family)."""
    if value is None or not value.strip():
        return
    ranges = [part.split(";")[0].strip().lower() for part in value.split(",")]
    if not any(r in _JSON_ACCEPTS for r in ranges):
        raise _fail(406, 3, f"The requested media type ({value.strip()}) is not supported by this endpoint. "
                            "Supported media types: application/json")


def _preamble() -> str | None:
    """Accept and Version checks; the release if reading it was needed."""
    headers = request.headers
    _check_accept(headers.get("accept"))
    return _check_version(headers.get("version"))


def _listed(rows: list[dict[str, Any]], known: tuple[str, ...], numeric: tuple[str, ...], filter: str | None,
            sort: str | None, fields: str | None) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """QRadar's list machinery over rows held in memory: filter (the same grammar), sort, fields,
    Range with Content-Range, each error with its documented code."""
    chosen = _fields(fields, known)
    if filter is not None and filter.strip():
        try:
            expr = parse(unquote(filter), known)
            check_literals(expr, numeric)
        except FilterError as exc:
            raise _fail(422, 1010, "A filter parameter was invalid. Please make sure that the syntax is correct: "
                                   f"Error Parsing filter ({exc})", "Invalid filter criteria supplied.") from None
        rows = [r for r in rows if evaluate(expr, r, numeric)]
    for name, desc in reversed(_sort_keys(sort, known)):
        present = [r for r in rows if r.get(name) is not None]
        missing = [r for r in rows if r.get(name) is None]
        present.sort(key=lambda r: r[name], reverse=desc)
        rows = missing + present if desc else present + missing  # NULLs last ascending, first descending
    total = len(rows)
    span = _range(request.headers.get("range"))
    if span is not None and span[0] >= total:
        return [], {"Content-Type": "application/json", "Content-Range": f"items */{total}"}
    start, end = span if span is not None else (0, max(total - 1, 0))
    page = [{f: r.get(f) for f in chosen} for r in rows[start:end + 1]]
    out = {"Content-Type": "application/json"}
    if page:
        out["Content-Range"] = f"items {start}-{start + len(page) - 1}/{total}"
    return page, out


def _sort_keys(value: str | None, known: tuple[str, ...]) -> list[tuple[str, bool]]:
    if value is None or not value.strip():
        return []
    keys = []
    for raw in unquote(value).split(","):
        key = raw.strip()
        name = key.lstrip("+-").strip()
        if name not in known or key.count("-") + key.count("+") > 1:
            raise _fail(422, 1030, f"The sort field {name or raw!r} is not valid for this endpoint",
                        "The sort field or order is not valid")
        keys.append((name, key.startswith("-")))
    return keys


VERSION_FIELDS = ("id", "version", "deprecated", "removed", "root_resource_ids")


def getVersions(token_info: dict[str, Any], filter: str | None = None, sort: str | None = None,
                fields: str | None = None) -> tuple[Any, int, dict[str, str]]:
    release = _preamble() or _release()
    supported = RELEASES[release][1]
    rows = [{"id": KNOWN_VERSIONS.index(v) + 1, "version": v, "deprecated": v not in supported, "removed": False,
             "root_resource_ids": []} for v in reversed(SERVED[release])]
    body, headers = _listed(rows, VERSION_FIELDS, ("id",), filter, sort, fields)
    return body, 200, headers


ABOUT_FIELDS = ("build_version", "external_version", "fips_enabled", "release_name")


def getSystemAbout(token_info: dict[str, Any], fields: str | None = None) -> tuple[Any, int, dict[str, str]]:
    name = _preamble() or _release()
    external = RELEASES[name][2]
    chosen = _fields(fields, ABOUT_FIELDS)
    update = name.removeprefix(external).strip().replace("UP", "UpdatePackage ").replace("FP", "FixPack ")
    about = {"build_version": f"{external}.{RELEASES[name][0]}", "external_version": external,
             "fips_enabled": False, "release_name": f"{external} {update}".strip()}
    return {f: about[f] for f in chosen}, 200, {"Content-Type": "application/json"}


USER_FIELDS = ("id", "username", "email", "description", "user_role_id", "security_profile_id", "tenant_id")
ADMIN_ROLE, USER_ROLE = 1, 2  # QRadar's built-in Admin user role has id 1


def getUsers(token_info: dict[str, Any], filter: str | None = None, sort: str | None = None,
             fields: str | None = None) -> tuple[Any, int, dict[str, str]]:
    _preamble()
    principal: Principal = token_info["principal"]
    with current().session() as s:
        users = users_of_console(s, principal.tenant_id)
    if "ADMIN" not in principal.grants:
        users = [u for u in users if u.id == principal.credential_id]
    rows = [{"id": u.id, "username": u.login, "email": u.email, "description": "",
             "user_role_id": ADMIN_ROLE if u.role == "admin" else USER_ROLE, "security_profile_id": 1,
             "tenant_id": 0} for u in users]
    body, headers = _listed(rows, USER_FIELDS, ("id", "user_role_id", "security_profile_id", "tenant_id"),
                            filter, sort, fields)
    return body, 200, headers


def example_call(root: str, token: Any, session: Any) -> str:
    return (f"curl -H {quote_sh('SEC: ' + token.secret)} -H 'Range: items=0-9' "
            f"{root}/api/access/login_attempts")
