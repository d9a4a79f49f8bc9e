"""`loginaudit conform` passes against this server and catches deliberately broken handlers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from conftest import Arrange, at
from loginaudit.conform.run import conform, summary
from loginaudit.handlers import qradar, unleash
from loginaudit.loopback import free_port, wait_until_up
from loginaudit.storage.rendered import Choice


def test_cli_against_a_served_emulator_writes_junit(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "LOGINAUDIT_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    server = subprocess.Popen([sys.executable, "-m", "loginaudit", "serve", "--port", str(port), "--demo-events",
                               "400", "--no-access-log"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              env=env, text=True)
    try:
        banner = ""
        assert server.stdout is not None
        while "\n  ssojet " not in banner:
            banner += server.stdout.readline()
        found = re.search(r"^\s+sec_admin\s+(\S+)$", banner, re.M)
        assert found, banner
        wait_until_up(f"http://127.0.0.1:{port}/", server)
        report = tmp_path / "junit.xml"
        done = subprocess.run([sys.executable, "-m", "loginaudit", "conform", "--vendor", "qradar", "--base-url",
                               f"http://127.0.0.1:{port}", "--auth", f"secToken={found.group(1)}", "--max-examples",
                               "15", "--junit", str(report)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.strip().endswith("conform: 10 passed, 0 failed")
        suites = {s.get("name"): s for s in ET.parse(report).getroot()}
        assert set(suites) == {"schemathesis", "semantics"}
        assert all(s.get("failures") == "0" for s in suites.values())
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def qradar_data(arrange: Arrange) -> str:
    tenant = arrange.tenant()
    cred = arrange.credential(arrange.person(), tenant)
    arrange.events(*({"credential_id": cred["id"], "occurred_at": at(h / 3), "ip": f"10.0.0.{h}"} for h in range(20)))
    return arrange.token("qradar", "sec_admin")


def test_a_range_handler_that_ignores_the_start_is_caught(monkeypatch: pytest.MonkeyPatch, live_url: str,
                                                          qradar_data: str) -> None:
    real = qradar._range

    def broken(value: str | None) -> tuple[int, int] | None:
        span = real(value)
        return None if span is None else (0, span[1] - span[0])  # always the first page

    monkeypatch.setattr(qradar, "_range", broken)
    outcomes = conform("qradar", live_url, spec_name="qradar.yaml", auth={"secToken": qradar_data}, params={},
                       max_examples=5)
    failed = {o.name: o.message for o in outcomes if o.ok is False}
    assert "qradar_range_paging" in failed, outcomes
    assert "Content-Range" in failed["qradar_range_paging"]
    console = summary(outcomes)
    assert "FAIL  semantics    qradar_range_paging\n      " in console  # the reason under the failure


def test_a_body_that_breaks_the_schema_is_caught(monkeypatch: pytest.MonkeyPatch, live_url: str,
                                                 arrange: Arrange) -> None:
    cred = arrange.credential(arrange.person(), arrange.tenant())
    arrange.events({"credential_id": cred["id"], "occurred_at": at(1)})
    broken = tuple((key, Choice("successful", "yes", "no") if key == "successful" else field)
                   for key, field in unleash.TYPED_DOC)  # a string where the spec says boolean
    monkeypatch.setattr(unleash, "TYPED_DOC", broken)
    outcomes = conform("unleash", live_url, spec_name="unleash.yaml",
                       auth={"apiKey": arrange.token("unleash", "admin")}, params={}, max_examples=5)
    failed = {o.name: o.message for o in outcomes if o.ok is False}
    # the test app validates its own responses (a 500), a production server would not (a schema violation)
    assert re.search(r"Server error|Response violates schema", failed["GET /logins [positive]"])
    console = summary(outcomes)  # the console says why and how to reproduce, not only the JUnit file
    assert re.search(r"FAIL  schemathesis GET /logins \[positive\]\n(      .*\n)*      .*curl -X GET", console), console


def test_graph_beta_document_conforms_bundled(live_url: str, arrange: Arrange) -> None:
    """`--spec entra-beta.yaml` loads the beta document with the v1.0 parts it refers to, and passes."""
    cred = arrange.credential(arrange.person(), arrange.tenant())
    arrange.events(*({"credential_id": cred["id"], "occurred_at": at(h + 1)} for h in range(7)))
    token = arrange.token("entra", "app_auditlog", credential_id=cred["id"])
    outcomes = conform("entra", live_url, spec_name="entra-beta.yaml", auth={"bearerAuth": f"Bearer {token}"},
                       params={}, max_examples=5)
    assert [o for o in outcomes if o.ok is False] == []
    assert any(o.name == "entra_next_link_paging" and o.ok for o in outcomes)
