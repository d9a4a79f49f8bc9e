"""`make bench`: seed N events, serve in the production configuration, load every vendor endpoint over
loopback with wrk (or a Python asyncio client when wrk is absent), and compare with Stoplight Prism
serving the same spec's static example, up alongside while that vendor's endpoints are measured: a
ratio is the median of three pairs of 2 s loads, ours then Prism's, seconds apart (see `_paired`).
Prints one table; numbers are for this machine only.

Server pinned to CPU 0 and the load generator to CPU 1 (`taskset`) when the machine has two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx

from loginaudit.loopback import free_port, wait_until_up
from loginaudit.responses import MAX_AGE

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench"
PRISM_DIR = ROOT / ".cache" / "prism"
ANCHOR = "2026-11-22T00:00:00+00:00"
LAYOUT = "time-ordered"  # the seed's row order (events in time order since session 10): a new name re-seeds
VENV_BIN = Path(sys.executable).parent
PINNED = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None


def _pin(cpu: int, argv: list[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *argv] if PINNED else argv


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), in MB."""
    total = 0
    pids = [pid]
    try:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(c) for c in children]
    except FileNotFoundError:
        pass
    for p in pids:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(found.group(1)) if found else 0
    return total / 1024


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (uvicorn workers), from /proc."""
    pids = [pid]
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    pids += [int(c) for c in children]
    ticks = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(") ", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_us: float = float("nan")  # server CPU per request (process and children)


Request = tuple[str, dict[str, str]]  # (path with query, headers)


def measured(pid: int, base: str, requests: list[Request], seconds: float, connections: int) -> Result:
    """`load`, with the serving process's CPU time per request."""
    before = _cpu_seconds(pid)
    result = load(base, requests, seconds, connections)
    answered = result.rps * seconds
    result.cpu_us = (_cpu_seconds(pid) - before) / answered * 1e6 if answered else float("nan")
    return result


# ---- load generators -----------------------------------------------------------------------------------

def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _walk_script(requests: list[Request]) -> str:
    """A wrk script that sends `requests` in turn, round and round (distinct pages: cache misses)."""
    rows = ",\n".join("{" + _lua_string(path) + ", {" + ", ".join(f"[{_lua_string(k)}]={_lua_string(v)}"
                                                                  for k, v in headers.items()) + "}}"
                       for path, headers in requests)
    return (f"local reqs = {{\n{rows}\n}}\nlocal i = 0\n"
            "request = function()\n  i = i % #reqs + 1\n  return wrk.format('GET', reqs[i][1], reqs[i][2])\nend\n")


def _wrk(base: str, requests: list[Request], seconds: float, connections: int) -> Result:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "30s"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_walk_script(requests))
    try:
        out = subprocess.run(_pin(1, [*args, "-s", script.name, base + requests[0][0]]), capture_output=True,
                             text=True, check=True).stdout
    finally:
        os.unlink(script.name)

    def ms(label: str) -> float:
        found = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not found:
            return float("nan")
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(int(g) for g in errs.groups()) if errs else 0)
    return Result(rps, ms("50"), ms("99"), errors)


