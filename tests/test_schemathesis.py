"""Schemathesis over every mounted spec, in-process, with a fixed seed and bounded examples.

The app runs on its own seeded SQLite store with the credentials below, so positive cases reach
real data and the ignored-auth check has real secrets to withhold. Per-document settings (which
statuses a schema-valid request may get, and why) come from each spec's
`info.x-loginaudit-conformance`, the same source `loginaudit conform` reads.
"""

from __future__ import annotations

import os
import pathlib
import tempfile
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, seed, settings

from loginaudit import seed as seeding
from loginaudit.app import create_app
from loginaudit.conform.config import build as conformance_config
from loginaudit.conform.run import load_spec
from loginaudit.handlers import entra as entra_handler
from loginaudit.registry import ROUTED, spec_dir
from loginaudit.storage import bind
from loginaudit.storage.records import create_credential, issue_token

# (vendor, kind, secret, grants): credentials issued in the store before the run.
SECRETS = [
    ("unleash", "admin", "*:*.0123456789abcdef0123456789abcdef0123456789abcdef01234567", ["ADMIN"]),
    ("canvas", "site_admin", "7~schemathesis-canvas-site-admin", ["site_admin", "read_sis", "view_user_logins"]),
    ("qradar", "sec_admin", "5c1f0b3e-0000-4000-8000-5c4e3a7d1e55", ["ADMIN", "API"]),
    ("qradar", "basic_admin", "schemathesis-qradar-password", ["ADMIN", "API"]),
    ("ssojet", "api_key", "sk_live_schemathesis", []),
    ("ingedata", "admin_key", "PULSE_schemathesis", ["read_all"]),
    ("okta", "api_token", "00schemathesis-okta-api-token", []),
    ("entra", "app_auditlog", entra_handler.TOKEN_KINDS["app_auditlog"].mint(None), []),
]

_DB = pathlib.Path(tempfile.mkdtemp(prefix="loginaudit-st-")) / "st.db"
APP = create_app(f"sqlite:///{_DB}", validate_responses=True)
seeding.seed(APP.store, events=300, seed=7, anchor=datetime.now(UTC))
with APP.store.session() as _s:
    _me = create_credential(_s, person_id=1, tenant_id=1, login="schemathesis", role="admin")  # basic auth user
    for _vendor, _kind, _secret, _grants in SECRETS:
        issue_token(_s, vendor=_vendor, kind=_kind, secret=_secret, grants=_grants, credential_id=_me.id)
with APP.test_client() as _c:  # Ingedata's bearer is a JWT the server mints; freeze the clock so it never expires
    _jwt = _c.post("/api/v3/iam/auth/api/login", json={"key": "PULSE_schemathesis"}).json()["meta"]["token"]
    _c.put("/_loginaudit/clock", json={"now": datetime.now(UTC).isoformat(), "frozen": True})

# Credentials per document and security scheme; everything else comes from each spec's
# info.x-loginaudit-conformance, exactly as `loginaudit conform` uses it.
AUTH: dict[str, dict[str, str]] = {
    "unleash.yaml": {"apiKey": SECRETS[0][2]},
    "canvas.yaml": {"bearerAuth": SECRETS[1][2], "accessToken": SECRETS[1][2]},
    "qradar.yaml": {"secToken": SECRETS[2][2], "basicAuth": f"schemathesis:{SECRETS[3][2]}"},
    "ssojet.yaml": {"BearerAuth": SECRETS[4][2]},
    "ssojet-legacy.yaml": {"BearerAuth": SECRETS[4][2]},
    "ssojet-current.yaml": {"BearerAuth": SECRETS[4][2]},
    "ingedata.yaml": {"bearerAuth": _jwt, "cookieAuth": _jwt},
    "okta.yaml": {"apiToken": f"SSWS {SECRETS[6][2]}"},
    "entra.yaml": {"bearerAuth": f"Bearer {SECRETS[7][2]}"},
    "entra-beta.yaml": {"bearerAuth": f"Bearer {SECRETS[7][2]}"},
    "control.yaml": {},
}
# `make fuzz` sets these: more examples and another seed than the normal suite's fixed 60 at seed 42.
FUZZ_SEED = os.environ.get("LOGINAUDIT_FUZZ_SEED")
EXAMPLES = int(os.environ.get("LOGINAUDIT_FUZZ_EXAMPLES", "300" if FUZZ_SEED else "60"))
_DOCS = {f: load_spec(f)[1] for f in AUTH}  # bundled: entra-beta.yaml refers to entra.yaml
CONFIG = conformance_config(((_DOCS[f], auth) for f, auth in AUTH.items()), seed=int(FUZZ_SEED or 42),
                            max_examples=EXAMPLES)

FAST = settings(deadline=None, derandomize=FUZZ_SEED is None, suppress_health_check=list(HealthCheck))


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

    if FUZZ_SEED is not None:
        test = seed(int(FUZZ_SEED))(test)

    test.__name__ = f"test_{name}_conforms"
    return test


for _v in ROUTED:  # every routed document: Entra's v1.0 and beta alike
    _a = _v.api_name.replace("-", "_")
    globals()[f"test_{_a}_conforms"] = _conformance(_a, _v.base_path)
    for _c in _v.client_specs:
        _n = _c.removesuffix(".yaml").replace("-", "_")
        globals()[f"test_{_n}_conforms"] = _conformance(_n, _v.base_path, _c)


def test_the_fuzzer_never_sends_our_mock_controls() -> None:
    """`__example`/`__code` are loginaudit's (Prism's) mock controls, not vendor input; Hypothesis draws
    string constants from our code, so a fuzzed query once named `__example` and got our 422."""
    schema = schemathesis.openapi.from_asgi("/api/v1/audit/authentication/openapi.json", APP, config=CONFIG)
    case = schema["/accounts/{account_id}"]["GET"].Case(
        path_parameters={"account_id": 1}, query={"__example": "null", "__code": "500", "per_page": 5},
        headers={"Authorization": f"Bearer {SECRETS[1][2]}"})
    r = case.call()
    # Prefer's twins act before auth (a 500 example or our 422); without them Canvas answers from the store,
    # 200 or, once the control plane's fuzzing has revoked or deleted what the token needs, its own 401/404
    assert r.status_code in (200, 401, 404) and "Prefer" not in r.text, r.text
    assert case.query == {"per_page": 5}
