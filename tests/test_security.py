"""Security and durability holes found by an attacker and a crashing host (issue 19), each reproduced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import inspect

from conftest import NOW, Arrange, at
from loginaudit.app import create_app
from loginaudit.storage import Store, settings
from loginaudit.storage.models import LoginEvent, indexes_on
from loginaudit.storage.records import ingest_events
from test_cli import _serving


def test_canvas_account_admin_never_reads_another_root_accounts_events(client: Any, arrange: Arrange) -> None:
    """A person with an active login on root A and a deactivated one on root B: A's admin sees A only."""
    a, b = arrange.tenant(name="A"), arrange.tenant(name="B")
    admin = arrange.credential(arrange.person(email="admin@a.edu"), a, login="admin")
    token = arrange.token("canvas", "account_admin", credential_id=admin["id"])
    jane = arrange.person(email="jane@ex.edu")
    on_a = arrange.credential(jane, a, login="jane-a")
    on_b = arrange.credential(jane, b, login="jane-b", active=False)
    arrange.events({"credential_id": on_a["id"], "occurred_at": at(2)},
                   {"credential_id": on_b["id"], "occurred_at": at(1)})
    r = client.get(f"/api/v1/audit/authentication/users/{jane['id']}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert [e["links"]["login"] for e in r.json()["events"]] == [on_a["id"]]
    assert [acc["id"] for acc in r.json()["linked"]["accounts"]] == [a["id"]]


@pytest.mark.parametrize("switched_off", [{"active": False}, {"enabled": False},
                                          {"expires_at": "2000-01-01T00:00:00Z"}, "person"])
def test_secrets_of_a_switched_off_credential_stop_working(client: Any, arrange: Arrange, switched_off: Any) -> None:
    uni = arrange.tenant(name="Uni")
    person = arrange.person(email="jane@ex.edu", **({"active": False} if switched_off == "person" else {}))
    cred = arrange.credential(person, uni, login="jane", **({} if switched_off == "person" else switched_off))
    arrange.events({"credential_id": cred["id"], "occurred_at": at(1)})
    canvas = arrange.token("canvas", "user", credential_id=cred["id"])
    r = client.get(f"/api/v1/audit/authentication/logins/{cred['id']}", headers={"Authorization": f"Bearer {canvas}"})
    assert (r.status_code, r.json()) == (401, {"errors": [{"message": "Invalid access token."}]})
    sec = arrange.token("qradar", "sec_user", credential_id=cred["id"])
    r = client.get("/api/access/login_attempts", headers={"SEC": sec})
    assert (r.status_code, r.json()["code"]) == (401, 18)
    key = arrange.token("ssojet", "api_key", credential_id=cred["id"])
    r = client.get(f"/api/v1/users/{person['uuid']}/loginlogs", params={"client_id": uni["client_id"]},
                   headers={"Authorization": f"Bearer {key}"})
    assert (r.status_code, r.json()["error"]) == (401, 2001)
    pulse = arrange.token("ingedata", "admin_key", credential_id=cred["id"])
    r = client.post("/api/v3/iam/auth/api/login", json={"key": pulse})
    assert (r.status_code, r.json()["errors"][0]["detail"]) == (401, "unauthorized_access")


def test_ingedata_signing_key_is_never_served_and_forged_accounts_fail(client: Any, arrange: Arrange,
                                                                       store: Any) -> None:
    cred = arrange.credential(arrange.person(), arrange.tenant(), login="jane")
    key = arrange.token("ingedata", "admin_key", credential_id=cred["id"])
    token = client.post("/api/v3/iam/auth/api/login", json={"key": key}).json()["meta"]["token"]
    shown = client.get("/_loginaudit/vendors/ingedata/settings").json()
    assert "jwt_key" not in shown and "PRIVATE KEY" not in str(shown)
    with store.session() as s:  # an attacker who had the key (it used to be served) mints for account 999
        pem = settings.read_private(s, "ingedata")["jwt_key"]
    claims = {"u": 999, "r": "admin", "s": ["read_all"], "exp": int((NOW + timedelta(days=9000)).timestamp())}
    forged = jwt.encode(claims, pem, algorithm="ES256")
    for bearer, status in ((token, 200), (forged, 401)):
        r = client.get("/api/v3/iam/account_logins", headers={"Authorization": f"Bearer {bearer}"})
        assert r.status_code == status, r.text


def test_qradar_total_counts_a_batch_that_commits_after_a_later_one(client: Any, arrange: Arrange, store: Any) -> None:
    """On PostgreSQL ids are taken at insert and seen at commit: a lower-id batch can commit last."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite commits one writer at a time: the race needs PostgreSQL")
    cred = arrange.credential(arrange.person(), arrange.tenant(), login="jane")
    sec = arrange.token("qradar", "sec_admin")
    batch = [{"credential_id": cred["id"], "occurred_at": NOW - timedelta(minutes=m)} for m in range(1, 4)]

    def total() -> str:
        r = client.get("/api/access/login_attempts", headers={"SEC": sec, "Range": "items=0-0"})
        return str(r.headers["content-range"]).rsplit("/", 1)[1]

    slow = store.session()
    ingest_events(slow.__enter__(), batch)  # ids 1-3, not committed yet
    with store.session() as s:
        ingest_events(s, batch[:2])  # ids 4-5, committed
    assert total() == "2"
    slow.__exit__(None, None, None)  # the lower ids commit last; the highest id did not move
    assert total() == "5"


def test_ingest_is_idempotent_on_uuid(client: Any, arrange: Arrange) -> None:
    cred = arrange.credential(arrange.person(), arrange.tenant(), login="jane")
    batch = [{"credential_id": cred["id"], "occurred_at": at(h), "uuid": f"00000000-0000-4000-8000-00000000000{h}"}
             for h in (1, 2, 3)]
    first = arrange.events(*batch)
    assert arrange.events(*batch) == first  # the retry stores nothing and answers the same ids
    assert arrange.events(batch[1], {**batch[1], "ip": "192.0.2.1"}) == [first[1], first[1]]  # the stored one wins
    assert client.get("/_loginaudit/health").json()["counts"]["login_events"] == 3


def test_a_batch_retried_after_the_server_was_killed_is_stored_once(tmp_path: Any) -> None:
    """The client never saw the answer (kill -9 after the commit) and sends the batch again."""
    batch = {"events": [{"username": "x@ex.edu", "occurred_at": "2026-11-22T08:00:00Z",
                         "uuid": f"00000000-0000-4000-8000-00000000000{i}"} for i in range(5)]}
    with _serving(tmp_path, "--demo-events", "0") as (base, _), httpx.Client(base_url=base) as http:
        http.post("/_loginaudit/events", json=batch).raise_for_status()
        pid = http.get("/_loginaudit/health").json()["worker"]
        os.kill(pid, signal.SIGKILL)
    with _serving(tmp_path, "--demo-events", "0") as (base, _), httpx.Client(base_url=base) as http:
        assert http.post("/_loginaudit/events", json=batch).status_code == 201
        assert http.get("/_loginaudit/health").json()["counts"]["login_events"] == 5


def test_startup_rebuilds_indexes_a_killed_seed_dropped(store: Any) -> None:
    built = indexes_on(LoginEvent.__table__, store.engine.dialect.name)
    with store.engine.begin() as conn:  # what a seed killed inside its bulk load leaves behind
        for index in built:
            index.drop(conn)
    Store(str(store.engine.url.render_as_string(hide_password=False))).create_schema()
    names = {ix["name"] for ix in inspect(store.engine).get_indexes("login_events")}
    assert {str(ix.name) for ix in built} <= names


def test_seeding_twice_is_a_message_not_a_traceback(tmp_path: Any) -> None:
    env = {**os.environ, "LOGINAUDIT_DATABASE_URL": f"sqlite:///{tmp_path / 'seed.db'}"}
    command = [sys.executable, "-m", "loginaudit", "seed", "--events", "10"]
    assert subprocess.run(command, env=env, capture_output=True, text=True).returncode == 0
    again = subprocess.run(command, env=env, capture_output=True, text=True)
    assert again.returncode != 0 and "Traceback" not in again.stderr
    assert "already holds seed 1" in again.stderr


def test_two_writers_on_one_sqlite_file_wait_for_each_other(tmp_path: Any) -> None:
    """What two `serve --workers 2` processes on SQLite do: concurrent batches all land (no 500)."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    apps = [create_app(url), create_app(url)]
    with apps[0].test_client() as first:
        cred = first.post("/_loginaudit/credentials", json={
            "person_id": first.post("/_loginaudit/people", json={"first_name": "J", "last_name": "D",
                                                                 "email": "j@ex.edu"}).json()["id"],
            "tenant_id": first.post("/_loginaudit/tenants", json={"name": "U"}).json()["id"], "login": "j"}).json()
    statuses: list[int] = []

    def writer(app: Any) -> None:
        with app.test_client() as c:
            for _ in range(10):
                batch = [{"credential_id": cred["id"], "occurred_at": "2026-11-22T08:00:00Z"}] * 2000
                statuses.append(c.post("/_loginaudit/events", json={"events": batch}).status_code)

    threads = [threading.Thread(target=writer, args=(app,)) for app in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [201] * 20
    with apps[1].test_client() as c:
        assert c.get("/_loginaudit/health").json()["counts"]["login_events"] == 40_000
    for app in apps:
        app.store.dispose()


def test_only_known_host_names_are_answered(client: Any) -> None:
    """DNS rebinding: a page at evil.example resolves its name to 127.0.0.1 and reads /tokens."""
    for path in ("/_loginaudit/tokens", "/api/admin/logins", "/"):
        r = client.get(path, headers={"Host": "evil.example:8080"})
        assert r.status_code == 421 and "--allowed-host" in r.json()["detail"], path
    assert client.get("/_loginaudit/health", headers={"Host": "localhost:8080"}).status_code == 200
    assert client.get("/_loginaudit/health", headers={"Host": "[::1]:8080"}).status_code == 200


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Origin": "http://testserver:3000"}, {"Sec-Fetch-Site": "cross-site"},
                                     {"Content-Type": "text/plain"}])
