"""Microsoft Entra ID sign-ins through Microsoft Graph, `GET /v1.0/auditLogs/signIns` and `/beta/...` (one
handler, the version taken from the path): OData paging and filters."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import jwt
from connexion.lifecycle import ConnexionResponse

from ..bounded import loads_json
from ..errors import VendorError, respond
from ..fastjson import Encoded, document
from ..framework import request
from ..quickstart import quote_sh
from ..storage import clock, current
from ..storage.criteria import And, Cmp, IsNull, Not, Or, Text, all_of
from ..storage.events import EventQuery, Order
from ..storage.models import Person
from ..storage.records import MAX_ID, find
from ..storage.rendered import (
    Choice,
    Col,
    Const,
    Derived,
    Doc,
    Field,
    Items,
    Json,
    NullWhen,
    Obj,
    Time,
    event_json_with,
)
from ..storage.rendered import Or as Fallback  # criteria's Or is the filter's
from ..timefmt import EPOCH
from ..tokens import Principal, TokenKind, resolve
from ..useragent import browser_of, os_of
from . import entra_filter

JSON_TYPE = "application/json"
ADMIN_TOKEN_KIND = "app_auditlog"  # what the pytest plugin issues as this vendor's credentials[...]
ROLE = "AuditLog.Read.All"
AUDIENCE = "https://graph.microsoft.com"
# The emulator signs its access tokens itself (HS256, this key): Graph checks a token, its clients never do.
SIGNING_KEY = "loginaudit-entra-emulator-signing-key"
DEFAULT_TOP, RETENTION = 1000, timedelta(days=30)
MAX_TOKEN = 200


def _mint(rng: Any, roles: tuple[str, ...] = (), scp: str | None = None) -> str:
    """An access token shaped as Entra's v1 tokens for Graph: aud, iss, tid, roles or scp, oid, exp."""
    rand = rng.randbytes(16) if rng else uuid.uuid4().bytes
    claims: dict[str, Any] = {"aud": AUDIENCE, "iss": "https://sts.windows.net/loginaudit/", "iat": 1_700_000_000,
                              "exp": 4_102_444_800, "oid": str(uuid.UUID(bytes=rand)), "ver": "1.0",
                              "uti": base64.urlsafe_b64encode(rand).decode().rstrip("=")}
    if roles:
        claims["roles"] = list(roles)
    if scp:
        claims["scp"] = scp
    return jwt.encode(claims, SIGNING_KEY, algorithm="HS256", headers={"typ": "JWT"})


TOKEN_KINDS = {
    "app_auditlog": TokenKind(f"app-only access token with the {ROLE} application role, of the credential's tenant",
                              lambda rng: _mint(rng, roles=(ROLE,)), needs_credential=True),
    "delegated_auditlog": TokenKind(f"delegated access token with scope {ROLE}, of the credential's tenant",
                                    lambda rng: _mint(rng, scp=f"{ROLE} Directory.Read.All openid profile"),
                                    needs_credential=True),
    "app_no_role": TokenKind(f"app-only access token without {ROLE} (403)", lambda rng: _mint(rng, roles=()),
                             needs_credential=True),
}


# ---- errors: Graph's envelope -------------------------------------------------------------------------

