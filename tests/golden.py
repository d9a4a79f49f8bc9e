"""Byte-identity across a redesign: a fixed store, a fixed list of requests, and their recorded answers.

`tests/golden/answers.json` was recorded from the request path before issue 20's redesign (commit
19e0280) with `python tests/golden.py record`; `test_golden.py` replays every request against today's
code and diffs status, headers and body bytes. Entra's answers were re-recorded once, on purpose, when
its v1.0 signIn gained the six properties of Microsoft's own model it lacked (and `/beta` was added). The
store is built from stdlib `random` and explicit uuids/secrets only (not the Faker seed), so a dependency
upgrade cannot move it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

HERE = Path(__file__).parent
ANSWERS = HERE / "golden" / "answers.json"
NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
INLINE = 4096  # bodies up to this size are kept verbatim (readable diffs); larger ones as a digest
# Answers that are random by the vendor's design: Unleash's error ids (a fresh uuid per response).
RANDOM = re.compile(rb'"id":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}","name"')
OKTA_ERROR_ID = re.compile(rb'"errorId":"oae[0-9A-Za-z]{22}"')  # Okta's errorId: fresh per response
SKIPPED_HEADERS = {"date", "server", "request-id", "client-request-id"}  # Graph's ids: fresh per response

AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "curl/8.5.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0 \u00e9t\u00e9",  # non-ASCII on the wire
)
SECRETS = {  # (vendor, kind) -> (secret, credential index or None)
    ("unleash", "admin"): ("*:*." + "a1" * 28, None),
    ("unleash", "pat"): ("user:" + "b2" * 28, 0),
    ("unleash", "client"): ("default:development." + "c3" * 28, None),
    ("canvas", "site_admin"): ("1~" + "d4" * 32, 0),
    ("canvas", "account_admin"): ("2~" + "e5" * 32, 3),
    ("canvas", "user"): ("3~" + "f6" * 32, 1),
    ("qradar", "sec_admin"): ("0a0a0a0a-1b1b-2c2c-3d3d-4e4e4e4e4e4e", None),
    ("qradar", "sec_user"): ("1a1a1a1a-1b1b-2c2c-3d3d-4e4e4e4e4e4e", 1),
    ("qradar", "sec_nocap"): ("2a2a2a2a-1b1b-2c2c-3d3d-4e4e4e4e4e4e", None),
    ("qradar", "basic_admin"): ("5f" * 12, 0),
    ("ingedata", "admin_key"): ("ak_" + "7a" * 20, 0),
    ("ssojet", "api_key"): ("sk_live_" + "8b" * 24, 0),
    ("okta", "api_token"): ("00" + "9c" * 20, 0),
    # entra._mint(random.Random(20), roles=("AuditLog.Read.All",)): a JWT the emulator signed
    ("entra", "app_auditlog"): (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5"
        "jb20iLCJpc3MiOiJodHRwczovL3N0cy53aW5kb3dzLm5ldC9sb2dpbmF1ZGl0LyIsImlhdCI6MTcwMDA"
        "wMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJvaWQiOiI2ODAwZDhlNy0wNDZhLTA5YjktM2I1YS1hZWFmZTB"
        "jZjYzYzkiLCJ2ZXIiOiIxLjAiLCJ1dGkiOiJhQURZNXdScUNiazdXcTZ2NE05anlRIiwicm9sZXMiOls"
        "iQXVkaXRMb2cuUmVhZC5BbGwiXX0.gJBYSTEcjM0vJ7qXuPjsMPgty63yFQ3--Vsp9OXKIpc", 0),
}


def _uuid(rng: random.Random) -> str:
    h = rng.randbytes(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def build(store: Any) -> dict[str, Any]:
    """Two root accounts (one with a sub-account, one not in UTC), six people, eight logins, 400 events."""
    from loginaudit.registry import by_name
    from loginaudit.storage import clock, records

    rng = random.Random(20)
    with store.session(write=True) as s:
        clock.set_clock(s, NOW, frozen=True)
        start = NOW - timedelta(days=400)
        t1 = records.create_tenant(s, name="Northwind University", client_id="app_northwind", time_zone="UTC",
                                   sis_id="NW", created_at=start, uuid=_uuid(rng))
        t2 = records.create_tenant(s, name="Faculté des Sciences", parent_id=t1.id, time_zone="UTC",
                                   sis_id="NW-SCI", created_at=start, uuid=_uuid(rng), client_id="app_nw_sci")
        t3 = records.create_tenant(s, name="Contoso College", client_id="app_contoso", time_zone="America/Denver",
                                   sis_id="CC", created_at=start, uuid=_uuid(rng))
        names = (("Ada", "Lovelace"), ("Grace", "Hopper"), ("Zoë", "Ngô"), ("Alan", "Turing"), ("Edsger", "Dijkstra"),
                 ("Barbara", "Liskov"))
        people = [records.create_person(s, first_name=f, last_name=l_, email=f"{f.lower()}@example.edu",
                                        sis_id=f"S{100 + i}", created_at=start + timedelta(days=i),
                                        uuid=_uuid(rng)) for i, (f, l_) in enumerate(names)]
        homes = (t1, t1, t2, t3, t3, t1)
        creds = [records.create_credential(s, person_id=p.id, tenant_id=homes[i].id, login=f"{p.first_name.lower()}",
                                           role="admin" if i in (0, 3) else "employee",
                                           auth_method="http_basic" if i == 4 else "password",
                                           sis_id=f"L{i}", integration_id=f"I{i}" if i % 2 else None,
                                           created_at=start + timedelta(days=i, hours=3))
                 for i, p in enumerate(people)]
        creds.append(records.create_credential(s, person_id=people[1].id, tenant_id=t3.id, login="grace.cc",
                                               created_at=start + timedelta(days=9)))
        creds.append(records.create_credential(s, person_id=people[5].id, tenant_id=t1.id, login="barbara.old",
                                               active=False, created_at=start + timedelta(days=9)))
        events = []
        at = NOW - timedelta(days=20)
        for _ in range(400):
            at += timedelta(seconds=rng.randrange(1, 7200), microseconds=rng.randrange(1000) * 1000)
            ok = rng.random() < 0.8
            ev: dict[str, Any] = {
                "uuid": _uuid(rng), "occurred_at": at, "successful": ok,
                "failure_reason": None if ok else rng.choice(("INVALID_PASSWORD", "USER_LOCKED")),
                "ip": rng.choice(("203.0.113.7", "198.51.100.23", "2001:db8::1", None)),
                "user_agent": rng.choice(AGENTS), "country": rng.choice(("US", "FR", None)),
                "city": rng.choice(("Boston", "Paris", None)),
                "request_id": _uuid(rng) if ok else None,
                "event_type": "logout" if ok and rng.random() < 0.2 else "login",
            }
            if rng.random() < 0.1:
                ev["username"] = rng.choice(("admin", "root", "ada"))
            else:
                ev["credential_id"] = rng.choice(creds).id
            events.append(ev)
        records.ingest_events(s, events)
        for (vendor, kind), (secret, cred) in SECRETS.items():
            spec = by_name(vendor).module.TOKEN_KINDS[kind]
            records.issue_token(s, vendor=vendor, kind=kind, secret=secret, grants=list(spec.grants),
                                credential_id=None if cred is None else creds[cred].id)
        made = {"roots": (t1.id, t3.id), "sub": t2.id, "creds": [c.id for c in creds],
                "people": [p.id for p in people], "uuids": [p.uuid for p in people]}
    return made


@dataclass(frozen=True)
class Request:
    name: str
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()


def _b(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def requests(made: dict[str, Any], ingedata_jwt: str) -> list[Request]:
    """Every bench request shape, a walk over their pages and filters, and each vendor's error answers."""
    root, other = made["roots"]
    c = made["creds"]
    un = (("Authorization", SECRETS["unleash", "admin"][0]),)
    cv = (("Authorization", "Bearer " + SECRETS["canvas", "site_admin"][0]),)
    cv_admin = (("Authorization", "Bearer " + SECRETS["canvas", "account_admin"][0]),)
    cv_user = (("Authorization", "Bearer " + SECRETS["canvas", "user"][0]),)
    qr = (("SEC", SECRETS["qradar", "sec_admin"][0]),)
    ig = (("Authorization", "Bearer " + ingedata_jwt),)
    sj = (("Authorization", "Bearer " + SECRETS["ssojet", "api_key"][0]),)
    ok = (("Authorization", "SSWS " + SECRETS["okta", "api_token"][0]),)
    en = (("Authorization", "Bearer " + SECRETS["entra", "app_auditlog"][0]),)
    out = [
        Request("unleash page", "GET", "/api/admin/logins", un),
        Request("unleash csv", "GET", "/api/admin/logins", (*un, ("Accept", "text/csv"))),
        Request("unleash pat", "GET", "/api/admin/logins", (("Authorization", SECRETS["unleash", "pat"][0]),)),
        Request("unleash client 403", "GET", "/api/admin/logins",
                (("Authorization", SECRETS["unleash", "client"][0]),)),
        Request("unleash no auth", "GET", "/api/admin/logins"),
        Request("unleash bad token", "GET", "/api/admin/logins", (("Authorization", "nope"),)),
        Request("unleash head", "HEAD", "/api/admin/logins", un),
        Request("unleash unknown path", "GET", "/api/admin/nope", un),
    ]
    acct = f"/api/v1/audit/authentication/accounts/{root}"
    day_from, day_to = quote((NOW - timedelta(days=12)).isoformat()), quote((NOW - timedelta(days=11)).isoformat())
    for per in ("10", "50", "100", "abc"):
        out.append(Request(f"canvas account per_page={per}", "GET", f"{acct}?per_page={per}", cv))
    out += [
        Request("canvas account window", "GET", f"{acct}?per_page=50&start_time={day_from}&end_time={day_to}", cv),
        Request("canvas account default", "GET", acct, cv),
        Request("canvas other root", "GET", f"/api/v1/audit/authentication/accounts/{other}?per_page=50", cv),
        Request("canvas sub-account 404", "GET", f"/api/v1/audit/authentication/accounts/{made['sub']}", cv),
        Request("canvas sis account", "GET", "/api/v1/audit/authentication/accounts/sis_account_id:NW", cv),
        Request("canvas login", "GET", f"/api/v1/audit/authentication/logins/{c[0]}?per_page=50", cv),
        Request("canvas pseudonym", "GET", f"/api/v1/audit/authentication/pseudonyms/{c[1]}", cv),
        Request("canvas inactive login", "GET", f"/api/v1/audit/authentication/logins/{c[7]}", cv),
        Request("canvas user", "GET", f"/api/v1/audit/authentication/users/{made['people'][1]}?per_page=50", cv),
        Request("canvas user self", "GET", "/api/v1/audit/authentication/users/self", cv_user),
        Request("canvas user sis", "GET", "/api/v1/audit/authentication/users/sis_user_id:L1", cv),
        Request("canvas user sis_login", "GET", "/api/v1/audit/authentication/users/sis_login_id:ada", cv),
        Request("canvas string ids", "GET", f"{acct}?per_page=5",
                (*cv, ("Accept", "application/json+canvas-string-ids"))),
        Request("canvas account admin other root", "GET", f"/api/v1/audit/authentication/accounts/{root}", cv_admin),
        Request("canvas account admin own", "GET", f"/api/v1/audit/authentication/accounts/{other}", cv_admin),
        Request("canvas account admin user", "GET", f"/api/v1/audit/authentication/users/{made['people'][1]}",
                cv_admin),
        Request("canvas user token other", "GET", f"/api/v1/audit/authentication/logins/{c[0]}", cv_user),
        Request("canvas unknown id", "GET", "/api/v1/audit/authentication/logins/999999", cv),
        Request("canvas no auth", "GET", acct),
        Request("canvas bad token", "GET", acct, (("Authorization", "Bearer 1~nope"),)),
        Request("canvas bad bookmark", "GET", f"{acct}?page=bookmark:zzz", cv),
        Request("canvas unknown path", "GET", "/api/v1/audit/authentication/nope/1", cv),
        Request("canvas post", "POST", acct, cv),
    ]
    qfilter = quote(f"attempt_time >= {_ms(NOW - timedelta(days=12))} and attempt_result = \"FAILURE\"")
    for start in (0, 50, 100, 150, 250, 5000):
        out.append(Request(f"qradar range {start}", "GET", "/api/access/login_attempts",
                           (*qr, ("Range", f"items={start}-{start + 49}"))))
    out += [
        Request("qradar no range", "GET", "/api/access/login_attempts", qr),
        Request("qradar filter", "GET", f"/api/access/login_attempts?filter={qfilter}", (*qr, ("Range", "items=0-49"))),
        Request("qradar fields sort", "GET", "/api/access/login_attempts?fields=user_id%2Cremote_ip&sort=-user_id",
                (*qr, ("Range", "items=0-19"))),
        Request("qradar sort method", "GET", "/api/access/login_attempts?sort=%2Battempt_method",
                (*qr, ("Range", "items=0-9"))),
        Request("qradar in filter", "GET", "/api/access/login_attempts?filter=" + quote(f"user_id in ({c[0]}, {c[1]})"),
                (*qr, ("Range", "items=0-9"))),
        Request("qradar sec_user", "GET", "/api/access/login_attempts",
                (("SEC", SECRETS["qradar", "sec_user"][0]), ("Range", "items=0-9"))),
        Request("qradar nocap", "GET", "/api/access/login_attempts", (("SEC", SECRETS["qradar", "sec_nocap"][0]),)),
        Request("qradar basic", "GET", "/api/access/login_attempts",
                (("Authorization", _b("ada", SECRETS["qradar", "basic_admin"][0])), ("Range", "items=0-4"))),
        Request("qradar bad filter", "GET", "/api/access/login_attempts?filter=attempt_time%20%3E%3E%201", qr),
        Request("qradar bad range", "GET", "/api/access/login_attempts", (*qr, ("Range", "items=5-1"))),
        Request("qradar junk range", "GET", "/api/access/login_attempts", (*qr, ("Range", "bytes=0-1"))),
        Request("qradar bad fields", "GET", "/api/access/login_attempts?fields=nope", qr),
        Request("qradar bad sort", "GET", "/api/access/login_attempts?sort=nope", qr),
        Request("qradar bad version", "GET", "/api/access/login_attempts", (*qr, ("Version", "3.0"))),
        Request("qradar version", "GET", "/api/access/login_attempts",
                (*qr, ("Version", "20.0"), ("Range", "items=0-1"))),
        Request("qradar no auth", "GET", "/api/access/login_attempts"),
        Request("qradar bad sec", "GET", "/api/access/login_attempts", (("SEC", "nope"),)),
        Request("qradar unknown path", "GET", "/api/access/nope", qr),
        Request("qradar unknown api path", "GET", "/api/siem/offenses", qr),
        Request("qradar versions", "GET", "/api/help/versions", (*qr, ("Range", "items=0-2"))),
        Request("qradar about", "GET", "/api/system/about", qr),
        Request("qradar users", "GET", "/api/config/access/users?sort=-username", qr),
        Request("qradar xml accept", "GET", "/api/access/login_attempts", (*qr, ("Accept", "text/xml"))),
    ]
    for page in (1, 2, 3, 9):
        out.append(Request(f"ingedata page {page}", "GET",
                           f"/api/v3/iam/account_logins?page[size]=50&page[number]={page}", ig))
    out += [
        Request("ingedata default", "GET", "/api/v3/iam/account_logins", ig),
        Request("ingedata account filter", "GET", f"/api/v3/iam/account_logins?page[size]=50&filter[account_id]={c[0]}",
                ig),
        Request("ingedata count sort", "GET", "/api/v3/iam/account_logins?count=true&sort=-date&page[size]=5", ig),
        Request("ingedata included", "GET", "/api/v3/iam/account_logins?included[]=account.person&page[size]=5", ig),
        Request("ingedata fields", "GET",
                "/api/v3/iam/account_logins?fields[iam/account/logins][]=date&fields[iam/account/logins][]=ip"
                "&page[size]=5", ig),
        Request("ingedata bad page", "GET", "/api/v3/iam/account_logins?page[size]=abc", ig),
        Request("ingedata bad sort", "GET", "/api/v3/iam/account_logins?sort=nope", ig),
        Request("ingedata bad count", "GET", "/api/v3/iam/account_logins?count=maybe", ig),
        Request("ingedata filter in", "GET", f"/api/v3/iam/account_logins?filter[account_id][]={c[0]}"
                f"&filter[account_id][]={c[1]}&included[]=account", ig),
        Request("ingedata account", "GET", f"/api/v3/iam/accounts/{c[0]}", ig),
        Request("ingedata person", "GET", f"/api/v3/iam/people/{made['people'][0]}", ig),
        Request("ingedata no auth", "GET", "/api/v3/iam/account_logins"),
        Request("ingedata bad token", "GET", "/api/v3/iam/account_logins", (("Authorization", "Bearer x.y.z"),)),
    ]
    for i, uid in enumerate(made["uuids"][:2] + made["uuids"][5:]):
        base = f"/api/v1/users/{uid}/loginlogs"
        out += [Request(f"ssojet current {i}", "GET", f"{base}?event=login&limit=50", sj),
                Request(f"ssojet legacy {i}", "GET", f"{base}?client_id=app_northwind", sj),
                Request(f"ssojet small page {i}", "GET", f"{base}?event=login&limit=2", sj)]
    uid = made["uuids"][0]
    out += [
        Request("ssojet bad client", "GET", f"/api/v1/users/{uid}/loginlogs?client_id=nope", sj),
        Request("ssojet no client", "GET", f"/api/v1/users/{uid}/loginlogs", sj),
        Request("ssojet bad cursor", "GET", f"/api/v1/users/{uid}/loginlogs?event=login&cursor=%25%25", sj),
        Request("ssojet bad limit", "GET", f"/api/v1/users/{uid}/loginlogs?event=login&limit=0", sj),
        Request("ssojet unknown user", "GET", "/api/v1/users/nobody/loginlogs?client_id=app_northwind", sj),
        Request("ssojet no auth", "GET", f"/api/v1/users/{uid}/loginlogs"),
        Request("ssojet head", "HEAD", f"/api/v1/users/{uid}/loginlogs?client_id=app_northwind", sj),
        Request("okta bounded", "GET", "/api/v1/logs?until=2026-11-22T12:00:00Z&limit=50", ok),
        Request("okta polling", "GET", "/api/v1/logs?limit=20", ok),
        Request("okta descending", "GET", "/api/v1/logs?sortOrder=DESCENDING&limit=5", ok),
        Request("okta filter", "GET", "/api/v1/logs?filter=" + quote('outcome.result eq "FAILURE" or eventType eq '
                                                                     '"user.session.end"') + "&limit=10", ok),
        Request("okta q", "GET", "/api/v1/logs?q=curl&limit=5", ok),
        Request("okta bad filter", "GET", "/api/v1/logs?filter=" + quote("nope eq 1"), ok),
        Request("okta no auth", "GET", "/api/v1/logs"),
        Request("entra page", "GET", "/v1.0/auditLogs/signIns?$top=50", en),
        Request("entra oldest first", "GET", "/v1.0/auditLogs/signIns?$top=5&$orderby=createdDateTime", en),
        Request("entra filter", "GET", "/v1.0/auditLogs/signIns?$top=10&$filter=" + quote(
            "status/errorCode ne 0 or startswith(userPrincipalName,'a')"), en),
        Request("entra select", "GET", "/v1.0/auditLogs/signIns?$top=3&$select=id,createdDateTime,status", en),
        Request("entra beta page", "GET", "/beta/auditLogs/signIns?$top=20", en),
        Request("control vendors", "GET", "/_loginaudit/vendors"),
        Request("control tokens", "GET", "/_loginaudit/tokens"),
        Request("control events", "GET", "/_loginaudit/events?limit=20"),
        Request("unknown root path", "GET", "/nope"),
    ]
    return out


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def next_links(path: str, answer: dict[str, Any]) -> list[str]:
    """Pages a connector would follow next (Canvas `Link`, SSOJet `next_cursor`)."""
    link = answer["headers"].get("link", "")
    found = re.findall(r'<https?://[^/]+([^>]+)>; rel="next"', link)
    cursor = re.search(r'"next_cursor":"([^"]+)"', answer.get("body", ""))
    if cursor:
        found.append(f"{path}&cursor={quote(cursor.group(1))}")
    return found


