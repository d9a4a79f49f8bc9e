"""A miss's CPU per vendor without HTTP: each vendor's bench walk driven straight into the ASGI app.

`make bench` measures through uvicorn and wrk, where two shared cores make absolute figures move 2-3x;
this calls `create_app()`'s ASGI callable from one asyncio loop (no sockets, no load generator) and reads
the process's CPU time, so two code versions compare within a few percent. The response cache is off
(`LOGINAUDIT_RESPONSE_CACHE=0`): every request is a miss, as on a connector's walk.

Run: `.venv/bin/python bench/inprocess.py [--events 100000] [--requests 400] [--rounds 2] [vendor ...]`
(`--profile FILE` writes a cProfile of the last round). The store is `make bench`'s (seeded on first use).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import time
from typing import Any
from urllib.parse import urlsplit

import run  # bench/run.py: the store, the plan

Request = tuple[str, dict[str, str]]


async def _call(app: Any, path_qs: str, headers: dict[str, str]) -> int:
    parts = urlsplit(path_qs)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": parts.path, "raw_path": parts.path.encode(),
             "query_string": parts.query.encode(), "root_path": "", "server": ("127.0.0.1", 8080),
             "client": ("127.0.0.1", 50000),
             "headers": [(b"host", b"127.0.0.1:8080"), *((k.lower().encode(), v.encode()) for k, v in headers.items())]}
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _walk(app: Any, requests: list[Request]) -> tuple[float, int]:
    """CPU µs per request over `requests`, and how many were not 2xx."""
    bad = 0
    started = time.process_time()
    for path, headers in requests:
        status = await _call(app, path, headers)
        bad += not 200 <= status < 300
    return (time.process_time() - started) / len(requests) * 1e6, bad


async def _warm(app: Any, requests: list[Request]) -> None:
    """One pass before measuring (its own frame, so bench/layers.py leaves its samples out)."""
    await _walk(app, requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("vendors", nargs="*")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", default="")
    parser.add_argument("--database-url", default="", help="another seeded store (default: make bench's)")
    args = parser.parse_args()
    os.environ["LOGINAUDIT_RESPONSE_CACHE"] = "0"
    url = args.database_url or run._seeded(args.events)[0]
    with run._server(url) as (base, _proc):  # the plan asks the control plane (tokens, the frozen clock)
        plan = [ep for ep in run._plan(base, url) if ep.walk and (not args.vendors or ep.vendor in args.vendors)]
    from loginaudit.asgi import create

    os.environ["LOGINAUDIT_DATABASE_URL"] = url
    app = create()
    loop = asyncio.new_event_loop()
    for ep in plan:
        requests = ep.requests[: args.requests]
        loop.run_until_complete(_warm(app, requests))  # warm: imports, statements, per-agent caches (a cold
        # user agent's parse is ~0.8 ms: 199 of them were 20% of a cold Okta round)
        figures = []
        for round_ in range(args.rounds):
            profiler = cProfile.Profile() if args.profile and round_ == args.rounds - 1 else None
            if profiler:
                profiler.enable()
            figures.append(loop.run_until_complete(_walk(app, requests)))
            if profiler:
                profiler.disable()
                profiler.dump_stats(f"{args.profile}.{ep.vendor}")
        cpu = " ".join(f"{us:,.0f}" for us, _ in figures)
        print(f"{ep.vendor:<9} {ep.case:<20} CPU µs/request per round: {cpu}  non-2xx: {figures[-1][1]}",
              flush=True)


if __name__ == "__main__":
    main()
