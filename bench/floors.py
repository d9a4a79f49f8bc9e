"""Each vendor's walk served with no handler work: how near Prism can the stack come with its bodies?

Issue 20's walk target (>= 1.0x Prism) compares a computed 50-row page with Prism's static example
(250 B to 1.6 KB; an Okta page is 75 KB). This serves a vendor's walk two ways on the bench's 1M-event
store, then Prism's page, one run, the response cache off (every request reaches the handler):
- `shipped`: the vendor's handler as it is;
- `answered`: the handler's answer to each request remembered from a pass before measuring (the same
  status, headers and bytes), so what is measured is everything but the handler: uvicorn, our
  middlewares, Connexion's routing, security and parameter validation, and the body's way out.
`answered` is the floor a faster handler (a write-time projection included) could reach; where it is
below Prism's rate, the walk target is out of reach whatever the handler does. With `--projected`, a
third way for the vendors whose pages are `event_json_with`'s and carry the event id (Okta, Entra,
Canvas):
- `projected`: a write-time projection's read. Each row's document is written once, in the pass before
  measuring, to a side table of a copy of the store; the shipped handler then runs whole, but its page
  statement selects each row's stored text where it selected the document's columns, and no template
  runs. Its cost beyond `answered` is what the handler's own logic, the store read and the stored bytes
  cost.
Prototypes, not shipped code: the handler is wrapped in the server process before the app is built.
Run: `.venv/bin/python bench/floors.py [--requests 2000] [--projected] [vendor ...]` (after `make bench`).
"""

from __future__ import annotations

import argparse
import copy
import functools
import importlib
import os
import shutil
import subprocess
import sys
import urllib.request
from typing import Any

import run  # bench/run.py: the store, the plan, the load generator, Prism

from loginaudit.loopback import free_port, wait_until_up

HANDLERS = run.WALK_HANDLERS
PROJECTED = ("okta", "entra", "canvas")  # pages of event_json_with whose extra columns hold the event id


def _serve(vendor: str, mode: str, port: int, url: str) -> None:
    """In the server process: wrap the vendor's handler for `mode`, then serve as `loginaudit serve` does."""
    import uvicorn
    from connexion.context import scope

    os.environ["LOGINAUDIT_DATABASE_URL"] = url
    os.environ["LOGINAUDIT_RESPONSE_CACHE"] = "0"
    module = importlib.import_module(f"loginaudit.handlers.{vendor}")
    shipped = getattr(module, HANDLERS[vendor])
    answers: dict[Any, Any] = {}

    @functools.wraps(shipped)  # Connexion reads the signature through __wrapped__
    def answered(*args: Any, **kwargs: Any) -> Any:
        key = (scope["path"], scope["query_string"], tuple(scope["headers"]))
        if key not in answers:
            answers[key] = shipped(*args, **kwargs)
        return copy.deepcopy(answers[key]) if not isinstance(answers[key], tuple) else \
            tuple(dict(part) if isinstance(part, dict) else part for part in answers[key])

    if mode == "answered":
        setattr(module, HANDLERS[vendor], answered)
    if mode == "projected":
        _project(module, url)
    uvicorn.run("loginaudit.asgi:create", factory=True, host="127.0.0.1", port=port, log_level="warning",
                access_log=False)


