"""Mock-server behaviours: injected faults, rate limits, Prefer, and the request journal."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import yaml

from conftest import Arrange, at
from loginaudit.registry import spec_dir

UNLEASH, QRADAR = "/api/admin/logins", "/api/access/login_attempts"
CANVAS_USER = "/api/v1/audit/authentication/users/{}"


def _put(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = client.put(f"/_loginaudit{path}", json=body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture
def world(arrange: Arrange) -> dict[str, Any]:
    """One admin with a credential for every vendor and two events."""
    tenant = arrange.tenant()
    person = arrange.person()
    cred = arrange.credential(person, tenant, role="admin")
    arrange.events({"credential_id": cred["id"], "occurred_at": at(2)},
                   {"credential_id": cred["id"], "occurred_at": at(1)})
    return {
        "person": person,
        "unleash": {"Authorization": arrange.token("unleash", "admin")},
        "canvas": {"Authorization": "Bearer " + arrange.token("canvas", "site_admin", credential_id=cred["id"])},
        "canvas2": {"Authorization": "Bearer " + arrange.token("canvas", "site_admin", credential_id=cred["id"])},
        "qradar": {"SEC": arrange.token("qradar", "sec_admin")},
        "ssojet": {"Authorization": arrange.token("ssojet", "api_key", credential_id=cred["id"])},
    }


# ---- faults ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("vendor", "path", "shape"), [
    ("unleash", UNLEASH, {"name": "InternalError"}),
    ("qradar", QRADAR, {"code": 1020, "http_response": {"code": 503, "message": "Service Unavailable"}}),
    ("canvas", CANVAS_USER.format(1), {"errors": [{"message": "An error occurred."}]}),
])
def test_injected_errors_use_the_vendors_own_5xx_body(client: Any, world: dict[str, Any], vendor: str, path: str,
                                                      shape: dict[str, Any]) -> None:
    _put(client, "/faults", {"rules": [{"vendor": vendor, "error_rate": 1, "error_status": 503}]})
    r = client.get(path, headers=world[vendor])
    assert r.status_code == 503
    assert shape.items() <= r.json().items()
    assert r.headers["content-type"].startswith("application/json")
    other = client.get("/api/admin/logins" if vendor != "unleash" else QRADAR,
                       headers=world["unleash" if vendor != "unleash" else "qradar"])
    assert other.status_code == 200  # other vendors are untouched


def test_an_operations_own_rule_wins_over_the_vendor_wide_one(client: Any, world: dict[str, Any]) -> None:
    _put(client, "/faults", {"rules": [{"vendor": "canvas", "error_rate": 1},
                                       {"vendor": "canvas", "operation": "queryByUser", "error_rate": 0}]})
    assert client.get(CANVAS_USER.format(world["person"]["id"]), headers=world["canvas"]).status_code == 200
    assert client.get("/api/v1/audit/authentication/accounts/1", headers=world["canvas"]).status_code == 500


def test_delays_hold_the_response_back(client: Any, world: dict[str, Any]) -> None:
    _put(client, "/faults", {"rules": [{"vendor": "unleash", "delay_ms": 150, "delay_max_ms": 200}]})
    started = time.perf_counter()
    assert client.get(UNLEASH, headers=world["unleash"]).status_code == 200
    assert time.perf_counter() - started >= 0.15
    entry = client.get("/_loginaudit/journal").json()["entries"][-1]
    assert entry["latency_ms"] >= 150 and entry["outcome"] == "handled"


def test_random_faults_repeat_under_the_same_seed(client: Any, world: dict[str, Any]) -> None:
    def run() -> list[int]:
        _put(client, "/faults", {"rules": [{"vendor": "unleash", "error_rate": 0.5}], "seed": 7})
        return [client.get(UNLEASH, headers=world["unleash"]).status_code for _ in range(30)]

    first = run()
    assert set(first) == {200, 500}
    assert run() == first


def test_fault_rules_are_validated_and_cleared_by_reset(client: Any) -> None:
    r = client.put("/_loginaudit/faults", json={"rules": [{"vendor": "canvas", "operation": "nope"}]})
    assert r.status_code == 422 and "queryByUser" in r.json()["detail"]
    assert client.put("/_loginaudit/faults", json={"rules": [{"vendor": "zoom"}]}).status_code == 422
    assert client.put("/_loginaudit/faults", json={"rules": [{"vendor": "qradar", "error_rate": 2}]}).status_code == 400
    _put(client, "/faults", {"rules": [{"vendor": "qradar", "error_rate": 1}]})
    assert client.get("/_loginaudit/faults").json()["rules"][0]["vendor"] == "qradar"
    client.post("/_loginaudit/reset")
    assert client.get("/_loginaudit/faults").json() == {"rules": [], "seed": None}
    assert client.get(QRADAR).status_code == 401  # no fault any more: the normal missing-credential answer


def test_a_dropped_connection_reaches_a_real_client_as_a_protocol_error(client: Any, world: dict[str, Any],
                                                                        live_url: str) -> None:
    _put(client, "/faults", {"rules": [{"vendor": "qradar", "drop_rate": 1}]})
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(live_url + QRADAR, headers=world["qradar"])
    entry = client.get("/_loginaudit/journal?vendor=qradar").json()["entries"][-1]
    assert entry["outcome"] == "fault-drop"
    client.delete("/_loginaudit/faults")
    assert httpx.get(live_url + QRADAR, headers=world["qradar"]).status_code == 200


# ---- rate limits -----------------------------------------------------------------------------------------

def test_canvas_throttles_with_its_own_403_per_token(client: Any, world: dict[str, Any]) -> None:
    _put(client, "/rate-limits", {"rules": [{"vendor": "canvas", "requests": 2, "window_seconds": 60}]})
    path = CANVAS_USER.format(world["person"]["id"])
    assert [client.get(path, headers=world["canvas"]).status_code for _ in range(2)] == [200, 200]
    r = client.get(path, headers=world["canvas"])
    assert r.status_code == 403
    assert r.text == "403 Forbidden (Rate Limit Exceeded)\n"
    assert r.headers["x-rate-limit-remaining"] == "0.0"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert client.get(path, headers=world["canvas2"]).status_code == 200  # another token, another allowance


def test_canvas_throttle_status_setting_gives_the_429_variant(client: Any, world: dict[str, Any]) -> None:
    client.patch("/_loginaudit/vendors/canvas/settings", json={"throttle_status": "429"}).raise_for_status()
    _put(client, "/rate-limits", {"rules": [{"vendor": "canvas", "requests": 1, "window_seconds": 60}]})
    path = CANVAS_USER.format(world["person"]["id"])
    assert client.get(path, headers=world["canvas"]).status_code == 200
    r = client.get(path, headers=world["canvas"])
    assert (r.status_code, r.text) == (429, "429 Too Many Requests (Rate Limit Exceeded)\n")
    assert r.headers["x-rate-limit-remaining"] == "0.0"
    r = client.patch("/_loginaudit/vendors/canvas/settings", json={"throttle_status": "418"})
    assert r.status_code == 422


def test_a_query_token_is_one_caller_on_every_page_url(client: Any, world: dict[str, Any]) -> None:
    _put(client, "/rate-limits", {"rules": [{"vendor": "canvas", "requests": 2, "window_seconds": 60}]})
    token = world["canvas"]["Authorization"].removeprefix("Bearer ")
    path = CANVAS_USER.format(world["person"]["id"])
    pages = [f"{path}?access_token={token}&per_page={n}" for n in (1, 2, 3)]
    assert [client.get(url).status_code for url in pages] == [200, 200, 403]


def test_qradar_and_unleash_answer_429_with_retry_after(client: Any, world: dict[str, Any]) -> None:
    _put(client, "/rate-limits", {"rules": [{"vendor": "qradar", "requests": 1, "window_seconds": 30},
                                            {"vendor": "unleash", "requests": 0}]})
    assert client.get(QRADAR, headers=world["qradar"]).status_code == 200
    r = client.get(QRADAR, headers=world["qradar"])
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 30
    assert r.json()["http_response"]["code"] == 429
    r = client.get(UNLEASH, headers=world["unleash"])
    assert r.status_code == 429 and r.text == "Too many requests, please try again later."
    assert r.headers["ratelimit-limit"] == "0" and "retry-after" in r.headers


def test_a_new_window_restores_the_allowance(client: Any, world: dict[str, Any]) -> None:
    _put(client, "/rate-limits", {"rules": [{"vendor": "unleash", "requests": 1, "window_seconds": 0.2}]})
    assert [client.get(UNLEASH, headers=world["unleash"]).status_code for _ in range(2)] == [200, 429]
    time.sleep(0.25)
    assert client.get(UNLEASH, headers=world["unleash"]).status_code == 200
    client.delete("/_loginaudit/rate-limits")
    assert client.get("/_loginaudit/rate-limits").json() == {"rules": []}


# ---- Prefer ----------------------------------------------------------------------------------------------

def _example(spec: str, path: str, code: str, media: str, name: str | None = None) -> Any:
    doc = yaml.safe_load((spec_dir() / spec).read_text())
    content = doc["paths"][path]["get"]["responses"][code]["content"][media]
    return content["examples"][name]["value"] if name else content["example"]


def test_prefer_returns_the_documented_example_without_credentials(client: Any) -> None:
    r = client.get(UNLEASH, headers={"Prefer": "code=401, example=badToken"})
    assert r.status_code == 401
    assert r.json() == _example("unleash.yaml", "/logins", "401", "application/json", "badToken")
    assert r.headers["content-type"] == "application/json; charset=utf-8"  # the vendor's wire type
    r = client.get(UNLEASH, headers={"Prefer": "code=200", "Accept": "text/csv"})
    assert r.status_code == 200 and r.text == _example("unleash.yaml", "/logins", "200", "text/csv")


def test_prefer_example_alone_and_the_query_twins(client: Any) -> None:
    r = client.get(UNLEASH, headers={"Prefer": "example=permission"})
    assert r.status_code == 403
    r = client.get(QRADAR + "?__code=422")
    assert r.status_code == 422
    assert r.json() == _example("qradar.yaml", "/access/login_attempts", "422", "application/json")
    for escaped in ("%5F%5Fcode=422", "_%5fcode=422", "%5f_code=422"):  # a key is unquoted before it is read
        assert client.get(QRADAR + "?" + escaped).status_code == 422, escaped
    assert client.get(QRADAR + "?x__code=422").status_code != 422


def test_prefer_for_an_error_without_example_gives_the_vendors_body(client: Any) -> None:
    r = client.get(QRADAR, headers={"Prefer": "code=500"})
    assert r.status_code == 500 and r.json()["code"] == 1020


def test_prefer_for_an_undocumented_response_says_what_is_documented(client: Any) -> None:
    r = client.get(QRADAR, headers={"Prefer": "code=418"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert "200" in r.json()["documented"]
    r = client.get(UNLEASH, headers={"Prefer": "code=401, example=nope"})
    assert r.status_code == 422 and "nope" in r.json()["detail"]


# ---- journal ---------------------------------------------------------------------------------------------

def test_the_journal_records_what_clients_sent_with_secrets_redacted(client: Any, world: dict[str, Any]) -> None:
    client.delete("/_loginaudit/journal")
    client.get(UNLEASH + "?limit=5", headers=world["unleash"])
    client.get(CANVAS_USER.format(world["person"]["id"]) + "?access_token=s3cret&per_page=2")
    client.get(QRADAR, headers={**world["qradar"], "Cookie": "JSESSIONID=abc; theme=dark"})
    client.get("/api/nowhere")  # QRadar's /api tree: its 404
    client.get("/nowhere")
    client.get("/_loginaudit/health")  # the harness itself is not journaled
    entries = client.get("/_loginaudit/journal").json()["entries"]
    assert [(e["vendor"], e["operation"], e["status"]) for e in entries] == [
        ("unleash", "getLoginHistory", 200), ("canvas", "queryByUser", 401), ("qradar", "getLoginAttempts", 200),
        ("qradar", None, 404), (None, None, 404)]
    unleash, canvas, qradar, _, _ = entries
    assert unleash["headers"]["authorization"] == "<redacted>" and unleash["query"] == [{"name": "limit", "value": "5"}]
    assert {"name": "access_token", "value": "<redacted>"} in canvas["query"]
    assert qradar["headers"]["sec"] == "<redacted>"
    assert qradar["headers"]["cookie"] == "JSESSIONID=<redacted>; theme=<redacted>"
    assert all(e["latency_ms"] >= 0 for e in entries)
    assert world["qradar"]["SEC"] not in str(entries)


def test_the_journal_filters_bounds_clears_and_resets(client: Any, world: dict[str, Any]) -> None:
    client.get(CANVAS_USER.format(1), headers={"Authorization": "Bearer x"})
    for _ in range(3):
        client.get(UNLEASH, headers=world["unleash"])
    assert len(client.get("/_loginaudit/journal?vendor=unleash").json()["entries"]) == 3
    assert len(client.get("/_loginaudit/journal?vendor=unleash&limit=2").json()["entries"]) == 2
    r = client.patch("/_loginaudit/journal", json={"size": 2})
    assert r.json()["size"] == 2 and [e["vendor"] for e in r.json()["entries"]] == ["unleash", "unleash"]
    client.patch("/_loginaudit/journal", json={"size": 0})
    client.get(UNLEASH, headers=world["unleash"])
    assert client.get("/_loginaudit/journal").json()["entries"] == []
    client.patch("/_loginaudit/journal", json={"size": 100})
    client.get(UNLEASH, headers=world["unleash"])
    assert client.delete("/_loginaudit/journal").status_code == 204
    assert client.get("/_loginaudit/journal").json()["entries"] == []
    client.get(UNLEASH, headers=world["unleash"])
    client.post("/_loginaudit/reset")
    assert client.get("/_loginaudit/journal").json()["entries"] == []


def test_outcomes_are_journaled(client: Any, world: dict[str, Any]) -> None:
    client.get(UNLEASH, headers={"Prefer": "code=200"})
    _put(client, "/rate-limits", {"rules": [{"vendor": "unleash", "requests": 0}]})
    client.get(UNLEASH, headers=world["unleash"])
    client.delete("/_loginaudit/rate-limits")
    _put(client, "/faults", {"rules": [{"vendor": "unleash", "error_rate": 1}]})
    client.get(UNLEASH, headers=world["unleash"])
    outcomes = [(e["outcome"], e["status"]) for e in client.get("/_loginaudit/journal").json()["entries"]]
    assert outcomes[-3:] == [("prefer", 200), ("throttled", 429), ("fault-error", 500)]
