"""Remembered answers (issue 20.6): a repeated GET is answered from memory, and never once the store changed."""

from __future__ import annotations

import importlib
import time
from typing import Any

import pytest

from conftest import Arrange, at
from loginaudit import responses
from loginaudit.storage import events, rendered

UNLEASH = "/api/admin/logins"


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times a vendor handler read events from the store."""
    calls: list[int] = []

    def counting(real: Any) -> Any:
        def counted(*args: Any, **kw: Any) -> Any:
            calls.append(1)
            return real(*args, **kw)
        return counted

    for module in ("unleash", "qradar", "canvas"):
        handler = importlib.import_module(f"loginaudit.handlers.{module}")
        for name, real in (("event_rows", events.event_rows), ("event_json", rendered.event_json)):
            if hasattr(handler, name):  # rows for Python to render, or rows the store rendered
                monkeypatch.setattr(handler, name, counting(real))
    return calls


@pytest.fixture
def world(arrange: Arrange) -> dict[str, Any]:
    cred = arrange.credential(arrange.person(), arrange.tenant(), login="jane")
    arrange.events({"credential_id": cred["id"], "occurred_at": at(1)})
    return {"cred": cred, "auth": {"Authorization": arrange.token("unleash", "admin")}}


def _names(client: Any, world: dict[str, Any], **headers: str) -> list[str]:
    r = client.get(UNLEASH, headers={**world["auth"], **headers})
    assert r.status_code == 200, r.text
    return [e["username"] for e in r.json()["events"]]


def test_the_same_request_again_is_answered_from_memory(client: Any, world: dict[str, Any], reads: list[int]) -> None:
    first = client.get(UNLEASH, headers=world["auth"])
    assert len(reads) == 1 and not responses.REMEMBERED.answers  # asked once: not kept (a walk's pages)
    second = client.get(UNLEASH, headers=world["auth"])  # asked again within MAX_AGE: kept from now on
    again = client.get(UNLEASH, headers=world["auth"])
    assert len(reads) == 2
    assert (again.status_code, again.content, again.headers["content-type"]) == (
        first.status_code, first.content, first.headers["content-type"]) == (
        second.status_code, second.content, second.headers["content-type"])
    for _ in range(2):
        client.get(UNLEASH, headers={**world["auth"], "Accept": "text/csv"})  # another header: another answer
    assert len(reads) == 4


def test_a_key_asked_once_is_let_go_after_max_age(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = responses.Remembered()
    assert not kept.asked_before(("a",), 100.0)
    assert kept.asked_before(("a",), 100.5)
    assert not kept.asked_before(("b",), 100.0 + responses.MAX_AGE + 0.6)  # ("a",) is too old now: let go
    assert list(kept.asked) == [("b",)]
    monkeypatch.setattr(responses, "MAX_ASKED", 2)
    for i in range(5):
        kept.asked_before(("c", i), 102.0)
    assert len(kept.asked) == 2  # bounded by count as well as by age


@pytest.mark.parametrize("write", ["event", "reset", "clock", "scenario", "seed", "credential"])
def test_every_kind_of_write_is_seen_by_the_next_read(client: Any, arrange: Arrange, world: dict[str, Any],
                                                      write: str) -> None:
    before = _names(client, world)
    assert _names(client, world) == before  # remembered
    match write:
        case "event":
            arrange.events({"username": "ghost@ex.edu", "occurred_at": at(0.5)})
            assert "ghost@ex.edu" in _names(client, world)
        case "reset":
            client.post("/_loginaudit/reset").raise_for_status()
            assert client.get(UNLEASH, headers=world["auth"]).status_code == 401  # the token is gone too
        case "clock":  # the 336-hour window moves past the only event
            client.put("/_loginaudit/clock", json={"now": "2027-06-01T00:00:00Z"}).raise_for_status()
            assert _names(client, world) == []
        case "scenario":
            client.post("/_loginaudit/scenarios", json={"events": [
                {"username": "from-scenario", "occurred_at": "-1m"}]}).raise_for_status()
            assert "from-scenario" in _names(client, world)
        case "seed":
            client.post("/_loginaudit/seed", json={"events": 20, "seed": 9}).raise_for_status()
            assert len(_names(client, world)) > len(before)
        case "credential":  # not shown by Unleash, but a write all the same: the generation moves
            generation = client.app.store.generation()
            arrange.credential(arrange.person(email="x@ex.edu"), arrange.tenant(name="T2"), login="x")
            assert client.app.store.generation() != generation


def test_an_answer_is_at_most_max_age_old(client: Any, world: dict[str, Any], reads: list[int],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(responses, "MAX_AGE", 0.2)
    for _ in range(3):
        _names(client, world)
    assert len(reads) == 2  # kept from the second ask
    time.sleep(0.3)
    _names(client, world)
    assert len(reads) == 3


def test_mock_behaviours_still_act_on_remembered_answers(client: Any, world: dict[str, Any],
                                                         reads: list[int]) -> None:
    _names(client, world)
    client.put("/_loginaudit/faults", json={"rules": [{"vendor": "unleash", "error_rate": 1, "error_status": 503}],
                                            "seed": 1}).raise_for_status()
    assert client.get(UNLEASH, headers=world["auth"]).status_code == 503
    client.delete("/_loginaudit/faults").raise_for_status()
    client.put("/_loginaudit/rate-limits", json={"rules": [{"vendor": "unleash", "requests": 1}]}).raise_for_status()
    assert [client.get(UNLEASH, headers=world["auth"]).status_code for _ in range(2)] == [200, 429]
    journal = client.get("/_loginaudit/journal", params={"vendor": "unleash"}).json()["entries"]
    assert [e["status"] for e in journal] == [200, 503, 200, 429]


def test_errors_are_never_remembered(client: Any, world: dict[str, Any]) -> None:
    bad = {"Authorization": "*:*.not-issued-yet"}
    assert client.get(UNLEASH, headers=bad).status_code == 401
    client.post("/_loginaudit/tokens", json={"vendor": "unleash", "kind": "admin",
                                             "secret": "*:*.not-issued-yet"}).raise_for_status()
    assert client.get(UNLEASH, headers=bad).status_code == 200


def test_head_is_answered_from_the_same_memory_without_a_body(client: Any, world: dict[str, Any],
                                                               reads: list[int]) -> None:
    client.get(UNLEASH, headers=world["auth"])
    get = client.get(UNLEASH, headers=world["auth"])  # asked twice: kept
    head = client.head(UNLEASH, headers=world["auth"])
    assert len(reads) == 2 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]


def test_expired_answers_are_let_go_when_new_ones_come() -> None:
    """A walk asks every page once: what it leaves behind is gone after MAX_AGE, not kept to the byte cap."""
    kept = responses.Remembered()

    def answer(made: float) -> responses.Answer:
        return responses.Answer("g1", made, {"headers": []}, b"x" * 1000)

    start = time.monotonic() - 0.5
    for i in range(50):
        kept.put(("old", i), answer(start + i * 0.001))
    kept.get(("old", 3), "g1")  # a hit moves an answer to the new end; it still expires by its age
    assert len(kept.answers) == 50
    kept.put(("new", 0), answer(start + responses.MAX_AGE + 0.0255))  # 26 of the old ones are now too old
    assert sorted(k[1] for k in kept.answers if k[0] == "old")[:2] == [3, 26] and len(kept.answers) == 26
    assert kept.bytes == sum(a.size for a in kept.answers.values())


def test_identical_misses_asked_again_make_one_answer(client: Any) -> None:
    """Single flight: requests arriving while a kept answer is being made wait for it, not make their own."""
    import asyncio

    from loginaudit.registry import by_name

    made: list[int] = []

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        made.append(1)
        await asyncio.sleep(0.05)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"made"})

    cache = responses.ResponseCache(slow, lambda path: by_name("unleash"))
    scope = {"type": "http", "method": "GET", "path": UNLEASH, "query_string": b"single=flight", "headers": []}

    async def ask() -> bytes:
        bodies: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                bodies.append(message["body"])

        await cache(dict(scope), None, send)
        return b"".join(bodies)

    async def run() -> list[bytes]:
        await ask()  # asked once: made, not kept
        return list(await asyncio.gather(*(ask() for _ in range(5))))  # asked again, five at once

    assert asyncio.run(run()) == [b"made"] * 5
    assert len(made) == 2