async def _py_load(base: str, requests: list[Request], seconds: float, connections: int) -> Result:
    parts = urlsplit(base)
    heads = [(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
              + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode() for path, headers in requests]
    turn = 0
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def one() -> None:
        nonlocal errors, turn
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        while time.perf_counter() < stop:
            started = time.perf_counter()
            writer.write(heads[turn % len(heads)])
            turn += 1
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            errors += not status_line.split(b" ")[1].startswith((b"2", b"3"))
        writer.close()

    await asyncio.gather(*(one() for _ in range(connections)))
    latencies.sort()
    n = len(latencies)
    return Result(n / seconds, latencies[n // 2] * 1000, latencies[min(n - 1, int(n * 0.99))] * 1000, errors)


CLIENT = "wrk" if shutil.which("wrk") else "python"


def load(base: str, requests: list[Request], seconds: float, connections: int) -> Result:
    """Requests sent in turn (one: the same page repeated) from `connections` connections."""
    if CLIENT == "wrk":
        return _wrk(base, requests, seconds, connections)
    return asyncio.run(_py_load(base, requests, seconds, connections))


# ---- the store and the endpoints -----------------------------------------------------------------------

def _seeded(events: int, url: str | None = None) -> tuple[str, float | None]:
    """A store with `events` demo events (cached under .cache/bench for SQLite); the seed's seconds."""
    if url is None:
        CACHE.mkdir(parents=True, exist_ok=True)
        path = CACHE / f"events-{events}-{LAYOUT}.db"
        url = f"sqlite:///{path}"
        if path.exists() and _has_current_indexes(url):
            return url, None
        path.unlink(missing_ok=True)
    else:
        subprocess.run([str(VENV_BIN / "loginaudit"), "--database-url", url, "reset"], check=True,
                       capture_output=True)
    started = time.perf_counter()
    subprocess.run([str(VENV_BIN / "loginaudit"), "--database-url", url, "seed", "--events", str(events),
                    "--anchor", ANCHOR], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return url, time.perf_counter() - started


def _has_current_indexes(url: str) -> bool:
    """A cached store made before an index change (or without planner statistics) is seeded again."""
    from sqlalchemy import inspect

    from loginaudit.seed import events_table
    from loginaudit.storage import Store
    from loginaudit.storage.models import indexes_on

    store = Store(url)
    inspector = inspect(store.engine)
    present = {ix["name"] for ix in inspector.get_indexes("login_events")}
    analysed = inspector.has_table("sqlite_stat1")
    wanted = {ix.name for ix in indexes_on(events_table, store.engine.dialect.name)}
    store.dispose()
    return analysed and wanted <= present


@dataclass
class Endpoint:
    vendor: str
    case: str
    path: str
    headers: dict[str, str]
    # A connector's walk: distinct requests sent in turn, more than the server answers in the response
    # cache's 1 s, so every answer is computed (None: the same page repeated, Prism's workload).
    walk: list[Request] | None = None

    @property
    def requests(self) -> list[Request]:
        return self.walk or [(self.path, self.headers)]

    @property
    def workload(self) -> str:
        return "walk" if self.walk else "repeated"


def _fiftieth_newest_event(url: str) -> datetime:  # the store clock's reading for Unleash's window
    """Unleash 8 lists logins and logouts: the window that holds exactly its 50 newest events."""
    from sqlalchemy import select

    from loginaudit.storage import Store
    from loginaudit.storage.models import LoginEvent

    store = Store(url)
    with store.session() as s:
        at = s.scalar(select(LoginEvent.occurred_at).order_by(LoginEvent.occurred_at.desc()).offset(49).limit(1))
    store.dispose()
    assert isinstance(at, datetime), "the store holds fewer than 50 events"
    return at


def _plan(base: str, url: str) -> list[Endpoint]:
    """Endpoints on the seeded store, found through the control plane like any test would."""
    ctl = httpx.Client(base_url=f"{base}/_loginaudit", timeout=60)
    tokens = {(t["vendor"], t["kind"]): t["secret"] for t in ctl.get("/tokens").json()}
    admin_cred = next(t["credential_id"] for t in ctl.get("/tokens").json() if t["credential_id"])
    admin = ctl.get(f"/credentials/{admin_cred}").json()
    person = ctl.get(f"/people/{admin['person_id']}").json()
    root = admin["tenant_id"]
    # Unleash has no paging: freeze the clock so its 336 h window holds exactly the 50 newest events.
    fiftieth = _fiftieth_newest_event(url)
    ctl.put("/clock", json={"now": (fiftieth + timedelta(hours=336)).isoformat(), "frozen": True}).raise_for_status()
    end = datetime.fromisoformat(ANCHOR)
    day_from, day_to = (end - timedelta(days=12)).isoformat(), (end - timedelta(days=11)).isoformat()
    unleash = {"Authorization": tokens[("unleash", "admin")]}
    canvas = {"Authorization": "Bearer " + tokens[("canvas", "site_admin")]}
    qradar = {"SEC": tokens[("qradar", "sec_admin")]}
    ssojet = {"Authorization": "Bearer " + tokens[("ssojet", "api_key")]}
    okta = {"Authorization": "SSWS " + tokens[("okta", "api_token")]}
    entra = {"Authorization": "Bearer " + tokens[("entra", "app_auditlog")]}
    jwt = httpx.post(f"{base}/api/v3/iam/auth/api/login", json={"key": tokens[("ingedata", "admin_key")]})
    ingedata = {"Authorization": "Bearer " + jwt.json()["meta"]["token"]}
    q_filter = quote(f"attempt_time >= {_ms(day_from)} and attempt_time < {_ms(day_to)} "
                     "and attempt_result = \"FAILURE\"")
    canvas_deep = _canvas_deep(base, f"/api/v1/audit/authentication/accounts/{root}?per_page=50", canvas, 40)
    walks = _walks(base, url, root, {"unleash": unleash, "canvas": canvas, "qradar": qradar, "ingedata": ingedata,
                               "ssojet": ssojet, "okta": okta, "entra": entra})
    return [
        *walks,
        Endpoint("unleash", "50-item page", "/api/admin/logins", unleash),
        Endpoint("canvas", "50-item page", f"/api/v1/audit/authentication/accounts/{root}?per_page=50", canvas),
        Endpoint("canvas", "filtered page", f"/api/v1/audit/authentication/accounts/{root}?per_page=50"
                 f"&start_time={quote(day_from)}&end_time={quote(day_to)}", canvas),
        Endpoint("canvas", "page 40 (bookmark)", canvas_deep, canvas),
        Endpoint("qradar", "50-item page", "/api/access/login_attempts", {**qradar, "Range": "items=0-49"}),
        Endpoint("qradar", "filtered page", f"/api/access/login_attempts?filter={q_filter}",
                 {**qradar, "Range": "items=0-49"}),
        Endpoint("qradar", "items 500000-500049", "/api/access/login_attempts",
                 {**qradar, "Range": "items=500000-500049"}),
        Endpoint("ingedata", "50-item page", "/api/v3/iam/account_logins?page[size]=50", ingedata),
        Endpoint("ingedata", "filtered page",
                 f"/api/v3/iam/account_logins?page[size]=50&filter[account_id]={admin_cred}", ingedata),
        Endpoint("ssojet", "50-item page", f"/api/v1/users/{person['uuid']}/loginlogs?event=login&limit=50", ssojet),
        Endpoint("okta", "50-item page", f"/api/v1/logs?until={quote(ANCHOR)}&limit=50", okta),
        Endpoint("entra", "50-item page", "/v1.0/auditLogs/signIns?$top=50", entra),
    ]


# Distinct requests per walk. The response cache keeps an answer from its key's second ask within
# MAX_AGE (1 s): a walk stays uncached only while going round it takes longer than that. 3,000 until
# session 16, when Unleash answered its walk at ~2,500 req/s (a round in 1.2 s) and a faster variant's
# walk was answered from the cache; `_cycle_note` flags a walk that goes round in under 2 s.
WALK = 10_000
WALK_HANDLERS = {"unleash": "getLoginHistory", "canvas": "queryByAccount", "qradar": "getLoginAttempts",
                 "ingedata": "listAccountLogins", "ssojet": "getUserLoginLogs", "okta": "listLogEvents",
                 "entra": "listSignIns"}  # the operation each vendor's walk (`_walks`) calls
DATA_DAYS = 29  # the seed's events lie in the 29 days before ANCHOR (seed.WINDOW)


def _windows(days: float) -> list[tuple[datetime, datetime]]:
    """WALK distinct one-hour windows, their starts spread evenly over the last `days` before ANCHOR,
    newest first: each holds events (a window past the seeded history is an empty, cheap page; until
    session 10, 2,280 of QRadar's and Canvas's 3,000 hourly windows were), and more distinct requests
    than any vendor answers in the response cache's 1 s (Entra's 384 hourly windows were answered from
    it: 1.12x Prism at 474 µs a request)."""
    end = datetime.fromisoformat(ANCHOR)
    step = timedelta(days=days) / WALK
    return [(end - step * i - timedelta(hours=1), end - step * i) for i in range(WALK)]


def _walks(base: str, url: str, root: int, headers: dict[str, dict[str, str]]) -> list[Endpoint]:
    """What a connector sends when it pulls history: one-hour windows across the seeded history (QRadar
    filter, Canvas start/end, Okta since/until, Graph $filter), the first two JSON:API pages of each
    account (Ingedata), each user's first page and the page its `next_cursor` names (SSOJet); Unleash
    has a single page, so its walk varies a header the cache keys on (an uncached repeat). The root
    tenant has ~1,800 accounts: one request each went round in ~1.2 s at today's rates (see WALK)."""
    from sqlalchemy import select

    from loginaudit.storage import Store
    from loginaudit.storage.models import Credential, Person

    store = Store(url)
    with store.session() as s:
        uuids = list(s.scalars(select(Person.uuid).join(Credential, Credential.person_id == Person.id)
                               .where(Credential.tenant_id == root, Credential.active.is_(True))
                               .distinct().limit(WALK)))
        accounts = list(s.scalars(select(Credential.id).where(Credential.tenant_id == root).limit(WALK)))
    store.dispose()
    history = _windows(DATA_DAYS)
    # Entra's sign-in log keeps 30 days of the bench clock (the newest event + 14 days): its last 16
    entra = _windows(15.9)
    acct = f"/api/v1/audit/authentication/accounts/{root}?per_page=50"
    firsts = [f"/api/v1/users/{u}/loginlogs?event=login&limit=50" for u in uuids]
    return [
        Endpoint("unleash", "50-item page", "", {}, walk=[("/api/admin/logins", {**headers["unleash"],
                                                                                  "X-Walk": str(i)})
                                                          for i in range(WALK)]),
        Endpoint("canvas", "hour windows", "", {}, walk=[
            (f"{acct}&start_time={quote(a.isoformat())}&end_time={quote(b.isoformat())}", headers["canvas"])
            for a, b in history]),
        Endpoint("qradar", "hour windows", "", {}, walk=[
            ("/api/access/login_attempts?filter=" + quote(f"attempt_time >= {_ms(a.isoformat())} and "
                                                          f"attempt_time < {_ms(b.isoformat())}"),
             {**headers["qradar"], "Range": "items=0-49"}) for a, b in history]),
        Endpoint("ingedata", "accounts' pages", "", {}, walk=[  # each account's first two pages
            (f"/api/v3/iam/account_logins?page[size]=50&filter[account_id]={a}"
             + ("" if page == 1 else f"&page[number]={page}"), headers["ingedata"])
            for page in (1, 2) for a in accounts]),
        Endpoint("ssojet", "users' first two pages", "", {}, walk=[  # each user's first page, then the second
            (path, headers["ssojet"]) for path in [*firsts, *_ssojet_seconds(base, firsts, headers["ssojet"])]]),
        Endpoint("okta", "hour windows", "", {}, walk=[
            (f"/api/v1/logs?since={quote(a.isoformat())}&until={quote(b.isoformat())}&limit=50", headers["okta"])
            for a, b in history]),
        Endpoint("entra", "hour windows", "", {}, walk=[
            ("/v1.0/auditLogs/signIns?$top=50&$filter=" + quote(f"createdDateTime ge {a:%Y-%m-%dT%H:%M:%SZ} and "
                                                                f"createdDateTime lt {b:%Y-%m-%dT%H:%M:%SZ}"),
             headers["entra"]) for a, b in entra]),
    ]


def _ssojet_seconds(base: str, firsts: list[str], headers: dict[str, str]) -> list[str]:
    """Each user's second page, as a connector asks it: the first page's `next_cursor` (users with one page
    have none)."""
    seconds = []
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for first in firsts:
            cursor = client.get(first).raise_for_status().json()["next_cursor"]
            if cursor:
                seconds.append(f"{first}&cursor={quote(cursor)}")
    return seconds


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def _canvas_deep(base: str, first: str, headers: dict[str, str], pages: int) -> str:
    url = base + first
    for _ in range(pages - 1):
        r = httpx.get(url, headers=headers, timeout=60)
        found = re.search(r'<([^>]+)>; rel="next"', r.headers.get("link", ""))
        if not found:
            break
        url = found.group(1)
    return url.removeprefix(base)


def _bench_schema(url: str) -> str:
    """The bench's own schema in that database (created if missing), so it never touches other tables."""
    from sqlalchemy import text

    from loginaudit.storage import Store

    store = Store(url)
    with store.engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS loginaudit_bench"))
    store.dispose()
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3Dloginaudit_bench"


@contextmanager
def _server(url: str, workers: int = 1, pin: bool = True) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    argv = [str(VENV_BIN / "loginaudit"), "--database-url", url, "serve", "--port", str(port), "--workers",
            str(workers), "--no-access-log", "--log-level", "warning", "--demo-events", "0"]
    proc = subprocess.Popen(_pin(0, argv) if pin else argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/_loginaudit/health", proc)
        yield base, proc
    finally:
        _stop(proc)


@contextmanager
def _prism(spec: str) -> Iterator[tuple[str, int] | None]:
    prism = PRISM_DIR / "node_modules" / ".bin" / "prism"
    if not prism.exists():
        if shutil.which("npm") is None:
            yield None
            return
        PRISM_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(PRISM_DIR), "--no-audit", "--no-fund",
                        "@stoplight/prism-cli@5"], check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(_pin(0, [str(prism), "mock", "-p", str(port), str(ROOT / "openapi" / spec)]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base + "/", proc)  # any answer (Prism has no health route) means it listens
        yield base, proc.pid
    finally:
        _stop(proc)


PRISM_PATHS = {  # the same operation on Prism, which ignores relative server URLs: spec paths at the root
    "unleash": ("unleash.yaml", "/logins"),
    "canvas": ("canvas.yaml", "/accounts/1?per_page=50"),
    "qradar": ("qradar.yaml", "/access/login_attempts"),
    "ingedata": ("ingedata.yaml", "/account_logins?page[size]=50"),
    "ssojet": ("ssojet.yaml", "/users/0b2f4c8e-4d1a-4d55-9d2e-3c1f6a7b8c9d/loginlogs?event=login&limit=50"),
    "okta": ("okta.yaml", "/logs?limit=50"),
    "entra": ("entra.yaml", "/auditLogs/signIns?$top=50"),
}


PAIRS, PAIR_SECONDS = 3, 2.0


def _paired(pid: int, base: str, requests: list[Request], prism: tuple[str, int], prism_requests: list[Request],
            args: argparse.Namespace) -> list[tuple[Result, Result]]:
    """Ours and Prism loaded by turns, PAIRS times PAIR_SECONDS each, right after our measurement: this
    machine's neighbours take it in bursts, and a ratio of two figures taken minutes apart moved 2-3x
    between runs of the same code; a pair's two halves are seconds apart, and the median of the pairs'
    ratios is the endpoint's ratio. Each half is our walk's (or page's) requests against Prism's page."""
    pairs = []
    for _ in range(PAIRS):
        ours = measured(pid, base, requests, PAIR_SECONDS, args.connections)
        theirs = measured(prism[1], prism[0], prism_requests, PAIR_SECONDS, args.connections)
        pairs.append((ours, theirs))
    return pairs


def _cycle_note(ep: Endpoint, rps: float) -> None:
    """Say so where a walk went round in under twice the response cache's MAX_AGE: its requests asked
    again within MAX_AGE could be answered from it, and the row would not measure a miss."""
    distinct = len({(path, tuple(sorted(headers.items()))) for path, headers in ep.requests})
    if rps and distinct / rps < 2 * MAX_AGE:
        print(f"# WARNING: {ep.vendor}'s walk ({distinct} distinct requests at {rps:.0f} req/s) went round in "
              f"{distinct / rps:.2f} s: a repeat within 1 s can be a response-cache hit", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per endpoint")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--latency-seconds", type=float, default=5.0, help="seconds of the 1-connection run")
    parser.add_argument("--no-prism", action="store_true")
    parser.add_argument("--pg-url", default=os.environ.get("LOGINAUDIT_BENCH_PG_URL", ""),
                        help="PostgreSQL URL for the 1-vs-2-workers run (uses its own schema, loginaudit_bench)")
    parser.add_argument("--pg-events", type=int, default=200_000)
    parser.add_argument("--client", choices=("wrk", "python"), default=None,
                        help="load generator (default: wrk when installed)")
    args = parser.parse_args()
    global CLIENT
    CLIENT = args.client or CLIENT

    url, seed_seconds = _seeded(args.events)
    tool = "wrk" if CLIENT == "wrk" else "python asyncio client"
    print(f"# loginaudit bench: {args.events:,} events (SQLite), {tool}, -c{args.connections}, "
          f"{args.seconds:g} s per endpoint after {args.warmup:g} s warm-up, server "
          f"{'pinned to CPU 0, load on CPU 1' if PINNED else 'unpinned'}")
    print("# seed: " + (f"{seed_seconds:.1f} s" if seed_seconds is not None else "cached store reused"))
    rows = []
    prism: dict[str, Result] = {}
    with _server(url) as (base, proc):
        plan = _plan(base, url)
        rss = _rss_mb(proc.pid)
        for vendor in dict.fromkeys(ep.vendor for ep in plan):
            endpoints = [ep for ep in plan if ep.vendor == vendor]
            spec, path = PRISM_PATHS[vendor]
            headers = next(ep.headers for ep in endpoints if not ep.walk)
            with (nullcontext(None) if args.no_prism else _prism(spec)) as started:
                if started is not None:  # Prism is 2x slower for its first ~20 s
                    load(started[0], [(path, headers)], 20.0, args.connections)
                prism_runs: list[Result] = []
                for ep in endpoints:
                    wait_until_up(f"{base}/_loginaudit/health", proc)  # the last endpoint's queue has drained
                    load(base, ep.requests, args.warmup, args.connections)
                    result = measured(proc.pid, base, ep.requests, args.seconds, args.connections)
                    rss = max(rss, _rss_mb(proc.pid))
                    wait_until_up(f"{base}/_loginaudit/health", proc)
                    alone = load(base, ep.requests[::-1], args.latency_seconds, 1)  # service time, no queueing
                    ratios: list[float] = []  # the walk and the 50-item page are compared with Prism's page
                    rates = [result.rps]
                    if started is not None and (ep.walk or ep.case == "50-item page"):
                        pairs = _paired(proc.pid, base, ep.requests, started, [(path, headers)], args)
                        ratios = [ours.rps / theirs.rps for ours, theirs in pairs]
                        prism_runs += [theirs for _, theirs in pairs]
                        rates += [ours.rps for ours, _ in pairs]
                    rows.append((ep, result, alone, ratios))
                    if ep.walk:
                        _cycle_note(ep, max(rates))
                if prism_runs:
                    prism[vendor] = Result(rps=statistics.median(r.rps for r in prism_runs),
                                           p50_ms=statistics.median(r.p50_ms for r in prism_runs),
                                           p99_ms=statistics.median(r.p99_ms for r in prism_runs),
                                           errors=sum(r.errors for r in prism_runs),
                                           cpu_us=statistics.median(r.cpu_us for r in prism_runs))

    print("\n| vendor | workload | case | req/s | CPU µs/req | p50 ms | p99 ms | non-2xx | 1 conn: p50 ms "
          "| 1 conn: p99 ms | Prism req/s (non-2xx) | Prism CPU µs/req | ratio |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for ep, r, a, paired in sorted(rows, key=lambda row: (row[0].vendor, row[0].workload != "walk")):
        p = prism.get(ep.vendor) if paired else None
        ratio = f"{statistics.median(paired):.2f}x" if paired else ""
        print(f"| {ep.vendor} | {ep.workload} | {ep.case} | {r.rps:.0f} | {r.cpu_us:.0f} | {r.p50_ms:.1f} | "
              f"{r.p99_ms:.1f} | "
              f"{r.errors + a.errors} | {a.p50_ms:.1f} | {a.p99_ms:.1f} | {f'{p.rps:.0f} ({p.errors})' if p else ''} | "
              f"{f'{p.cpu_us:.0f}' if p else ''} | {ratio} |")
    print(f"\nserver RSS (max during the run): {rss:.0f} MB")

    if args.pg_url:
        pg_url, pg_seed = _seeded(args.pg_events, _bench_schema(args.pg_url))
        print(f"\n# PostgreSQL, {args.pg_events:,} events (seeded in {pg_seed:.1f} s), unpinned, qradar 50-item page")
        for workers in (1, 2):
            with _server(pg_url, workers=workers, pin=False) as (base, _):
                ep = next(e for e in _plan(base, pg_url) if e.vendor == "qradar" and not e.walk)
                load(base, ep.requests, args.warmup, args.connections)
                r = load(base, ep.requests, args.seconds, args.connections)
                print(f"workers={workers}: {r.rps:.0f} req/s, p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, "
                      f"non-2xx {r.errors}")


if __name__ == "__main__":
    main()
