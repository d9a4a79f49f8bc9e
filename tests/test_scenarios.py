"""Scenario files: one arrangement, named records, relative times, seen by every vendor API."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import NOW, at
from loginaudit import cli, scenario

SPRAY = """
tenants:
  uni: {name: Example University}
  dept: {name: Physics, parent: uni}
people:
  jane: {first_name: Jane, last_name: Doe, email: jdoe@ex.edu}
credentials:
  jane: {person: jane, tenant: uni, login: jdoe@ex.edu, role: admin}
tokens:
  admin: {vendor: unleash, kind: admin}
  jane-canvas: {vendor: canvas, kind: site_admin, credential: jane, secret: "1~fixed"}
events:
  - {credential: jane, occurred_at: -2h, ip: 203.0.113.7}
  - {username: ghost@ex.edu, occurred_at: -90m, successful: false, repeat: 3, every: 10s}
  - {credential: jane, occurred_at: 2026-11-22T11:59:00Z}
"""


def _load(client: Any, text: str) -> Any:
    return client.post("/_loginaudit/scenarios", content=text.encode(), headers={"Content-Type": "application/yaml"})


def test_a_yaml_scenario_names_records_and_resolves_relative_times(client: Any) -> None:
    r = _load(client, SPRAY)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["tenants"] == {"uni": 1, "dept": 2} and out["people"] == {"jane": 1} and out["events"] == 5
    assert out["tokens"]["jane-canvas"] == {"vendor": "canvas", "kind": "site_admin", "secret": "1~fixed",
                                            "credential_id": 1}
    assert client.get("/_loginaudit/tenants/2").json()["parent_id"] == 1
    events = client.get("/_loginaudit/events?limit=10").json()["events"]
    times = sorted(e["occurred_at"] for e in events)
    assert times[0].startswith(at(2)[:19]) and times[-1].startswith("2026-11-22T11:59:00")
    ghost = sorted(e["occurred_at"][:19] for e in events if e["username"] == "ghost@ex.edu")
    assert ghost == ["2026-11-22T10:30:00", "2026-11-22T10:30:10", "2026-11-22T10:30:20"]  # NOW is 12:00


def test_a_json_scenario_is_the_same_document(client: Any) -> None:
    r = client.post("/_loginaudit/scenarios", json={"events": [{"username": "x@ex.edu", "occurred_at": "now"}]})
    assert r.status_code == 201
    assert client.get("/_loginaudit/events").json()["events"][0]["occurred_at"].startswith(NOW.isoformat()[:19])


@pytest.mark.parametrize(("text", "where"), [
    ("events: [{credential: nobody, occurred_at: -1h}]", "events[0].credential: no credential named 'nobody'"),
    ("events: [{username: x, occurred_at: yesterday}]", "events[0].occurred_at: not a time"),
    ("people: {a: {first_name: 1, last_name: x, email: y}}", "people.a.first_name"),
    ("people: {a: {first_name: A, last_name: B, email: c, shoe_size: 9}}", "people.a"),
    ("tenants: {a: {name: A, parent: b}}", "tenants.a.parent"),
    ("tokens: {t: {vendor: canvas, kind: site_admin}}", "needs a credential_id"),
    ("events: [{username: x, occurred_at: now, repeat: 0}]", "events[0].repeat"),
    ("friends: {}", "scenario"),
    ("- just a list", "a scenario is a mapping"),
    ("events: [", "not YAML"),
])
def test_a_bad_scenario_is_a_422_naming_the_place_and_stores_nothing(client: Any, text: str, where: str) -> None:
    r = _load(client, "people: {first: {first_name: A, last_name: B, email: a@b}}\n" + text
              if text.startswith(("events", "tokens")) else text)
    assert r.status_code == 422, r.text
    assert where in r.json()["detail"]
    assert client.get("/_loginaudit/health").json()["counts"]["people"] == 0  # atomic


def test_the_shipped_scenario_shows_up_in_every_vendor_api(client: Any) -> None:
    assert client.get("/_loginaudit/scenarios").json() == ["account-takeover"]
    r = client.post("/_loginaudit/scenarios", json={"name": "account-takeover"})
    assert r.status_code == 201
    out = r.json()
    tokens = {name: t["secret"] for name, t in out["tokens"].items()}
    jane = out["people"]["jane"]
    # 20 failed + 1 normal + 1 takeover for Jane; 5 for an unknown name; 1 for Sam: 28 in all
    assert out["events"] == 28
    unleash = client.get("/api/admin/logins", headers={"Authorization": tokens["unleash-admin"]}).json()
    assert len(unleash["events"]) == 28
    canvas = client.get(f"/api/v1/audit/authentication/users/{jane}?per_page=100",
                        headers={"Authorization": "Bearer " + tokens["canvas-admin"]}).json()
    assert len(canvas["events"]) == 2  # Canvas audits successful logins only
    qradar = client.get("/api/access/login_attempts", headers={"SEC": tokens["qradar-admin"],
                                                              "Range": "items=0-0"})
    assert qradar.headers["content-range"] == "items 0-0/23"  # QRadar records attempts of known users only
    person = client.get(f"/_loginaudit/people/{jane}").json()
    ssojet = client.get(f"/api/v1/users/{person['uuid']}/loginlogs",
                        headers={"Authorization": "Bearer " + tokens["ssojet-key"]}, params={"event": "login"})
    assert ssojet.status_code == 200 and len(ssojet.json()["audit_logs"]) == 2  # successful logins
    jwt = client.post("/api/v3/iam/auth/api/login", json={"key": tokens["ingedata-admin"]}).json()["meta"]["token"]
    ingedata = client.get("/api/v3/iam/account_logins?page[size]=100&count=true",
                          headers={"Authorization": f"Bearer {jwt}"}).json()
    assert ingedata["meta"]["count"] == 3  # successful logins of accounts
    assert client.post("/_loginaudit/scenarios", json={"name": "nope"}).status_code == 404
    assert client.post("/_loginaudit/scenarios", json={"name": "account-takeover", "people": {}}).status_code == 422


def test_the_cli_loads_a_scenario_file(tmp_path: Any, capsys: Any, store: Any) -> None:
    path = tmp_path / "spray.yaml"
    path.write_text(SPRAY)
    cli.main(["--database-url", store.url, "load", "--reset", str(path)])
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"loaded {path}: ") and "5 events" in line and "\n" not in line  # one line (issue 16)
    cli.main(["--database-url", store.url, "load", "--reset", "--json", str(path)])
    assert '"events": 5' in capsys.readouterr().out
    with pytest.raises(SystemExit, match="no scenario file"):
        cli.main(["--database-url", store.url, "load", str(tmp_path / "missing.yaml")])


def test_durations() -> None:
    assert scenario.duration("90m").total_seconds() == 5400
    assert scenario.duration("-1w").days == -7
    with pytest.raises(ValueError):
        scenario.duration("soon")
