"""Vendor-semantics checks that Schemathesis cannot express, run read-only against foreign data.

Each function gets an HTTP client already pointed at the vendor's base path with the caller's
credentials, plus free-form `params` (e.g. an SSOJet user id), and returns outcomes. They check
what a connector relies on: paging that terminates and never repeats an item, headers that agree
with bodies, and orders that hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import httpx

MAX_PAGES = 10


@dataclass
class Outcome:
    suite: str
    name: str
    ok: bool | None  # None: skipped
    message: str = ""
    seconds: float = 0.0


class CheckFailed(AssertionError):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


Check = Callable[[httpx.Client, Mapping[str, str]], None]


def _non_increasing(values: list[Any], what: str) -> None:
    for a, b in pairwise(values):
        expect(a >= b, f"{what} not in descending order: {a!r} before {b!r}")


def _non_decreasing(values: list[Any], what: str) -> None:
    for a, b in pairwise(values):
        expect(a <= b, f"{what} not in ascending order: {a!r} before {b!r}")


def _no_repeats(items: list[Any], what: str) -> None:
    seen: set[Any] = set()
    for item in items:
        expect(item not in seen, f"{what} {item!r} returned twice while paging")
        seen.add(item)


def _ok_json(r: httpx.Response) -> Any:
    expect(r.status_code == 200, f"{r.request.method} {r.request.url} answered {r.status_code}: {r.text[:200]}")
    return r.json()


# ---- QRadar: Range / Content-Range ---------------------------------------------------------------------

CONTENT_RANGE = re.compile(r"^items (\d+)-(\d+)/(\d+)$")


def _qradar_pages(http: httpx.Client, size: int) -> Iterator[tuple[int, list[dict[str, Any]], int]]:
    start, total = 0, None
    for _ in range(MAX_PAGES):
        r = http.get("access/login_attempts", headers={"Range": f"items={start}-{start + size - 1}"})
        body = _ok_json(r)
        header = r.headers.get("content-range", "")
        if not body:
            expect(total is None or header == f"items */{total}", f"empty page has Content-Range {header!r}")
            return
        m = CONTENT_RANGE.match(header)
        expect(m is not None, f"Content-Range {header!r} is not `items x-y/total`")
        assert m is not None
        first, last, this_total = map(int, m.groups())
        expect((first, last) == (start, start + len(body) - 1),
               f"Content-Range {header!r} does not match {len(body)} items from {start}")
        expect(total is None or this_total == total, f"total changed from {total} to {this_total}")
        total = this_total
        yield start, body, this_total
        if last + 1 >= this_total:
            r = http.get("access/login_attempts", headers={"Range": f"items={this_total}-{this_total + size}"})
            expect(_ok_json(r) == [] and r.headers.get("content-range") == f"items */{this_total}",
                   "a Range past the end must answer [] with `items */total`")
            return
        start = last + 1


def qradar_range_paging(http: httpx.Client, params: Mapping[str, str]) -> None:
    rows = [row for _, page, _ in _qradar_pages(http, 7) for row in page]
    _no_repeats([tuple(sorted(r.items())) for r in rows], "attempt")
    _non_increasing([r["attempt_time"] for r in rows], "attempt_time (default order)")


def qradar_sort_and_fields(http: httpx.Client, params: Mapping[str, str]) -> None:
    asc = _ok_json(http.get("access/login_attempts", params={"sort": "+attempt_time"}, headers={"Range": "items=0-49"}))
    _non_decreasing([r["attempt_time"] for r in asc], "attempt_time with sort=+attempt_time")
    only = _ok_json(http.get("access/login_attempts", params={"fields": "user_id"}, headers={"Range": "items=0-9"}))
    expect(all(set(r) <= {"user_id"} for r in only), "fields=user_id returned other fields")
    r = http.get("access/login_attempts", headers={"Range": "rows=0-4"})
    expect(r.status_code == 422 and r.json().get("code") == 36,
           f"a malformed Range gave {r.status_code} {r.text[:120]}")


# ---- Canvas: bookmark Link pagination --------------------------------------------------------------------

LINK = re.compile(r'<([^>]+)>; rel="([a-z]+)"')


def canvas_link_paging(http: httpx.Client, params: Mapping[str, str]) -> None:
    url: str | None = f"users/{params.get('user_id', 'self')}?per_page=5"
    ids: list[str] = []
    times: list[str] = []
    for _ in range(MAX_PAGES):
        assert url is not None
        r = http.get(url)
        body = _ok_json(r)
        links = {rel: target for target, rel in LINK.findall(r.headers.get("link", ""))}
        expect({"current", "first"} <= set(links) and "last" not in links,
               f"Link header {r.headers.get('link')!r} needs current and first, and no last")
        expect(len(body["events"]) <= 5, "a page holds more than per_page events")
        linked = {login["id"] for login in body["linked"]["logins"]}
        expect(all(e["links"]["login"] in linked for e in body["events"]), "an event's login is missing from linked")
        ids += [e["id"] for e in body["events"]]
        times += [e["created_at"] for e in body["events"]]
        url = links.get("next")
        if url is None:
            break
    _no_repeats(ids, "event")
    from datetime import datetime

    _non_increasing([datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times], "created_at")


# ---- Unleash: JSON and CSV agree ---------------------------------------------------------------------------

def unleash_json_and_csv(http: httpx.Client, params: Mapping[str, str]) -> None:
    events = _ok_json(http.get("logins"))["events"]
    _no_repeats([e["id"] for e in events], "event id")
    _non_increasing([e["created_at"] for e in events], "created_at")
    r = http.get("logins", headers={"Accept": "text/csv"})
    if not events:
        expect(r.status_code == 204, f"an empty history as CSV answered {r.status_code}")
        return
    expect(r.status_code == 200 and r.headers.get("content-type", "").startswith("text/csv"),
           f"CSV answered {r.status_code} {r.headers.get('content-type')}")
    lines = r.text.split("\n")
    header = ",".join(f'"{key}"' for key in events[0])  # the JSON keys in order (8.x adds "type" last)
    expect(lines[0] == header, f"CSV header {lines[0]!r}, JSON keys {header!r}")
    expect(not r.text.endswith("\n"), "CSV ends with a newline")
    expect([line.split(",", 1)[0] for line in lines[1:]] == [str(e["id"]) for e in events],
           "CSV rows do not match the JSON events")


# ---- Ingedata: offset pages without links ------------------------------------------------------------------

def ingedata_offset_paging(http: httpx.Client, params: Mapping[str, str]) -> None:
    ids: list[int] = []
    for number in range(1, MAX_PAGES + 1):
        body = _ok_json(http.get("account_logins", params={"page[number]": number, "page[size]": 5}))
        expect("links" not in body, "the collection carries links")
        ids += [int(d["id"]) for d in body["data"]]
        if len(body["data"]) < 5:
            counted = _ok_json(http.get("account_logins", params={"count": "true", "page[size]": 1}))["meta"]
            expect(counted.get("count") == len(ids), f"meta.count {counted} but paging found {len(ids)}")
            break
    _no_repeats(ids, "login id")
    _non_decreasing(ids, "id (default order)")
    dates = [d["attributes"]["date"] for d in _ok_json(http.get("account_logins",
                                                                  params={"sort": "-date", "page[size]": 50}))["data"]]
    _non_increasing(dates, "date with sort=-date")


# ---- SSOJet: cursor pages ------------------------------------------------------------------------------------

def ssojet_cursor_paging(http: httpx.Client, params: Mapping[str, str]) -> None:
    user = params.get("userid")
    if not user:
        raise CheckSkipped("needs --param userid=<uuid> of a user of the API key's application")
    cursor, rows = "", []
    for _ in range(MAX_PAGES):
        query = {"event": "login", "limit": "3", **({"cursor": cursor} if cursor else {})}
        body = _ok_json(http.get(f"users/{user}/loginlogs", params=query))
        expect(len(body["audit_logs"]) <= 3 and body["limit"] == 3, "limit not honoured")
        rows += body["audit_logs"]
        cursor = body["next_cursor"]
        if not cursor:
            break
    _no_repeats([tuple(sorted(r.items())) for r in rows], "audit log entry")
    _non_increasing([r["created_at"] for r in rows], "created_at")


# ---- Okta: Link paging, bounded and polling ----------------------------------------------------------------

def _links(r: httpx.Response) -> dict[str, str]:
    return {rel: target for target, rel in LINK.findall(r.headers.get("link", ""))}


def okta_bounded_paging(http: httpx.Client, params: Mapping[str, str]) -> None:
    from datetime import UTC, datetime

    until = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    url: str | None = f"logs?until={until}&limit=3"
    uuids: list[str] = []
    published: list[str] = []
    for _ in range(MAX_PAGES):
        assert url is not None
        r = http.get(url)
        body = _ok_json(r)
        links = _links(r)
        expect("self" in links, f"Link header {r.headers.get('link')!r} has no rel=self")
        expect(len(body) <= 3, "a page holds more than limit events")
        uuids += [e["uuid"] for e in body]
        published += [e["published"] for e in body]
        url = links.get("next")
        if url is None:
            break
        expect(bool(body), "a bounded query linked a next page after an empty one")
    _no_repeats(uuids, "event uuid")
    _non_decreasing(published, "published (ASCENDING)")


def okta_polling_next(http: httpx.Client, params: Mapping[str, str]) -> None:
    r = http.get("logs", params={"limit": "1000"})
    _ok_json(r)
    url = _links(r).get("next")
    expect(url is not None, "a polling query (no until) answered without rel=next")
    assert url is not None
    for _ in range(MAX_PAGES):  # to the end of what is there: still a next link, for what arrives later
        r = http.get(url)
        body = _ok_json(r)
        url = _links(r).get("next")
        expect(url is not None, "a polling page answered without rel=next")
        assert url is not None
        if not body:
            return


# ---- Microsoft Graph: @odata.nextLink paging -------------------------------------------------------------

def entra_next_link_paging(http: httpx.Client, params: Mapping[str, str]) -> None:
    url: str | None = "auditLogs/signIns?$top=3"
    ids: list[str] = []
    created: list[str] = []
    for _ in range(MAX_PAGES):
        assert url is not None
        body = _ok_json(http.get(url))
        expect(str(body.get("@odata.context", "")).endswith("$metadata#auditLogs/signIns"),
               f"@odata.context {body.get('@odata.context')!r}")
        expect(len(body["value"]) <= 3, "a page holds more than $top sign-ins")
        ids += [v["id"] for v in body["value"]]
        created += [v["createdDateTime"] for v in body["value"]]
        url = body.get("@odata.nextLink")
        if url is None:
            break
        expect("$skiptoken=" in url, f"@odata.nextLink {url!r} carries no $skiptoken")
    _no_repeats(ids, "sign-in id")
    _non_increasing(created, "createdDateTime (newest first)")


class CheckSkipped(Exception):
    pass


CHECKS: dict[str, list[Check]] = {
    "qradar": [qradar_range_paging, qradar_sort_and_fields],
    "canvas": [canvas_link_paging],
    "unleash": [unleash_json_and_csv],
    "ingedata": [ingedata_offset_paging],
    "ssojet": [ssojet_cursor_paging],
    "okta": [okta_bounded_paging, okta_polling_next],
    "entra": [entra_next_link_paging],
}
