"""Canvas LMS Authentications Log: routes, document, pagination, auth and permissions."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from conftest import Arrange, at

BASE = "/api/v1/audit/authentication"


@pytest.fixture
def world(arrange: Arrange) -> dict[str, Any]:
    """Two root accounts (one with a sub-account); Jane has logins on both, Bob on one."""
    uni = arrange.tenant(name="Example University", time_zone="America/Denver", sis_id="UNI")
    arrange.tenant(name="Engineering", parent_id=uni["id"], sis_id="ENG")
    other = arrange.tenant(name="Other College", time_zone="UTC")
    jane = arrange.person(first_name="Jane", last_name="Doe", email="jdoe@ex.edu", sis_id="SIS-J",
                          lti_context_id="LTI-J")
    bob = arrange.person(first_name="Bob", last_name="Roe", email="bob@ex.edu")
    admin = arrange.person(first_name="Ada", last_name="Admin", email="ada@ex.edu")
    j_uni = arrange.credential(jane, uni, sis_id="LOGIN-J", created_at="2025-01-01T00:00:00Z")
    j_other = arrange.credential(jane, other, login="jane@other.edu")
    b_uni = arrange.credential(bob, uni)
    a_uni = arrange.credential(admin, uni, login="ada")
    return {"uni": uni, "other": other, "jane": jane, "bob": bob, "j_uni": j_uni, "j_other": j_other,
            "b_uni": b_uni, "admin": arrange.token("canvas", "account_admin", credential_id=a_uni["id"]),
            "site": arrange.token("canvas", "site_admin", credential_id=a_uni["id"]),
            "jane_tok": arrange.token("canvas", "user", credential_id=j_uni["id"]),
            "bob_tok": arrange.token("canvas", "user", credential_id=b_uni["id"])}


def _get(client: Any, path: str, token: str, **headers: str) -> Any:
    return client.get(BASE + path, headers={"Authorization": f"Bearer {token}", **headers})


def _links(header: str) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="([a-z]+)"', header)}


def test_compound_document_exactly(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    j = world["j_uni"]
    arrange.events({"credential_id": j["id"], "occurred_at": "2026-11-22T08:15:02.123Z", "uuid":
                    "8a3c1f1e-5b6d-4c55-9a35-5a8f8f3c2d10", "request_id": "1dd9dc6f-2fb0-4c19-a6c5-7ee1bf3ed295"})
    r = _get(client, f"/logins/{j['id']}", world["site"])
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.json() == {
        "links": {"events.login": None, "events.account": "http://testserver/api/v1/accounts/{events.account}",
                  "events.user": None, "events.page_view": None},
        "events": [{"id": "8a3c1f1e-5b6d-4c55-9a35-5a8f8f3c2d10", "created_at": "2026-11-22T01:15:02-07:00",
                    "event_type": "login", "links": {"login": j["id"], "account": world["uni"]["id"],
                                                     "user": world["jane"]["id"],
                                                     "page_view": None}}],  # no page views: never dangling
        "linked": {
            "logins": [{"id": j["id"], "user_id": world["jane"]["id"], "account_id": world["uni"]["id"],
                        "unique_id": "jdoe@ex.edu", "sis_user_id": "LOGIN-J", "integration_id": None,
                        "authentication_provider_id": None, "created_at": "2024-12-31T17:00:00-07:00"}],
            "accounts": [{"id": world["uni"]["id"], "name": "Example University", "uuid": world["uni"]["uuid"],
                          "parent_account_id": None, "root_account_id": None, "workflow_state": "active",
                          "default_time_zone": "America/Denver", "default_storage_quota_mb": 500,
                          "default_user_storage_quota_mb": 50, "default_group_storage_quota_mb": 50}],
            "users": [{"id": world["jane"]["id"], "name": "Jane Doe", "created_at": r.json()["linked"]["users"][0][
                "created_at"], "sortable_name": "Doe, Jane", "short_name": "Jane Doe", "sis_user_id": "LOGIN-J",
                       "integration_id": None, "sis_import_id": None, "login_id": "jdoe@ex.edu"}],
            "page_views": [],
        },
    }


def test_only_successful_logins_and_logouts_newest_first(client: Any, arrange: Arrange,
                                                         world: dict[str, Any]) -> None:
    cid = world["j_uni"]["id"]
    arrange.events({"credential_id": cid, "occurred_at": at(3)},
                   {"credential_id": cid, "occurred_at": at(2), "successful": False},
                   {"credential_id": cid, "occurred_at": at(1), "event_type": "logout"})
    events = _get(client, f"/logins/{cid}", world["site"]).json()["events"]
    assert [e["event_type"] for e in events] == ["logout", "login"]


def test_linked_is_deduplicated_to_the_page(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    for h in (1, 2, 3):
        arrange.events({"credential_id": world["j_uni"]["id"], "occurred_at": at(h)},
                       {"credential_id": world["b_uni"]["id"], "occurred_at": at(h + 0.5)})
    body = _get(client, f"/accounts/{world['uni']['id']}?per_page=2", world["admin"]).json()
    assert len(body["events"]) == 2
    assert [u["id"] for u in body["linked"]["users"]] == [world["jane"]["id"], world["bob"]["id"]]
    assert len(body["linked"]["accounts"]) == 1


def test_bookmark_pages_walk_everything_once(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    ids = arrange.events(*({"credential_id": world["j_uni"]["id"], "occurred_at": at(1)} for _ in range(7)))
    url = f"{BASE}/users/{world['jane']['id']}?per_page=3&start_time=2026-01-01T00:00:00Z&foo=bar"
    seen, pages = [], 0
    while url:
        r = client.get(url, headers={"Authorization": f"Bearer {world['site']}"})
        seen += [e["id"] for e in r.json()["events"]]
        links = _links(r.headers["link"])
        assert "last" not in links and "prev" not in links
        assert links["first"].endswith("?foo=bar&start_time=2026-01-01T00%3A00%3A00Z&page=first&per_page=3")
        url = links.get("next", "").removeprefix("http://testserver")
        pages += 1
    assert pages == 3 and len(seen) == len(set(seen)) == len(ids)


def test_link_header_format(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    arrange.events(*({"credential_id": world["j_uni"]["id"], "occurred_at": at(i)} for i in (1, 2)))
    r = client.get(f"{BASE}/users/self?per_page=1&access_token={world['jane_tok']}")
    assert r.status_code == 200
    header = r.headers["link"]
    me = world["jane"]["id"]  # the route helper's URL for the record: its own id, not `self`
    assert header.startswith(f'<http://testserver/api/v1/audit/authentication/users/{me}?page=first&per_page=1>; '
                             'rel="current",<http://testserver/')
    assert header.endswith('?page=first&per_page=1>; rel="first"') and ", <" not in header
    assert "access_token" not in header  # credentials never leak into links
    nxt = _links(header)["next"]
    token = nxt.split("page=bookmark:")[1].split("&")[0]
    assert base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).startswith(b'["')


@pytest.mark.parametrize(("value", "size"), [("0", 1), ("abc", 1), ("500", 100), ("7", 7), (None, 10),
                                              ("3x", 3), ("-4", 1)])
def test_per_page_is_clamped_like_canvas(client: Any, arrange: Arrange, world: dict[str, Any], value: str | None,
                                         size: int) -> None:
    arrange.events(*({"credential_id": world["j_uni"]["id"], "occurred_at": at(i / 10)} for i in range(1, 121)))
    query = "" if value is None else f"?per_page={value}"
    r = _get(client, f"/logins/{world['j_uni']['id']}{query}", world["site"])
    assert len(r.json()["events"]) == size
    assert f"per_page={size}>" in r.headers["link"]


def test_time_bounds_are_inclusive_and_bad_values_ignored(client: Any, arrange: Arrange,
                                                          world: dict[str, Any]) -> None:
    cid = world["j_uni"]["id"]
    arrange.events(*({"credential_id": cid, "occurred_at": at(h)} for h in (1, 2, 3, 4)))
    path = f"/logins/{cid}?start_time={at(3)}&end_time={at(2)}"
    assert len(_get(client, path, world["site"]).json()["events"]) == 2
    assert len(_get(client, f"/logins/{cid}?start_time=yesterday&end_time=%%", world["site"]).json()["events"]) == 4


def test_retention_is_one_year(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    cid = world["j_uni"]["id"]
    arrange.events({"credential_id": cid, "occurred_at": at(24 * 366)}, {"credential_id": cid, "occurred_at": at(1)})
    assert len(_get(client, f"/logins/{cid}", world["site"]).json()["events"]) == 1


def test_bad_bookmark_is_the_first_page(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    arrange.events({"credential_id": world["j_uni"]["id"], "occurred_at": at(1)})
    for page in ("bookmark:!!!", "bookmark:WyJ4Il0", "garbage", "first"):
        r = _get(client, f"/logins/{world['j_uni']['id']}?page={page}", world["site"])
        assert len(r.json()["events"]) == 1
        assert 'page=first&per_page=10>; rel="current"' in r.headers["link"]


def test_pseudonyms_alias_matches_logins(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    arrange.events({"credential_id": world["j_uni"]["id"], "occurred_at": at(1)})
    a = _get(client, f"/logins/{world['j_uni']['id']}", world["site"]).json()
    b = _get(client, f"/pseudonyms/{world['j_uni']['id']}", world["site"]).json()
    assert a == b and a["events"]


def test_user_id_forms(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    arrange.events({"credential_id": world["j_uni"]["id"], "occurred_at": at(1)})
    hexed = "hex:sis_user_id:" + b"LOGIN-J".hex()
    for form in (str(world["jane"]["id"]), " 1 ".replace("1", str(world["jane"]["id"])), "sis_user_id:LOGIN-J",
                 hexed, "sis_login_id:jdoe@ex.edu", "sis_login_id:JDoe@EX.edu", f"uuid:{world['jane']['uuid']}",
                 "lti_user_id:LTI-J", "lti_context_id:LTI-J"):
        r = _get(client, f"/users/{form}", world["site"])
        assert r.status_code == 200 and len(r.json()["events"]) == 1, form
        assert f"/users/{world['jane']['id']}?" in r.headers["link"], form  # the record's own id in links
    assert len(_get(client, "/users/self", world["jane_tok"]).json()["events"]) == 1
    # sis_user_id is the login's (pseudonyms.sis_user_id), not a person field; unknown forms are 404
    for form in ("sis_user_id:SIS-J", "sis_user_id:nope", "lti_user_id:x", "lti_foo:LTI-J", "sis_foo_id:LOGIN-J",
                 "hex:sis_user_id:4",
                 "uuid:nope", "1234567890123456789"):
        assert _get(client, f"/users/{form}", world["site"]).status_code == 404, form


def test_user_sis_lookups_are_scoped_to_the_callers_root_account(client: Any, arrange: Arrange,
                                                                   world: dict[str, Any]) -> None:
    arrange.credential(world["bob"], world["other"], login="bob@other.edu", sis_id="OTHER-B")
    assert _get(client, "/users/sis_user_id:OTHER-B", world["site"]).status_code == 404


def test_account_self_and_default(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    arrange.events({"credential_id": world["j_uni"]["id"], "occurred_at": at(1)})
    for form in ("self", "default", str(world["uni"]["id"]), "hex:sis_account_id:" + b"UNI".hex()):
        r = _get(client, f"/accounts/{form}?per_page=5", world["site"])
        assert r.status_code == 200 and len(r.json()["events"]) == 1, form
        assert f"/authentication/accounts/{world['uni']['id']}?page=first&per_page=5>" in r.headers["link"]
    for form in ("site_admin", "sis_integration_id:UNI", "uuid:" + world["uni"]["uuid"]):
        assert _get(client, f"/accounts/{form}", world["site"]).status_code == 404, form


def test_link_query_keys_are_sorted_as_to_query_sorts_them(client: Any, arrange: Arrange,
                                                           world: dict[str, Any]) -> None:
    arrange.events({"credential_id": world["j_uni"]["id"], "occurred_at": at(1)})
    r = _get(client, f"/logins/{world['j_uni']['id']}?zeta=1&end_time=2030-01-01T00:00:00Z&alpha=a b", world["site"])
    assert _links(r.headers["link"])["first"].endswith(
        "?alpha=a+b&end_time=2030-01-01T00%3A00%3A00Z&zeta=1&page=first&per_page=10")


def test_pseudonyms_alias_can_be_switched_off(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    path = f"/pseudonyms/{world['j_uni']['id']}"
    r = _get(client, path, world["site"])
    assert r.status_code == 200 and f"/authentication/logins/{world['j_uni']['id']}?" in r.headers["link"]
    client.patch("/_loginaudit/vendors/canvas/settings", json={"pseudonyms_route": False}).raise_for_status()
    r = _get(client, path, world["site"])
    assert (r.status_code, r.json()) == (404, {"errors": [{"message": "The specified resource does not exist."}]})
    assert _get(client, f"/logins/{world['j_uni']['id']}", world["site"]).status_code == 200


def test_account_forms_and_root_only(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    arrange.events({"credential_id": world["j_uni"]["id"], "occurred_at": at(1)})
    assert len(_get(client, "/accounts/sis_account_id:UNI", world["site"]).json()["events"]) == 1
    r = _get(client, "/accounts/sis_account_id:ENG", world["site"])  # a sub-account
    assert (r.status_code, r.json()) == (404, {"errors": [{"message": "The specified resource does not exist."}]})


@pytest.mark.parametrize("path", ["/logins/999", "/logins/abc", "/users/999", "/accounts/999", "/accounts/x"])
def test_unknown_ids_are_404(client: Any, world: dict[str, Any], path: str) -> None:
    r = _get(client, path, world["site"])
    assert (r.status_code, r.json()) == (404, {"errors": [{"message": "The specified resource does not exist."}]})


def test_inactive_login_is_404(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    gone = arrange.credential(world["bob"], world["uni"], login="old", active=False)
    assert _get(client, f"/logins/{gone['id']}", world["site"]).status_code == 404


def test_string_ids(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    arrange.events({"credential_id": world["j_uni"]["id"], "occurred_at": at(1)})
    body = _get(client, f"/logins/{world['j_uni']['id']}", world["site"],
                Accept="application/json+canvas-string-ids").json()
    # lib/api.rb stringify_json_ids: only keys matching /(^|_)id$/ (and arrays under /(^|_)ids$/)
    assert body["events"][0]["links"]["login"] == world["j_uni"]["id"]
    assert body["events"][0]["links"]["account"] == world["uni"]["id"]
    assert body["linked"]["accounts"][0]["id"] == str(world["uni"]["id"])
    assert body["linked"]["logins"][0]["user_id"] == str(world["jane"]["id"])
    assert body["linked"]["logins"][0]["account_id"] == str(world["uni"]["id"])
    assert body["linked"]["users"][0]["id"] == str(world["jane"]["id"])


def test_no_token_is_unauthenticated_with_challenge(client: Any) -> None:
    r = client.get(f"{BASE}/users/self")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="canvas-lms"'
    assert r.json() == {"status": "unauthenticated", "errors": [{"message": "user authorization required"}]}


def test_bad_and_expired_tokens(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    r = _get(client, "/users/self", "1~nope")
    assert (r.status_code, r.json()) == (401, {"errors": [{"message": "Invalid access token."}]})
    assert r.headers["www-authenticate"] == 'Bearer realm="canvas-lms"'
    expired = arrange.token("canvas", "user", credential_id=world["j_uni"]["id"], expires_at="2026-11-01T00:00:00Z")
    r = _get(client, "/users/self", expired)
    assert r.json() == {"errors": [{"message": "Expired access token.", "expired_at": "2026-11-01T00:00:00Z"}]}


def test_permission_failure_is_401_then_403_behind_the_flag(client: Any, world: dict[str, Any]) -> None:
    r = _get(client, f"/accounts/{world['uni']['id']}", world["bob_tok"])
    assert r.status_code == 401 and "www-authenticate" not in r.headers
    assert r.json() == {"status": "unauthorized", "errors": [{"message": "user not authorized to perform that action"}]}
    client.patch("/_loginaudit/vendors/canvas/settings", json={"api_auth_error_updates": True})
    assert _get(client, f"/accounts/{world['uni']['id']}", world["bob_tok"]).status_code == 403


def test_users_see_themselves_but_not_others(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    arrange.events({"credential_id": world["j_other"]["id"], "occurred_at": at(1)})
    assert len(_get(client, f"/users/{world['jane']['id']}", world["jane_tok"]).json()["events"]) == 1
    assert _get(client, f"/users/{world['jane']['id']}", world["bob_tok"]).status_code == 401
    assert _get(client, f"/logins/{world['j_uni']['id']}", world["jane_tok"]).status_code == 401


def test_admin_of_one_account_sees_only_that_accounts_logins(client: Any, arrange: Arrange,
                                                             world: dict[str, Any]) -> None:
    arrange.events({"credential_id": world["j_uni"]["id"], "occurred_at": at(1)},
                   {"credential_id": world["j_other"]["id"], "occurred_at": at(2)})
    body = _get(client, f"/users/{world['jane']['id']}", world["admin"]).json()
    assert [e["links"]["login"] for e in body["events"]] == [world["j_uni"]["id"]]
    assert _get(client, f"/accounts/{world['other']['id']}", world["admin"]).status_code == 401
    assert len(_get(client, f"/users/{world['jane']['id']}", world["site"]).json()["events"]) == 2


def test_sis_fields_need_read_sis(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    arrange.events({"credential_id": world["j_uni"]["id"], "occurred_at": at(1)})
    linked = _get(client, "/users/self", world["jane_tok"]).json()["linked"]
    assert "sis_user_id" not in linked["logins"][0] and "sis_user_id" not in linked["users"][0]
    assert "login_id" not in linked["users"][0]


def test_caller_time_zone(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    arrange.events({"credential_id": world["j_other"]["id"], "occurred_at": "2026-11-22T08:15:02.999Z"})
    other_admin = arrange.credential(world["bob"], world["other"], login="bob-other")
    token = arrange.token("canvas", "account_admin", credential_id=other_admin["id"])
    assert _get(client, f"/accounts/{world['other']['id']}", token).json()["events"][0]["created_at"] == (
        "2026-11-22T08:15:02Z")


def test_unrouted_method_is_rails_404(client: Any, world: dict[str, Any]) -> None:
    r = client.delete(f"{BASE}/users/self", headers={"Authorization": f"Bearer {world['site']}"})
    assert (r.status_code, r.json()) == (404, {"errors": [{"message": "The specified resource does not exist."}]})


def test_control_characters_in_ids_are_404_not_500(client: Any, world: dict[str, Any]) -> None:
    r = _get(client, "/logins/%0Ah", world["site"])  # Connexion routes it nowhere, Flask still matches
    assert (r.status_code, r.json()) == (404, {"errors": [{"message": "The specified resource does not exist."}]})


@pytest.mark.parametrize("path", ["/logins/99999999999999999999", "/users/99999999999999999999",
                                  "/accounts/99999999999999999999"])
def test_ids_beyond_64_bits_are_404(client: Any, world: dict[str, Any], path: str) -> None:
    assert _get(client, path, world["site"]).status_code == 404


def test_bookmark_with_a_huge_id_is_the_first_page(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    arrange.events({"credential_id": world["j_uni"]["id"], "occurred_at": at(1)})
    token = base64.urlsafe_b64encode(b'["2026-01-01T00:00:00+00:00",99999999999999999999]').decode().rstrip("=")
    body = _get(client, f"/logins/{world['j_uni']['id']}?page=bookmark:{token}", world["site"]).json()
    assert len(body["events"]) == 1


@pytest.mark.parametrize("now", ["9998-06-01T00:00:00Z", "0002-06-01T00:00:00Z"])
def test_times_at_the_ends_of_the_clocks_range_are_written(client: Any, arrange: Arrange, world: dict[str, Any],
                                                           now: str) -> None:
    """The statement's zone table covers the years around the clock's, within the years the store keeps;
    a clock at either end still answers, an event outside the table converted by Python."""
    j = world["j_uni"]
    client.put("/_loginaudit/clock", json={"now": now, "frozen": True}).raise_for_status()
    arrange.events({"credential_id": j["id"], "occurred_at": now.replace("06-01", "05-31")})
    r = _get(client, f"/logins/{j['id']}", world["site"])
    assert r.status_code == 200, r.text
    assert [e["created_at"] for e in r.json()["events"]] == [now[:4] + "-05-30T18:00:00-06:00"] if now[0] == "9" \
        else [e["created_at"][:10] for e in r.json()["events"]] == ["0002-05-30"]
