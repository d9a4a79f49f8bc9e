"""Clients generated from our specs by `openapi-python-client` work against the running server.

The generator lives in its own venv under `.cache/` (it pins its own ruff, typer and pydantic); the
generated packages need only httpx, attrs and python-dateutil, which the test venv has.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Arrange, at
from loginaudit.registry import spec_dir

ROOT = Path(__file__).parents[1]
TOOL_VENV = ROOT / ".cache" / "openapi-python-client-0.29.1"
GENERATOR = TOOL_VENV / "bin" / "openapi-python-client"


@pytest.fixture(scope="session")
def generate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not GENERATOR.exists():
        venv.create(TOOL_VENV, with_pip=True)
        subprocess.run([TOOL_VENV / "bin" / "python", "-m", "pip", "install", "-q", "openapi-python-client==0.29.1"],
                       check=True, capture_output=True)
    out = tmp_path_factory.mktemp("generated")
    sys.path.insert(0, str(out))

    def make(spec: str) -> str:
        package = spec.removesuffix(".yaml").replace("-", "_") + "_client"
        if not (out / package).exists():
            env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}  # the test venv's ruff formats the code
            done = subprocess.run([GENERATOR, "generate", "--path", spec_dir() / spec, "--meta", "none",
                                   "--output-path", out / package], capture_output=True, text=True, env=env)
            assert done.returncode == 0, done.stdout + done.stderr
            assert "will not be generated" not in done.stdout, done.stdout
        return package

    yield make
    sys.path.remove(str(out))


def _mod(package: str, name: str) -> Any:
    return importlib.import_module(f"{package}.{name}")


@pytest.fixture
def world(arrange: Arrange) -> dict[str, Any]:
    org = arrange.tenant(name="Acme", client_id="app_acme")
    person = arrange.person(first_name="Ana", email="ana@ex.com")
    cred = arrange.credential(person, org, login="ana@ex.com", role="admin")
    agent = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
             "Safari/537.36")
    arrange.events(*({"credential_id": cred["id"], "occurred_at": at(h), "ip": f"10.0.0.{h}", "user_agent": agent}
                     for h in (1, 2, 3)))
    return {"person": person, "cred": cred, "arrange": arrange}


def test_unleash_client(generate: Any, live_url: str, world: dict[str, Any]) -> None:
    pkg = generate("unleash.yaml")
    client = _mod(pkg, "client").AuthenticatedClient(base_url=f"{live_url}/api/admin", prefix="",
                                                     token=world["arrange"].token("unleash", "admin"))
    resp = _mod(pkg, "api.instance_admin.get_login_history").sync_detailed(client=client)
    assert resp.status_code == 200
    assert [e.ip for e in resp.parsed.events] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]


def test_canvas_client(generate: Any, live_url: str, world: dict[str, Any]) -> None:
    pkg = generate("canvas.yaml")
    token = world["arrange"].token("canvas", "site_admin", credential_id=world["cred"]["id"])
    client = _mod(pkg, "client").AuthenticatedClient(base_url=f"{live_url}/api/v1/audit/authentication", token=token)
    resp = _mod(pkg, "api.authentications_log.query_by_login").sync_detailed(
        login_id=str(world["cred"]["id"]), client=client, per_page="2")
    assert resp.status_code == 200
    assert [e.event_type for e in resp.parsed.events] == ["login", "login"]
    assert resp.parsed.linked.logins[0].unique_id == "ana@ex.com"
    assert 'rel="next"' in resp.headers["link"]


def test_qradar_client(generate: Any, live_url: str, world: dict[str, Any]) -> None:
    pkg = generate("qradar.yaml")
    client = _mod(pkg, "client").AuthenticatedClient(base_url=f"{live_url}/api", prefix="",
                                                     auth_header_name="SEC",
                                                     token=world["arrange"].token("qradar", "sec_admin"))
    resp = _mod(pkg, "api.access.get_login_attempts").sync_detailed(
        client=client, range_="items=0-1", filter_="remote_ip != \"10.0.0.1\"", sort="+attempt_time")
    assert resp.status_code == 200
    assert [a.remote_ip for a in resp.parsed] == ["10.0.0.3", "10.0.0.2"]
    assert resp.headers["content-range"] == "items 0-1/2"
    users = _mod(pkg, "api.config.get_users").sync_detailed(client=client, fields="id,username")
    assert users.status_code == 200 and [u.username for u in users.parsed] == ["ana@ex.com"]
    about = _mod(pkg, "api.system.get_system_about").sync_detailed(client=client)
    assert about.status_code == 200 and about.parsed.external_version == "7.5.0"


def test_ingedata_client(generate: Any, live_url: str, world: dict[str, Any]) -> None:
    pkg = generate("ingedata.yaml")
    base = f"{live_url}/api/v3/iam"
    key = world["arrange"].token("ingedata", "admin_key", credential_id=world["cred"]["id"])
    body = _mod(pkg, "models").LoginWithApiKeyBody(key=key)
    login = _mod(pkg, "api.iam.login_with_api_key").sync_detailed(client=_mod(pkg, "client").Client(base), body=body)
    client = _mod(pkg, "client").AuthenticatedClient(base_url=base, token=login.parsed.meta.token)
    included = _mod(pkg, "models").ListAccountLoginsIncludedItem.ACCOUNT
    resp = _mod(pkg, "api.iam.list_account_logins").sync_detailed(
        client=client, pagesize=2, pagenumber=2, filterrole="admin", included=[included], count="true")
    assert resp.status_code == 200, resp.content
    assert [d.attributes["ip"] for d in resp.parsed.data] == ["10.0.0.3"]  # page 2 of id-ascending pages of 2
    assert resp.parsed.meta.count == 3
    assert resp.parsed.included[0].type_.value == "iam/accounts"


def test_ssojet_client_documents(generate: Any, live_url: str, world: dict[str, Any]) -> None:
    key = world["arrange"].token("ssojet", "api_key", credential_id=world["cred"]["id"])
    uid = world["person"]["uuid"]
    legacy = generate("ssojet-legacy.yaml")
    client = _mod(legacy, "client").AuthenticatedClient(base_url=f"{live_url}/api/v1", token=key)
    resp = _mod(legacy, "api.users.get_user_login_logs").sync_detailed(userid=uid, client=client, client_id="app_acme")
    assert resp.status_code == 200
    assert [log.name for log in resp.parsed.login_logs] == ["Chrome"] * 3
    current = generate("ssojet-current.yaml")
    client = _mod(current, "client").AuthenticatedClient(base_url=f"{live_url}/api/v1", token=key)
    api = _mod(current, "api.users.get_user_login_logs")
    event = _mod(current, "models").GetUserLoginLogsEvent.LOGIN
    seen, cursor = [], None
    while True:
        kwargs = {"cursor": cursor} if cursor else {}
        page = api.sync_detailed(userid=uid, client=client, event=event, limit=2, **kwargs).parsed
        seen += [e.ip_address for e in page.audit_logs]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
