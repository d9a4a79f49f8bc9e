"""IBM QRadar login attempts: Range, filter grammar, sort, fields, auth, visibility, errors."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import pytest

from conftest import NOW, Arrange, at
from loginaudit.timefmt import ms_since_epoch

URL = "/api/access/login_attempts"
UNPROCESSABLE = "The request was well-formed but was unable to be followed due to semantic errors"


def _envelope(status: int, code: int, message: str, description: str = "") -> dict[str, Any]:
    messages = {401: "You are unauthorized to access the requested resource.",
                403: "Your account is not authorized to access the requested resource", 422: UNPROCESSABLE}
    return {"http_response": {"code": status, "message": messages[status]}, "code": code,
            "description": description, "details": {}, "message": message}


@pytest.fixture
def world(arrange: Arrange) -> dict[str, Any]:
    console = arrange.tenant(name="QRadar console")
    admin = arrange.credential(arrange.person(email="admin@ex.com"), console, login="admin", role="admin")
    alice = arrange.credential(arrange.person(first_name="Alice", email="alice@ex.com"), console, login="alice")
    ids = arrange.events(
        {"credential_id": alice["id"], "occurred_at": at(5), "ip": "10.0.0.5", "successful": False},
        {"credential_id": admin["id"], "occurred_at": at(4), "ip": "10.0.0.9", "auth_method": "http_basic"},
        {"credential_id": alice["id"], "occurred_at": at(3), "ip": "10.0.0.5"},
        {"credential_id": alice["id"], "occurred_at": at(2), "ip": None, "successful": False},
        {"credential_id": admin["id"], "occurred_at": at(1), "ip": "192.168.1.1"},
        {"credential_id": admin["id"], "occurred_at": at(0.5), "event_type": "logout"},
        {"username": "nobody", "occurred_at": at(0.2), "successful": False},
    )
    return {"admin": admin, "alice": alice, "ids": ids,
            "sec": arrange.token("qradar", "sec_admin"),
            "alice_sec": arrange.token("qradar", "sec_user", credential_id=alice["id"]),
            "alice_pw": arrange.token("qradar", "basic_user", credential_id=alice["id"])}


def _get(client: Any, world: dict[str, Any], query: str = "", **headers: str) -> Any:
    return client.get(URL + query, headers={"SEC": world["sec"], **headers})


def test_bare_array_newest_first_with_content_range(client: Any, world: dict[str, Any]) -> None:
    r = _get(client, world)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json;charset=UTF-8"
    assert r.headers["content-range"] == "items 0-4/5"  # logouts and unknown users are not attempts
    body = r.json()
    assert body[0] == {"attempt_method": "LOGIN_PAGE", "attempt_result": "SUCCESS",
                       "attempt_time": ms_since_epoch(NOW) - 3_600_000, "remote_ip": "192.168.1.1",
                       "user_id": world["admin"]["id"]}
    assert [a["attempt_time"] for a in body] == sorted((a["attempt_time"] for a in body), reverse=True)
    assert body[3]["attempt_method"] == "HTTP_BASIC"
    assert body[1]["remote_ip"] is None


@pytest.mark.parametrize(("header", "content_range", "count"), [
    ("items=0-1", "items 0-1/5", 2), ("items= 1 - 3", "items 1-3/5", 3), ("items=0-99", "items 0-4/5", 5),
    ("items=4-4", "items 4-4/5", 1), ("items=5-9", "items */5", 0), ("items=50-60", "items */5", 0),
])
def test_range_paging(client: Any, world: dict[str, Any], header: str, content_range: str, count: int) -> None:
    r = _get(client, world, Range=header)
    assert (r.status_code, r.headers["content-range"], len(r.json())) == (200, content_range, count)


@pytest.mark.parametrize("header", ["rows=0-4", "items=-3-2", "items=a-b", "items=0", ""])
def test_malformed_range_is_422_code_36(client: Any, world: dict[str, Any], header: str) -> None:
    r = _get(client, world, Range=header)
    assert r.status_code == 422
    assert r.json() == _envelope(422, 36, "Failed to parse Range header. The syntax of the Range header must "
                                          "follow this pattern: items=x-y")


def test_negative_range_is_422(client: Any, world: dict[str, Any]) -> None:
    r = _get(client, world, Range="items=3-0")
    assert r.json() == _envelope(422, 36, 'Range of pages specified in "Range" header is negative. Non-negative '
                                          "page range must be specified.")


def test_empty_result_has_no_content_range(client: Any, world: dict[str, Any]) -> None:
    r = _get(client, world, "?filter=" + quote("user_id = 999"))
    assert (r.status_code, r.json()) == (200, [])
    assert "content-range" not in r.headers


@pytest.mark.parametrize(("text", "expected"), [
    ("attempt_result=FAILURE", [0, 3]),
    ("attempt_result = failure", []),  # enum values are case-sensitive
    ("attempt_method=HTTP_BASIC", [1]),
    ("not (attempt_method=HTTP_BASIC)", [0, 2, 3, 4]),
    ("remote_ip=\"10.0.0.5\"", [0, 2]),
    ("remote_ip != \"10.0.0.5\"", [1, 3, 4]),
    ("remote_ip <> 10.0.0.5", [1, 3, 4]),
    ("remote_ip ^= \"10.0.0.5\"", [1, 3, 4]),  # IBM's third spelling of not-equal
    ("user_id ^= 1", [0, 2, 3]),
    ("remote_ip IS NULL", [3]),
    ("remote_ip is not null AND attempt_result=SUCCESS", [1, 2, 4]),
    ("user_id IN (1, 99)", [1, 4]),
    ("user_id NOT IN (1)", [0, 2, 3]),
    ("attempt_result = SUCCESS OR user_id = 2 AND remote_ip IS NULL", [1, 2, 3, 4]),
    ("(attempt_result = SUCCESS OR user_id = 2) AND remote_ip = \"10.0.0.5\"", [0, 2]),
    ("attempt_method < LOGIN_PAGE", [1]),
])
def test_filter_grammar(client: Any, world: dict[str, Any], text: str, expected: list[int]) -> None:
    r = _get(client, world, "?filter=" + quote(text))
    assert r.status_code == 200, r.text
    assert sorted(a["attempt_time"] for a in r.json()) == sorted(_times(world, expected))


def _times(world: dict[str, Any], indexes: list[int]) -> list[int]:
    hours = [5, 4, 3, 2, 1]
    return [ms_since_epoch(NOW) - int(hours[i] * 3_600_000) for i in indexes]


def test_time_filters_on_epoch_milliseconds(client: Any, world: dict[str, Any]) -> None:
    t = _times(world, [2])[0]
    for text, expected in ((f"attempt_time = {t}", [2]), (f"attempt_time >= {t}", [2, 3, 4]),
                           (f"attempt_time > {t}", [3, 4]), (f"attempt_time < {t}", [0, 1]),
                           (f"attempt_time <= {t}", [0, 1, 2]), (f"attempt_time between {t} and {t + 3_600_000}",
                                                                  [2, 3]),
                           (f"attempt_time not between {t} and {t + 3_600_000}", [0, 1, 4])):
        got = [a["attempt_time"] for a in _get(client, world, "?filter=" + quote(text)).json()]
        assert sorted(got) == sorted(_times(world, expected)), text


def test_double_encoded_filter_is_tolerated(client: Any, world: dict[str, Any]) -> None:
    once = _get(client, world, "?filter=" + quote("user_id = 1")).json()
    twice = _get(client, world, "?filter=" + quote(quote("user_id = 1", safe=""), safe="")).json()
    assert once == twice and len(once) == 2


@pytest.mark.parametrize("text", ["user_id =", "bogus = 1", "user_id = abc", "attempt_result = 5",
                                  "(user_id = 1", "user_id in ()", "attempt_time > \"x\"",
                                  "remote_ip like \"10.%\"", "remote_ip ilike \"10.%\"", "user_id == 1"])
def test_bad_filter_is_422_code_1010(client: Any, world: dict[str, Any], text: str) -> None:
    r = _get(client, world, "?filter=" + quote(text))
    assert r.status_code == 422
    body = r.json()
    assert (body["code"], body["description"]) == (1010, "Invalid filter criteria supplied.")
    assert body["message"].startswith("A filter parameter was invalid. Please make sure that the syntax is "
                                      "correct: Error Parsing filter")


def test_sort_multi_key(client: Any, world: dict[str, Any]) -> None:
    body = _get(client, world, "?sort=" + quote("+user_id,-attempt_time")).json()
    assert [(a["user_id"], a["attempt_time"]) for a in body] == sorted(
        ((a["user_id"], a["attempt_time"]) for a in body), key=lambda p: (p[0], -p[1]))
    spaced = _get(client, world, "?sort=+user_id,-attempt_time").json()  # unencoded + arrives as a space
    assert spaced == body


def test_sort_nulls_last_ascending_and_methods(client: Any, world: dict[str, Any]) -> None:
    ips = [a["remote_ip"] for a in _get(client, world, "?sort=remote_ip").json()]
    assert ips == ["10.0.0.5", "10.0.0.5", "10.0.0.9", "192.168.1.1", None]
    assert _get(client, world, "?sort=-remote_ip").json()[0]["remote_ip"] is None
    assert _get(client, world, "?sort=attempt_method").json()[0]["attempt_method"] == "HTTP_BASIC"
    assert _get(client, world, "?sort=attempt_result").json()[0]["attempt_result"] == "FAILURE"


@pytest.mark.parametrize("sort", ["password", "-", "+-user_id", "user_id,bogus"])
def test_bad_sort_is_422_code_1030(client: Any, world: dict[str, Any], sort: str) -> None:
    body = _get(client, world, "?sort=" + quote(sort)).json()
    assert (body["code"], body["description"]) == (1030, "The sort field or order is not valid")


def test_fields_projection(client: Any, world: dict[str, Any]) -> None:
    body = _get(client, world, "?fields=user_id,attempt_time", Range="items=0-0").json()
    assert set(body[0]) == {"user_id", "attempt_time"}


def test_unknown_field_is_422_code_30(client: Any, world: dict[str, Any]) -> None:
    r = _get(client, world, "?fields=user_id,password")
    assert r.json() == _envelope(422, 30, 'Specified field "password" is not recognized by this endpoint for '
                                          'media type "application/json"')


def test_no_credentials_is_401_code_18(client: Any, world: dict[str, Any]) -> None:
    r = client.get(URL)
    assert r.json() == _envelope(401, 18, 'No SEC header present in request. Please provide it via "SEC: token". '
                                          "You may also use BASIC authentication parameters if this host supports "
                                          'it. e.g. "Authorization: Basic base64Encoding"')


def test_unknown_sec_token_is_401(client: Any, world: dict[str, Any]) -> None:
    r = client.get(URL, headers={"SEC": "00000000-0000-0000-0000-000000000000"})
    assert (r.status_code, r.json()["code"]) == (401, 18)


def test_service_without_capability_is_403_code_26(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    r = client.get(URL, headers={"SEC": arrange.token("qradar", "sec_nocap")})
    assert r.json() == _envelope(403, 26, "User has insufficient capabilities to access this endpoint resource")


def test_non_admin_sees_only_own_attempts_and_totals(client: Any, world: dict[str, Any]) -> None:
    r = client.get(URL, headers={"SEC": world["alice_sec"], "Range": "items=0-0"})
    assert r.headers["content-range"] == "items 0-0/3"
    all_own = client.get(URL, headers={"SEC": world["alice_sec"]}).json()
    assert {a["user_id"] for a in all_own} == {world["alice"]["id"]}


def test_basic_auth(client: Any, world: dict[str, Any]) -> None:
    good = base64.b64encode(f"alice:{world['alice_pw']}".encode()).decode()
    r = client.get(URL, headers={"Authorization": f"Basic {good}"})
    assert r.status_code == 200 and len(r.json()) == 3
    wrong_user = base64.b64encode(f"admin:{world['alice_pw']}".encode()).decode()
    assert client.get(URL, headers={"Authorization": f"Basic {wrong_user}"}).status_code == 401


@pytest.mark.parametrize(("version", "status"), [("26.0", 200), ("13.1", 200), ("20", 200), ("3.0", 406),
                                                 ("322.0123", 406)])
def test_version_header(client: Any, world: dict[str, Any], version: str, status: int) -> None:
    r = _get(client, world, Version=version)
    assert r.status_code == status
    if status == 406:
        assert r.json()["message"].startswith(f"Version ({version}) from header parameter (Version) ")


def test_allow_hidden_is_ignored(client: Any, world: dict[str, Any]) -> None:
    assert _get(client, world, **{"Allow-Hidden": "true"}).json() == _get(client, world).json()


def test_huge_numbers_are_bad_filters_and_huge_ranges_are_clamped(client: Any, world: dict[str, Any]) -> None:
    r = _get(client, world, "?filter=" + quote("user_id = 99999999999999999999"))
    assert (r.status_code, r.json()["code"]) == (422, 1010)
    r = _get(client, world, Range="items=1-99999999999999999999")
    assert (r.status_code, r.headers["content-range"]) == (200, "items 1-4/5")


# ---- the endpoints around login attempts (issue 13) ----------------------------------------------------

def _api(client: Any, world: dict[str, Any], path: str, token: str = "sec", **headers: str) -> Any:
    return client.get(f"/api{path}", headers={"SEC": world[token], **headers})


def test_help_versions_lists_what_the_release_serves(client: Any, world: dict[str, Any]) -> None:
    r = _api(client, world, "/help/versions")
    assert r.status_code == 200
    body = r.json()
    assert [v["version"] for v in body][:4] == ["27.0", "26.0", "25.0", "24.0"]
    assert body[0] == {"id": 19, "version": "27.0", "deprecated": False, "removed": False, "root_resource_ids": []}
    assert [v["version"] for v in body if not v["deprecated"]] == ["27.0", "26.0", "25.0"]
    assert r.headers["content-range"] == f"items 0-{len(body) - 1}/{len(body)}"
    page = _api(client, world, "/help/versions?filter=" + quote("deprecated=false") + "&sort=%2Bid&fields=version",
                Range="items=1-5")
    assert (page.json(), page.headers["content-range"]) == ([{"version": "26.0"}, {"version": "27.0"}],
                                                            "items 1-2/3")


def test_the_release_setting_moves_the_version_window(client: Any, world: dict[str, Any]) -> None:
    client.patch("/_loginaudit/vendors/qradar/settings", json={"release": "7.4.3"}).raise_for_status()
    versions = [v["version"] for v in _api(client, world, "/help/versions").json()]
    assert versions[0] == "16.0" and "17.0" not in versions
    assert _get(client, world, Version="16.0").status_code == 200
    assert _get(client, world, Version="12.0").status_code == 200  # deprecated, still served
    r = _get(client, world, Version="26.0")  # newer than the release: QRadar does not know it
    assert r.status_code == 406 and r.json()["code"] == 3 and "is not a valid version" in r.json()["message"]
    about = _api(client, world, "/system/about").json()
    assert (about["external_version"], about["release_name"]) == ("7.4.3", "7.4.3")
    r = client.patch("/_loginaudit/vendors/qradar/settings", json={"release": "7.6"})
    assert r.status_code == 422


def test_system_about(client: Any, world: dict[str, Any]) -> None:
    r = _api(client, world, "/system/about")
    assert r.status_code == 200
    assert r.json() == {"build_version": "7.5.0.27.0", "external_version": "7.5.0", "fips_enabled": False,
                        "release_name": "7.5.0 UpdatePackage 14"}
    assert _api(client, world, "/system/about?fields=release_name").json() == {
        "release_name": "7.5.0 UpdatePackage 14"}


def test_users_resolve_attempt_user_ids_with_the_same_scoping(client: Any, world: dict[str, Any]) -> None:
    r = _api(client, world, "/config/access/users")
    assert r.status_code == 200 and r.headers["content-range"] == "items 0-1/2"
    users = {u["id"]: u for u in r.json()}
    assert users[world["admin"]["id"]] == {"id": world["admin"]["id"], "username": "admin", "email": "admin@ex.com",
                                           "description": "", "user_role_id": 1, "security_profile_id": 1,
                                           "tenant_id": 0}
    assert {a["user_id"] for a in _get(client, world).json()} <= set(users)
    own = _api(client, world, "/config/access/users", token="alice_sec").json()
    assert [u["username"] for u in own] == ["alice"]
    q = "?filter=" + quote('username="alice" or user_role_id=1') + "&sort=-username&fields=username"
    assert _api(client, world, f"/config/access/users{q}").json() == [{"username": "alice"}, {"username": "admin"}]
    bad = _api(client, world, "/config/access/users?filter=" + quote("id = abc"))
    assert (bad.status_code, bad.json()["code"]) == (422, 1010)
    assert _api(client, world, "/config/access/users?sort=nope").json()["code"] == 1030
    assert _api(client, world, "/config/access/users?fields=nope").json()["code"] == 30
    assert _api(client, world, "/config/access/users", Range="rows=0-1").json()["code"] == 36
    assert client.get("/api/config/access/users").status_code == 401


@pytest.mark.parametrize("accept", ["text/xml", "application/xml", "text/csv;q=1"])
def test_an_accept_without_json_is_406(client: Any, world: dict[str, Any], accept: str) -> None:
    r = _get(client, world, Accept=accept)
    assert r.status_code == 406 and r.json()["code"] == 3
    assert r.json()["http_response"]["message"] == (
        "The server could not produce a response in the requested version or media type.")


@pytest.mark.parametrize("accept", ["application/json", "*/*", "application/*", "text/xml, application/json;q=0.1"])
def test_an_accept_admitting_json_is_answered(client: Any, world: dict[str, Any], accept: str) -> None:
    assert _get(client, world, Accept=accept).status_code == 200


@pytest.mark.parametrize("path", ["/api/nope", "/api/access/nope", "/api/siem/offenses", "/api/v2/nope"])
def test_every_unknown_path_under_api_is_qradars_404(client: Any, world: dict[str, Any], path: str) -> None:
    r = client.get(path, headers={"SEC": world["sec"]})
    assert r.status_code == 404
    assert r.json()["http_response"] == {"code": 404, "message": "We could not find the resource you requested."}


def test_the_other_vendors_trees_keep_their_404s(client: Any) -> None:
    assert client.get("/api/admin/nope").json()["name"] == "NotFoundError"  # Unleash
    assert "errors" in client.get("/api/v1/audit/authentication/nope").json()  # Canvas
    assert client.get("/api/v1/nope").json()["error_code"] == "resource_not_found"  # SSOJet's /api/v1
