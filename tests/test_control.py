"""The control plane: arrange, read back, clock, tokens, seed, reset."""

from __future__ import annotations

from typing import Any

from conftest import NOW, Arrange, at


def test_records_read_back(client: Any, arrange: Arrange) -> None:
    tenant = arrange.tenant(time_zone="America/Denver")
    sub = arrange.tenant(name="Engineering", parent_id=tenant["id"])
    person = arrange.person(middle_name="Q")
    cred = arrange.credential(person, tenant, role="admin", auth_method="saml")
    assert client.get(f"/_loginaudit/tenants/{sub['id']}").json()["parent_id"] == tenant["id"]
    assert client.get(f"/_loginaudit/people/{person['id']}").json()["middle_name"] == "Q"
    got = client.get(f"/_loginaudit/credentials/{cred['id']}").json()
    assert (got["role"], got["auth_method"], got["login"]) == ("admin", "saml", "jdoe@ex.edu")
    assert tenant["client_id"].startswith("app_")


def test_missing_references_are_404_problems(client: Any) -> None:
    r = client.post("/_loginaudit/credentials", json={"person_id": 99, "tenant_id": 98, "login": "x"})
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == "person 99 not found"
    assert client.get("/_loginaudit/tenants/5").status_code == 404


def test_ingest_keeps_order_ms_and_derives_person_and_tenant(client: Any, arrange: Arrange) -> None:
    tenant, person = arrange.tenant(), arrange.person()
    cred = arrange.credential(person, tenant, auth_method="github")
    ids = arrange.events({"credential_id": cred["id"], "occurred_at": "2026-11-22T10:00:00.123+01:00"},
                         {"username": "ghost", "occurred_at": at(5), "successful": False})
    assert ids == sorted(ids) and len(ids) == 2
    events = client.get("/_loginaudit/events").json()["events"]
    by_id = {e["id"]: e for e in events}
    first = by_id[ids[0]]
    assert first["occurred_at"] == "2026-11-22T09:00:00.123000Z"
    assert (first["person_id"], first["tenant_id"], first["username"], first["auth_method"]) == (
        person["id"], tenant["id"], "jdoe@ex.edu", "github")
    assert by_id[ids[1]]["credential_id"] is None


def test_a_bad_event_rejects_the_whole_batch(client: Any, arrange: Arrange) -> None:
    r = client.post("/_loginaudit/events", json={"events": [{"username": "a", "occurred_at": at(1)},
                                                            {"credential_id": 404, "occurred_at": at(1)}]})
    assert r.status_code == 404
    r = client.post("/_loginaudit/events", json={"events": [{"occurred_at": at(1)}]})
    assert r.status_code == 422
    assert client.get("/_loginaudit/events").json() == {"events": [], "total": 0}


def test_clock_freezes_runs_and_resets(client: Any) -> None:
    assert client.get("/_loginaudit/clock").json() == {"now": "2026-11-22T12:00:00Z", "frozen": True}
    running = client.put("/_loginaudit/clock", json={"now": "2020-01-01T00:00:00Z", "frozen": False}).json()
    assert running["frozen"] is False and running["now"].startswith("2020-01-01T00:00")
    real = client.delete("/_loginaudit/clock").json()
    assert real["frozen"] is False and real["now"] > NOW.isoformat()[:4]


def test_tokens_mint_in_vendor_format_and_validate_kind(client: Any, arrange: Arrange) -> None:
    secret = arrange.token("unleash", "admin")
    assert secret.startswith("*:*.") and len(secret) == 4 + 56
    r = client.post("/_loginaudit/tokens", json={"vendor": "unleash", "kind": "root"})
    assert r.status_code == 422 and "one of" in r.json()["detail"]
    r = client.post("/_loginaudit/tokens", json={"vendor": "okta", "kind": "admin"})
    assert r.status_code == 422
    r = client.post("/_loginaudit/tokens", json={"vendor": "unleash", "kind": "pat"})
    assert r.status_code == 422 and "credential_id" in r.json()["detail"]
    r = client.post("/_loginaudit/tokens", json={"vendor": "unleash", "kind": "admin", "secret": secret})
    assert r.status_code == 409
    listed = client.get("/_loginaudit/tokens?vendor=unleash").json()
    assert [t["secret"] for t in listed] == [secret]


def test_vendors_lists_token_kinds(client: Any) -> None:
    vendors = {v["name"]: v for v in client.get("/_loginaudit/vendors").json()}
    assert vendors["unleash"]["base_path"] == "/api/admin"
    assert vendors["unleash"]["token_kinds"]["admin"]["grants"] == ["ADMIN"]