def answer_of(response: Any) -> dict[str, Any]:
    """What is compared: status, every header but Date/Server (in order), the body's bytes."""
    body = OKTA_ERROR_ID.sub(b'"errorId":"<random>"', RANDOM.sub(b'"id":"<random>","name"', response.content))
    headers = {k.lower(): v for k, v in response.headers.items() if k.lower() not in SKIPPED_HEADERS}
    if headers.get("content-length") and (RANDOM.search(response.content) or OKTA_ERROR_ID.search(response.content)):
        headers["content-length"] = "<random-id body>"
    kept: dict[str, Any] = {"status": response.status_code, "headers": headers}
    if len(body) <= INLINE:
        kept["body"] = body.decode("utf-8", "backslashreplace")
    else:
        kept["sha256"] = hashlib.sha256(body).hexdigest()
        kept["length"] = len(body)
        kept["head"] = body[:300].decode("utf-8", "backslashreplace")
    return kept


def replay(client: Any, store: Any) -> dict[str, dict[str, Any]]:
    """Every request (and the next pages their answers link to) against `client`, keyed by name."""
    made = build(store)
    login = client.post("/api/v3/iam/auth/api/login", json={"key": SECRETS["ingedata", "admin_key"][0]})
    jwt = login.json()["meta"]["token"]
    answers: dict[str, dict[str, Any]] = {}
    for req in requests(made, jwt):
        answer = answer_of(client.request(req.method, req.path, headers=dict(req.headers)))
        answers[req.name] = answer
        for depth, path in enumerate(next_links(req.path, answer)[:1]):
            answers[f"{req.name} -> next {depth}"] = answer_of(client.get(path, headers=dict(req.headers)))
    return answers


def _record() -> None:
    import tempfile

    from loginaudit.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(f"sqlite:///{tmp}/golden.db", validate_responses=True)
        with app.test_client() as client:
            answers = replay(client, app.store)
        app.store.dispose()
    ANSWERS.parent.mkdir(exist_ok=True)
    ANSWERS.write_text(json.dumps(answers, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(answers)} answers -> {ANSWERS}")


if __name__ == "__main__":
    if sys.argv[1:] != ["record"]:
        sys.exit("usage: python tests/golden.py record")
    _record()
