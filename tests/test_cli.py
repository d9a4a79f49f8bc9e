"""The command line: deterministic `seed`, and `serve` answering with its printed demo credentials."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from loginaudit.cli import main
from loginaudit.loopback import free_port, wait_until_up
from loginaudit.storage import Store
from loginaudit.storage.models import LoginEvent

ANCHOR = "2026-11-22T00:00:00+00:00"


def _events(url: str) -> list[tuple[object, ...]]:
    store = Store(url)
    with store.session() as s:
        rows = s.execute(select(LoginEvent.uuid, LoginEvent.occurred_at, LoginEvent.username, LoginEvent.ip,
                                LoginEvent.successful, LoginEvent.user_agent).order_by(LoginEvent.id)).all()
    store.dispose()
    return [tuple(r) for r in rows]


def test_seed_command_is_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    urls = [f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db", "c.db")]
    for url, seed in zip(urls, (4, 4, 5), strict=True):
        main(["--database-url", url, "seed", "--events", "800", "--seed", str(seed), "--anchor", ANCHOR])
    a, b, c = (_events(u) for u in urls)
    assert len(a) == 800 and a == b and a != c
    said = capsys.readouterr().out.strip().splitlines()
    assert said[-1].startswith("store now holds ") and "800 login events" in said[-1]  # one line, not a dict
    assert max(r[1] for r in a).isoformat() < ANCHOR  # type: ignore[attr-defined]


@contextmanager
def _serving(tmp_path: Path, *args: str, database_url: str | None = None) -> Iterator[tuple[str, str]]:
    """`loginaudit serve ARGS` on a free port: (base URL, the banner it printed), once it answers."""
    port = free_port()
    env = {**os.environ, "LOGINAUDIT_DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'serve.db'}"}
    proc = subprocess.Popen([sys.executable, "-m", "loginaudit", "serve", "--port", str(port), "--no-access-log",
                             *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    try:
        banner = ""
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while "\n  ssojet " not in banner and time.monotonic() < deadline:  # SSOJet, the last vendor listed
            banner += proc.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/_loginaudit/health", proc)
        yield base, banner
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_prints_credentials_that_work(tmp_path: Path) -> None:
    with _serving(tmp_path, "--demo-events", "300") as (base, banner):
        found = re.search(r"^\s+admin\s+(\*:\*\.[0-9a-f]{56})$", banner, re.M)
        assert found, banner
        r = httpx.get(f"{base}/api/admin/logins", headers={"Authorization": found.group(1)})
        assert r.status_code == 200
        assert len(r.json()["events"]) > 0
        assert f"{base}/api/v1/audit/authentication" in banner


def test_serve_starts_with_a_scenario_mock_rules_and_a_journal_size(tmp_path: Path) -> None:
    config = tmp_path / "mock.yaml"
    config.write_text("rate_limits: [{vendor: unleash, requests: 1, window_seconds: 600}]\n"
                      "faults: {rules: [{vendor: ssojet, error_rate: 1, error_status: 503}]}\n"
                      "settings: {qradar: {release: 7.4.0}}\n")
    with _serving(tmp_path, "--scenario", "account-takeover", "--mock-config", str(config),
                  "--journal-size", "1") as (base, banner):
        token = re.search(r"^\s+admin\s+(\*:\*\.[0-9a-f]{56})$", banner, re.M)
        assert token, banner
        statuses = [httpx.get(f"{base}/api/admin/logins", headers={"Authorization": token.group(1)}).status_code
                    for _ in range(2)]
        assert statuses == [200, 429]
        assert httpx.get(f"{base}/api/v1/users/x/loginlogs").status_code == 503
        journal = httpx.get(f"{base}/_loginaudit/journal").json()
        assert journal["size"] == 1 and [e["vendor"] for e in journal["entries"]] == ["ssojet"]
        assert httpx.get(f"{base}/_loginaudit/health").json()["counts"]["login_events"] == 28  # no demo data
        assert httpx.get(f"{base}/_loginaudit/vendors/qradar/settings").json()["release"] == "7.4.0"


def test_a_bad_mock_config_stops_serve_with_a_message(tmp_path: Path) -> None:
    config = tmp_path / "mock.yaml"
    config.write_text("faults: [{vendor: zoom}]\n")
    with pytest.raises(SystemExit, match="unknown vendor 'zoom'"):
        main(["--database-url", f"sqlite:///{tmp_path / 'x.db'}", "serve", "--mock-config", str(config)])
    config.write_text("settings: {unleash: {edition: gold}}\n")
    with pytest.raises(SystemExit, match="unleash setting 'edition' is one of"):
        main(["--database-url", f"sqlite:///{tmp_path / 'x.db'}", "serve", "--mock-config", str(config)])
