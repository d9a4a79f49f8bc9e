"""Microsoft Graph GET /v1.0/auditLogs/signIns: the signIn resource, OData paging and $filter, auth, errors."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest

from conftest import Arrange, at

URL = "/v1.0/auditLogs/signIns"
ODATA = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"


@pytest.fixture
def tenant(arrange: Arrange) -> dict[str, Any]:
    contoso = arrange.tenant(name="Contoso")
    jane_p = arrange.person(first_name="Jane", last_name="Doe", email="jane@contoso.com")
    jane = arrange.credential(jane_p, contoso, login="jane@contoso.com")
    other = arrange.credential(arrange.person(email="bob@fabrikam.com"), arrange.tenant(name="Fabrikam"),
                               login="bob@fabrikam.com")
    arrange.events(
        {"credential_id": jane["id"], "occurred_at": "2026-11-22T08:15:02.123Z", "ip": "203.0.113.7",
         "city": "Redmond", "country": "US", "request_id": "5d0b3b02-6b4a-4a5e-8f68-2b8d0f4f2a11",
         "uuid": "8a3c1f1e-5b6d-4c55-9a35-5a8f8f3c2d10",
         "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0"},
        {"credential_id": jane["id"], "occurred_at": at(3), "successful": False, "failure_reason": "Invalid password"},
        {"credential_id": jane["id"], "occurred_at": at(2.5), "successful": False,
         "failure_reason": "Account locked", "client_name": "Office 365"},
        {"credential_id": jane["id"], "occurred_at": at(2), "event_type": "logout"},  # not a sign-in
        {"username": "ghost@contoso.com", "occurred_at": at(1), "successful": False},
        {"credential_id": other["id"], "occurred_at": at(1)},  # another tenant's
        {"credential_id": jane["id"], "occurred_at": at(24 * 31)},  # past the 30-day log
    )
    return {"jane": jane, "jane_person": jane_p, "contoso": contoso,
            "token": arrange.token("entra", "app_auditlog", credential_id=jane["id"])}


def _get(client: Any, t: dict[str, Any], query: str = "", token: str | None = None, **headers: str) -> Any:
    return client.get(URL + query, headers={"Authorization": f"Bearer {token or t['token']}", **headers})


def test_a_sign_in_as_graph_writes_it(client: Any, tenant: dict[str, Any]) -> None:
    r = _get(client, tenant, "?$orderby=createdDateTime&$top=1")
    assert (r.status_code, r.headers["content-type"]) == (200, ODATA)
    body = r.json()
    assert body["@odata.context"] == "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns"
    assert body["value"][0] == {
        "id": "8a3c1f1e-5b6d-4c55-9a35-5a8f8f3c2d10", "createdDateTime": "2026-11-22T08:15:02Z",
        "userDisplayName": "Jane Doe", "userPrincipalName": "jane@contoso.com", "userId": tenant["jane_person"]["uuid"],
        "appId": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "appDisplayName": "Azure Portal",
        "ipAddress": "203.0.113.7", "clientAppUsed": "Browser", "correlationId": "5d0b3b02-6b4a-4a5e-8f68-2b8d0f4f2a11",
        "conditionalAccessStatus": "notApplied", "isInteractive": True, "riskDetail": "none",
        "riskLevelAggregated": "none", "riskLevelDuringSignIn": "none", "riskState": "none",
        "riskEventTypes": [], "riskEventTypes_v2": [],
        "resourceDisplayName": "Windows Azure Service Management API",
        "resourceId": "797f4846-ba00-4fd7-ba43-dac1f8f63013",
        "homeTenantId": tenant["contoso"]["uuid"], "resourceTenantId": tenant["contoso"]["uuid"],
        "servicePrincipalId": "", "servicePrincipalName": None, "authenticationAppDeviceDetails": None,
        "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
        "status": {"errorCode": 0, "failureReason": "Other.", "additionalDetails": None},
        "deviceDetail": {"deviceId": "", "displayName": "", "operatingSystem": "Windows", "browser": "Edge",
                         "isCompliant": False, "isManaged": False, "trustType": ""},
        "location": {"city": "Redmond", "state": None, "countryOrRegion": "US",
                     "geoCoordinates": {"altitude": None, "latitude": None, "longitude": None}},
        "appliedConditionalAccessPolicies": [],
    }
    assert uuid.UUID(r.headers["request-id"]) and r.headers["client-request-id"] == r.headers["request-id"]


def test_beta_is_the_same_log_with_betas_resource(client: Any, tenant: dict[str, Any]) -> None:
    """`/beta` answers from the same handler and store; its signIn is beta's (msgraph-beta-sdk's model)."""
    auth = {"Authorization": f"Bearer {tenant['token']}"}
    v1 = client.get(URL + "?$top=2", headers=auth).json()
    r = client.get("/beta/auditLogs/signIns?$top=2", headers=auth)
    assert (r.status_code, r.headers["content-type"]) == (200, ODATA)
    beta = r.json()
    assert beta["@odata.context"] == "https://graph.microsoft.com/beta/$metadata#auditLogs/signIns"
    assert urlsplit(beta["@odata.nextLink"]).path == "/beta/auditLogs/signIns"
    for old, new in zip(v1["value"], beta["value"], strict=True):
        assert "riskEventTypes" not in new and new["deviceDetail"] == {**old["deviceDetail"], "browserId": ""}
        shared = {k: v for k, v in old.items() if k not in ("riskEventTypes", "deviceDetail")}
        assert {k: new[k] for k in shared} == shared
        assert len(new) == 78  # id and the model's 77
    locked, ghost = beta["value"][1], beta["value"][0]
    assert ghost["authenticationDetails"][0]["authenticationStepResultDetail"] == "User not found"
    assert locked["appDisplayName"] == "Office 365" and locked["appOwnerTenantId"] == tenant["contoso"]["uuid"]
    assert locked["authenticationDetails"] == [{
        "authenticationStepDateTime": locked["createdDateTime"], "authenticationMethod": "Password",
        "authenticationMethodDetail": "Password in the cloud", "succeeded": False,
        "authenticationStepResultDetail": "Account is locked",
        "authenticationStepRequirement": "Primary authentication"}]
    assert (locked["signInEventTypes"], locked["userType"], locked["signInIdentifier"], locked["sessionId"]) == (
        ["interactiveUser"], "member", "jane@contoso.com", "")
    assert 40 <= locked["processingTimeInMilliseconds"] < 240
    following = client.get(beta["@odata.nextLink"], headers=auth).json()["value"]
    assert following[0]["id"] == client.get(URL + "?$top=3", headers=auth).json()["value"][2]["id"]
    assert following[-1]["sessionId"] and following[-1]["status"]["errorCode"] == 0


@pytest.mark.parametrize(("expr", "version", "status", "count"), [
    ("signInEventTypes/any(t: t eq 'interactiveUser')", "beta", 200, 4),
    ("signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser')", "beta", 200, 4),
    ("signInEventTypes/any(t: t eq 'nonInteractiveUser')", "beta", 200, 0),
    ("signInEventTypes/any(t: t eq 'nonInteractiveUser') or status/errorCode eq 50126", "beta", 200, 1),
    ("signInEventTypes/any(t: t ne 'interactiveUser')", "beta", 400, 0),
    ("signInEventTypes/any(t: x eq 'interactiveUser')", "beta", 400, 0),
    ("deviceDetail/any(t: t eq 'x')", "beta", 400, 0),
    ("signInEventTypes/any(t: t eq 'interactiveUser')", "v1.0", 400, 0),  # not a v1.0 property
])
def test_beta_filters_sign_in_event_types_with_any(client: Any, tenant: dict[str, Any], expr: str, version: str,
                                                   status: int, count: int) -> None:
    r = client.get(f"/{version}/auditLogs/signIns", params={"$filter": expr},
                   headers={"Authorization": f"Bearer {tenant['token']}"})
    assert r.status_code == status, r.text
    assert len(r.json()["value"]) == count if status == 200 else r.json()["error"]["code"] == "BadRequest"


def test_beta_publishes_its_own_bundled_document(client: Any) -> None:
    doc = client.get("/beta/openapi.json").json()
    assert doc["servers"][0]["url"] == "/beta" and "entra.yaml#" not in str(doc)  # self-contained
    assert set(doc["components"]["schemas"]) == {"signIn", "entra_signIn", "Error"}
    assert client.get("/beta/auditLogs/signIns").json()["error"]["code"] == "InvalidAuthenticationToken"


def test_failures_carry_entra_error_codes(client: Any, tenant: dict[str, Any]) -> None:
    rows = _get(client, tenant).json()["value"]  # newest first; the logout, the other tenant and the old one absent
    assert [(v["userPrincipalName"], v["status"]["errorCode"]) for v in rows] == [
        ("ghost@contoso.com", 50034), ("jane@contoso.com", 50053), ("jane@contoso.com", 50126),
        ("jane@contoso.com", 0)]
    assert rows[1]["appDisplayName"] == "Office 365" and rows[1]["status"]["additionalDetails"] == "Account locked"
    assert rows[2]["status"]["failureReason"] == ("Error validating credentials due to invalid username or "
                                                  "password.")


def test_paging_by_next_link(client: Any, tenant: dict[str, Any]) -> None:
    seen, url = [], URL + "?$top=3&$filter=" + "userPrincipalName eq 'jane@contoso.com'"
    while url:
        r = client.get(url, headers={"Authorization": f"Bearer {tenant['token']}"})
        body = r.json()
        seen += [v["createdDateTime"] for v in body["value"]]
        link = body.get("@odata.nextLink")
        url = link and link.split("testserver", 1)[1]
        if link:
            assert "$skiptoken=" in urlsplit(link).query and "$top=3" in link
    assert len(seen) == 3 and seen == sorted(seen, reverse=True)
    assert _get(client, tenant, "?$skiptoken=notours").json()["error"]["code"] == "Directory_ExpiredPageToken"


@pytest.mark.parametrize(("expr", "codes"), [
    ("status/errorCode eq 0", [0]),
    ("status/errorCode ne 0 and not (status/errorCode eq 50034)", [50053, 50126]),
    ("startswith(userPrincipalName,'GHOST')", [50034]),
    ("createdDateTime gt 2026-11-22T09:00:00Z", [50034, 50053]),
    ("location/city eq 'Redmond' or appDisplayName eq 'Office 365'", [50053, 0]),
    ("isInteractive eq true and clientAppUsed eq 'Browser' and riskState eq 'none'", [50034, 50053, 50126, 0]),
    ("ipAddress eq 'nowhere'", []),
])
def test_filter(client: Any, tenant: dict[str, Any], expr: str, codes: list[int]) -> None:
    r = client.get(URL, params={"$filter": expr}, headers={"Authorization": f"Bearer {tenant['token']}"})
    assert r.status_code == 200, r.text
    assert [v["status"]["errorCode"] for v in r.json()["value"]] == codes


def test_filter_by_user_id(client: Any, tenant: dict[str, Any]) -> None:
    expr = f"userId eq '{tenant['jane_person']['uuid']}'"
    r = client.get(URL, params={"$filter": expr}, headers={"Authorization": f"Bearer {tenant['token']}"})
    assert len(r.json()["value"]) == 3


@pytest.mark.parametrize("query", ["?$filter=userDisplayName eq 'Jane'", "?$filter=createdDateTime ge 'x'",
                                   "?$filter=((", "?$skip=1", "?$count=true", "?$orderby=ipAddress",
                                   "?$filter=" + "not " * 60 + "ipAddress eq 'x'",  # deeper than SQLite parses
                                   "?$filter=" + " or ".join(["id eq 'x'"] * 300)])
def test_what_graph_refuses_is_bad_request(client: Any, tenant: dict[str, Any], query: str) -> None:
    r = _get(client, tenant, query, **{"client-request-id": "my-trace-1"})
    body = r.json()
    assert (r.status_code, body["error"]["code"] in ("BadRequest",)) == (400, True), body
    assert body["error"]["innerError"]["client-request-id"] == "my-trace-1"
    assert r.headers["client-request-id"] == "my-trace-1"


def test_select_projects_and_names_the_context(client: Any, tenant: dict[str, Any]) -> None:
    body = _get(client, tenant, "?$select=id,status&$top=1").json()
    assert body["@odata.context"].endswith("#auditLogs/signIns(id,status)")
    assert set(body["value"][0]) == {"id", "status"}


def test_auth_as_graph(client: Any, arrange: Arrange, tenant: dict[str, Any]) -> None:
    r = client.get(URL)
    assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["message"]) == (
        401, "InvalidAuthenticationToken", "Access token is empty.")
    claims = jwt.decode(tenant["token"], options={"verify_signature": False})
    assert claims["aud"] == "https://graph.microsoft.com" and claims["roles"] == ["AuditLog.Read.All"]
    delegated = arrange.token("entra", "delegated_auditlog", credential_id=tenant["jane"]["id"])
    assert _get(client, tenant, token=delegated).status_code == 200
    no_role = arrange.token("entra", "app_no_role", credential_id=tenant["jane"]["id"])
    r = _get(client, tenant, token=no_role)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "Authorization_RequestDenied")
    forged = jwt.encode({**claims, "roles": ["AuditLog.Read.All"]}, "another key, as long as ours: 32 bytes+",
                        algorithm="HS256")
    assert _get(client, tenant, token=forged).json()["error"]["message"] == "IDX14100: JWT is not well formed."
    expired = arrange.token("entra", "app_auditlog", credential_id=tenant["jane"]["id"], expires_at=at(1))
    assert _get(client, tenant, token=expired).json()["error"]["message"] == (
        "Lifetime validation failed, the token is expired.")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", r.json()["error"]["innerError"]["date"])


def test_throttling_is_429_with_retry_after(client: Any, tenant: dict[str, Any]) -> None:
    client.put("/_loginaudit/rate-limits", json={"rules": [{"vendor": "entra", "requests": 1, "window_seconds": 60}]})
    assert _get(client, tenant).status_code == 200
    r = _get(client, tenant)
    assert (r.status_code, r.json()["error"]["code"], int(r.headers["retry-after"]) > 0) == (
        429, "TooManyRequests", True)


def test_an_accepted_token_is_verified_once_until_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    """entra._claims: PyJWT's answer is remembered while it cannot change; past `exp` PyJWT decides again."""
    import time

    import jwt

    from loginaudit.handlers import entra

    decoded: list[int] = []
    real = jwt.decode

    def counted(*args: Any, **kwargs: Any) -> Any:
        decoded.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(entra.jwt, "decode", counted)
    lasting = entra._mint(None, roles=(entra.ROLE,))
    assert entra._claims(lasting) == entra._claims(lasting) == real(
        lasting, entra.SIGNING_KEY, algorithms=["HS256"], audience=entra.AUDIENCE)
    assert len(decoded) == 1
    brief = jwt.encode({"aud": entra.AUDIENCE, "exp": int(time.time()) + 1}, entra.SIGNING_KEY, algorithm="HS256")
    assert entra._claims(brief)["exp"] > time.time()
    time.sleep(max(0.0, entra._claims(brief)["exp"] - time.time()) + 0.05)
    with pytest.raises(jwt.ExpiredSignatureError):
        entra._claims(brief)
    forged = lasting[:-2] + ("AA" if not lasting.endswith("AA") else "BB")
    with pytest.raises(jwt.InvalidSignatureError):
        entra._claims(forged)
