"""Issue 20's open question, measured: how far is a walk's miss from Prism, and which layer holds it?

Unleash's walk (the same 50 rows, a header the response cache keys on varied per request, so every
answer is computed) served four ways on the bench's 1M-event store, then Prism's static page, one run:
- `current`: the shipped handler;
- `projected`: what a write-time projection leaves, the same store query for the page's ids through
  SQLAlchemy, each row's wire bytes stored beforehand (orjson fragments built once, before measuring);
- `core`: the projection, the generation and ids read on a SQLAlchemy Core connection (no Session, the
  clock read once);
- `raw`: the projection, the read through sqlite3 directly (BEGIN, the generation, the ids, COMMIT);
- `floor`: no store at all, the 50 rows' bytes at once (Connexion, our middlewares, uvicorn).
Prototypes, not shipped code: the handler is swapped in the server process before the app is built.
Run: `.venv/bin/python bench/walk_floor.py` (after `make bench` has seeded `.cache/bench/`).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from typing import Any

import run  # bench/run.py: the store, the plan, the load generator, Prism

from loginaudit.loopback import free_port, wait_until_up

MODES = tuple(os.environ.get("WALK_FLOOR_MODES", "current,projected,core,raw,floor").split(","))


def _serve(mode: str, port: int, url: str) -> None:
    """In the server process: swap Unleash's handler for `mode`'s, then serve as `loginaudit serve` does."""
    import orjson
    import uvicorn
    from sqlalchemy import select

    from loginaudit.handlers import unleash
    from loginaudit.storage import clock, current
    from loginaudit.storage.criteria import Cmp, In, all_of
    from loginaudit.storage.events import EventQuery, event_rows
    from loginaudit.storage.models import Setting
    from loginaudit.storage.rendered import columns, renderer
    from loginaudit.storage.settings import GENERATION_KEY

    os.environ["LOGINAUDIT_DATABASE_URL"] = url
    # Every mode computes its answer: the floor answered ~6,500 req/s, its walk went round in under 1 s
    # and was answered from the response cache (138 µs a request where the computed floor is ~154)
    os.environ["LOGINAUDIT_RESPONSE_CACHE"] = "0"
    shipped, stored, page, raw = unleash.getLoginHistory, {}, [], {}  # type: ignore[var-annotated]
    bound: list[str] = []  # the window's lower bound as SQLite stores times

    def ids_of_page() -> list[int]:
        with current().session() as s:
            since = clock.now(s) - unleash.RETENTION
            where = all_of(In("event_type", ("login", "logout")), Cmp("occurred_at", ">=", since))
            if not stored:  # the projection, written before any request is measured
                for ev in event_rows(s, EventQuery(where=where), columns(unleash.TYPED_DOC)):
                    stored[ev.id] = orjson.Fragment(orjson.dumps(renderer(unleash.TYPED_DOC)(ev)))
                    page.append(stored[ev.id])
            return [ev.id for ev in event_rows(s, EventQuery(where=where), ("id",))]

    def projected(token_info: dict[str, Any]) -> Any:
        return {"events": [stored[i] for i in ids_of_page()]}, 200, {"Content-Type": unleash.JSON_TYPE}

    def read_raw(token_info: dict[str, Any]) -> Any:
        if not stored:
            ids_of_page()
        if not raw:
            raw["conn"] = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None,
                                          check_same_thread=False)
            bound.append(_since())
        conn = raw["conn"]
        conn.execute("BEGIN")
        conn.execute("SELECT value FROM settings WHERE key = ?", ("store:generation",)).fetchone()
        ids = conn.execute("SELECT id FROM login_events WHERE event_type IN ('login', 'logout') AND occurred_at >= "
                           "? ORDER BY occurred_at DESC, id DESC", (bound[0],)).fetchall()
        conn.execute("COMMIT")
        return {"events": [stored[i] for (i,) in ids]}, 200, {"Content-Type": unleash.JSON_TYPE}

    def _since() -> str:
        with current().session() as s:
            return (clock.now(s) - unleash.RETENTION).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

    class _NoSession:
        """What event_rows asks of a session (its connection), over a Core connection."""

        def __init__(self, conn: Any) -> None:
            self.conn = conn

        def connection(self) -> Any:
            return self.conn

    def core(token_info: dict[str, Any]) -> Any:
        if not stored:
            ids_of_page()
        if not clock_at:
            clock_at.append(_now())
        where = all_of(In("event_type", ("login", "logout")), Cmp("occurred_at", ">=", clock_at[0]))
        with current().engine.connect() as conn:
            conn.execute(select(Setting.value).where(Setting.key == GENERATION_KEY)).scalar()
            ids = [ev.id for ev in event_rows(_NoSession(conn), EventQuery(where=where), ("id",))]  # type: ignore[arg-type]
            conn.rollback()
        return {"events": [stored[i] for i in ids]}, 200, {"Content-Type": unleash.JSON_TYPE}

    clock_at: list[Any] = []

    def _now() -> Any:
        with current().session() as s:
            return clock.now(s) - unleash.RETENTION

    def floor(token_info: dict[str, Any]) -> Any:
        if not stored:
            ids_of_page()
        return {"events": page}, 200, {"Content-Type": unleash.JSON_TYPE}

    unleash.getLoginHistory = {"current": shipped, "projected": projected, "raw": read_raw, "core": core,
                               "floor": floor}[mode]
    uvicorn.run("loginaudit.asgi:create", factory=True, host="127.0.0.1", port=port, log_level="warning",
                access_log=False)


def main() -> None:
    url, _ = run._seeded(1_000_000)
    with run._server(url) as (base, _proc):
        walk = next(ep for ep in run._plan(base, url) if ep.vendor == "unleash" and ep.walk).requests
    print("| mode | req/s | CPU µs/req | non-2xx | vs Prism |\n|---|---:|---:|---:|---:|")
    results = {}
    for mode in MODES:
        port = free_port()
        proc = subprocess.Popen(run._pin(0, [sys.executable, __file__, "--serve", mode, str(port), url]),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until_up(f"http://127.0.0.1:{port}/_loginaudit/health", proc)
            run.load(f"http://127.0.0.1:{port}", walk, 3.0, 16)
            results[mode] = run.measured(proc.pid, f"http://127.0.0.1:{port}", walk, 10.0, 16)
        finally:
            run._stop(proc)
    with run._prism("unleash.yaml") as started:
        assert started is not None, "Prism needs npm (see make bench)"
        pbase, pid = started
        run.load(pbase, [("/logins", walk[0][1])], 20.0, 16)
        prism = run.measured(pid, pbase, [("/logins", walk[0][1])], 10.0, 16)
    for mode, r in results.items():
        print(f"| {mode} | {r.rps:.0f} | {r.cpu_us:.0f} | {r.errors} | {r.rps / prism.rps:.2f}x |")
    print(f"| Prism | {prism.rps:.0f} | {prism.cpu_us:.0f} | {prism.errors} | 1.00x |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        _serve(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        main()
