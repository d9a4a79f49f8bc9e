"""The control plane's edit side: change, delete, revoke, inspect, and create under chosen ids."""

from __future__ import annotations

from typing import Any

from conftest import Arrange, at

C = "/_loginaudit"
CANVAS = "/api/v1/audit/authentication"
UNLEASH = "/api/admin/logins"


def _canvas_world(arrange: Arrange) -> dict[str, Any]:
    uni = arrange.tenant(name="Uni")
    admin = arrange.person(first_name="Ada", email="ada@ex.edu")
    jane = arrange.person()
    ada_login = arrange.credential(admin, uni, role="admin")
    jane_login = arrange.credential(jane, uni)
    site = arrange.token("canvas", "site_admin", credential_id=ada_login["id"])
    return {"uni": uni, "jane": jane, "jane_login": jane_login, "site": site}


def _canvas(client: Any, path: str, token: str) -> Any:
    return client.get(CANVAS + path, headers={"Authorization": f"Bearer {token}"})


def test_patch_changes_only_the_fields_given(client: Any, arrange: Arrange) -> None:
    w = _canvas_world(arrange)
    r = client.patch(f"{C}/people/{w['jane']['id']}", json={"email": "jane.doe@ex.edu", "middle_name": "Q"})
    assert r.status_code == 200
    assert {k: r.json()[k] for k in ("email", "middle_name", "first_name")} == {
        "email": "jane.doe@ex.edu", "middle_name": "Q", "first_name": "Jane"}
    assert client.get(f"{C}/people/{w['jane']['id']}").json() == r.json()
    assert client.patch(f"{C}/people/999", json={"email": "x"}).status_code == 404
    assert client.patch(f"{C}/people/{w['jane']['id']}", json={}).status_code == 400  # minProperties
    assert client.patch(f"{C}/credentials/{w['jane_login']['id']}", json={"tenant_id": 1}).status_code == 400


def test_deactivating_a_login_gives_canvas_its_deleted_login_404(client: Any, arrange: Arrange) -> None:
    w = _canvas_world(arrange)
    arrange.events({"credential_id": w["jane_login"]["id"], "occurred_at": at(1)})
    assert _canvas(client, f"/logins/{w['jane_login']['id']}", w["site"]).status_code == 200
    client.patch(f"{C}/credentials/{w['jane_login']['id']}", json={"active": False}).raise_for_status()
    r = _canvas(client, f"/logins/{w['jane_login']['id']}", w["site"])
    assert (r.status_code, r.json()) == (404, {"errors": [{"message": "The specified resource does not exist."}]})


def test_a_switched_off_login_s_token_stops_working_at_once(client: Any, arrange: Arrange) -> None:
    w = _canvas_world(arrange)
    own = arrange.token("canvas", "user", credential_id=w["jane_login"]["id"])
    assert _canvas(client, f"/users/{w['jane']['id']}", own).status_code == 200  # remembered as valid now
    client.patch(f"{C}/credentials/{w['jane_login']['id']}", json={"enabled": False}).raise_for_status()
    r = _canvas(client, f"/users/{w['jane']['id']}", own)
    assert (r.status_code, r.json()) == (401, {"errors": [{"message": "Invalid access token."}]})


def test_delete_refuses_to_orphan_then_cascades(client: Any, arrange: Arrange) -> None:
    w = _canvas_world(arrange)
    cred = w["jane_login"]["id"]
    arrange.events(*({"credential_id": cred, "occurred_at": at(i)} for i in range(1, 4)))
    token = arrange.token("unleash", "pat", credential_id=cred)
    r = client.delete(f"{C}/credentials/{cred}")
    assert r.status_code == 409
    assert r.json()["detail"] == (f"credential {cred} has 3 events, 1 tokens; delete those first or ask for "
                                  "cascade=true")
    r = client.delete(f"{C}/credentials/{cred}?cascade=true")
    assert (r.status_code, r.json()) == (200, {"deleted": {"events": 3, "tokens": 1, "credentials": 1}})
    assert client.get(f"{C}/credentials/{cred}").status_code == 404
    assert client.get(f"{C}/events?credential_id={cred}").json() == {"events": [], "total": 0}
    assert client.get(UNLEASH, headers={"Authorization": token}).status_code == 401  # its PAT is gone
    assert client.delete(f"{C}/credentials/{cred}").status_code == 404


