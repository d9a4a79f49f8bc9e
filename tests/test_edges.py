"""What each vendor answers at the edges hostile input reaches (issue 18): the answer, not just "no 5xx".

Extreme times compare like the vendors' own (Ruby Time, Java long) values do; text the store cannot
keep (NUL, lone surrogates) matches nothing when read and is refused when written; nesting and
sizes are bounded where they are parsed.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from conftest import Arrange, at

LATE = "9999-12-31T23:59:59-01:00"  # past Python's last UTC instant
EARLY = "0001-01-01T00:00:00+01:00"  # before its first


@pytest.fixture
def world(arrange: Arrange) -> dict[str, Any]:
    uni = arrange.tenant(name="Uni")
    jane = arrange.person(email="jane@ex.edu")
    cred = arrange.credential(jane, uni, login="jane", sis_id="L1")
    arrange.events(*({"credential_id": cred["id"], "occurred_at": at(h)} for h in (1, 2, 3)))
    return {"uni": uni, "jane": jane, "cred": cred,
            "sec": arrange.token("qradar", "sec_admin"),
            "canvas": arrange.token("canvas", "site_admin", credential_id=cred["id"]),
            "pw": arrange.token("qradar", "basic_admin", credential_id=cred["id"]),
            "ssojet": arrange.token("ssojet", "api_key", credential_id=cred["id"]),
            "pulse": arrange.token("ingedata", "admin_key", credential_id=cred["id"])}


def _qradar_total(client: Any, world: dict[str, Any], flt: str) -> Any:
    r = client.get("/api/access/login_attempts", params={"filter": flt}, headers={"SEC": world["sec"]})
    return r.json() if r.status_code != 200 else (len(r.json()), r.headers.get("content-range"))


def test_qradar_time_literals_beyond_python_compare_as_java_longs(client: Any, world: dict[str, Any]) -> None:
    last, first = 253402300799999, -62135596800000
    assert _qradar_total(client, world, f"attempt_time <= {last}") == (3, "items 0-2/3")
    assert _qradar_total(client, world, f"attempt_time <= {2**62}") == (3, "items 0-2/3")
    assert _qradar_total(client, world, f"attempt_time > {last}")[0] == 0
    assert _qradar_total(client, world, f"attempt_time = {last}")[0] == 0
    assert _qradar_total(client, world, f"attempt_time < {first}")[0] == 0
    assert _qradar_total(client, world, f"attempt_time >= {-(2**62)}")[0] == 3
    assert _qradar_total(client, world, f"attempt_time between 0 and {last}")[0] == 3
    assert _qradar_total(client, world, f"attempt_time != {last}")[0] == 3


@pytest.mark.parametrize("flt", ["not " * 45 + "user_id = 1", "not (" * 30 + "user_id = 1" + ")" * 30,
                                 " or ".join(["user_id = 1"] * 300)])
def test_qradar_filters_nested_or_long_past_the_bound_are_filter_errors(client: Any, world: dict[str, Any],
                                                                         flt: str) -> None:
    body = _qradar_total(client, world, flt)
    assert (body["code"], body["description"]) == (1010, "Invalid filter criteria supplied.")


def test_qradar_filters_just_inside_the_bounds_run_on_the_store(client: Any, world: dict[str, Any]) -> None:
    assert _qradar_total(client, world, "not " * 23 + "user_id = 0")[0] == 3  # odd: NOT (user_id = 0)
    assert _qradar_total(client, world, "(" * 300 + "user_id = 0" + ")" * 300)[0] == 0  # brackets add no depth
    assert _qradar_total(client, world, " or ".join([f"user_id = {world['cred']['id']}"] * 256))[0] == 3


def test_canvas_ignores_nothing_it_can_parse_even_past_year_9999(client: Any, world: dict[str, Any]) -> None:
    url = f"/api/v1/audit/authentication/logins/{world['cred']['id']}"
    auth = {"Authorization": f"Bearer {world['canvas']}"}
    assert len(client.get(url, headers=auth).json()["events"]) == 3
    assert client.get(url, params={"start_time": LATE}, headers=auth).json()["events"] == []
    assert client.get(url, params={"end_time": EARLY}, headers=auth).json()["events"] == []
    assert len(client.get(url, params={"start_time": EARLY, "end_time": LATE}, headers=auth).json()["events"]) == 3
    late_mark = "bookmark:" + base64.urlsafe_b64encode(json.dumps([LATE, 1]).encode()).decode().rstrip("=")
    assert len(client.get(url, params={"page": late_mark}, headers=auth).json()["events"]) == 3  # all older
    deep = "bookmark:" + base64.urlsafe_b64encode(b"[" * 5000).decode()
    assert len(client.get(url, params={"page": deep}, headers=auth).json()["events"]) == 3  # not ours: first page


def test_ingedata_dates_past_python_equal_no_login(client: Any, world: dict[str, Any]) -> None:
    token = client.post("/api/v3/iam/auth/api/login", json={"key": world["pulse"]}).json()["meta"]["token"]
    auth = {"Authorization": f"Bearer {token}"}
    for value in (LATE, EARLY):
        r = client.get("/api/v3/iam/account_logins", params={"filter[date]": value}, headers=auth)
        assert (r.status_code, r.json()["data"]) == (200, [])


def test_text_the_store_cannot_keep_matches_nothing_on_read(client: Any, world: dict[str, Any]) -> None:
    basic = base64.b64encode(f"jane:{world['pw']}\x00".encode()).decode()
    r = client.get("/api/access/login_attempts", headers={"Authorization": f"Basic {basic}"})
    assert (r.status_code, r.json()["code"]) == (401, 18)
    assert client.post("/api/v3/iam/auth/api/login", json={"key": world["pulse"] + "\x00"}).status_code == 401
    assert client.post("/api/v3/iam/auth/api/login",
                       content=b'{"key": "\\ud800"}', headers={"Content-Type": "application/json"}).status_code == 401
    r = client.get(f"/api/v1/users/{world['jane']['uuid']}%00/loginlogs",
                   headers={"Authorization": f"Bearer {world['ssojet']}"})
    assert r.status_code == 404
    r = client.get("/api/v1/audit/authentication/users/sis_login_id:jane%00",
                   headers={"Authorization": f"Bearer {world['canvas']}"})
    assert r.status_code == 404
    assert _qradar_total(client, world, 'remote_ip = "a\x00"')[0] == 0
    assert _qradar_total(client, world, 'remote_ip != "a\x00"')[0] == 3
    assert client.get("/_loginaudit/tokens", params={"vendor": "qradar\x00"}).json() == []


@pytest.mark.parametrize("body", [{"name": "a\x00b"}, {"name": "x", "sis_id": "\ud800"}])
def test_text_the_store_cannot_keep_is_refused_on_write(client: Any, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()  # json.dumps escapes both, as a client would send them
    r = client.post("/_loginaudit/tenants", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "store cannot keep" in r.json()["detail"]
    assert client.get("/_loginaudit/health").json()["counts"]["tenants"] == 0


@pytest.mark.parametrize("value", [LATE, EARLY, "9999-12-31T12:00:00Z"])
def test_control_plane_times_outside_the_store_range_are_422(client: Any, value: str) -> None:
    for method, path, body in (("PUT", "/_loginaudit/clock", {"now": value}),
                               ("POST", "/_loginaudit/tenants", {"name": "x", "created_at": value}),
                               ("POST", "/_loginaudit/events", {"events": [{"username": "x", "occurred_at": value}]})):
        r = client.request(method, path, json=body)
        assert r.status_code == 422 and "outside the times the store keeps" in r.json()["detail"], (path, r.text)


@pytest.mark.parametrize(("doc", "status", "where"), [
    ({"tenants": {"a": {"parent": [1]}}}, 400, "tenants.a.parent"),  # the Scenario schema names records by name
    ({"credentials": {"c": {"person": {}, "tenant": "a", "login": "x"}}}, 400, "credentials.c.person"),
    ({"events": [{"credential": 1, "occurred_at": "now"}]}, 400, "events.0.credential"),
    ({"events": [{"username": "x", "occurred_at": "+99999999w"}]}, 422, "events[0].occurred_at"),
    ({"events": [{"username": "x", "occurred_at": "-999999999d"}]}, 422, "events[0].occurred_at"),
    ({"events": [{"username": "x", "occurred_at": "now", "repeat": 3, "every": "99999999w"}]}, 422, "events[0]"),
    ({"events": [{"username": "x", "occurred_at": "now", "repeat": 100_000}] * 2}, 422, "events[1].repeat"),
    ({"events": [{"username": "x", "occurred_at": "now", "repeat": 2,
                  "uuid": "00000000-0000-4000-8000-000000000001"}]}, 422, "events[0].uuid"),
])
def test_scenarios_refuse_wrong_references_and_runaway_times(client: Any, doc: dict[str, Any], status: int,
                                                             where: str) -> None:
    r = client.post("/_loginaudit/scenarios", json=doc)
    assert r.status_code == status and where in r.json()["detail"], r.text
    assert client.get("/_loginaudit/health").json()["counts"]["login_events"] == 0


def test_yaml_scenarios_refuse_wrong_references_too(client: Any) -> None:
    r = client.post("/_loginaudit/scenarios", content=b"tenants: {a: {parent: [1]}}\n",
                    headers={"Content-Type": "application/yaml"})
    assert r.status_code == 422 and "tenants.a.parent" in r.json()["detail"], r.text


def test_yaml_alias_bombs_and_deep_nesting_are_refused_before_they_are_built(client: Any) -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 10)}]" for i in range(7)]
    started = time.process_time()
    for text in ("\n".join(lines), "a: " + "[" * 5000 + "]" * 5000):
        r = client.post("/_loginaudit/scenarios", content=text.encode(), headers={"Content-Type": "application/yaml"})
        assert r.status_code == 422 and ("too large" in r.text or "too deeply" in r.text), r.text
    assert time.process_time() - started < 5  # 10^8 nodes if expanded; refused while streaming
