"""Microsoft Entra ID sign-ins through Microsoft Graph, `GET /v1.0/auditLogs/signIns` and `/beta/...` (one
handler, the version taken from the path): OData paging and filters."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import jwt
from connexion import request
from connexion.lifecycle import ConnexionResponse

from ..bounded import loads_json
from ..errors import VendorError, respond
from ..quickstart import quote_sh
from ..storage import clock, current
from ..storage.criteria import And, Cmp, IsNull, Not, Or, Text, all_of
from ..storage.events import EventQuery, EventRow, Order, event_rows
from ..storage.models import Person
from ..storage.records import MAX_ID, find, login_names
from ..timefmt import EPOCH
from ..tokens import Principal, TokenKind, resolve
from ..useragent import describe
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

def authenticate(token: str, required_scopes: Any = None) -> dict[str, Any]:
    scheme, _, raw = token.strip().partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not raw:
        raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
    try:
        claims = jwt.decode(raw, SIGNING_KEY, algorithms=["HS256"], audience=AUDIENCE,
                            options={"require": ["exp", "aud"]})
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
READ = ("id", "uuid", "occurred_at", "credential_id", "person_id", "username", "successful", "failure_reason",
        "ip", "user_agent", "country", "city", "request_id", "client_name")


def _error_code(ev: EventRow) -> int:
    if ev.successful:
        return 0
    if ev.credential_id is None:
        return 50034
    return 50053 if "lock" in (ev.failure_reason or "").lower() else 50126


NO_USER = "00000000-0000-0000-0000-000000000000"


def _sign_in(ev: EventRow, names: Mapping[int, Any], tenant: str) -> dict[str, Any]:
    """The v1.0 signIn: the 29 properties of msgraph-sdk's `models/sign_in.py` and `id`."""
    login = names.get(ev.credential_id) if ev.credential_id is not None else None
    browser, os_name, _ = describe(ev.user_agent or "")
    code = _error_code(ev)
    app_id, app_name = PORTAL_APP if ev.client_name is None else (
        str(uuid.uuid5(uuid.NAMESPACE_URL, "app:" + ev.client_name)), ev.client_name)
    return {
        "id": ev.uuid,
        "createdDateTime": ev.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "userDisplayName": f"{login.first_name} {login.last_name}" if login is not None else None,
        "userPrincipalName": ev.username,
        "userId": login.person_uuid if login is not None else NO_USER,
        "appId": app_id,
        "appDisplayName": app_name,
        "ipAddress": ev.ip or "",
        "clientAppUsed": "Browser",
        "correlationId": ev.request_id or str(uuid.uuid5(uuid.NAMESPACE_OID, ev.uuid)),
        "conditionalAccessStatus": "notApplied",
        "isInteractive": True,
        "riskDetail": "none",
        "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none",
        "riskState": "none",
        "riskEventTypes": [],
        "riskEventTypes_v2": [],
        "resourceDisplayName": "Windows Azure Service Management API",
        "resourceId": "797f4846-ba00-4fd7-ba43-dac1f8f63013",
        "homeTenantId": tenant,
        "resourceTenantId": tenant,
        "servicePrincipalId": "",
        "servicePrincipalName": None,
        "userAgent": ev.user_agent or "",
        "authenticationAppDeviceDetails": None,
        "status": {"errorCode": code, "failureReason": FAILURES[code] or "Other.",
                   "additionalDetails": None if ev.successful else ev.failure_reason},
        "deviceDetail": {"deviceId": "", "displayName": "", "operatingSystem": os_name, "browser": browser,
                         "isCompliant": False, "isManaged": False, "trustType": ""},
        "location": {"city": ev.city, "state": None, "countryOrRegion": ev.country,
                     "geoCoordinates": {"altitude": None, "latitude": None, "longitude": None}},
        "appliedConditionalAccessPolicies": [],
    }


MICROSOFT_SERVICES = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"  # the tenant owning Microsoft's first-party apps
STEP_RESULTS = {0: "Correct password", 50034: "User not found", 50053: "Account is locked",
                50126: "Invalid username or password or Invalid on-premise username or password."}


BETA_COLLECTIONS = {"signInEventTypes": ("interactiveUser",)}  # what `any` can test on beta, per sign-in


