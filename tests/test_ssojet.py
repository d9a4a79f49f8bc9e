"""SSOJet user login logs: the legacy contract, the current contract, auth and errors."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import Arrange, at
from loginaudit.registry import by_name, spec_dir

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/120.0.0.0 Safari/537.36")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.0 Mobile/15E148 Safari/604.1")


@pytest.fixture
def world(arrange: Arrange) -> dict[str, Any]:
    app = arrange.tenant(name="Acme app", client_id="app_acme")
    other = arrange.tenant(name="Other app", client_id="app_other")
    jane = arrange.person()
    j = arrange.credential(jane, app)
    j_other = arrange.credential(jane, other, login="jane-other")
    stranger = arrange.person(first_name="Stan", email="stan@ex.com")
    arrange.credential(stranger, other)
    return {"jane": jane, "j": j, "j_other": j_other, "stranger": stranger,
            "key": arrange.token("ssojet", "api_key", credential_id=j["id"]),
            "other_key": arrange.token("ssojet", "api_key", credential_id=j_other["id"])}


def _get(client: Any, world: dict[str, Any], query: str, user: str | None = None, key: str | None = None) -> Any:
    uid = user or world["jane"]["uuid"]
    return client.get(f"/api/v1/users/{uid}/loginlogs{query}",
                      headers={"Authorization": f"Bearer {key or world['key']}"})


def test_legacy_contract_exactly(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    arrange.events(
        {"credential_id": world["j"]["id"], "occurred_at": "2024-07-10T12:16:19.647Z", "ip": "183.83.177.227",
         "country": "India", "city": "Jaipur", "user_agent": "Amazon CloudFront"},
        {"credential_id": world["j"]["id"], "occurred_at": "2024-07-11T09:30:00.500Z", "ip": None,
         "user_agent": CHROME},
        {"credential_id": world["j"]["id"], "occurred_at": at(2), "successful": False},  # not a login log
        {"credential_id": world["j_other"]["id"], "occurred_at": at(3)},  # another application
    )
    r = _get(client, world, "?client_id=app_acme")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.json() == {"login_logs": [  # oldest first, as the published sample
        {"IpAddress": "183.83.177.227", "Country": "India", "City": "Jaipur", "UserAgent": "Amazon CloudFront",
         "Name": "", "Os": "", "Device": "", "CreatedAt": "2024-07-10T12:16:19.647Z"},
        {"IpAddress": "", "Country": "", "City": "UnknownCity", "UserAgent": CHROME, "Name": "Chrome",
         "Os": "Windows", "Device": "Desktop", "CreatedAt": "2024-07-11T09:30:00.5Z"},
    ]}


@pytest.mark.parametrize(("stored", "wire"), [
    ("2024-07-10T12:18:02.140Z", "2024-07-10T12:18:02.14Z"), ("2024-07-10T12:18:02.020Z", "2024-07-10T12:18:02.02Z"),
    ("2024-07-10T12:18:02.000Z", "2024-07-10T12:18:02Z"), ("2024-07-10T14:18:02.647+02:00", "2024-07-10T12:18:02.647Z"),
])
def test_legacy_created_at_as_go_prints_it(client: Any, arrange: Arrange, world: dict[str, Any], stored: str,
                                           wire: str) -> None:
    arrange.events({"credential_id": world["j"]["id"], "occurred_at": stored})
    assert _get(client, world, "?client_id=app_acme").json()["login_logs"][0]["CreatedAt"] == wire


def test_legacy_order_setting(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    arrange.events({"credential_id": world["j"]["id"], "occurred_at": at(2), "ip": "10.0.0.1"},
                   {"credential_id": world["j"]["id"], "occurred_at": at(1), "ip": "10.0.0.2"})
    assert [x["IpAddress"] for x in _get(client, world, "?client_id=app_acme").json()["login_logs"]] == [
        "10.0.0.1", "10.0.0.2"]
    client.patch("/_loginaudit/vendors/ssojet/settings", json={"legacy_order": "newest_first"}).raise_for_status()
    assert [x["IpAddress"] for x in _get(client, world, "?client_id=app_acme").json()["login_logs"]] == [
        "10.0.0.2", "10.0.0.1"]


def test_error_types_setting_gives_the_error_codes_page_shape(client: Any, world: dict[str, Any]) -> None:
    client.patch("/_loginaudit/vendors/ssojet/settings", json={"error_types": "error_codes_page"}).raise_for_status()
    r = _get(client, world, "?client_id=app_nope")
    assert r.status_code == 400
    assert list(r.json().items()) == [("error", "invalid_client"),
                                      ("error_description", "The client is invalid or missing."),
                                      ("error_code", 1001)]
    r = _get(client, world, "", key="sk_live_nope")
    assert r.json() == {"error": "unauthorized", "error_description": "The access token is missing or invalid.",
                        "error_code": 2001}


def test_legacy_needs_client_id(client: Any, world: dict[str, Any]) -> None:
    r = _get(client, world, "")
    assert (r.status_code, r.json()) == (400, {"error": 842, "error_code": "invalid_query_parameters",
                                               "error_description": "client_id is required"})


def test_legacy_client_id_must_be_the_keys_application(client: Any, world: dict[str, Any]) -> None:
    r = _get(client, world, "?client_id=app_other")
    assert (r.status_code, r.json()) == (400, {"error": 1001, "error_code": "invalid_client",
                                               "error_description": "The client is invalid or missing."})


def test_current_contract_exactly(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    arrange.events({"credential_id": world["j"]["id"], "occurred_at": "2024-09-26T14:23:52Z", "ip": "192.168.1.1",
                    "country": "USA", "city": "San Francisco", "user_agent": CHROME},
                   {"credential_id": world["j"]["id"], "occurred_at": "2024-09-26T15:00:00.120Z",
                    "user_agent": IPHONE})
    r = _get(client, world, "?event=login")
    assert r.status_code == 200
    assert r.json() == {"audit_logs": [
        {"city": "", "country": "", "created_at": "2024-09-26T15:00:00.12Z", "device": "Mobile", "event": "login",
         "ip_address": "", "name": "Mobile Safari", "os": "iOS", "user_agent": IPHONE},
        {"city": "San Francisco", "country": "USA", "created_at": "2024-09-26T14:23:52Z", "device": "Desktop",
         "event": "login", "ip_address": "192.168.1.1", "name": "Chrome", "os": "Windows", "user_agent": CHROME},
    ], "limit": 50, "next_cursor": ""}


def test_current_cursor_pages_walk_everything_once(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    arrange.events(*({"credential_id": world["j"]["id"], "occurred_at": at(1), "ip": f"10.0.0.{i}"}
                     for i in range(7)))
    seen, cursor, pages = [], "", 0
    while True:
        body = _get(client, world, f"?event=login&limit=3&cursor={cursor}").json()
        assert body["limit"] == 3
        seen += [e["ip_address"] for e in body["audit_logs"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
        assert base64.b64decode(cursor).startswith(b'{"c": ')
    assert pages == 3 and sorted(seen) == sorted(f"10.0.0.{i}" for i in range(7))


@pytest.mark.parametrize("query", ["?event=login&cursor=%%%", "?event=login&cursor=bm90IGpzb24=",
                                   "?event=login&limit=0", "?event=login&limit=101", "?event=logout"])
def test_current_bad_parameters_are_400_842(client: Any, world: dict[str, Any], query: str) -> None:
    r = _get(client, world, query)
    assert r.status_code == 400
    assert (r.json()["error"], r.json()["error_code"]) == (842, "invalid_query_parameters")


def test_unknown_user_and_user_of_another_application_are_404(client: Any, world: dict[str, Any]) -> None:
    expected = {"error": 801, "error_code": "resource_not_found",
                "error_description": "The requested resource could not be found."}
    for user in ("00000000-0000-0000-0000-000000000000", world["stranger"]["uuid"], "not-a-uuid"):
        r = _get(client, world, "?event=login", user=user)
        assert (r.status_code, r.json()) == (404, expected)


def test_the_key_scopes_the_application(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    arrange.events({"credential_id": world["j"]["id"], "occurred_at": at(1)},
                   {"credential_id": world["j_other"]["id"], "occurred_at": at(2)},
                   {"credential_id": world["j_other"]["id"], "occurred_at": at(3)})
    assert len(_get(client, world, "?event=login").json()["audit_logs"]) == 1
    assert len(_get(client, world, "?event=login", key=world["other_key"]).json()["audit_logs"]) == 2


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer sk_live_nope"}, {"Authorization": "Basic eA=="}])
def test_bearer_is_required(client: Any, world: dict[str, Any], headers: dict[str, str]) -> None:
    r = client.get(f"/api/v1/users/{world['jane']['uuid']}/loginlogs?event=login", headers=headers)
    assert (r.status_code, r.json()) == (401, {"error": 2001, "error_code": "unauthorized",
                                               "error_description": "The access token is missing or invalid."})


def test_client_documents_match_the_served_document() -> None:
    served = by_name("ssojet").spec
    for name, schema_names in (("ssojet-legacy.yaml", ("LoginLogs", "LoginLog", "User")),
                               ("ssojet-current.yaml", ("AuditLogPage", "AuditLogEntry"))):
        doc = yaml.safe_load(Path(spec_dir() / name).read_text())
        for schema in (*schema_names, "APIErrorResponse"):
            assert doc["components"]["schemas"][schema] == served["components"]["schemas"][schema], (name, schema)
        assert doc["components"]["responses"] == served["components"]["responses"]
        assert doc["servers"] == served["servers"]


def test_cursor_with_a_huge_id_is_400(client: Any, world: dict[str, Any]) -> None:
    cursor = base64.b64encode(b'{"c": 1, "id": 99999999999999999999}').decode()
    assert _get(client, world, f"?event=login&cursor={cursor}").status_code == 400


def test_list_users_gives_object_ids_that_read_login_logs(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    arrange.events({"credential_id": world["j"]["id"], "occurred_at": "2024-07-10T12:16:19.647Z", "ip": "10.0.0.1"},
                   {"credential_id": world["j"]["id"], "occurred_at": "2024-07-11T09:00:00Z", "successful": False})
    r = client.get("/api/v1/users?client_id=app_acme", headers={"Authorization": f"Bearer {world['key']}"})
    assert r.status_code == 200
    users = r.json()
    assert [u["email"] for u in users] == [world["jane"]["email"]]  # Stan has no login on this application
    jane = users[0]
    assert list(jane) == ["_id", "account_id", "connection_id", "email", "first_name", "last_name", "groups",
                          "raw_attributes", "roles", "passkey_credential", "phone_id", "created_at", "modified_at",
                          "email_verified", "is_active", "LastLoginAt", "tenants", "identities"]
    assert len(jane["_id"]) == 24 and int(jane["_id"], 16) >= 0
    assert jane["LastLoginAt"] == "2024-07-10T12:16:19.647Z" and jane["is_active"] is True
    for query in ("?client_id=app_acme", "?event=login"):  # the ObjectId works on both contracts
        logs = _get(client, world, query, user=jane["_id"])
        assert logs.status_code == 200, logs.text
    assert _get(client, world, "?client_id=app_acme", user=jane["_id"]).json()["login_logs"][0]["IpAddress"] == (
        "10.0.0.1")
    assert _get(client, world, "?event=login", user=jane["_id"].upper()).status_code == 200
    assert _get(client, world, "?event=login", user="0" * 24).status_code == 404


def test_list_users_needs_the_keys_client_id(client: Any, world: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {world['key']}"}
    r = client.get("/api/v1/users", headers=headers)
    assert r.status_code == 400 and r.json()["error_code"] == "invalid_query_parameters"
    r = client.get("/api/v1/users?client_id=app_other", headers=headers)
    assert (r.status_code, r.json()["error_code"]) == (400, "invalid_client")
    assert client.get("/api/v1/users?client_id=app_acme").status_code == 401


def test_legacy_name_is_the_stored_client_name(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    """SSOJet's sample: Name "Amazon CloudFront" beside an empty UserAgent (stored, not parsed)."""
    arrange.events({"credential_id": world["j"]["id"], "occurred_at": "2024-07-10T12:16:19.647Z", "user_agent": "",
                    "client_name": "Amazon CloudFront"})
    log = _get(client, world, "?client_id=app_acme").json()["login_logs"][0]
    assert (log["UserAgent"], log["Name"]) == ("", "Amazon CloudFront")
