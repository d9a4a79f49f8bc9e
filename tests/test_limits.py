"""What one request may cost (issue 19): slow bodies, big bodies, big headers, the journal, the limiter."""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx
import pytest

from conftest import Arrange
from loginaudit.limits import MAX_CONTROL_BODY, MAX_HEADER_BYTES, MAX_VENDOR_BODY
from loginaudit.mocking.journal import VALUE_CHARS
from loginaudit.mocking.ratelimit import KEPT_WINDOWS, LIMITER
from loginaudit.mocking.rules import RateLimit


def test_slow_uploads_do_not_hold_the_server(live_url: str, arrange: Arrange) -> None:
    """Twelve clients announce a 1,000-byte YAML scenario, send 9 bytes and wait; others are served."""
    token = arrange.token("unleash", "admin")
    host, port = live_url.removeprefix("http://").split(":")
    held = []
    for _ in range(12):
        sock = socket.create_connection((host, int(port)))
        sock.sendall(b"POST /_loginaudit/scenarios HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/yaml\r\n"
                     b"Content-Length: 1000\r\n\r\ntenants: ")
        held.append(sock)
    try:
        time.sleep(0.5)
        started = time.monotonic()
        with httpx.Client(base_url=live_url, timeout=10) as http:
            assert http.get("/api/admin/logins", headers={"Authorization": token}).status_code == 200
            assert http.get("/_loginaudit/health").status_code == 200
            assert http.post("/_loginaudit/tenants", json={"name": "x"}).status_code == 201
        assert time.monotonic() - started < 5
    finally:
        for sock in held:
            sock.close()


def test_a_body_that_stops_arriving_is_408(live_url: str) -> None:
    import loginaudit.limits as limits

    saved, limits.BODY_SECONDS = limits.BODY_SECONDS, 0.5
    try:
        host, port = live_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"POST /_loginaudit/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100\r\n\r\n{")
            answer = sock.recv(65536).decode()
        assert answer.startswith("HTTP/1.1 408") and "application/problem+json" in answer
    finally:
        limits.BODY_SECONDS = saved


def test_bodies_past_the_limit_are_413_in_each_envelope(client: Any) -> None:
    big = b'{"events": [' + b" " * (MAX_CONTROL_BODY + 1) + b"]}"
    r = client.post("/_loginaudit/events", content=big, headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()["title"]) == (413, "Content Too Large")

    def chunks() -> Any:  # no Content-Length: counted while it arrives
        for _ in range(12):
            yield b" " * (1024 * 1024)

    r = client.post("/_loginaudit/scenarios", content=chunks(), headers={"Content-Type": "application/yaml"})
    assert r.status_code == 413
    r = client.post("/api/v3/iam/auth/api/login", content=b'{"key": "' + b"x" * MAX_VENDOR_BODY + b'"}',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["errors"][0]["status"] == "413"  # Ingedata's envelope
    assert client.get("/_loginaudit/health").json()["counts"]["login_events"] == 0


def test_headers_past_the_limit_are_431_and_never_journaled(client: Any) -> None:
    huge = {"X-Padding": "x" * (MAX_HEADER_BYTES + 1)}
    r = client.get("/api/access/login_attempts", headers=huge)
    assert r.status_code == 431 and r.json()["http_response"]["code"] == 431  # QRadar's envelope
    assert r.headers["content-type"] == "application/json;charset=UTF-8"
    assert client.get("/_loginaudit/journal").json()["entries"] == []


def test_the_journal_keeps_excerpts_of_big_values(client: Any) -> None:
    value = "y" * 20_000
    for _ in range(3):
        client.get("/api/admin/logins", headers={"X-Big": value}, params={"q": value})
    entries = client.get("/_loginaudit/journal").json()["entries"]
    assert len(entries) == 3
    for entry in entries:
        assert len(entry["headers"]["x-big"]) < VALUE_CHARS + 40 and "20000 characters" in entry["headers"]["x-big"]
        assert len(entry["query"][0]["value"]) < VALUE_CHARS + 40


def test_rejected_input_is_quoted_as_an_excerpt(client: Any) -> None:
    r = client.post("/_loginaudit/tenants", json={"name": "x", "time_zone": "z" * 100_000})
    assert r.status_code == 400 and len(r.text) < 1000


def test_the_rate_limiter_forgets_callers_it_need_not_remember(client: Any) -> None:
    client.put("/_loginaudit/rate-limits", json={"rules": [{"vendor": "unleash", "requests": 5}]}).raise_for_status()
    rule = RateLimit("unleash", 5, 60.0)
    for i in range(KEPT_WINDOWS + 500):
        LIMITER.take(rule, f"caller-{i}")
    assert len(LIMITER._windows) <= KEPT_WINDOWS
    newest = f"caller-{KEPT_WINDOWS + 499}"  # a caller still in its window keeps its count
    assert [LIMITER.take(rule, newest).allowed for _ in range(5)] == [True] * 4 + [False]


@pytest.mark.parametrize("length", [MAX_HEADER_BYTES // 2])
def test_headers_under_the_limit_pass(client: Any, length: int) -> None:
    assert client.get("/_loginaudit/health", headers={"X-Padding": "x" * length}).status_code == 200
