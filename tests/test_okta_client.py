"""Okta's official Python SDK (okta 3.4.6) reading the System Log from the emulator over HTTP.

The SDK insists on an https org URL unless its testing switch is set (the environment variable
below); it sends `SSWS<token>` without a space, which the emulator reads as Okta must.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from okta.client import Client as OktaClient
from okta.pagination import PaginationHelper

from conftest import Arrange, at


@pytest.fixture
def org(arrange: Arrange, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("OKTA_TESTING_TESTINGDISABLEHTTPSCHECK", "true")
    tenant = arrange.tenant(name="Acme")
    jane = arrange.credential(arrange.person(email="jane@acme.com"), tenant, login="jane@acme.com")
    arrange.events(*({"credential_id": jane["id"], "occurred_at": at(5 - i), "ip": "203.0.113.7",
                      "successful": i != 2, "failure_reason": None if i != 2 else "INVALID_CREDENTIALS"}
                     for i in range(5)))
    return {"token": arrange.token("okta", "api_token", credential_id=jane["id"])}


def _client(live_url: str, token: str) -> OktaClient:
    return OktaClient({"orgUrl": live_url, "token": token, "rateLimit": {"maxRetries": 0}})


def test_the_sdk_reads_pages_and_follows_the_after_cursor(live_url: str, org: dict[str, Any]) -> None:
    async def run() -> list[list[str]]:
        client, pages, after = _client(live_url, org["token"]), [], None
        while True:
            logs, resp, err = await client.list_log_events(until="2026-11-22T12:00:00Z", limit=2, after=after)
            assert err is None, err
            pages.append([e.outcome.result for e in logs])
            after = PaginationHelper.extract_next_cursor(resp.headers)
            if after is None:
                return pages
    assert asyncio.run(run()) == [["SUCCESS", "SUCCESS"], ["FAILURE", "SUCCESS"], ["SUCCESS"]]


def test_the_sdk_filters_and_parses_the_model(live_url: str, org: dict[str, Any]) -> None:
    async def run() -> Any:
        return await _client(live_url, org["token"]).list_log_events(
            filter='eventType eq "user.session.start" and outcome.result eq "FAILURE"')
    logs, _, err = asyncio.run(run())
    assert err is None and len(logs) == 1
    event = logs[0]
    assert (event.actor.alternate_id, event.outcome.reason, event.severity.value, event.client.ip_address) == (
        "jane@acme.com", "INVALID_CREDENTIALS", "WARN", "203.0.113.7")


def test_the_sdk_gets_okta_errors(live_url: str, org: dict[str, Any]) -> None:
    async def run() -> Any:
        return await _client(live_url, "00" + "x" * 40).list_log_events()
    _, _, err = asyncio.run(run())
    assert err is not None and "E0000011" in str(err) and "Invalid token provided" in str(err)