def test_deleting_a_tenant_takes_its_subtree(client: Any, arrange: Arrange) -> None:
    root = arrange.tenant(name="Root")
    sub = arrange.tenant(name="Sub", parent_id=root["id"])
    person = arrange.person()
    cred = arrange.credential(person, sub)
    arrange.events({"credential_id": cred["id"], "occurred_at": at(1)})
    assert client.delete(f"{C}/tenants/{root['id']}").status_code == 409
    r = client.delete(f"{C}/tenants/{root['id']}?cascade=true")
    assert r.json() == {"deleted": {"events": 1, "credentials": 1, "tenants": 2}}
    assert client.get(f"{C}/people/{person['id']}").status_code == 200  # people are not a tenant's
    assert client.delete(f"{C}/people/{person['id']}").json() == {"deleted": {"people": 1}}


def test_a_tenant_cannot_become_its_own_descendant(client: Any, arrange: Arrange) -> None:
    root = arrange.tenant(name="Root")
    sub = arrange.tenant(name="Sub", parent_id=root["id"])
    r = client.patch(f"{C}/tenants/{root['id']}", json={"parent_id": sub["id"]})
    assert r.status_code == 409
    assert client.patch(f"{C}/tenants/{sub['id']}", json={"parent_id": None}).json()["parent_id"] is None


def test_revoking_and_expiring_tokens_give_each_vendor_s_answers(client: Any, arrange: Arrange) -> None:
    w = _canvas_world(arrange)
    tokens = {t["secret"]: t for t in client.get(f"{C}/tokens?vendor=canvas").json()}
    site_id = tokens[w["site"]]["id"]
    assert _canvas(client, "/users/self", w["site"]).status_code == 200
    r = client.patch(f"{C}/tokens/{site_id}", json={"revoked": True})
    assert (r.status_code, r.json()["revoked"]) == (200, True)
    r = _canvas(client, "/users/self", w["site"])
    assert (r.status_code, r.json()) == (401, {"errors": [{"message": "Invalid access token."}]})
    client.patch(f"{C}/tokens/{site_id}", json={"revoked": False, "expires_at": "2026-11-01T00:00:00Z"})
    r = _canvas(client, "/users/self", w["site"])
    assert r.json() == {"errors": [{"message": "Expired access token.", "expired_at": "2026-11-01T00:00:00Z"}]}
    unleash = arrange.token("unleash", "admin")
    assert client.get(UNLEASH, headers={"Authorization": unleash}).status_code == 200
    unleash_id = next(t["id"] for t in client.get(f"{C}/tokens?vendor=unleash").json())
    assert client.delete(f"{C}/tokens/{unleash_id}").json() == {"deleted": {"tokens": 1}}
    r = client.get(UNLEASH, headers={"Authorization": unleash})
    assert (r.status_code, r.json()["name"]) == (401, "UnauthorizedError")
    assert client.get(f"{C}/tokens/{unleash_id}").status_code == 404


def test_chosen_ids_as_a_vendor_shows_them(client: Any, arrange: Arrange) -> None:
    """Canvas's docs show user 362 with login 9478 in account 2319: a test can arrange exactly that."""
    account = arrange.tenant(id=2319, name="Canvas U")
    user = arrange.person(id=362)
    login = arrange.credential(user, account, id=9478)
    assert (account["id"], user["id"], login["id"]) == (2319, 362, 9478)
    r = client.post(f"{C}/people", json={"id": 362, "first_name": "A", "last_name": "B", "email": "c"})
    assert (r.status_code, r.json()["detail"]) == (409, "person id 362 is taken")
    assert arrange.person()["id"] == 363  # automatic ids continue above the highest used
    assert arrange.tenant(name="Next")["id"] == 2320
    ids = arrange.events({"id": 70000, "credential_id": 9478, "occurred_at": at(2)},
                         {"credential_id": 9478, "occurred_at": at(1)})
    assert ids == [70000, 70001]
    r = client.post(f"{C}/events", json={"events": [{"id": 70001, "username": "x", "occurred_at": at(1)}]})
    assert (r.status_code, r.json()["detail"]) == (409, "event id 70001 is taken")
    site = arrange.token("canvas", "site_admin", credential_id=9478)
    body = _canvas(client, "/logins/9478", site).json()
    assert [(e["links"]["login"], e["links"]["account"]) for e in body["events"]] == [(9478, 2319)] * 2