def _beta(v1: dict[str, Any], ev: EventRow, tenant: str) -> dict[str, Any]:
    """beta's signIn (msgraph-beta-sdk's `models/sign_in.py`): v1.0's but `riskEventTypes`, 49 more
    properties and `deviceDetail.browserId`; the values are entra-beta.yaml's decisions."""
    code = v1["status"]["errorCode"]
    owner = MICROSOFT_SERVICES if ev.client_name is None else tenant
    seed = uuid.UUID(ev.uuid).bytes
    out = {k: v for k, v in v1.items() if k != "riskEventTypes"}
    out["deviceDetail"] = {**v1["deviceDetail"], "browserId": ""}
    out.update({
        "agent": None, "appOwnerTenantId": owner, "appTokenProtectionStatus": None, "appliedEventListeners": [],
        "authenticationAppPolicyEvaluationDetails": [], "authenticationContextClassReferences": [],
        "authenticationDetails": [{"authenticationStepDateTime": v1["createdDateTime"],
                                   "authenticationMethod": "Password",
                                   "authenticationMethodDetail": "Password in the cloud",
                                   "succeeded": code == 0, "authenticationStepResultDetail": STEP_RESULTS[code],
                                   "authenticationStepRequirement": "Primary authentication"}],
        "authenticationMethodsUsed": [], "authenticationProcessingDetails": [], "authenticationProtocol": "none",
        "authenticationRequirement": "singleFactorAuthentication", "authenticationRequirementPolicies": [],
        "autonomousSystemNumber": None, "azureResourceId": "", "clientCredentialType": "none",
        "clientSessionId": None, "conditionalAccessAudiences": [], "crossTenantAccessType": "none",
        "federatedCredentialId": "", "flaggedForReview": False, "globalSecureAccessIpAddress": "",
        "homeTenantName": "", "incomingTokenType": "none", "ipAddressFromResourceProvider": "",
        "isTenantRestricted": False, "isThroughGlobalSecureAccess": False,
        "managedServiceIdentity": {"msiType": "none", "associatedResourceId": None, "federatedTokenId": None,
                                   "federatedTokenIssuer": None},
        "mfaDetail": {"authMethod": None, "authDetail": None}, "networkLocationDetails": [],
        "originalRequestId": ev.uuid, "originalTransferMethod": "none",
        "privateLinkDetails": {"policyId": "", "policyName": "", "resourceId": "", "policyTenantId": ""},
        "processingTimeInMilliseconds": 40 + seed[0] % 200, "resourceOwnerTenantId": owner,
        "resourceServicePrincipalId": "", "rootActorId": None, "servicePrincipalCredentialKeyId": "",
        "servicePrincipalCredentialThumbprint": "",
        "sessionId": str(uuid.uuid5(uuid.NAMESPACE_OID, "session:" + ev.uuid)) if code == 0 else "",
        "sessionLifetimePolicies": [], "signInEventTypes": list(BETA_COLLECTIONS["signInEventTypes"]),
        "signInIdentifier": ev.username,
        "signInIdentifierType": None, "signInTokenProtectionStatus": None, "tokenIssuerName": "",
        "tokenIssuerType": "AzureAD", "tokenProtectionStatusDetails": None,
        "uniqueTokenIdentifier": base64.urlsafe_b64encode(seed[::-1]).decode().rstrip("="), "userType": "member",
    })
    return out


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
        rows = event_rows(s, EventQuery(where=where, order=order, limit=top + 1, after=after), READ)
        page = rows[:top]
        names = login_names(s, (ev.credential_id for ev in page))
        tenant = str(principal.tenant_uuid)
        values = [_sign_in(ev, names, tenant) for ev in page]
    if version == "beta":
        values = [_beta(v, ev, tenant) for v, ev in zip(values, page, strict=True)]
    select = query.get("$select")
    if select:
        wanted = [f.strip() for f in select.split(",") if f.strip()]
        values = [{k: v[k] for k in wanted if k in v} for v in values]
    body: dict[str, Any] = {"@odata.context": f"https://graph.microsoft.com/{version}/$metadata#auditLogs/signIns"
                            + (f"({select})" if select else ""), "value": values}
    if len(rows) > top:
        params_out = {k: v for k, v in query.items() if k != "$skiptoken"}
        params_out["$skiptoken"] = _encode_skiptoken(page[-1].occurred_at, page[-1].id)
        body["@odata.nextLink"] = str(request.url.replace(query=urlencode(params_out, safe="$/,'")))
    request_id = str(uuid.uuid4())
    return body, 200, {"Content-Type": JSON_TYPE, "request-id": request_id,
                       "client-request-id": _client_request_id() or request_id}


def example_call(root: str, token: Any, session: Any) -> str:
    return (f"curl -H {quote_sh('Authorization: Bearer ' + token.secret)} "
            f"{quote_sh(root + '/v1.0/auditLogs/signIns?$top=10')}")
