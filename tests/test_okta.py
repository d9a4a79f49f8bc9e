"""Okta System Log GET /api/v1/logs: LogEvents, polling and bounded paging, filter, q, auth, errors."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import Arrange, at
from loginaudit.handlers.okta import person_of, user_id

URL = "/api/v1/logs"
UNTIL = "2026-11-22T12:00:00Z"  # the frozen NOW: a bounded query over the default 7 days


@pytest.fixture
def org(arrange: Arrange) -> dict[str, Any]:
    acme = arrange.tenant(name="Acme")
    jane_p = arrange.person(first_name="Jane", last_name="Doe", email="jane@acme.com")
    jane = arrange.credential(jane_p, acme, login="jane@acme.com")
    other = arrange.tenant(name="Other")
    bob = arrange.credential(arrange.person(first_name="Bob", email="bob@other.com"), other, login="bob@other.com")
    ids = arrange.events(
        {"credential_id": jane["id"], "occurred_at": "2026-11-22T08:15:02.123Z", "ip": "203.0.113.7",
         "country": "United States", "city": "Denver", "request_id": "8f3c2d10a1b2c3d4e5f6a7b8",
         "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                       "Version/17.0 Safari/605.1.15", "uuid": "8a3c1f1e-5b6d-4c55-9a35-5a8f8f3c2d10"},
        {"credential_id": jane["id"], "occurred_at": at(3), "successful": False,
         "failure_reason": "INVALID_CREDENTIALS", "ip": "198.51.100.9"},
        {"credential_id": jane["id"], "occurred_at": at(2), "event_type": "logout"},
        {"username": "ghost@acme.com", "occurred_at": at(1), "successful": False, "failure_reason": "UNKNOWN_USER"},
        {"credential_id": bob["id"], "occurred_at": at(1)},  # another org's
    )
    return {"acme": acme, "jane": jane, "jane_person": jane_p, "ids": ids,
            "token": arrange.token("okta", "api_token", credential_id=jane["id"]),
            "bob_token": arrange.token("okta", "api_token", credential_id=bob["id"])}


def _get(client: Any, org: dict[str, Any], query: str = "", token: str | None = None, scheme: str = "SSWS ") -> Any:
    return client.get(URL + query, headers={"Authorization": f"{scheme}{token or org['token']}"})


def _links(r: Any) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', r.headers.get("link", ""))}


def _after(url: str) -> str:
    return parse_qs(urlsplit(url).query)["after"][0]


def test_a_sign_in_as_okta_writes_it(client: Any, org: dict[str, Any]) -> None:
    r = _get(client, org, f"?until={UNTIL}&limit=1")
    assert (r.status_code, r.headers["content-type"]) == (200, "application/json")
    [event] = r.json()
    agent = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Version/17.0 Safari/605.1.15")
    place = {"city": "Denver", "state": None, "country": "United States", "postalCode": None, "geolocation": None}
    assert event == {
        "actor": {"id": user_id(org["jane_person"]["id"]), "type": "User", "alternateId": "jane@acme.com",
                  "displayName": "Jane Doe", "detailEntry": None},
        "client": {"userAgent": {"rawUserAgent": agent, "os": "Mac OS X", "browser": "SAFARI"}, "zone": "null",
                   "device": "Computer", "id": None, "ipAddress": "203.0.113.7", "geographicalContext": place},
        "device": None,
        "authenticationContext": {"authenticationProvider": None, "credentialProvider": None,
                                  "credentialType": "PASSWORD", "issuer": None, "interface": None,
                                  "authenticationStep": 0, "externalSessionId": "idx8f3c2d10a1b2c3d4e5f6a7b8"},
        "displayMessage": "User login to Okta", "eventType": "user.session.start",
        "outcome": {"result": "SUCCESS", "reason": None}, "published": "2026-11-22T08:15:02.123Z",
        "securityContext": {"asNumber": None, "asOrg": None, "isp": None, "domain": None, "isProxy": None},
        "severity": "INFO",
        "debugContext": {"debugData": {"requestId": "8f3c2d10a1b2c3d4e5f6a7b8", "requestUri": "/idp/idx/identify",
                                       "url": "/idp/idx/identify?"}},
        "legacyEventType": "core.user_auth.login_success",
        "transaction": {"type": "WEB", "id": "8f3c2d10a1b2c3d4e5f6a7b8", "detail": {}},
        "uuid": "8a3c1f1e-5b6d-4c55-9a35-5a8f8f3c2d10", "version": "0",
        "request": {"ipChain": [{"ip": "203.0.113.7", "geographicalContext": place, "version": "V4", "source": None}]},
        "target": None,
    }


def test_failures_logouts_and_unknown_names(client: Any, org: dict[str, Any]) -> None:
    events = _get(client, org, f"?until={UNTIL}").json()
    assert [(e["eventType"], e["outcome"]["result"], e["severity"], e["legacyEventType"]) for e in events] == [
        ("user.session.start", "SUCCESS", "INFO", "core.user_auth.login_success"),
        ("user.session.start", "FAILURE", "WARN", "core.user_auth.login_failed"),
        ("user.session.end", "SUCCESS", "INFO", "core.user_auth.logout_success"),
        ("user.session.start", "FAILURE", "WARN", "core.user_auth.login_failed"),  # a name nobody holds
    ]
    assert events[1]["outcome"]["reason"] == "INVALID_CREDENTIALS"
    assert events[3]["actor"] == {"id": "unknown", "type": "User", "alternateId": "ghost@acme.com",
                                  "displayName": "unknown", "detailEntry": None}
    other = _get(client, org, f"?until={UNTIL}", token=org["bob_token"]).json()  # each org reads its own log
    assert [e["actor"]["alternateId"] for e in other] == ["ghost@acme.com", "bob@other.com"]


def test_user_ids_are_okta_shaped_and_lead_back(org: dict[str, Any]) -> None:
    ident = user_id(org["jane_person"]["id"])
    assert re.fullmatch(r"00u[0-9A-Za-z]{17}", ident) and person_of(ident) == org["jane_person"]["id"]
    assert person_of("00unotanoktaid") is None


def test_bounded_queries_page_by_published_and_end(client: Any, org: dict[str, Any]) -> None:
    seen, query = [], f"?until={UNTIL}&limit=3"
    r = _get(client, org, query)
    seen += [e["published"] for e in r.json()]
    links = _links(r)
    assert links["self"] == f"http://testserver{URL}?until={UNTIL.replace(':', '%3A')}&limit=3"
    r = _get(client, org, f"{query}&after={_after(links['next'])}")
    seen += [e["published"] for e in r.json()]
    assert "next" not in _links(r)  # a bounded query ends
    assert seen == sorted(seen) and len(seen) == 4
    newest_first = [e["published"] for e in _get(client, org, f"?until={UNTIL}&sortOrder=DESCENDING").json()]
    assert newest_first == sorted(seen, reverse=True)


def test_polling_always_links_next_and_picks_up_what_arrives(client: Any, arrange: Arrange,
                                                             org: dict[str, Any]) -> None:
    r = _get(client, org, "?limit=10")
    assert len(r.json()) == 4 and "next" in _links(r)
    r = _get(client, org, f"?limit=10&after={_after(_links(r)['next'])}")
    assert (r.json(), "next" in _links(r)) == ([], True)  # empty, and still a next link
    later = _links(r)["next"]
    arrange.events({"credential_id": org["jane"]["id"], "occurred_at": at(30)})  # arrives now, published earlier
    r = _get(client, org, f"?limit=10&after={_after(later)}")
    assert [e["published"] for e in r.json()] == [at(30)]


def test_time_bounds_default_to_seven_days_and_retention(client: Any, arrange: Arrange, org: dict[str, Any]) -> None:
    arrange.events({"credential_id": org["jane"]["id"], "occurred_at": at(24 * 8)},
                   {"credential_id": org["jane"]["id"], "occurred_at": at(24 * 100)})
    assert len(_get(client, org, f"?until={UNTIL}").json()) == 4  # since: 7 days before until
    assert len(_get(client, org, f"?until={UNTIL}&since=2026-11-01T00:00:00Z").json()) == 5
    assert len(_get(client, org, f"?until={UNTIL}&since=2025-01-01T00:00:00Z").json()) == 5  # 90 days kept
    r = _get(client, org, "?since=yesterday")
    assert (r.status_code, r.json()["errorCode"], r.json()["errorSummary"]) == (
        400, "E0000001", "Api validation failed: since")
    assert r.json()["errorCauses"] == [{"errorSummary": "since: The date format in your query is not recognized. "
                                                        "Please enter dates using ISO8601 string format.. "}]
    assert _get(client, org, "?since=2026-11-22T00:00:00Z&until=2026-11-21T00:00:00Z").status_code == 400


@pytest.mark.parametrize(("expr", "who"), [
    ('eventType eq "user.session.end"', ["jane@acme.com"]),
    ('outcome.result eq "FAILURE" and not (actor.alternateId sw "GHOST")', ["jane@acme.com"]),
    ('actor.alternateId co "ACME" and severity eq "INFO"', ["jane@acme.com", "jane@acme.com"]),
    ('client.ipAddress eq "198.51.100.9" or outcome.reason eq "UNKNOWN_USER"', ["jane@acme.com", "ghost@acme.com"]),
    ('published gt "2026-11-22T09:30:00Z" and client.geographicalContext.city pr', []),
    ('(legacyEventType sw "core.user_auth.login") AND NOT (outcome.result eq "SUCCESS")',
     ["jane@acme.com", "ghost@acme.com"]),
    ('eventType eq "user.lifecycle.create"', []),
])
def test_filter(client: Any, org: dict[str, Any], expr: str, who: list[str]) -> None:
    r = client.get(URL, params={"filter": expr, "until": UNTIL}, headers={"Authorization": f"SSWS {org['token']}"})
    assert r.status_code == 200, r.text
    assert [e["actor"]["alternateId"] for e in r.json()] == who


def test_filter_by_actor_id(client: Any, org: dict[str, Any]) -> None:
    expr = f'actor.id eq "{user_id(org["jane_person"]["id"])}"'
    r = client.get(URL, params={"filter": expr, "until": UNTIL}, headers={"Authorization": f"SSWS {org['token']}"})
    assert len(r.json()) == 3


@pytest.mark.parametrize("expr", ['actor.displayName eq "Jane"', "eventType eq", 'eventType ne "x"',
                                  'not eventType eq "x"', "(((((",
                                  "not (" * 60 + 'eventType eq "x"' + ")" * 60,  # deeper than SQLite parses
                                  " or ".join(['uuid eq "x"'] * 300)])
def test_a_bad_filter_is_invalid_search_criteria(client: Any, org: dict[str, Any], expr: str) -> None:
    r = client.get(URL, params={"filter": expr}, headers={"Authorization": f"SSWS {org['token']}"})
    body = r.json()
    assert (r.status_code, body["errorCode"], body["errorSummary"], body["errorLink"]) == (
        400, "E0000031", "Invalid search criteria.", "E0000031")
    assert re.fullmatch(r"oae[0-9A-Za-z]{22}", body["errorId"]) and len(body["errorCauses"]) == 1


def test_q_keywords_all_match_ignoring_case(client: Any, org: dict[str, Any]) -> None:
    assert [e["client"]["ipAddress"] for e in _get(client, org, f"?until={UNTIL}&q=DENVER 203.0").json()] == [
        "203.0.113.7"]
    assert _get(client, org, f"?until={UNTIL}&q=denver nowhere").json() == []
    assert _get(client, org, "?q=" + "+".join("k" * 11)).status_code == 400


def test_auth_as_okta(client: Any, arrange: Arrange, org: dict[str, Any]) -> None:
    r = client.get(URL)
    assert (r.status_code, r.json()["errorCode"], r.json()["errorSummary"]) == (
        401, "E0000011", "Invalid token provided")
    assert _get(client, org, scheme="SSWS").status_code == 200  # okta 3.4.6 sends no space after SSWS
    assert _get(client, org, scheme="Bearer ").status_code == 401  # an API token is SSWS only
    assert _get(client, org, token="00nope").status_code == 401
    access = arrange.token("okta", "oauth_logs", credential_id=org["jane"]["id"])
    assert _get(client, org, token=access, scheme="Bearer ").status_code == 200
    assert _get(client, org, token=access, scheme="SSWS ").status_code == 401
    no_scope = arrange.token("okta", "oauth_no_scope", credential_id=org["jane"]["id"])
    r = _get(client, org, token=no_scope, scheme="Bearer ")
    assert (r.status_code, r.json()["errorCode"]) == (403, "E0000006")
    assert 'error="insufficient_scope"' in r.headers["www-authenticate"]


def test_okta_errors_for_paths_methods_and_limits(client: Any, org: dict[str, Any]) -> None:
    assert _get(client, org, "?limit=1001").json()["errorCode"] == "E0000001"
    assert _get(client, org, "?after=garbage").json()["errorCode"] == "E0000001"
    r = client.post(URL, headers={"Authorization": f"SSWS {org['token']}"})
    assert (r.status_code, r.json()["errorCode"]) == (405, "E0000022")
    first, second = (client.get(URL).json()["errorId"] for _ in range(2))
    assert first != second


def test_rate_limit_headers_and_429(client: Any, org: dict[str, Any]) -> None:
    client.put("/_loginaudit/rate-limits", json={"rules": [{"vendor": "okta", "requests": 2, "window_seconds": 60}]})
    r = _get(client, org, f"?until={UNTIL}")
    assert (r.headers["x-rate-limit-limit"], r.headers["x-rate-limit-remaining"]) == ("2", "1")
    assert int(r.headers["x-rate-limit-reset"]) > 1_700_000_000
    _get(client, org)
    r = _get(client, org)
    assert (r.status_code, r.json()["errorCode"], r.headers["x-rate-limit-remaining"]) == (429, "E0000047", "0")


def test_the_served_document_is_the_published_one_not_the_routed_copy(client: Any) -> None:
    """`/api/v1/logs/openapi.json` (what Swagger UI shows) says server `/api/v1`, path `/logs`, as
    `openapi/okta.yaml` does: the re-rooted copy it is routed by would show path `/` (issue 16)."""
    doc = client.get("/api/v1/logs/openapi.json").json()
    assert doc["servers"] == [{"url": "/api/v1"}] and list(doc["paths"]) == ["/logs"]
