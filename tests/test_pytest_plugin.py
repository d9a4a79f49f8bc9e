"""The shipped pytest plugin, used the way a user's suite uses it (in a separate pytest process)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ("pytester",)

USER_TESTS = '''
import httpx
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest


def test_a_fresh_store_a_real_server_and_credentials(loginaudit):
    assert loginaudit.base_url.startswith("http://127.0.0.1:")
    jane = loginaudit.control.scenario({
        "people": {"jane": {"first_name": "Jane", "last_name": "Doe", "email": "j@ex.edu"}},
        "tenants": {"uni": {"name": "Uni"}},
        "credentials": {"jane": {"person": "jane", "tenant": "uni", "login": "j@ex.edu"}},
    })["credentials"]["jane"]
    # the fixture's clock is the real one: an hour ago is inside Unleash's 14-day retention on any day
    # (a fixed 2026-11-22 left it on 2026-12-06)
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    loginaudit.control.events({"credential_id": jane, "occurred_at": an_hour_ago})
    r = httpx.get(loginaudit.url("/api/admin/logins"),
                  headers={"Authorization": loginaudit.credentials["unleash"]})
    assert r.status_code == 200 and [e["username"] for e in r.json()["events"]] == ["j@ex.edu"]
    sent = loginaudit.control.journal(vendor="unleash")
    assert len(sent) == 1 and sent[0]["headers"]["authorization"] == "<redacted>"


def test_edit_delete_and_revoke_from_the_control_client(loginaudit):
    c = loginaudit.control
    ids = c.scenario({"people": {"jane": {"first_name": "Jane", "last_name": "Doe", "email": "j@ex.edu"}},
                      "tenants": {"uni": {"name": "Uni"}},
                      "credentials": {"jane": {"person": "jane", "tenant": "uni", "login": "j@ex.edu"}}})
    jane = ids["credentials"]["jane"]
    c.events({"credential_id": jane, "occurred_at": "2026-11-22T08:00:00Z"})
    assert c.update("credentials", jane, role="admin")["role"] == "admin"
    assert [r["login"] for r in c.records("credentials", tenant_id=ids["tenants"]["uni"])] == ["j@ex.edu"]
    secret = loginaudit.credentials["unleash"]
    c.revoke(secret)
    assert httpx.get(loginaudit.url("/api/admin/logins"), headers={"Authorization": secret}).status_code == 401
    assert c.delete("credentials", jane, cascade=True) == {"events": 1, "credentials": 1}
    assert c.records("events") == []
    assert c.settings("unleash", edition="oss")["edition"] == "oss"


def test_each_test_starts_empty(loginaudit):
    r = httpx.get(loginaudit.url("/api/access/login_attempts"), headers={"SEC": loginaudit.credentials["qradar"]})
    assert r.status_code == 200 and r.json() == []
    assert [e["vendor"] for e in loginaudit.control.journal()] == ["qradar"]  # this test's request only


def test_faults_from_the_control_client(loginaudit):
    loginaudit.control.faults({"vendor": "canvas", "error_rate": 1, "error_status": 502})
    r = httpx.get(loginaudit.url("/api/v1/audit/authentication/users/1"),
                  headers={"Authorization": "Bearer " + loginaudit.credentials["canvas"]})
    assert r.status_code == 502


@pytest.mark.loginaudit_scenario("account-takeover")
def test_a_shipped_scenario(loginaudit_scenario):
    tokens = loginaudit_scenario.scenario["tokens"]
    r = httpx.get(loginaudit_scenario.url("/api/access/login_attempts"),
                  headers={"SEC": tokens["qradar-admin"]["secret"], "Range": "items=0-1"})
    assert r.headers["content-range"] == "items 0-1/23"


@pytest.mark.loginaudit_scenario("mine.yaml")
def test_a_scenario_file_next_to_the_test(loginaudit_scenario):
    assert loginaudit_scenario.scenario["events"] == 4
'''

MINE = "events: [{username: x@ex.edu, occurred_at: -1h, successful: false, repeat: 4}]\n"


def test_the_fixtures_in_a_users_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    (pytester.path / "mine.yaml").write_text(MINE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=6, warnings=0)  # the emulator's dependencies' deprecations stay out


def test_the_fixtures_under_xdist(pytester: pytest.Pytester) -> None:
    # Every test records which server its worker used (xdist decides which worker runs which test).
    pytester.makeconftest('''
import pathlib
import pytest


@pytest.fixture(autouse=True)
def _record_server(loginaudit_server, worker_id):
    pathlib.Path(f"url-{worker_id}").write_text(loginaudit_server)
''')
    pytester.makepyfile(test_user=USER_TESTS + '''

@pytest.mark.parametrize("n", range(6))
def test_more_work_to_share(loginaudit, n):
    assert loginaudit.control.journal() == []
''')
    (pytester.path / "mine.yaml").write_text(MINE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=12)
    urls = {p.name.split("-")[1]: p.read_text() for p in pytester.path.glob("url-gw*")}
    assert set(urls) == {"gw0", "gw1"} and len(set(urls.values())) == 2


def test_the_scenario_fixture_needs_a_scenario(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user="def test_x(loginaudit_scenario):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*loginaudit_scenario needs @pytest.mark.loginaudit_scenario*"])


def test_the_readme_integration_test_runs(pytester: pytest.Pytester) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(# test_connector\.py.*?)```", readme, re.S)
    assert block, "the README's integration-test example"
    pytester.makepyfile(test_connector=block.group(1))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_every_vendor_names_an_admin_credential_it_can_issue() -> None:
    from loginaudit.registry import VENDORS

    for vendor in VENDORS:
        assert vendor.module.ADMIN_TOKEN_KIND in vendor.module.TOKEN_KINDS, vendor.name
