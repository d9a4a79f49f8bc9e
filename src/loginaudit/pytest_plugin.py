"""pytest fixtures for integration tests against the emulator (installed as the `loginaudit` plugin).

- `loginaudit`: the server (one per test session and xdist worker, on a free loopback port, over its
  own SQLite file) with a store emptied for this test; gives `base_url`, `credentials` (an admin
  credential per vendor, issued on first use) and `control` (a small control-plane client).
- `loginaudit_scenario`: the same, with a scenario loaded: `@pytest.mark.loginaudit_scenario("name")`
  (a shipped scenario or a YAML path relative to the test file), else the `loginaudit_scenario` ini value.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from .loopback import free_port
from .registry import VENDORS, by_name


class ServerThread:
    """An ASGI app served by uvicorn on a free loopback port, in a daemon thread of this process."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True, name=f"loginaudit:{self.port}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the loginaudit test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Control:
    """The control plane over HTTP: what a test arranges and inspects; raises on any non-2xx answer."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=f"{base_url}/_loginaudit", timeout=30)

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        r = self.http.request(method, path, **kw)
        if r.status_code >= 400:
            raise AssertionError(f"control plane {method} {path}: {r.status_code} {r.text}")
        return r.json() if r.content else None

    def reset(self) -> None:
        self._call("POST", "/reset")

    def set_clock(self, now: str, frozen: bool = True) -> dict[str, Any]:
        return self._call("PUT", "/clock", json={"now": now, "frozen": frozen})  # type: ignore[no-any-return]

    def scenario(self, doc: str | Path | Mapping[str, Any]) -> dict[str, Any]:
        """Load a shipped scenario by name, a YAML file by path, or a scenario mapping."""
        if isinstance(doc, Path) or (isinstance(doc, str) and doc.endswith((".yaml", ".yml"))):
            text = Path(doc).read_text(encoding="utf-8")
            return self._call("POST", "/scenarios", content=text.encode(),  # type: ignore[no-any-return]
                              headers={"Content-Type": "application/yaml"})
        body = {"name": doc} if isinstance(doc, str) else dict(doc)
        return self._call("POST", "/scenarios", json=body)  # type: ignore[no-any-return]

    def token(self, vendor: str, kind: str, **kw: Any) -> str:
        return self._call("POST", "/tokens", json={"vendor": vendor, "kind": kind, **kw})["secret"]  # type: ignore[no-any-return]

    def events(self, *events: Mapping[str, Any]) -> list[int]:
        return self._call("POST", "/events", json={"events": list(events)})["ids"]  # type: ignore[no-any-return]

    def records(self, kind: str, **params: Any) -> list[dict[str, Any]]:
        """What the store holds of `kind` (tenants, people, credentials, events), e.g. `tenant_id=3`."""
        return self._call("GET", f"/{kind}", params={"limit": 1000, **params})[kind]  # type: ignore[no-any-return]

    def update(self, kind: str, ident: int, **changes: Any) -> dict[str, Any]:
        """Change fields of one record: `update("credentials", 7, active=False)` (a deleted login)."""
        return self._call("PATCH", f"/{kind}/{ident}", json=changes)  # type: ignore[no-any-return]

    def delete(self, kind: str, ident: int, cascade: bool = False) -> dict[str, int]:
        """Delete one record (with `cascade`, what points at it too); returns what went, by kind."""
        return self._call("DELETE", f"/{kind}/{ident}",  # type: ignore[no-any-return]
                          params={"cascade": str(cascade).lower()})["deleted"]

    def revoke(self, secret: str) -> None:
        """Revoke an issued secret: the vendor then answers as for an unknown credential."""
        token = next((t for t in self._call("GET", "/tokens", params={"limit": 1000}) if t["secret"] == secret), None)
        if token is None:
            raise AssertionError("control plane: no issued token has that secret")
        self._call("PATCH", f"/tokens/{token['id']}", json={"revoked": True})

    def settings(self, vendor: str, **values: Any) -> dict[str, Any]:
        """Set vendor modes (`settings("unleash", edition="oss")`); returns all of the vendor's settings."""
        return self._call("PATCH", f"/vendors/{vendor}/settings", json=values)  # type: ignore[no-any-return]

    def faults(self, *rules: Mapping[str, Any], seed: int | None = None) -> None:
        self._call("PUT", "/faults", json={"rules": list(rules), "seed": seed})

    def rate_limits(self, *rules: Mapping[str, Any]) -> None:
        self._call("PUT", "/rate-limits", json={"rules": list(rules)})

    def journal(self, vendor: str | None = None) -> list[dict[str, Any]]:
        params = {"vendor": vendor} if vendor else {}
        return self._call("GET", "/journal", params=params)["entries"]  # type: ignore[no-any-return]

    def clear_journal(self) -> None:
        self._call("DELETE", "/journal")

    def close(self) -> None:
        self.http.close()


