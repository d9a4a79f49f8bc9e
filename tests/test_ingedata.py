"""Ingedata Pulse IAM v3 account logins: Verse's JSON:API, paging, sort, count, filters, auth."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from conftest import Arrange, at

URL = "/api/v3/iam/account_logins"
UNAUTHORIZED = {"errors": [{"status": "401", "title": "Verse::Error::Authorization", "detail": "unauthorized_access"}]}


def _invalid(detail: str, pointer: str) -> dict[str, Any]:
    return {"errors": [{"status": 422, "title": "Verse::Error::ValidationFailed", "detail": detail,
                        "source": {"pointer": pointer}}]}


def login(client: Any, key: str) -> str:
    r = client.post("/api/v3/iam/auth/api/login", json={"key": key})
    assert r.status_code == 200, r.text
    return r.json()["meta"]["token"]  # type: ignore[no-any-return]


@pytest.fixture
def world(arrange: Arrange) -> dict[str, Any]:
    org = arrange.tenant(name="Ingedata")
    ana = arrange.person(first_name="Ana", last_name="Rak", email="ana@ex.com")
    bo = arrange.person(first_name="Bo", last_name="Li", email="bo@ex.com")
    a = arrange.credential(ana, org, login="ana@ex.com", role="admin")
    b = arrange.credential(bo, org, login="bo@ex.com", role="employee")
    ids = arrange.events(
        {"credential_id": a["id"], "occurred_at": "2024-06-10T08:15:02.123Z", "ip": "203.0.113.7"},
        {"credential_id": b["id"], "occurred_at": at(3), "ip": "10.0.0.2"},
        {"credential_id": b["id"], "occurred_at": at(2), "ip": "10.0.0.3"},
        {"credential_id": a["id"], "occurred_at": at(1), "ip": "10.0.0.4"},
        {"credential_id": b["id"], "occurred_at": at(0.5), "successful": False},  # not a login
    )
    admin = login(arrange.c, arrange.token("ingedata", "admin_key", credential_id=a["id"]))
    return {"a": a, "b": b, "ana": ana, "ids": ids[:4], "admin": admin,
            "bo": login(arrange.c, arrange.token("ingedata", "user_key", credential_id=b["id"]))}


def _get(client: Any, world: dict[str, Any], query: str = "", token: str | None = None) -> Any:
    return client.get(URL + query, headers={"Authorization": f"Bearer {token or world['admin']}"})


def test_document_exactly(client: Any, world: dict[str, Any]) -> None:
    r = _get(client, world, "?page[size]=1")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.api+json"
    assert r.json() == {"data": [{
        "type": "iam/account/logins", "id": str(world["ids"][0]),
        "attributes": {"role": "admin", "date": "2024-06-10 08:15:02 +0000", "ip": "203.0.113.7"},
        "relationships": {"account": {"data": {"type": "iam/accounts", "id": str(world["a"]["id"])}}},
    }], "meta": {}}


def test_default_order_is_id_ascending_and_failures_are_not_logins(client: Any, world: dict[str, Any]) -> None:
    assert [d["id"] for d in _get(client, world).json()["data"]] == [str(i) for i in world["ids"]]


def test_offset_paging_without_links(client: Any, world: dict[str, Any]) -> None:
    body = _get(client, world, "?page[number]=2&page[size]=3").json()
    assert [d["id"] for d in body["data"]] == [str(world["ids"][3])]
    assert "links" not in body


def test_only_the_last_sort_key_counts(client: Any, world: dict[str, Any]) -> None:
    by_date_desc = [d["id"] for d in _get(client, world, "?sort=-date").json()["data"]]
    assert by_date_desc == [str(i) for i in (world["ids"][3], world["ids"][2], world["ids"][1], world["ids"][0])]
    assert [d["id"] for d in _get(client, world, "?sort=role,-date").json()["data"]] == by_date_desc
    assert _get(client, world, "?sort=account_logins.ip").json()["data"][0]["id"] == str(world["ids"][1])


def test_unknown_sort_column_is_422(client: Any, world: dict[str, Any]) -> None:
    assert _get(client, world, "?sort=password").json() == _invalid("is not a sortable field", "/sort")


@pytest.mark.parametrize(("value", "meta"), [
    ("true", {"count": 4, "more": False}), ("yes", {"count": 4, "more": False}), ("t", {"count": 4, "more": False}),
    ("false", {}), ("no", {}), ("", {}), ("als", {}),
])
def test_count_coercion(client: Any, world: dict[str, Any], value: str, meta: dict[str, Any]) -> None:
    assert _get(client, world, f"?count={value}").json()["meta"] == meta


@pytest.mark.parametrize("value", ["1", "0", "maybe", "True", "YES", "T"])
def test_count_rejects_non_booleans(client: Any, world: dict[str, Any], value: str) -> None:
    r = _get(client, world, f"?count={value}")
    assert (r.status_code, r.json()) == (422, _invalid("must be a boolean", "/count"))


def test_count_past_the_end_is_the_offset(client: Any, world: dict[str, Any]) -> None:
    body = _get(client, world, "?count=true&page[size]=10&page[number]=5").json()
    assert body == {"data": [], "meta": {"count": 40, "more": False}}


def test_count_window_of_1000(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    arrange.events(*({"credential_id": world["b"]["id"], "occurred_at": at(5)} for _ in range(1000)))
    assert _get(client, world, "?count=true&page[size]=1").json()["meta"] == {"count": 1000, "more": True}
    # offset 4 leaves exactly 1000 rows: Verse says "more" although nothing lies beyond them (its quirk)
    assert _get(client, world, "?count=true&page[size]=1&page[number]=5").json()["meta"] == {"count": 1004,
                                                                                              "more": True}
    assert _get(client, world, "?count=true&page[size]=1&page[number]=6").json()["meta"] == {"count": 1004,
                                                                                              "more": False}


def test_filters_scalar_array_and_unknown(client: Any, world: dict[str, Any]) -> None:
    ids = lambda q: [d["id"] for d in _get(client, world, q).json()["data"]]  # noqa: E731
    assert ids("?filter[role]=admin") == [str(world["ids"][0]), str(world["ids"][3])]
    assert ids("?filter[ip][]=10.0.0.2&filter[ip][]=10.0.0.4") == [str(world["ids"][1]), str(world["ids"][3])]
    assert ids(f"?filter[account_id]={world['b']['id']}") == [str(world["ids"][1]), str(world["ids"][2])]
    assert ids(f"?filter[id]={world['ids'][2]}") == [str(world["ids"][2])]
    # verse-schema's Time coalescer keeps the first six numbers (Time.utc): a stored time with a
    # fraction equals no filter value, a whole-second one equals its rendered form
    assert ids("?filter[date]=2024-06-10T08:15:02.123Z") == []
    assert ids("?filter[date__gte]=2030-01-01&filter[bogus]=1") == [str(i) for i in world["ids"]]  # dropped
    assert ids("?filter[id]=abc") == []


def test_included_is_unique_recursive_and_omitted_when_empty(client: Any, world: dict[str, Any]) -> None:
    body = _get(client, world, "?included[]=account.person&filter[role]=admin").json()
    assert [(r["type"], r["id"]) for r in body["included"]] == [
        ("iam/accounts", str(world["a"]["id"])), ("iam/people", str(world["ana"]["id"]))]
    account = body["included"][0]
    assert account["attributes"]["email"] == "ana@ex.com" and "id" not in account["attributes"]
    assert account["relationships"] == {"person": {"data": {"type": "iam/people", "id": str(world["ana"]["id"])}}}
    assert "included" not in _get(client, world, "?filter[role]=nobody&included[]=account").json()
    assert "included" not in _get(client, world).json()


def test_sparse_fieldsets(client: Any, world: dict[str, Any]) -> None:
    body = _get(client, world, "?fields[iam/account/logins][]=ip&fields[iam/accounts][]=email&included[]=account"
                               "&page[size]=1").json()
    assert body["data"][0]["attributes"] == {"ip": "203.0.113.7"}
    assert body["included"][0]["attributes"] == {"email": "ana@ex.com"}


@pytest.mark.parametrize(("query", "error"), [
    ("?page[size]=0", _invalid("must be between 1 and 1000", "/page/size")),
    ("?page[size]=1001", _invalid("must be between 1 and 1000", "/page/size")),
    ("?page[number]=0", _invalid("must be positive", "/page/number")),
    ("?page[number]=x", _invalid("must be an integer", "/page/number")),
    ("?included=account", _invalid("must be an array", "/included")),
    ("?included[]=roles", _invalid("must be one of `account,account.person`", "/included")),
    ("?fields[iam/accounts]=email", _invalid("must be an array", "/fields/iam/accounts")),
])
def test_validation_errors(client: Any, world: dict[str, Any], query: str, error: dict[str, Any]) -> None:
    r = _get(client, world, query)
    assert (r.status_code, r.json()) == (422, error)


def test_every_failing_key_is_one_error(client: Any, world: dict[str, Any]) -> None:
    """Verse's renderer maps error.source, key by key: Connexion's first failure is not the whole answer."""
    r = _get(client, world, "?page[number]=0&page[size]=5000&sort=password&count=True&included=account"
                            "&fields[iam/people]=email")
    assert r.status_code == 422
    assert [(e["detail"], e["source"]["pointer"]) for e in r.json()["errors"]] == [
        ("must be positive", "/page/number"), ("must be between 1 and 1000", "/page/size"),
        ("is not a sortable field", "/sort"), ("must be a boolean", "/count"), ("must be an array", "/included"),
        ("must be an array", "/fields/iam/people")]
    # the handler's own checks report together too, when the spec's schemas all pass
    r = _get(client, world, "?count=maybe&included=account")
    assert [e["source"]["pointer"] for e in r.json()["errors"]] == ["/count", "/included"]
    r = _iam(client, world, "/people?page[size]=0&count=nope")
    assert [e["source"]["pointer"] for e in r.json()["errors"]] == ["/page/size", "/count"]


def test_auth_is_checked_before_validation(client: Any, world: dict[str, Any]) -> None:
    r = client.get(URL + "?page[size]=0")
    assert (r.status_code, r.json()) == (401, UNAUTHORIZED)


@pytest.mark.parametrize("header", ["bearer {t}", "BEARER {t}", "Token {t}", "{t}", " Bearer {t}", "Bearer ",
                                    "Bearer{t}"])
def test_only_a_bearer_prefix_counts(client: Any, world: dict[str, Any], header: str) -> None:
    r = client.get(URL, headers={"Authorization": header.format(t=world["admin"])})
    assert r.status_code == 401


@pytest.mark.parametrize("header", ["Bearer  {t}", "Bearer {t} trailing words", "Bearer \t{t}"])
def test_the_token_is_the_second_whitespace_separated_word(client: Any, world: dict[str, Any], header: str) -> None:
    r = client.get(URL, headers={"Authorization": header.format(t=world["admin"])})
    assert r.status_code == 200


def test_a_login_shows_its_account_only_as_a_relationship(client: Any, world: dict[str, Any]) -> None:
    data = _get(client, world, "?fields[iam/account/logins][]=account_id&fields[iam/account/logins][]=ip").json()
    assert {tuple(d["attributes"]) for d in data["data"]} == {("ip",)}
    assert all(d["relationships"]["account"]["data"]["type"] == "iam/accounts" for d in data["data"])


def test_cookie_auth(client: Any, world: dict[str, Any]) -> None:
    client.cookies.set("auth-token", world["admin"])
    try:
        assert client.get(URL).status_code == 200
    finally:
        client.cookies.clear()


def test_token_is_an_es256_jwt_with_verse_claims(client: Any, world: dict[str, Any]) -> None:
    header = jwt.get_unverified_header(world["admin"])
    claims = jwt.decode(world["admin"], options={"verify_signature": False})
    assert header["alg"] == "ES256"
    assert (claims["u"], claims["r"], claims["s"]) == (world["a"]["id"], "admin", ["read_all"])


def test_bad_and_expired_tokens(client: Any, world: dict[str, Any]) -> None:
    r = _get(client, world, token="abc")
    assert r.json()["errors"][0]["detail"] == "Not enough or too many segments"
    forged = world["admin"][:-4] + ("AAAA" if not world["admin"].endswith("AAAA") else "BBBB")
    assert _get(client, world, token=forged).json()["errors"][0]["detail"] == "Signature verification failed"
    client.put("/_loginaudit/clock", json={"now": "2026-11-22T13:00:01Z"})  # one hour later
    assert _get(client, world).json()["errors"][0]["detail"] == "Signature has expired"


def test_unknown_api_key_is_401(client: Any, world: dict[str, Any]) -> None:
    r = client.post("/api/v3/iam/auth/api/login", json={"key": "PULSE_nope"})
    assert (r.status_code, r.json()) == (401, UNAUTHORIZED)


def test_scopes(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    own = [d["relationships"]["account"]["data"]["id"] for d in _get(client, world, token=world["bo"]).json()["data"]]
    assert set(own) == {str(world["b"]["id"])} and len(own) == 2
    none = login(client, arrange.token("ingedata", "no_access_key", credential_id=world["b"]["id"]))
    r = _get(client, world, token=none)
    assert (r.status_code, r.json()) == (403, {"errors": [{"status": "403", "title": "Verse::Error::Unauthorized",
                                                           "detail": "unauthorized"}]})


def test_single_records(client: Any, world: dict[str, Any]) -> None:
    r = client.get(f"/api/v3/iam/people/{world['ana']['id']}", headers={"Authorization": f"Bearer {world['admin']}"})
    assert r.json()["data"]["attributes"]["first_name"] == "Ana"
    r = client.get("/api/v3/iam/accounts/999", headers={"Authorization": f"Bearer {world['admin']}"})
    assert (r.status_code, r.json()) == (404, {"errors": [{"status": "404", "title": "Verse::Error::RecordNotFound",
                                                           "detail": "999"}]})
    r = client.get(f"/api/v3/iam/accounts/{world['a']['id']}", headers={"Authorization": f"Bearer {world['bo']}"})
    assert r.status_code == 404  # not Bo's account


def test_huge_numbers_never_reach_sql(client: Any, world: dict[str, Any]) -> None:
    assert _get(client, world, "?filter[id]=99999999999999999999").json()["data"] == []
    r = _get(client, world, "?page[number]=1141263996123723261231199420416")
    assert (r.status_code, r.json()) == (422, _invalid("must be at most 2147483647", "/page/number"))
    r = client.get("/api/v3/iam/accounts/99999999999999999999", headers={"Authorization": f"Bearer {world['admin']}"})
    assert r.status_code == 404


# ---- accounts/me and the accounts and people index routes (issue 14, item 1) ------------------------

def _iam(client: Any, world: dict[str, Any], path: str, token: str = "admin") -> Any:
    return client.get(f"/api/v3/iam{path}", headers={"Authorization": f"Bearer {world[token]}"})


def test_accounts_me_is_the_tokens_own_account(client: Any, arrange: Arrange, world: dict[str, Any]) -> None:
    r = _iam(client, world, "/accounts/me", token="bo")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.api+json"
    assert r.json()["data"]["id"] == str(world["b"]["id"]) and r.json()["data"]["type"] == "iam/accounts"
    nothing = login(client, arrange.token("ingedata", "no_access_key", credential_id=world["b"]["id"]))
    assert client.get("/api/v3/iam/accounts/me", headers={"Authorization": f"Bearer {nothing}"}).status_code == 200
    assert client.get("/api/v3/iam/accounts/me").json() == UNAUTHORIZED


def test_accounts_index_pages_filters_sorts_counts_and_includes(client: Any, arrange: Arrange,
                                                                world: dict[str, Any]) -> None:
    other = arrange.tenant(name="Other org")
    arrange.credential(arrange.person(first_name="Zed", email="zed@ex.com"), other, login="zed@ex.com")
    body = _iam(client, world, "/accounts").json()
    assert [d["attributes"]["email"] for d in body["data"]] == ["ana@ex.com", "bo@ex.com"]  # its organization's
    assert body["meta"] == {}
    assert [d["id"] for d in _iam(client, world, "/accounts?sort=id,-email").json()["data"]] == [
        str(world["b"]["id"]), str(world["a"]["id"])]  # only the last key counts
    page = _iam(client, world, "/accounts?page[size]=1&page[number]=2&count=true").json()
    assert [d["id"] for d in page["data"]] == [str(world["b"]["id"])] and page["meta"] == {"count": 2, "more": False}
    only = _iam(client, world, "/accounts?filter[email]=bo@ex.com&included[]=person&fields[iam/people][]=first_name")
    assert [d["attributes"]["email"] for d in only.json()["data"]] == ["bo@ex.com"]
    assert only.json()["included"] == [{"type": "iam/people", "id": str(world["b"]["person_id"]),
                                        "attributes": {"first_name": "Bo"}}]
    assert _iam(client, world, "/accounts?filter[enabled]=f").json()["data"] == []
    assert len(_iam(client, world, "/accounts?filter[enabled]=yes").json()["data"]) == 2
    assert _iam(client, world, "/accounts?filter[id][]=abc").json()["data"] == []
    own = _iam(client, world, "/accounts", token="bo").json()["data"]
    assert [d["id"] for d in own] == [str(world["b"]["id"])]
    assert _iam(client, world, "/accounts?sort=password").json() == _invalid("is not a sortable field", "/sort")
    assert _iam(client, world, "/accounts?page[size]=0").json() == _invalid("must be between 1 and 1000",
                                                                             "/page/size")


def test_people_index(client: Any, world: dict[str, Any]) -> None:
    body = _iam(client, world, "/people?sort=-last_name&count=t").json()
    assert [d["attributes"]["last_name"] for d in body["data"]] == ["Rak", "Li"]
    assert body["meta"] == {"count": 2, "more": False}
    assert [d["attributes"]["first_name"] for d in _iam(client, world, "/people?filter[first_name][]=Bo").json()[
        "data"]] == ["Bo"]
    assert [d["id"] for d in _iam(client, world, "/people", token="bo").json()["data"]] == [
        str(world["b"]["person_id"])]


def test_times_render_as_ruby_time_to_s_or_iso_by_setting(client: Any, arrange: Arrange,
                                                          world: dict[str, Any]) -> None:
    whole = arrange.events({"credential_id": world["a"]["id"], "occurred_at": "2024-06-11T09:00:00Z"})[0]
    body = _get(client, world, f"?filter[id]={whole}").json()
    assert body["data"][0]["attributes"]["date"] == "2024-06-11 09:00:00 +0000"
    again = _get(client, world, "?filter[date]=" + "2024-06-11 09:00:00 +0000".replace(" ", "%20")).json()
    assert [d["id"] for d in again["data"]] == [str(whole)]  # what a client read back, it can filter on
    me = client.get("/api/v3/iam/accounts/me", headers={"Authorization": f"Bearer {world['admin']}"}).json()
    assert me["data"]["attributes"]["created_at"].endswith(" +0000")
    client.patch("/_loginaudit/vendors/ingedata/settings", json={"time_format": "iso8601"}).raise_for_status()
    body = _get(client, world, f"?filter[id]={whole}").json()
    assert body["data"][0]["attributes"]["date"] == "2024-06-11T09:00:00.000+00:00"


def test_a_remembered_token_is_checked_without_a_transaction_of_its_own(
        client: Any, world: dict[str, Any], store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """ingedata._decoded_at: once the store's generation remembers the token, its account and the clock,
    a read opens one transaction (the handler's), not two; refusals still come from the store."""
    assert _get(client, world).status_code == 200  # remembers them
    opened: list[int] = []
    real = type(store).session

    def counted(self: Any, **kwargs: Any) -> Any:
        opened.append(1)
        return real(self, **kwargs)

    monkeypatch.setattr(type(store), "session", counted)
    assert _get(client, world, "?page[size]=2").status_code == 200  # not the remembered answer's query
    assert len(opened) == 1
    client.patch(f"/_loginaudit/credentials/{world['a']['id']}", json={"active": False}).raise_for_status()
    assert _get(client, world, "?page[size]=3").status_code == 401  # a write moved the generation: asked again