def test_seed_is_deterministic_and_refuses_a_second_identical_seed(client: Any) -> None:
    first = client.post("/_loginaudit/seed", json={"events": 400, "seed": 3})
    assert first.status_code == 201
    assert first.json()["counts"]["login_events"] == 400
    events_a = client.get("/_loginaudit/events?limit=1000").json()["events"]
    assert client.post("/_loginaudit/seed", json={"events": 400, "seed": 3}).status_code == 409
    client.post("/_loginaudit/reset")
    again = client.post("/_loginaudit/seed", json={"events": 400, "seed": 3}).json()
    events_b = client.get("/_loginaudit/events?limit=1000").json()["events"]
    strip = lambda evs: [{k: v for k, v in e.items() if k not in ("id", "credential_id", "person_id",  # noqa: E731
                                                                 "tenant_id")} for e in evs]
    assert strip(events_a) == strip(events_b)
    assert [t["secret"] for t in first.json()["tokens"]] == [t["secret"] for t in again["tokens"]]


def test_seeded_data_is_realistic(client: Any) -> None:
    client.post("/_loginaudit/seed", json={"events": 2000, "seed": 5})
    events = client.get("/_loginaudit/events?limit=1000").json()["events"]
    failures = [e for e in events if not e["successful"]]
    assert 0.05 < len(failures) / len(events) < 0.4
    assert all(e["failure_reason"] for e in failures)
    assert any(":" in (e["ip"] or "") for e in events)  # some IPv6
    assert any(e["event_type"] == "logout" for e in events)
    assert len({e["country"] for e in events}) > 3
    assert any(e["credential_id"] is None for e in events)  # attempts on names nobody holds


def test_reset_empties_everything(client: Any, arrange: Arrange) -> None:
    arrange.token("unleash", "admin")
    arrange.person()
    assert client.post("/_loginaudit/reset").status_code == 204
    counts = client.get("/_loginaudit/health").json()["counts"]
    assert set(counts.values()) == {0}


def test_landing_page_and_spec_files(client: Any) -> None:
    page = client.get("/").text
    assert "/api/admin/ui/" in page and "unleash.yaml" in page
    assert page.count("client documents") == 1  # SSOJet's two documents in one parenthesis (issue 16)
    assert client.get("/specs/unleash.yaml").text.startswith("openapi: 3.0.3")
    assert client.get("/specs/../pyproject.toml").status_code == 404
    favicon = client.get("/favicon.ico")  # a browser's first request: no problem document (issue 16)
    assert (favicon.status_code, favicon.content) == (204, b"")


def test_landing_page_is_where_a_newcomer_starts(client: Any) -> None:
    """Per vendor its base URL, docs, credentials and a curl line; the store's counts and clock; the journal."""
    client.post("/_loginaudit/seed", json={"events": 120, "seed": 2}).raise_for_status()
    secret = next(t["secret"] for t in client.get("/_loginaudit/tokens?vendor=unleash").json() if t["kind"] == "admin")
    client.get("/api/admin/logins", headers={"Authorization": secret})
    page = client.get("/").text
    assert "120 events" in page and "clock 2026-11-22T12:00:00+00:00 (frozen)" in page
    for vendor in ("unleash", "canvas", "qradar", "ingedata", "ssojet", "okta"):
        assert f"<section id='{vendor}'>" in page
    assert f"curl -H &#x27;Authorization: {secret}&#x27; http://testserver/api/admin/logins" in page
    assert "<code>GET /api/admin/logins</code> → 200 (unleash)" in page


def test_control_405_lists_every_documented_method(client: Any) -> None:
    r = client.patch("/_loginaudit/clock")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, PUT, DELETE, HEAD"


def test_seeded_history_never_lies_in_the_future(client: Any) -> None:
    client.delete("/_loginaudit/clock")
    client.post("/_loginaudit/seed", json={"events": 500, "seed": 9})
    now = client.get("/_loginaudit/clock").json()["now"]
    events = client.get("/_loginaudit/events?limit=1").json()["events"]
    assert events[0]["occurred_at"] < now


def test_a_reset_forgets_remembered_secrets_at_once(client: Any) -> None:
    token = client.post("/_loginaudit/tokens", json={"vendor": "unleash", "kind": "admin"}).json()["secret"]
    assert client.get("/api/admin/logins", headers={"Authorization": token}).status_code == 200
    assert client.get("/api/admin/logins", headers={"Authorization": token}).status_code == 200  # remembered
    client.post("/_loginaudit/reset")
    assert client.get("/api/admin/logins", headers={"Authorization": token}).status_code == 401