def _error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> ConnexionResponse:
    request_id = str(uuid.uuid4())
    client_id = _client_request_id() or request_id
    body = {"error": {"code": code, "message": message,
                      "innerError": {"date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                                     "request-id": request_id, "client-request-id": client_id}}}
    out = {**(headers or {}), "request-id": request_id, "client-request-id": client_id}
    return respond(status, body, out, JSON_TYPE)


def _client_request_id() -> str | None:
    try:
        value = request.headers.get("client-request-id")
    except (LookupError, RuntimeError):  # no request context (an error rendered before routing)
        return None
    return value if value and len(value) <= 64 and value.isprintable() else None


class GraphError(VendorError):
    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        response = _error(status, code, message, headers)
        super().__init__(status, response.body, dict(response.headers), JSON_TYPE)


def render_error(status: int, detail: str, headers: Mapping[str, str], path: str) -> ConnexionResponse:
    if status == 401:
        return _error(401, "InvalidAuthenticationToken", "Access token is empty.", headers)
    if status == 404:
        return _error(404, "UnknownError", "", headers)  # Graph's answer to an unknown segment
    if status == 405:
        return _error(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.",
                      headers)
    if status == 429:
        return _error(429, "TooManyRequests", "Too many requests, please retry after the time in Retry-After.",
                      headers)
    if status >= 500:
        return _error(status, "UnknownError", "An internal server error occurred.", headers)
    return _error(400, "BadRequest", "Invalid query: " + detail.strip().split("\n", 1)[0][:300], headers)


# ---- auth: a Bearer access token with AuditLog.Read.All -------------------------------------------------

_ACCEPTED: dict[str, tuple[int, dict[str, Any]]] = {}  # token -> (exp, claims) PyJWT accepted (bounded)


def _claims(raw: str) -> dict[str, Any]:
    """`jwt.decode` of an access token, remembered while it would answer the same (verifying the HMAC was
    ~7% of a signIns page). The key, algorithm, audience and required claims never change, so a token
    PyJWT accepted is accepted again until its `exp` (`nbf` and `iat` only grow more valid with time),
    which is checked here as PyJWT checks it without leeway: accepted while now < exp. Past it, or for
    any token not accepted before, PyJWT decides (and names the error)."""
    kept = _ACCEPTED.get(raw)
    if kept is not None and time.time() < kept[0]:
        return kept[1]
    claims: dict[str, Any] = jwt.decode(raw, SIGNING_KEY, algorithms=["HS256"], audience=AUDIENCE,
                                        options={"require": ["exp", "aud"]})
    if len(_ACCEPTED) >= 4096:
        _ACCEPTED.clear()
    _ACCEPTED[raw] = (int(claims["exp"]), claims)  # int(): what PyJWT compares
    return claims


def authenticate(token: str, required_scopes: Any = None) -> dict[str, Any]:
    scheme, _, raw = token.strip().partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not raw:
        raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
    try:
        claims = _claims(raw)
    except jwt.ExpiredSignatureError:
        raise GraphError(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.") \
            from None
    except jwt.InvalidAudienceError:
        raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.") \
            from None
    except jwt.PyJWTError:
        raise GraphError(401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.") from None
    status, principal, _ = resolve("entra", raw)
    if status == "expired":
        raise GraphError(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
    if principal is None or principal.tenant_id is None:  # revoked, or signed but never issued here
        raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure.")
    if ROLE not in claims.get("roles", ()) and ROLE not in str(claims.get("scp", "")).split():
        raise GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    return principal.as_token_info()


# ---- the signIn resource ----------------------------------------------------------------------------------

# What Graph derives from the kind of sign-in (status, interactivity, client), and the store criteria for it.
_FAILED, _KNOWN = Cmp("successful", "=", False), IsNull("credential_id", negate=True)
_LOCKED = Text("failure_reason", "contains", "lock", casefold=True)
FAILURES = {  # Entra error codes (learn.microsoft.com, "Microsoft Entra authentication and authorization error codes")
    0: None,
    50034: "The user account does not exist in the directory.",
    50053: "Account is locked because user tried to sign in too many times with an incorrect user ID or password.",
    50126: "Error validating credentials due to invalid username or password.",
}
_COMMON = {"isInteractive": True, "clientAppUsed": "Browser", "conditionalAccessStatus": "notApplied",
           "riskState": "none", "riskLevelDuringSignIn": "none", "riskLevelAggregated": "none", "riskDetail": "none"}
KINDS: entra_filter.Kinds = {
    "success": (Cmp("successful", "=", True), {"status/errorCode": 0, **_COMMON}),
    "unknown_user": (And((_FAILED, IsNull("credential_id"))), {"status/errorCode": 50034, **_COMMON}),
    "locked": (And((_FAILED, _KNOWN, _LOCKED)), {"status/errorCode": 50053, **_COMMON}),
    "bad_password": (And((_FAILED, _KNOWN, Not(_LOCKED))), {"status/errorCode": 50126, **_COMMON}),
}
PORTAL_APP = ("c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Azure Portal")  # Microsoft's first-party app id

@lru_cache(maxsize=4096)
def _failed_code(reason: str | None) -> int:
    """A known user's failure: locked out, else a bad password."""
    return 50053 if "lock" in (reason or "").lower() else 50126


def _by_code(value: Callable[[int], Any]) -> Choice:
    """A field that depends on the sign-in's error code (0; 50034 for a name nobody holds; else by the
    failure's reason), as the store writes it. Made once per field at import: its function is the SQL
    function SQLite calls."""
    def leaf(code: int) -> str | Field:
        out = value(code)
        return out if isinstance(out, str) else Const(out)
    by_reason = Derived("failure_reason", lru_cache(maxsize=4096)(lambda reason: value(_failed_code(reason))))
    return Choice("successful", leaf(0), Choice("credential_id", leaf(50034), by_reason, absent=True))


ERROR_CODE = _by_code(lambda code: code)
FAILURE_REASON = _by_code(lambda code: FAILURES[code] or "Other.")
NO_USER = "00000000-0000-0000-0000-000000000000"


@lru_cache(maxsize=4096)
def _app_id(client_name: str | None) -> str:
    return PORTAL_APP[0] if client_name is None else str(uuid.uuid5(uuid.NAMESPACE_URL, "app:" + client_name))


_OID = uuid.NAMESPACE_OID.bytes


def _correlation(event_uuid: str) -> str:
    """str(uuid.uuid5(NAMESPACE_OID, event_uuid)), written from the digest directly: every row of a page
    has its own, and the UUID object's construction and formatting were ~10% of an Entra page."""
    digest = bytearray(hashlib.sha1(_OID + event_uuid.encode(), usedforsecurity=False).digest()[:16])
    digest[6] = digest[6] & 0x0F | 0x50  # version 5
    digest[8] = digest[8] & 0x3F | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_PLACE = Obj((("city", Col("city")), ("state", Const(None)), ("countryOrRegion", Col("country")),
              ("geoCoordinates", Obj(tuple((k, Const(None)) for k in ("altitude", "latitude", "longitude"))))))


def _device(beta: bool) -> Obj:
    return Obj((("deviceId", Const("")), ("displayName", Const("")), ("operatingSystem", Derived("user_agent", os_of)),
                ("browser", Derived("user_agent", browser_of)), ("isCompliant", Const(False)),
                ("isManaged", Const(False)), ("trustType", Const("")), *((("browserId", Const("")),) if beta else ())))


def _sign_in(tenant: str) -> dict[str, Field]:
    """The v1.0 signIn: the 29 properties of msgraph-sdk's `models/sign_in.py` and `id`, as the store writes
    them (storage/rendered.py); `userDisplayName`/`userId` are the credential holder's."""
    return {
        "id": Col("uuid"),
        "createdDateTime": Time("occurred_at", "iso_s_z"),
        "userDisplayName": Col("login_name"),
        "userPrincipalName": Col("username"),
        "userId": Fallback("login_person_uuid", NO_USER, blank=False),
        "appId": Derived("client_name", _app_id),
        "appDisplayName": Fallback("client_name", PORTAL_APP[1], blank=False),
        "ipAddress": Fallback("ip", ""),
        "clientAppUsed": Const("Browser"),
        "correlationId": Fallback("request_id", Derived("uuid", _correlation)),
        "conditionalAccessStatus": Const("notApplied"),
        "isInteractive": Const(True),
        "riskDetail": Const("none"),
        "riskLevelAggregated": Const("none"),
        "riskLevelDuringSignIn": Const("none"),
        "riskState": Const("none"),
        "riskEventTypes": Json("[]"),
        "riskEventTypes_v2": Json("[]"),
        "resourceDisplayName": Const("Windows Azure Service Management API"),
        "resourceId": Const("797f4846-ba00-4fd7-ba43-dac1f8f63013"),
        "homeTenantId": Const(tenant),
        "resourceTenantId": Const(tenant),
        "servicePrincipalId": Const(""),
        "servicePrincipalName": Const(None),
        "userAgent": Fallback("user_agent", ""),
        "authenticationAppDeviceDetails": Const(None),
        "status": Obj((("errorCode", ERROR_CODE), ("failureReason", FAILURE_REASON),
                       ("additionalDetails", NullWhen("successful", Col("failure_reason"))))),
        "deviceDetail": _device(False),
        "location": _PLACE,
        "appliedConditionalAccessPolicies": Json("[]"),
    }


MICROSOFT_SERVICES = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"  # the tenant owning Microsoft's first-party apps
STEP_RESULTS = {0: "Correct password", 50034: "User not found", 50053: "Account is locked",
                50126: "Invalid username or password or Invalid on-premise username or password."}


BETA_COLLECTIONS = {"signInEventTypes": ("interactiveUser",)}  # what `any` can test on beta, per sign-in
STEP_RESULT = _by_code(STEP_RESULTS.__getitem__)


def _processing_ms(event_uuid: str) -> int:
    return 40 + uuid.UUID(event_uuid).bytes[0] % 200


def _session_id(event_uuid: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_OID, "session:" + event_uuid))


def _token_id(event_uuid: str) -> str:
    return base64.urlsafe_b64encode(uuid.UUID(event_uuid).bytes[::-1]).decode().rstrip("=")


def _beta(tenant: str) -> dict[str, Field]:
    """beta's signIn (msgraph-beta-sdk's `models/sign_in.py`): v1.0's but `riskEventTypes`, 49 more
    properties and `deviceDetail.browserId`; the values are entra-beta.yaml's decisions."""
    out = _sign_in(tenant)
    del out["riskEventTypes"]
    out["deviceDetail"] = _device(True)
    owner = Choice("client_name", MICROSOFT_SERVICES, tenant, absent=True)
    none, empty, nothing = Const("none"), Const(""), Const(None)
    out.update({
        "agent": nothing, "appOwnerTenantId": owner, "appTokenProtectionStatus": nothing,
        "appliedEventListeners": Json("[]"), "authenticationAppPolicyEvaluationDetails": Json("[]"),
        "authenticationContextClassReferences": Json("[]"),
        "authenticationDetails": Items((Obj((
            ("authenticationStepDateTime", Time("occurred_at", "iso_s_z")),
            ("authenticationMethod", Const("Password")), ("authenticationMethodDetail", Const("Password in the cloud")),
            ("succeeded", Choice("successful", Const(True), Const(False))),  # error code 0
            ("authenticationStepResultDetail", STEP_RESULT),
            ("authenticationStepRequirement", Const("Primary authentication")))),)),
        "authenticationMethodsUsed": Json("[]"), "authenticationProcessingDetails": Json("[]"),
        "authenticationProtocol": none, "authenticationRequirement": Const("singleFactorAuthentication"),
        "authenticationRequirementPolicies": Json("[]"), "autonomousSystemNumber": nothing, "azureResourceId": empty,
        "clientCredentialType": none, "clientSessionId": nothing, "conditionalAccessAudiences": Json("[]"),
        "crossTenantAccessType": none, "federatedCredentialId": empty, "flaggedForReview": Const(False),
        "globalSecureAccessIpAddress": empty, "homeTenantName": empty, "incomingTokenType": none,
        "ipAddressFromResourceProvider": empty, "isTenantRestricted": Const(False),
        "isThroughGlobalSecureAccess": Const(False),
        "managedServiceIdentity": Obj((("msiType", none), ("associatedResourceId", nothing),
                                       ("federatedTokenId", nothing), ("federatedTokenIssuer", nothing))),
        "mfaDetail": Obj((("authMethod", nothing), ("authDetail", nothing))), "networkLocationDetails": Json("[]"),
        "originalRequestId": Col("uuid"), "originalTransferMethod": none,
        "privateLinkDetails": Obj(tuple((k, empty) for k in ("policyId", "policyName", "resourceId",
                                                              "policyTenantId"))),
        "processingTimeInMilliseconds": Derived("uuid", _processing_ms), "resourceOwnerTenantId": owner,
        "resourceServicePrincipalId": empty, "rootActorId": nothing, "servicePrincipalCredentialKeyId": empty,
        "servicePrincipalCredentialThumbprint": empty,
        "sessionId": Choice("successful", Derived("uuid", _session_id), ""),  # a session where the code is 0
        "sessionLifetimePolicies": Json("[]"),
        "signInEventTypes": Json(json.dumps(list(BETA_COLLECTIONS["signInEventTypes"]), separators=(",", ":"))),
        "signInIdentifier": Col("username"),
        "signInIdentifierType": nothing, "signInTokenProtectionStatus": nothing, "tokenIssuerName": empty,
        "tokenIssuerType": Const("AzureAD"), "tokenProtectionStatusDetails": nothing,
        "uniqueTokenIdentifier": Derived("uuid", _token_id), "userType": Const("member"),
    })
    return out


@lru_cache(maxsize=256)
def sign_in_doc(version: str, tenant: str, select: tuple[str, ...] | None) -> Doc:
    """The signIn document of `version` for a caller of `tenant` (its id is in every row), or just the
    `$select`ed properties that exist, in the order asked (a property asked twice once)."""
    fields = _beta(tenant) if version == "beta" else _sign_in(tenant)
    if select is None:
        return tuple(fields.items())
    return tuple((key, fields[key]) for key in dict.fromkeys(select) if key in fields)


# ---- the query ---------------------------------------------------------------------------------------------

_UNSUPPORTED = ("$skip", "$count", "$search", "$expand", "$format", "$apply", "$compute", "$levels")


def _encode_skiptoken(at: datetime, ident: int) -> str:
    micros = (at - EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(json.dumps([micros, ident], separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_skiptoken(token: str) -> tuple[datetime, int]:
    try:
        if len(token) > MAX_TOKEN:
            raise ValueError(token)
        raw = loads_json(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not (isinstance(raw, list) and len(raw) == 2 and all(type(v) is int for v in raw) and 0 < raw[1] <= MAX_ID):
            raise ValueError(token)
        return EPOCH + timedelta(microseconds=raw[0]), raw[1]
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise GraphError(400, "Directory_ExpiredPageToken", "The specified page token value has expired and can "
                         "no longer be included in your request.") from None


def _person_of(s: Any) -> Any:
    def find_person(user_id: str) -> int | None:
        try:
            canonical = str(uuid.UUID(user_id))
        except ValueError:
            return None
        person = find(s, Person, uuid=canonical)
        return None if person is None else int(person.id)
    return find_person


def _order(orderby: str | None) -> Order:
    if not orderby or orderby.strip() in ("createdDateTime desc", "createdDateTime DESC"):
        return (("occurred_at", True), ("id", True))
    if orderby.strip() in ("createdDateTime", "createdDateTime asc", "createdDateTime ASC"):
        return (("occurred_at", False), ("id", False))
    raise GraphError(400, "BadRequest", f"Invalid $orderby: {orderby[:100]}; signIns order by createdDateTime only.")


def listSignIns(token_info: dict[str, Any], **params: Any) -> tuple[Any, int, dict[str, str]]:
    """Newest first by default; `$top` (1..1000, default 1000) per page; `@odata.nextLink` carries the
    `$skiptoken` while more remain."""
    principal: Principal = token_info["principal"]
    query = request.query_params
    for name in _UNSUPPORTED:
        if name in query:
            raise GraphError(400, "BadRequest", f"Query option '{name.lstrip('$').capitalize()}' is not allowed. "
                             "To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or "
                             "QueryValidationSettings.")
    top = int(query.get("$top") or DEFAULT_TOP)  # the spec bounds it (1..1000)
    order = _order(query.get("$orderby"))
    after = _decode_skiptoken(query["$skiptoken"]) if "$skiptoken" in query else None
    version = request.url.path.split("/")[1]
    with current().session() as s:
        try:
            where_filter = (entra_filter.parse(query["$filter"], KINDS, _person_of(s),
                                               BETA_COLLECTIONS if version == "beta" else None)
                            if query.get("$filter") else None)
        except entra_filter.FilterError as exc:
            raise GraphError(400, "BadRequest", str(exc)) from None
        now = clock.now(s)
        unknown_users = And((IsNull("tenant_id"), IsNull("credential_id")))  # a name nobody holds: 50034
        scope = Or((Cmp("tenant_id", "=", principal.tenant_id), unknown_users))
        where = all_of(scope, Cmp("event_type", "=", "login"),
                       Cmp("occurred_at", ">=", now - RETENTION), where_filter)
        select = query.get("$select")
        wanted = tuple(f.strip() for f in select.split(",") if f.strip()) if select else None
        doc = sign_in_doc(version, str(principal.tenant_uuid), wanted)
        written = event_json_with(s, EventQuery(where=where, order=order, limit=top + 1, after=after), doc,
                                  ("occurred_at", "id"), shown=top)
    texts = written.texts
    members: list[tuple[str, Any]] = [
        ("@odata.context", f"https://graph.microsoft.com/{version}/$metadata#auditLogs/signIns"
         + (f"({select})" if select else "")),
        ("value", Encoded("[" + ",".join(texts) + "]"))]
    if written.read > top:
        last = written.extra(top - 1)
        params_out = {k: v for k, v in query.items() if k != "$skiptoken"}
        params_out["$skiptoken"] = _encode_skiptoken(last.occurred_at, last.id)
        members.append(("@odata.nextLink", str(request.url.replace(query=urlencode(params_out, safe="$/,'")))))
    body = document(members)
    request_id = str(uuid.uuid4())
    return body, 200, {"Content-Type": JSON_TYPE, "request-id": request_id,
                       "client-request-id": _client_request_id() or request_id}


def example_call(root: str, token: Any, session: Any) -> str:
    return (f"curl -H {quote_sh('Authorization: Bearer ' + token.secret)} "
            f"{quote_sh(root + '/v1.0/auditLogs/signIns?$top=10')}")
