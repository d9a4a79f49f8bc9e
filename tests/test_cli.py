"""The command line: deterministic `seed`, and `serve` answering with its printed demo credentials."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from loginaudit.cli import main
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


def test_seed_command_is_deterministic(tmp_path: Path, capsys: object) -> None:
    urls = [f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db", "c.db")]
    for url, seed in zip(urls, (4, 4, 5), strict=True):
        main(["--database-url", url, "seed", "--events", "800", "--seed", str(seed), "--anchor", ANCHOR])
    a, b, c = (_events(u) for u in urls)
    assert len(a) == 800 and a == b and a != c
    assert max(r[1] for r in a).isoformat() < ANCHOR  # type: ignore[attr-defined]


def test_serve_prints_credentials_that_work(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "LOGINAUDIT_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    proc = subprocess.Popen([sys.executable, "-m", "loginaudit", "serve", "--port", str(port), "--demo-events", "300",
                             "--no-access-log"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    try:
        banner = ""
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while "/api/v1/users" not in banner and time.monotonic() < deadline:  # SSOJet, the last vendor listed
            banner += proc.stdout.readline()
        found = re.search(r"^\s+admin\s+(\*:\*\.[0-9a-f]{56})$", banner, re.M)
        assert found, banner
        token = found.group(1)
        for _ in range(100):
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/admin/logins", headers={"Authorization": token})
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert r.status_code == 200
        assert len(r.json()["events"]) > 0
        assert f"http://127.0.0.1:{port}/api/v1/audit/authentication" in banner
    finally:
        proc.terminate()
        proc.wait(timeout=10)