def test_browsers_cannot_write_to_the_control_plane(client: Any, arrange: Arrange, headers: dict[str, str]) -> None:
    arrange.tenant(name="Kept")
    r = client.post("/_loginaudit/reset", headers=headers)
    assert r.status_code in (403, 415), r.text
    assert client.get("/_loginaudit/health").json()["counts"]["tenants"] == 1
    assert client.post("/_loginaudit/reset", headers={"Origin": "http://testserver"}).status_code == 204


def test_a_control_token_guards_the_control_plane_but_not_its_docs(tmp_path: Any) -> None:
    app = create_app(f"sqlite:///{tmp_path / 'guarded.db'}", control_token="s3cret")
    try:
        with app.test_client() as c:
            r = c.get("/_loginaudit/tokens")
            assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
            assert c.get("/_loginaudit/tokens", headers={"Authorization": "Bearer s3cret"}).status_code == 200
            assert c.get("/_loginaudit/openapi.json").status_code == 200
            assert c.get("/api/admin/logins").status_code == 401  # the vendors' own auth, untouched
    finally:
        app.store.dispose()


def test_serving_on_every_interface_warns_and_answers_any_host(tmp_path: Any) -> None:
    with _serving(tmp_path, "--host", "0.0.0.0", "--demo-events", "0") as (base, banner):
        assert banner.startswith("WARNING: serving on 0.0.0.0") and "--control-token" in banner
        assert httpx.get(f"{base}/_loginaudit/health", headers={"Host": "emulator.internal"}).status_code == 200


