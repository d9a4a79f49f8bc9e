"""The real `qradar4py` client (3.0) against the QRadar API over HTTP.

qradar4py's `Access` group points at `api/analytics/` (its bug); stock it gets our 404, and pointed
at the real path it reads the attempts, sends Range, filter, sort and fields, and gets QRadar errors.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

import pytest
from qradar4py.endpoints.access import Access

from conftest import Arrange, at


@pytest.fixture
def setup(arrange: Arrange) -> dict[str, Any]:
    console = arrange.tenant(name="console")
    users = [arrange.credential(arrange.person(email=f"u{i}@ex.com"), console, login=f"u{i}")["id"] for i in range(3)]
    arrange.events(*({"credential_id": users[i % 3], "occurred_at": at(i + 1), "ip": f"10.0.0.{i}",
                      "successful": i % 2 == 0} for i in range(9)))
    return {"users": users, "sec": arrange.token("qradar", "sec_admin")}


def _access(live_url: str, token: str, fixed: bool = True) -> Access:
    access = Access(urljoin(live_url + "/", "api/"), {"Version": "13.1", "Accept": "application/json",
                                                      "SEC": token}, True)
    if fixed:
        access._baseurl = urljoin(live_url + "/", "api/access/")
    return access


def test_stock_access_group_calls_the_wrong_path(live_url: str, setup: dict[str, Any]) -> None:
    status, _ = _access(live_url, setup["sec"], fixed=False).get_login_attempts()
    assert status == 404


def test_get_login_attempts_through_the_client(live_url: str, setup: dict[str, Any]) -> None:
    status, attempts = _access(live_url, setup["sec"]).get_login_attempts()
    assert status == 200 and len(attempts) == 9
    status, page = _access(live_url, setup["sec"]).get_login_attempts(
        Range="items=0-2", filter="attempt_result=FAILURE", sort="+attempt_time", fields="attempt_time,user_id")
    assert status == 200
    assert [set(a) for a in page] == [{"attempt_time", "user_id"}] * 3
    assert [a["attempt_time"] for a in page] == sorted(a["attempt_time"] for a in page)
    failures = {a["attempt_time"] for a in attempts if a["attempt_result"] == "FAILURE"}
    assert {a["attempt_time"] for a in page} <= failures


def test_client_sees_qradar_errors(live_url: str, setup: dict[str, Any]) -> None:
    status, body = _access(live_url, setup["sec"]).get_login_attempts(filter="user_id ==")
    assert (status, body["code"]) == (422, 1010)
    status, body = _access(live_url, "not-a-token").get_login_attempts()
    assert (status, body["code"]) == (401, 18)


def test_a_connector_walks_versions_about_users_then_attempts(live_url: str, client: Any,
                                                              setup: dict[str, Any]) -> None:
    """What a connector does first, in qradar4py's style (raw requests with SEC, Version, Range):
    pick a version the console serves, read the release, map user ids to names, then read attempts."""
    import httpx

    base = f"{live_url}/api"
    headers = {"SEC": setup["sec"], "Accept": "application/json"}
    versions = httpx.get(f"{base}/help/versions", headers={**headers, "Range": "items=0-0"},
                         params={"filter": "deprecated=false"})
    assert versions.status_code == 200 and versions.headers["content-range"] == "items 0-0/3"
    newest = versions.json()[0]["version"]
    assert newest == "27.0"
    headers["Version"] = newest
    about = httpx.get(f"{base}/system/about", headers=headers).json()
    assert about["release_name"] == "7.5.0 UpdatePackage 14"
    users = httpx.get(f"{base}/config/access/users", headers=headers, params={"fields": "id,username"}).json()
    names = {u["id"]: u["username"] for u in users}
    assert set(names) == set(setup["users"])
    attempts = httpx.get(f"{base}/access/login_attempts", headers={**headers, "Range": "items=0-3"}).json()
    assert {names[a["user_id"]] for a in attempts} <= {"u0", "u1", "u2"} and len(attempts) == 4
