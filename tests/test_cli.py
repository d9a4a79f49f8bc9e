"""The command line: deterministic `seed`, and `serve` answering with its printed demo credentials."""

from __future__ import annotations

import os
import re
import shlex
import shutil
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
from loginaudit.registry import VENDORS
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
        while "\n  store: " not in banner and time.monotonic() < deadline:  # the banner's last line
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


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_every_banner_curl_line_answers_200(tmp_path: Path) -> None:
    """The banner's `try:` line per vendor, run as printed (Ingedata's first step: the key for a JWT)."""
    with _serving(tmp_path, "--demo-events", "300") as (_base, banner):
        tries = re.findall(r"^\s+try: (curl .+)$", banner, re.M)
        assert len(tries) == len(VENDORS), banner
        for line in tries:
            done = subprocess.run([*shlex.split(line), "-s", "-o", "/dev/null", "-w", "%{http_code}"],
                                  capture_output=True, text=True, timeout=30)
            assert done.stdout == "200", (line, done.stdout, done.stderr)
        assert re.search(r"^  store: 4 tenants, \d+ people, \d+ credentials, 300 events; clock ", banner, re.M)


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


@pytest.mark.parametrize(("argv", "says"), [
    (["conform", "--vendor", "qradar", "--base-url", "http://127.0.0.1:9", "--spec", "nope.yaml"],
     "loginaudit conform: no document 'nope.yaml'; qradar has qradar.yaml"),
    (["conform", "--vendor", "qradar", "--base-url", "http://127.0.0.1:9", "--auth", "token=x"],
     "loginaudit conform: --auth token=...: qradar.yaml has the security schemes basicAuth, secToken"),
    (["conform", "--vendor", "qradar", "--base-url", "http://127.0.0.1:9", "--auth", "novalue"],
     "--auth takes NAME=VALUE, not 'novalue'"),
    (["load", "/nonexistent/scenario.yaml"], "scenario /nonexistent/scenario.yaml: no scenario file"),
    (["--database-url", "postgresql+psycopg://nobody@127.0.0.1:9/none", "reset"], "loginaudit reset: "),
    (["--database-url", "nonsense://", "seed"], "loginaudit seed: "),
])
def test_user_errors_are_one_line_not_a_traceback(argv: list[str], says: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    if argv[0] != "--database-url":
        argv = ["--database-url", f"sqlite:///{tmp_path / 'x.db'}", *argv]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    message = str(exc.value.code)
    assert message.startswith(says) and "\n" not in message and "Traceback" not in message, message


def test_serve_on_a_taken_port_says_so(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit, match=rf"cannot listen on 127.0.0.1:{port}: .*--port picks another"):
            main(["--database-url", f"sqlite:///{tmp_path / 'x.db'}", "serve", "--port", str(port)])


def test_conform_help_lists_each_vendor_s_auth_names(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["conform", "--help"])
    out = capsys.readouterr().out
    assert re.search(r"qradar\s+qradar.yaml\s+--auth basicAuth=\.\.\. \| secToken=\.\.\.", out), out
    assert "--param userid=" in out


@pytest.mark.parametrize(("given", "loop"), [((), "asyncio"), (("--loop", "uvloop"), "uvloop")])
def test_serve_runs_on_asyncio_s_loop_unless_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  given: tuple[str, ...], loop: str) -> None:
    """uvloop answered 1-2% of requests a round late at 16 connections (README, Session 19)."""
    import uvicorn

    ran: dict[str, object] = {}
    monkeypatch.setattr(os, "environ", dict(os.environ))  # serve sets variables for its workers
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: ran.update(kwargs))
    main(["--database-url", f"sqlite:///{tmp_path / 'loop.db'}", "serve", "--port", str(free_port()),
          "--demo-events", "0", *given])
    assert ran["loop"] == loop
