"""Unleash Enterprise GET /api/admin/logins: auth, JSON, CSV, retention, nullability."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from conftest import Arrange, at

URL = "/api/admin/logins"
NO_HEADER = ("You must log in to use Unleash. Your request had no authorization header, so we could not "
             "authorize you. Try logging in at /auth/simple/login")


@pytest.fixture
def people(arrange: Arrange) -> dict[str, Any]:
    tenant = arrange.tenant()
    admin = arrange.credential(arrange.person(email="admin@ex.com"), tenant, login="admin", role="admin")
    bob = arrange.credential(arrange.person(first_name="Bob", email="bob@ex.com"), tenant, auth_method="oidc")
    return {"admin": admin, "bob": bob}


def _admin(arrange: Arrange) -> dict[str, str]:
    return {"Authorization": arrange.token("unleash", "admin")}


def test_json_newest_first_with_the_documented_fields(client: Any, arrange: Arrange, people: dict[str, Any]) -> None:
    ids = arrange.events(
        {"credential_id": people["admin"]["id"], "occurred_at": at(3), "ip": "::ffff:127.0.0.1"},
        {"credential_id": people["bob"]["id"], "occurred_at": at(1), "successful": False,
         "failure_reason": "Invalid password", "ip": "::ffff:10.0.0.5"},
        {"username": "ghost@ex.com", "occurred_at": at(2), "successful": False, "failure_reason": "No user found"},
    )
    r = client.get(URL, headers=_admin(arrange))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.json() == {"events": [
        {"id": ids[1], "username": "bob@ex.com", "auth_type": "oidc", "created_at": at(1), "successful": False,
         "ip": "::ffff:10.0.0.5", "failure_reason": "Invalid password", "type": "login"},
        {"id": ids[2], "username": "ghost@ex.com", "auth_type": "simple", "created_at": at(2),
         "successful": False, "ip": None, "failure_reason": "No user found", "type": "login"},
        {"id": ids[0], "username": "admin", "auth_type": "simple", "created_at": at(3), "successful": True,
         "ip": "::ffff:127.0.0.1", "failure_reason": None, "type": "login"},
    ]}


def test_created_at_keeps_milliseconds_and_z(client: Any, arrange: Arrange, people: dict[str, Any]) -> None:
    arrange.events({"credential_id": people["bob"]["id"], "occurred_at": "2026-11-22T08:15:02.061+02:00"})
    r = client.get(URL, headers=_admin(arrange))
    assert r.json()["events"][0]["created_at"] == "2026-11-22T06:15:02.061Z"


def test_success_never_carries_a_failure_reason(client: Any, arrange: Arrange, people: dict[str, Any]) -> None:
    arrange.events({"credential_id": people["bob"]["id"], "occurred_at": at(1), "successful": True,
                    "failure_reason": "stale"})
    assert client.get(URL, headers=_admin(arrange)).json()["events"][0]["failure_reason"] is None


def _settings(client: Any, **values: str) -> None:
    r = client.patch("/_loginaudit/vendors/unleash/settings", json=values)
    assert r.status_code == 200, r.text


def test_unleash_8_lists_logouts_with_their_type(client: Any, arrange: Arrange, people: dict[str, Any]) -> None:
    login, logout = arrange.events({"credential_id": people["bob"]["id"], "occurred_at": at(2)},
                                   {"credential_id": people["bob"]["id"], "occurred_at": at(1), "event_type": "logout"})
    events = client.get(URL, headers=_admin(arrange)).json()["events"]
    assert [(e["id"], e["type"]) for e in events] == [(logout, "logout"), (login, "login")]
    assert list(events[0]) == ["id", "username", "auth_type", "created_at", "successful", "ip", "failure_reason",
                               "type"]
    csv = client.get(URL, headers={**_admin(arrange), "Accept": "text/csv"}).text.splitlines()
    assert csv[0].endswith(',"failure_reason","type"') and csv[1].endswith(',"logout"')


def test_the_7x_shape_has_no_type_and_no_logouts(client: Any, arrange: Arrange, people: dict[str, Any]) -> None:
    _settings(client, shape="7.x")
    login, _ = arrange.events({"credential_id": people["bob"]["id"], "occurred_at": at(2)},
                              {"credential_id": people["bob"]["id"], "occurred_at": at(1), "event_type": "logout"})
    events = client.get(URL, headers=_admin(arrange)).json()["events"]
    assert [e["id"] for e in events] == [login] and "type" not in events[0]
    csv = client.get(URL, headers={**_admin(arrange), "Accept": "text/csv"}).text
    assert csv.splitlines()[0] == '"id","username","auth_type","created_at","successful","ip","failure_reason"'


def test_oss_edition_has_no_login_history(client: Any, arrange: Arrange, people: dict[str, Any]) -> None:
    _settings(client, edition="oss")
    assert client.get(URL).status_code == 401  # the admin API authenticates before routing
    first, second = (client.get(URL, headers=_admin(arrange)) for _ in range(2))
    message = "The path you were looking for (/api/admin/logins) is not available."
    for r in (first, second):
        body = r.json()
        assert (r.status_code, body["name"], body["message"], body["details"]) == (
            404, "NotFoundError", message, [{"message": message}])
        uuid.UUID(body["id"])
    assert first.json()["id"] != second.json()["id"]


def test_settings_take_only_their_documented_values(client: Any) -> None:
    r = client.patch("/_loginaudit/vendors/unleash/settings", json={"shape": "9.x"})
    assert r.status_code == 422 and "7.x" in r.json()["detail"]
    vendors = {v["name"]: v for v in client.get("/_loginaudit/vendors").json()}
    assert vendors["unleash"]["settings"]["shape"]["default"] == "8.x"
    assert set(vendors["unleash"]["settings"]["edition"]["choices"]) == {"enterprise", "oss"}


def test_retention_is_336_hours_of_the_server_clock(client: Any, arrange: Arrange, people: dict[str, Any]) -> None:
    cid = people["bob"]["id"]
    inside, edge, _ = arrange.events({"credential_id": cid, "occurred_at": at(335.9)},
                                     {"credential_id": cid, "occurred_at": at(336)},
                                     {"credential_id": cid, "occurred_at": at(336.01)})
    assert [e["id"] for e in client.get(URL, headers=_admin(arrange)).json()["events"]] == [inside, edge]
    client.put("/_loginaudit/clock", json={"now": "2026-11-23T12:00:00Z"})  # one day later
    assert client.get(URL, headers=_admin(arrange)).json() == {"events": []}


def test_csv_is_json2csv_layout(client: Any, arrange: Arrange, people: dict[str, Any]) -> None:
    ids = arrange.events(
        {"credential_id": people["admin"]["id"], "occurred_at": at(2), "ip": "::ffff:127.0.0.1"},
        {"username": 'eve "the" hacker', "occurred_at": at(1), "successful": False,
         "failure_reason": "No user found, sorry"},
    )
    r = client.get(URL, headers={**_admin(arrange), "Accept": "text/csv"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.text == (
        '"id","username","auth_type","created_at","successful","ip","failure_reason","type"\n'
        f'{ids[1]},"eve ""the"" hacker","simple","{at(1)}",false,,"No user found, sorry","login"\n'
        f'{ids[0]},"admin","simple","{at(2)}",true,"::ffff:127.0.0.1",,"login"'
    )


def test_empty_history_is_204_as_csv_and_200_as_json(client: Any, arrange: Arrange) -> None:
    headers = _admin(arrange)
    r = client.get(URL, headers={**headers, "Accept": "text/csv"})
    assert (r.status_code, r.content) == (204, b"")
    r = client.get(URL, headers=headers)
    assert (r.status_code, r.json()) == (200, {"events": []})


@pytest.mark.parametrize(("accept", "csv"), [
    ("text/csv", True), ("text/csv, application/json;q=0.5", True), ("application/json, text/csv", False),
    ("*/*", False), ("application/xml", False), ("text/*", True),
])
def test_accept_negotiation(client: Any, arrange: Arrange, people: dict[str, Any], accept: str, csv: bool) -> None:
    arrange.events({"credential_id": people["bob"]["id"], "occurred_at": at(1)})
    r = client.get(URL, headers={**_admin(arrange), "Accept": accept})
    assert r.headers["content-type"].startswith("text/csv" if csv else "application/json")


@pytest.mark.parametrize("prefix", ["Bearer ", "bearer ", "BEARER\t", "Bearer   "])
def test_bearer_prefix_is_stripped_as_unleash_does(client: Any, arrange: Arrange, prefix: str) -> None:
    token = arrange.token("unleash", "admin")
    assert client.get(URL, headers={"Authorization": f"{prefix}{token}"}).status_code == 200


def test_bearer_without_whitespace_is_part_of_the_token(client: Any, arrange: Arrange) -> None:
    token = arrange.token("unleash", "admin")
    assert client.get(URL, headers={"Authorization": f"Bearer{token}"}).status_code == 401


def test_missing_header_is_authentication_required(client: Any) -> None:
    r = client.get(URL)
    assert r.status_code == 401
    body = r.json()
    uuid.UUID(body.pop("id"))
    assert body == {"name": "AuthenticationRequired", "message": NO_HEADER, "details": [{"message": NO_HEADER}],
                    "path": "/auth/simple/login", "type": "password", "defaultHidden": False}


def test_unknown_token_is_unauthorized_error(client: Any) -> None:
    r = client.get(URL, headers={"Authorization": "*:*.deadbeef"})
    assert r.status_code == 401
    body = r.json()
    uuid.UUID(body.pop("id"))
    assert body == {"name": "UnauthorizedError", "message": "You must log in to use Unleash.",
                    "details": [{"message": "You must log in to use Unleash."}]}


def test_error_ids_are_fresh_uuids(client: Any) -> None:
    assert client.get(URL).json()["id"] != client.get(URL).json()["id"]


def test_expired_token_is_unauthorized(client: Any, arrange: Arrange) -> None:
    token = arrange.token("unleash", "admin", expires_at=at(1))
    assert client.get(URL, headers={"Authorization": token}).json()["name"] == "UnauthorizedError"


@pytest.mark.parametrize("kind", ["client", "backend", "frontend"])
def test_sdk_tokens_get_the_bare_token_type_403(client: Any, arrange: Arrange, kind: str) -> None:
    r = client.get(URL, headers={"Authorization": arrange.token("unleash", kind)})
    assert r.status_code == 403
    assert r.json() == {"message": "invalid token: expected a different token type for this endpoint"}


def test_pat_without_admin_gets_permission_error(client: Any, arrange: Arrange, people: dict[str, Any]) -> None:
    token = arrange.token("unleash", "pat", credential_id=people["bob"]["id"])
    r = client.get(URL, headers={"Authorization": token})
    assert r.status_code == 403
    body = r.json()
    uuid.UUID(body.pop("id"))
    msg = ("You don't have the required permissions to perform this operation. To perform this action, "
           'you need the "ADMIN" permission.')
    assert body == {"name": "PermissionError", "message": msg, "details": [{"message": msg}],
                    "permissions": ["ADMIN"]}


def test_admin_pat_reads_history(client: Any, arrange: Arrange, people: dict[str, Any]) -> None:
    token = arrange.token("unleash", "pat", credential_id=people["admin"]["id"], grants=["ADMIN"])
    assert client.get(URL, headers={"Authorization": token}).status_code == 200


V2 = r"v2_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{43}"  # authorization-token.ts TOKEN_PATTERN's two parts


def test_v2_token_formats(client: Any, arrange: Arrange, people: dict[str, Any]) -> None:
    """Unleash's secure tokens (authorization-token.ts): `*:*.v2_…` admin, `user:v2_…` PAT, `<p>:<env>.v2_…`."""
    admin = arrange.token("unleash", "admin_v2")
    assert re.fullmatch(r"\*:\*\." + V2, admin)
    assert client.get(URL, headers={"Authorization": f"Bearer {admin}"}).status_code == 200
    pat = arrange.token("unleash", "pat_v2", credential_id=people["admin"]["id"], grants=["ADMIN"])
    assert re.fullmatch("user:" + V2, pat)
    assert client.get(URL, headers={"Authorization": pat}).status_code == 200
    backend = arrange.token("unleash", "backend_v2")
    assert re.fullmatch("default:development." + V2, backend)
    assert client.get(URL, headers={"Authorization": backend}).status_code == 403
    forged = admin[:-1] + ("A" if admin[-1] != "A" else "B")  # a well-formed v2 token Unleash never issued
    assert client.get(URL, headers={"Authorization": forged}).status_code == 401


def test_token_of_another_vendor_is_unknown(client: Any, arrange: Arrange) -> None:
    secret = "shared-secret-value"
    arrange.token("unleash", "client", secret=secret)
    assert client.get(URL, headers={"Authorization": secret}).status_code == 403
    client.post("/_loginaudit/reset")
    assert client.get(URL, headers={"Authorization": secret}).status_code == 401


def test_unknown_query_parameters_are_ignored_like_express(client: Any, arrange: Arrange) -> None:
    assert client.get(URL + "?limit=5&foo=bar", headers=_admin(arrange)).status_code == 200


def test_unrouted_method_is_express_404(client: Any, arrange: Arrange) -> None:
    r = client.post(URL, headers=_admin(arrange))
    assert r.status_code == 404
    assert r.json()["name"] == "NotFoundError"
    assert r.json()["message"] == "The path you were looking for (/api/admin/logins) is not available."
