"""Scale-out: several `loginaudit serve` worker processes on one PostgreSQL database share everything."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from conftest import PG_ENV, _private_schema
from test_cli import _serving

pytestmark = pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"needs PostgreSQL (${PG_ENV})")


def _client_on_each_worker(base: str, workers: int) -> dict[int, httpx.Client]:
    """One keep-alive connection per worker process: new connections until every worker has answered."""
    found: dict[int, httpx.Client] = {}
    for _ in range(200):
        client = httpx.Client(base_url=base, timeout=30)
        pid = client.get("/_loginaudit/health").json()["worker"]
        if pid in found:
            client.close()
        else:
            found[pid] = client
        if len(found) == workers:
            return found
    raise AssertionError(f"only reached workers {sorted(found)}")


def test_an_event_ingested_through_one_worker_is_read_through_another(tmp_path: Path) -> None:
    url, drop = _private_schema(os.environ[PG_ENV])
    try:
        with _serving(tmp_path, "--workers", "2", "--demo-events", "0", database_url=url) as (base, _):
            (a_pid, a), (b_pid, b) = _client_on_each_worker(base, 2).items()
            assert a_pid != b_pid
            a.post("/_loginaudit/reset").raise_for_status()
            a.put("/_loginaudit/clock", json={"now": "2026-11-22T12:00:00Z", "frozen": True}).raise_for_status()
            loaded = a.post("/_loginaudit/scenarios", json={
                "tenants": {"uni": {"name": "Uni"}},
                "people": {"jane": {"first_name": "Jane", "last_name": "Doe", "email": "j@ex.edu"}},
                "credentials": {"jane": {"person": "jane", "tenant": "uni", "login": "j@ex.edu"}},
                "tokens": {"admin": {"vendor": "unleash", "kind": "admin"},
                           "sec": {"vendor": "qradar", "kind": "sec_admin"}},
            }).json()
            a.post("/_loginaudit/events", json={"events": [
                {"credential_id": loaded["credentials"]["jane"], "occurred_at": "2026-11-22T11:00:00Z"}]}
            ).raise_for_status()
            assert a.get("/_loginaudit/health").json()["worker"] == a_pid  # the write went through worker A

            r = b.get("/api/admin/logins", headers={"Authorization": loaded["tokens"]["admin"]["secret"]})
            assert b.get("/_loginaudit/health").json()["worker"] == b_pid  # and the read through worker B
            assert r.status_code == 200 and [e["username"] for e in r.json()["events"]] == ["j@ex.edu"]
            q = b.get("/api/access/login_attempts", headers={"SEC": loaded["tokens"]["sec"]["secret"]})
            assert q.headers["content-range"] == "items 0-0/1"
            assert b.get("/_loginaudit/clock").json()["now"].startswith("2026-11-22T12:00:00")
            # B remembers its answer; a write through A is seen by B's very next read (the generation)
            unleash = {"Authorization": loaded["tokens"]["admin"]["secret"]}
            assert len(b.get("/api/admin/logins", headers=unleash).json()["events"]) == 1
            a.post("/_loginaudit/events", json={"events": [
                {"credential_id": loaded["credentials"]["jane"], "occurred_at": "2026-11-22T11:30:00Z"}]}
            ).raise_for_status()
            assert len(b.get("/api/admin/logins", headers=unleash).json()["events"]) == 2
            for client in (a, b):
                client.close()
    finally:
        drop()
