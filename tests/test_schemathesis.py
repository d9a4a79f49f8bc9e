"""Schemathesis over every mounted spec, in-process, with a fixed seed and bounded examples.

The app runs on its own seeded SQLite store with the credentials named in schemathesis.toml, so
positive cases reach real data and the ignored-auth check has real secrets to withhold.
"""

from __future__ import annotations

import os
import pathlib
import tempfile
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from loginaudit import seed as seeding
from loginaudit.app import create_app
from loginaudit.registry import CONTROL, VENDORS, spec_dir
from loginaudit.storage import bind
from loginaudit.storage.records import create_credential, issue_token

# (vendor, kind, secret, grants): the secrets schemathesis.toml hands to each security scheme.
SECRETS = [
    ("unleash", "admin", "*:*.0123456789abcdef0123456789abcdef0123456789abcdef01234567", ["ADMIN"]),
    ("canvas", "site_admin", "7~schemathesis-canvas-site-admin", ["site_admin", "read_sis", "view_user_logins"]),
    ("qradar", "sec_admin", "5c1f0b3e-0000-4000-8000-5c4e3a7d1e55", ["ADMIN", "API"]),
    ("qradar", "basic_admin", "schemathesis-qradar-password", ["ADMIN", "API"]),
    ("ssojet", "api_key", "sk_live_schemathesis", []),
    ("ingedata", "admin_key", "PULSE_schemathesis", ["read_all"]),
]

_DB = pathlib.Path(tempfile.mkdtemp(prefix="loginaudit-st-")) / "st.db"
APP = create_app(f"sqlite:///{_DB}", validate_responses=True)
seeding.seed(APP.store, events=300, seed=7, anchor=datetime.now(UTC))
with APP.store.session() as _s:
    _me = create_credential(_s, person_id=1, tenant_id=1, login="schemathesis", role="admin")  # basic auth user
    for _vendor, _kind, _secret, _grants in SECRETS:
        issue_token(_s, vendor=_vendor, kind=_kind, secret=_secret, grants=_grants, credential_id=_me.id)
with APP.test_client() as _c:  # Ingedata's bearer is a JWT minted by the server: schemathesis.toml reads it
    _token = _c.post("/api/v3/iam/auth/api/login", json={"key": "PULSE_schemathesis"}).json()["meta"]["token"]
    _c.put("/_loginaudit/clock", json={"now": datetime.now(UTC).isoformat(), "frozen": True})  # it never expires
os.environ["LOGINAUDIT_ST_INGEDATA_TOKEN"] = _token
CONFIG = SchemathesisConfig.from_path(pathlib.Path(__file__).with_name("schemathesis.toml"))

FAST = settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@pytest.fixture(autouse=True)
def _bound_store() -> None:
    bind(APP.store)  # other test modules rebind the process-wide store


def _conformance(name: str, base_path: str, client_spec: str | None = None) -> Any:
    if client_spec is None:
        schema = schemathesis.openapi.from_asgi(f"{base_path}/openapi.json", APP, config=CONFIG)
    else:  # a document that is not routed, checked against the server that routes its path
        schema = schemathesis.openapi.from_path(spec_dir() / client_spec, config=CONFIG)
        schema.app = APP

    @schema.parametrize()
    @FAST
    def test(case: Any) -> None:
        case.call_and_validate()

    test.__name__ = f"test_{name}_conforms"
    return test


for _v in (*VENDORS, CONTROL):
    globals()[f"test_{_v.name}_conforms"] = _conformance(_v.name, _v.base_path)
    for _c in _v.client_specs:
        _n = _c.removesuffix(".yaml").replace("-", "_")
        globals()[f"test_{_n}_conforms"] = _conformance(_n, _v.base_path, _c)