def _project(module: Any, url: str) -> None:
    """Swap the module's `event_json_with` for a write-time projection's read (see the docstring)."""
    import sqlite3

    from sqlalchemy import literal_column

    from loginaudit.storage import rendered
    from loginaudit.storage.driver import fetch, prepare
    from loginaudit.storage.events import FIELDS, form_of, select_page

    shipped = module.event_json_with
    writer = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
    keys: dict[int, int] = {}  # id(doc) -> its key in the side table
    seen: set[tuple[int, str]] = set()
    statements: dict[Any, Any] = {}

    def projected(session: Any, q: Any, doc: Any, extra: tuple[str, ...], shown: int | None = None) -> Any:
        key = keys.setdefault(id(doc), len(keys))
        if "id" not in extra:
            return shipped(session, q, doc, extra, shown)
        asked = (key, repr(q))
        if asked not in seen:  # the pass before measuring: the projection written
            seen.add(asked)
            written = shipped(session, q, doc, extra, shown)
            ids = written.stored("id")
            shown_ids = ids[: len(written.texts)]  # the row read past the page has no text
            # a rowid table per doc: a 1.5 KB text stays on its table page (a WITHOUT ROWID table's
            # entries spill past ~1 KB onto overflow pages, a second read per row)
            writer.execute(f"CREATE TABLE IF NOT EXISTS projected_{key} (event_id INTEGER PRIMARY KEY, doc TEXT)")
            writer.executemany(f"INSERT OR IGNORE INTO projected_{key} VALUES (?, ?)",
                               list(zip(shown_ids, written.texts, strict=True)))
            return written
        form, params, joined, deferred = form_of(q, extra)
        prepared = statements.get((key, form, extra, joined, deferred))
        if prepared is None:
            stored: Any = literal_column(f"(SELECT doc FROM projected_{key} WHERE event_id = login_events.id)")
            picked = [stored.label("c0"), *(FIELDS[c].label(f"c{i + 1}") for i, c in enumerate(extra))]
            prepared = statements[(key, form, extra, joined, deferred)] = prepare(
                select_page(form, picked, joined, deferred))
        rows = fetch(session, prepared, params)
        return rendered.Written([row[0] for row in rows[:shown]], extra, [row[1:] for row in rows],
                                rendered.converter(extra), len(rows))

    module.event_json_with = projected


def _visit(base: str, requests: list[run.Request]) -> int:
    """Each request once, in turn (the answers are remembered before measuring); the largest body's size."""
    largest = 0
    for path, headers in requests:
        with urllib.request.urlopen(urllib.request.Request(base + path, headers=headers)) as answer:
            largest = max(largest, len(answer.read()))
    return largest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("vendors", nargs="*")
    parser.add_argument("--requests", type=int, default=2000, help="the walk's first N requests, cycled")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--projected", action="store_true", help="also a write-time projection's read")
    args = parser.parse_args()
    url, _ = run._seeded(1_000_000)
    projected_url = ""
    if args.projected:  # a copy of the store with the side table: the bench's own store is not changed
        copy_path = run.CACHE / "projected.db"
        shutil.copyfile(url.removeprefix("sqlite:///"), copy_path)
        projected_url = f"sqlite:///{copy_path}"
    with run._server(url) as (base, _proc):
        walks = {ep.vendor: ep.requests[: args.requests] for ep in run._plan(base, url)
                 if ep.walk and (not args.vendors or ep.vendor in args.vendors)}
    print("| vendor | body bytes | shipped CPU µs/req | answered CPU µs/req | projected CPU µs/req "
          "| Prism CPU µs/req | shipped vs Prism | answered vs Prism | projected vs Prism |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    for vendor, walk in walks.items():
        results, size = {}, 0
        modes = ("shipped", "answered", *(("projected",) if args.projected and vendor in PROJECTED else ()))
        for mode in modes:
            port = free_port()
            store = projected_url if mode == "projected" else url
            proc = subprocess.Popen(run._pin(0, [sys.executable, __file__, "--serve", vendor, mode, str(port),
                                                 store]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                served = f"http://127.0.0.1:{port}"
                wait_until_up(f"{served}/_loginaudit/health", proc)
                size = _visit(served, walk)
                run.load(served, walk, 3.0, 16)
                results[mode] = run.measured(proc.pid, served, walk, args.seconds, 16)
                assert results[mode].errors == 0, f"{vendor} {mode}: non-2xx answers"
            finally:
                run._stop(proc)
        spec, path = run.PRISM_PATHS[vendor]
        with run._prism(spec) as started:
            assert started is not None, "Prism needs npm (see make bench)"
            pbase, pid = started
            prism_walk = [(path, walk[0][1])]
            run.load(pbase, prism_walk, 20.0, 16)
            prism = run.measured(pid, pbase, prism_walk, args.seconds, 16)
        shipped, answered, projected = results["shipped"], results["answered"], results.get("projected")
        print(f"| {vendor} | {size:,} | {shipped.cpu_us:.0f} | {answered.cpu_us:.0f} | "
              f"{f'{projected.cpu_us:.0f}' if projected else ''} | {prism.cpu_us:.0f} | "
              f"{shipped.rps / prism.rps:.2f}x | {answered.rps / prism.rps:.2f}x | "
              f"{f'{projected.rps / prism.rps:.2f}x' if projected else ''} |", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        _serve(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        main()
