"""Fixtures: the app on SQLite always, and on PostgreSQL when $LOGINAUDIT_TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from loginaudit import caches
from loginaudit.app import create_app
from loginaudit.pytest_plugin import ServerThread
from loginaudit.storage import Store, bind

PG_ENV = "LOGINAUDIT_TEST_DATABASE_URL"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get(PG_ENV) else [])
NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="session", params=BACKENDS)
def _apps(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}", None
    else:
        url, drop = _private_schema(os.environ[PG_ENV])
    app = create_app(url, validate_responses=True)
    yield app
    app.store.dispose()
    if drop is not None:
        drop()


def _private_schema(url: str) -> tuple[str, Any]:
    """A PostgreSQL schema of this test session's own, so concurrent runs on one database never meet."""
    schema = f"loginaudit_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = Store(url).engine
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}", drop


@pytest.fixture
def app(_apps: Any) -> Any:
    """A fresh, empty store behind the app, with the clock frozen at NOW."""
    bind(_apps.store)
    _apps.store.reset()
    caches.forget_all()
    return _apps


@pytest.fixture
def store(app: Any) -> Store:
    return app.store  # type: ignore[no-any-return]


@pytest.fixture
def client(app: Any) -> Any:
    with app.test_client() as c:
        c.put("/_loginaudit/clock", json={"now": NOW.isoformat(), "frozen": True}).raise_for_status()
        yield c


class Arrange:
    """Arrange store contents through the control plane, as a user's test would."""

    def __init__(self, client: Any) -> None:
        self.c = client

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.c.post(f"/_loginaudit{path}", json=body)
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    def tenant(self, **kw: Any) -> dict[str, Any]:
        return self._post("/tenants", {"name": "Example University", **kw})

    def person(self, **kw: Any) -> dict[str, Any]:
        return self._post("/people", {"first_name": "Jane", "last_name": "Doe", "email": "jdoe@ex.edu", **kw})

    def credential(self, person: dict[str, Any], tenant: dict[str, Any], **kw: Any) -> dict[str, Any]:
        return self._post("/credentials", {"person_id": person["id"], "tenant_id": tenant["id"],
                                           "login": person["email"], **kw})

    def events(self, *events: dict[str, Any]) -> list[int]:
        return self._post("/events", {"events": list(events)})["ids"]  # type: ignore[no-any-return]

    def token(self, vendor: str, kind: str, **kw: Any) -> str:
        return self._post("/tokens", {"vendor": vendor, "kind": kind, **kw})["secret"]  # type: ignore[no-any-return]


@pytest.fixture
def arrange(client: Any) -> Arrange:
    return Arrange(client)


def at(hours_ago: float) -> str:
    """An ISO time `hours_ago` before the frozen NOW, with milliseconds."""
    from datetime import timedelta

    return (NOW - timedelta(hours=hours_ago)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture
def live_url(app: Any, client: Any) -> Iterator[str]:
    """The same app served over real HTTP on a free loopback port (for real vendor clients)."""
    with ServerThread(app) as server:
        yield server.url