def test_per_event_role_is_the_role_at_the_time(client: Any, arrange: Arrange) -> None:
    """Ingedata's login `role` is the account's role when it logged in; an event can carry its own."""
    org = arrange.tenant(name="Org")
    cred = arrange.credential(arrange.person(), org, role="admin")
    arrange.events({"credential_id": cred["id"], "occurred_at": at(2), "role": "contractor"},
                   {"credential_id": cred["id"], "occurred_at": at(1)})
    key = arrange.token("ingedata", "admin_key", credential_id=cred["id"])
    jwt = client.post("/api/v3/iam/auth/api/login", json={"key": key}).json()["meta"]["token"]
    url = "/api/v3/iam/account_logins"

    def roles(query: str = "") -> list[str]:
        r = client.get(url + query, headers={"Authorization": f"Bearer {jwt}"})
        return [d["attributes"]["role"] for d in r.json()["data"]]

    assert roles() == ["contractor", "admin"]
    assert roles("?filter[role]=contractor") == ["contractor"]
    event = client.get(f"{C}/events?credential_id={cred['id']}").json()["events"][-1]
    assert event["role"] == "contractor"
    client.patch(f"{C}/events/{event['id']}", json={"role": None}).raise_for_status()
    assert roles() == ["admin", "admin"]


def test_lists_page_and_count(client: Any, arrange: Arrange) -> None:
    org = arrange.tenant(name="Org")
    people = [arrange.person(email=f"p{i}@ex.edu") for i in range(5)]
    for p in people[:3]:
        arrange.credential(p, org)
    r = client.get(f"{C}/people?limit=2&offset=1").json()
    assert ([p["email"] for p in r["people"]], r["total"]) == (["p1@ex.edu", "p2@ex.edu"], 5)
    r = client.get(f"{C}/credentials?person_id={people[1]['id']}").json()
    assert (len(r["credentials"]), r["total"]) == (1, 1)
    assert client.get(f"{C}/tenants").json()["total"] == 1
    assert client.get(f"{C}/people?limit=0").status_code == 400


def test_scenarios_set_vendor_modes_and_choose_ids(client: Any) -> None:
    doc = {"settings": {"unleash": {"edition": "oss"}},
           "tenants": {"uni": {"id": 2319}}, "people": {"jane": {"id": 362, "first_name": "J", "last_name": "D",
                                                                 "email": "j@ex.edu"}},
           "credentials": {"jane": {"id": 9478, "person": "jane", "tenant": "uni", "login": "jane"}}}
    r = client.post(f"{C}/scenarios", json=doc)
    assert r.status_code == 201, r.text
    assert r.json()["credentials"] == {"jane": 9478}
    assert client.get(f"{C}/vendors/unleash/settings").json()["edition"] == "oss"
    r = client.post(f"{C}/scenarios", json={"people": {"again": {"id": 362, "first_name": "A", "last_name": "B",
                                                                 "email": "c"}}})
    assert (r.status_code, r.json()["detail"]) == (409, "person id 362 is taken")
    r = client.post(f"{C}/scenarios", json={"settings": {"unleash": {"edition": "gold"}}})
    assert (r.status_code, r.json()["detail"]) == (422, "settings.unleash: unleash setting 'edition' is one of "
                                                        "['enterprise', 'oss']")
    client.post(f"{C}/reset")
    assert client.get(f"{C}/vendors/unleash/settings").json()["edition"] == "enterprise"  # reset: defaults


def test_a_renamed_person_shows_at_once_where_pages_link_them(client: Any, arrange: Arrange) -> None:
    """Canvas's linked users, and Okta's actors' and Entra's users' names (records.people_named), are
    read once per store generation and remembered (storage.memo.remembered_each): an edit moves the
    generation, so the next page shows it."""
    w = _canvas_world(arrange)
    arrange.events({"credential_id": w["jane_login"]["id"], "occurred_at": at(1)})
    okta = {"Authorization": "SSWS " + arrange.token("okta", "api_token", credential_id=w["jane_login"]["id"])}
    entra = {"Authorization": "Bearer " + arrange.token("entra", "app_auditlog", credential_id=w["jane_login"]["id"])}

    def names() -> tuple[list[str], list[str], list[str]]:
        canvas = _canvas(client, f"/logins/{w['jane_login']['id']}", w["site"]).json()
        actors = client.get("/api/v1/logs?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z", headers=okta)
        users = client.get("/v1.0/auditLogs/signIns", headers=entra)
        return ([u["name"] for u in canvas["linked"]["users"]], [e["actor"]["displayName"] for e in actors.json()],
                [s["userDisplayName"] for s in users.json()["value"]])

    assert names() == names() == (["Jane Doe"], ["Jane Doe"], ["Jane Doe"])  # the second read from memory
    client.patch(f"{C}/people/{w['jane']['id']}", json={"last_name": "Roe"}).raise_for_status()
    assert names() == (["Jane Roe"], ["Jane Roe"], ["Jane Roe"])