class _AdminCredentials(Mapping[str, str]):
    """vendor -> an admin secret, issued on first use (so an unused vendor leaves the store untouched)."""

    def __init__(self, control: Control) -> None:
        self.control = control
        self.issued: dict[str, str] = {}
        self.credential_id: int | None = None

    def _admin_credential(self) -> int:
        if self.credential_id is None:
            loaded = self.control.scenario({
                "tenants": {"emulator": {"name": "Emulator Admin Tenant"}},
                "people": {"admin": {"first_name": "Emulator", "last_name": "Admin", "email": "admin@emulator.test"}},
                "credentials": {"admin": {"person": "admin", "tenant": "emulator", "login": "admin@emulator.test",
                                          "role": "admin"}}})
            self.credential_id = int(loaded["credentials"]["admin"])
        return self.credential_id

    def __getitem__(self, vendor: str) -> str:
        if vendor not in self.issued:
            module = by_name(vendor).module  # KeyError for a vendor we do not emulate
            kind = module.ADMIN_TOKEN_KIND
            extra = {"credential_id": self._admin_credential()} if module.TOKEN_KINDS[kind].needs_credential else {}
            self.issued[vendor] = self.control.token(vendor, kind, **extra)
        return self.issued[vendor]

    def __iter__(self) -> Iterator[str]:
        return (v.name for v in VENDORS)

    def __len__(self) -> int:
        return len(VENDORS)


@dataclass
class Emulator:
    base_url: str
    control: Control
    credentials: Mapping[str, str]
    scenario: dict[str, Any] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("loginaudit_database_url", "SQLAlchemy URL for the loginaudit fixtures' store "
                  "(default: a SQLite file per test session and xdist worker)", default="")
    parser.addini("loginaudit_scenario", "scenario for `loginaudit_scenario` without a marker", default="")


# Deprecations inside the emulator's own dependencies are not the user's to act on: their suite stays quiet.
THIRD_PARTY_WARNINGS = ("ignore::DeprecationWarning:connexion.*", "ignore::DeprecationWarning:jsonschema.*",
                        "ignore::DeprecationWarning:starlette.*", "ignore::DeprecationWarning:openapi_core.*",
                        "ignore:Using `httpx` with `starlette.testclient` is deprecated")  # Connexion imports it


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "loginaudit_scenario(name_or_path): the scenario the "
                            "`loginaudit_scenario` fixture loads")
    for line in THIRD_PARTY_WARNINGS:
        config.addinivalue_line("filterwarnings", line)


@pytest.fixture(scope="session")
def loginaudit_server(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[str]:
    """The emulator's base URL: one server per test session (per xdist worker), over its own store."""
    from .app import create_app

    url = str(pytestconfig.getini("loginaudit_database_url")) or \
        f"sqlite:///{tmp_path_factory.mktemp('loginaudit') / 'store.db'}"
    app = create_app(url)
    try:
        with ServerThread(app) as server:
            yield server.url
    finally:
        app.store.dispose()


@pytest.fixture
def loginaudit(loginaudit_server: str) -> Iterator[Emulator]:
    """The emulator with an empty store, the real clock, no faults or limits and an empty journal."""
    control = Control(loginaudit_server)
    control.reset()
    try:
        yield Emulator(loginaudit_server, control, _AdminCredentials(control))
    finally:
        control.close()


@pytest.fixture
def loginaudit_scenario(loginaudit: Emulator, request: pytest.FixtureRequest) -> Emulator:
    """`loginaudit` with the marked (or configured) scenario loaded; `.scenario` has its ids and secrets."""
    marker = request.node.get_closest_marker("loginaudit_scenario")
    name = marker.args[0] if marker else str(request.config.getini("loginaudit_scenario"))
    if not name:
        raise pytest.UsageError("loginaudit_scenario needs @pytest.mark.loginaudit_scenario(name_or_path) "
                                "or the `loginaudit_scenario` ini option")
    candidate = Path(request.path).parent / name
    loginaudit.scenario = loginaudit.control.scenario(candidate if candidate.is_file() else name)
    return loginaudit