def test_workers_exit_when_their_supervisor_is_killed(tmp_path: Any) -> None:
    with _serving(tmp_path, "--workers", "2", "--demo-events", "0") as (base, _):
        workers = set()
        for _ in range(100):
            with httpx.Client(base_url=base) as http:  # a new connection each time: either worker answers
                workers.add(http.get("/_loginaudit/health").json()["worker"])
            if len(workers) == 2:
                break
        assert len(workers) == 2
        (supervisor,) = _parents_of(workers)
        os.kill(supervisor, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def _parents_of(workers: set[int]) -> set[int]:
    """The workers' parent: the `serve` supervisor."""
    parents = set()
    for pid in workers:
        with open(f"/proc/{pid}/stat") as fh:
            parents.add(int(fh.read().split(") ", 1)[1].split()[1]))
    assert len(parents) == 1
    return parents


def test_admin_tokens_of_one_tenant_read_that_tenant_only(client: Any, arrange: Arrange) -> None:
    """Each tenant is its own QRadar console, Pulse organization, Unleash instance."""
    a, b = arrange.tenant(name="A"), arrange.tenant(name="B")
    alice = arrange.credential(arrange.person(email="alice@a.com"), a, login="alice", role="admin")
    bob = arrange.credential(arrange.person(email="bob@b.com"), b, login="bob", role="admin")
    arrange.events({"credential_id": alice["id"], "occurred_at": at(2)},
                   {"credential_id": bob["id"], "occurred_at": at(1)})
    pw = arrange.token("qradar", "basic_admin", credential_id=bob["id"])
    basic = httpx.BasicAuth("bob", pw)
    r = client.get("/api/access/login_attempts", auth=basic)
    assert [row["user_id"] for row in r.json()] == [bob["id"]]
    key = arrange.token("ingedata", "admin_key", credential_id=bob["id"])
    jwt_b = client.post("/api/v3/iam/auth/api/login", json={"key": key}).json()["meta"]["token"]
    auth = {"Authorization": f"Bearer {jwt_b}"}
    r = client.get("/api/v3/iam/account_logins", headers=auth)
    assert [row["relationships"]["account"]["data"]["id"] for row in r.json()["data"]] == [str(bob["id"])]
    assert client.get(f"/api/v3/iam/accounts/{alice['id']}", headers=auth).status_code == 404
    assert client.get(f"/api/v3/iam/people/{alice['person_id']}", headers=auth).status_code == 404
    pat = arrange.token("unleash", "pat", credential_id=bob["id"], grants=["ADMIN"])
    r = client.get("/api/admin/logins", headers={"Authorization": pat})
    assert [e["username"] for e in r.json()["events"]] == ["bob"]
    unscoped = arrange.token("unleash", "admin")  # an admin API token belongs to no user: the whole instance
    assert len(client.get("/api/admin/logins", headers={"Authorization": unscoped}).json()["events"]) == 2
