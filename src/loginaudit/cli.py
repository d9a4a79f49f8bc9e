"""`loginaudit serve | load | seed | reset | conform`: the command line."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from .mocking.journal import DEFAULT_SIZE as DEFAULT_JOURNAL_SIZE
from .mocking.journal import JOURNAL
from .mocking.journal import SIZE_ENV as JOURNAL_SIZE_ENV
from .registry import VENDORS, SettingsError, checked_settings
from .storage import Store, settings
from .storage.db import URL_ENV
from .storage.records import Conflict, counts

DEMO_EVENTS = 2000
# Connexion imports starlette's test client at import time, which warns about httpx on every start.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")


def _store(url: str | None) -> Store:
    store = Store(url)
    store.create_schema()
    return store


def _seed(store: Store, events: int, seed: int, anchor: datetime | None) -> None:
    from tqdm import tqdm

    from . import seed as seeding

    with tqdm(total=events, unit="ev", unit_scale=True, disable=events < 50_000, desc="seeding") as bar:
        seeding.seed(store, events=events, seed=seed, anchor=anchor, progress=bar.update)


def _banner(store: Store, host: str, port: int, kept: bool) -> str:
    """Everything needed to call each vendor now: base URL, docs, credentials, a ready curl line."""
    from .quickstart import banner_lines, card

    root = f"http://{host}:{port}"
    lines = [f"loginaudit on {root}  (store: {store.engine.url.render_as_string(hide_password=True)})",
             f"  landing page      {root}/", f"  control plane     {root}/_loginaudit/ui/"]
    with store.session() as s:
        lines += banner_lines(card(s, root), root)
    if kept:
        lines.append("  (the store already held events: it was not re-seeded; `loginaudit reset` empties it)")
    return "\n".join(lines)


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    from .asgi import SUPERVISOR_ENV
    from .guard import ALLOWED_HOSTS_ENV, CONTROL_TOKEN_ENV, LOOPBACK, hosts_for_bind

    if args.database_url:
        os.environ[URL_ENV] = args.database_url
    # read by every worker process's app (loginaudit.asgi:create)
    os.environ[ALLOWED_HOSTS_ENV] = hosts_for_bind(args.host, args.allowed_host)
    if args.control_token:
        os.environ[CONTROL_TOKEN_ENV] = args.control_token
    if args.workers > 1:
        os.environ[SUPERVISOR_ENV] = str(os.getpid())
    _port_is_free(args.host, args.port)
    store = _store(args.database_url)
    with store.session() as s:
        empty = counts(s)["login_events"] == 0
    if args.scenario:
        _load_scenario(store, args.scenario)
    elif empty and args.demo_events:
        _seed(store, args.demo_events, args.seed, None)
    if args.mock_config:
        _mock_config(store, args.mock_config)
    if args.journal_size is not None:
        os.environ[JOURNAL_SIZE_ENV] = str(args.journal_size)  # for worker processes
        JOURNAL.resize(args.journal_size)  # this process's journal exists already
    if args.host not in LOOPBACK:
        print(f"WARNING: serving on {args.host}, not loopback: whoever reaches this port can read every secret at "
              "/_loginaudit/tokens and wipe the store."
              + ("" if args.control_token else " Set --control-token to guard the control plane.") + "\n",
              file=sys.stderr, flush=True)
    print(_banner(store, args.host, args.port, kept=not empty and not args.scenario), flush=True)
    store.dispose()
    uvicorn.run("loginaudit.asgi:create", factory=True, host=args.host, port=args.port, workers=args.workers,
                log_level=args.log_level, access_log=args.access_log, loop=args.loop)


def _port_is_free(host: str, port: int) -> None:
    """Say so before seeding anything, not in a traceback after."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise SystemExit(f"loginaudit serve: cannot listen on {host}:{port}: {exc.strerror} "
                             "(another server there? --port picks another)") from None


def _load_scenario(store: Store, name_or_path: str) -> dict[str, Any]:
    from . import scenario

    try:
        return scenario.load(store, scenario.read(name_or_path)).as_json()
    except (scenario.ScenarioError, LookupError, Conflict) as exc:
        raise SystemExit(f"scenario {name_or_path}: {exc}") from None


def _mock_config(store: Store, path: str) -> None:
    import yaml

    from .mocking import rules
    from .storage import bind

    bind(store)
    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
        modes = doc.pop("settings", None) or {} if isinstance(doc, dict) else {}
        checked = [(checked_settings(vendor, values)[0].name, values) for vendor, values in dict(modes).items()]
        rules.apply_config(doc)
    except (OSError, yaml.YAMLError, rules.RuleError, SettingsError, TypeError, ValueError) as exc:
        raise SystemExit(f"mock config {path}: {exc}") from None
    with store.session(write=True) as s:
        for vendor, values in checked:
            settings.write(s, vendor, values)


def _summary(made: dict[str, Any]) -> str:
    """One line for a person: how many of each kind (`--json` prints every id for a machine)."""
    return ", ".join(f"{len(v) if isinstance(v, dict | list) else v} {k}" for k, v in made.items() if k != "event_ids")


def load(args: argparse.Namespace) -> None:
    import json

    store = _store(args.database_url)
    if args.reset:
        store.reset()
    made = _load_scenario(store, args.scenario)
    print(json.dumps(made, indent=2) if args.json else f"loaded {args.scenario}: {_summary(made)}")


def seed(args: argparse.Namespace) -> None:
    store = _store(args.database_url)
    if args.reset:
        store.reset()
    from .seed import AlreadySeeded

    try:
        _seed(store, args.events, args.seed, datetime.fromisoformat(args.anchor) if args.anchor else None)
    except AlreadySeeded as exc:
        raise SystemExit(f"loginaudit seed: {exc}") from None
    with store.session() as s:
        total = counts(s)
    if args.json:
        import json

        print(json.dumps(total))
    else:
        print("store now holds " + ", ".join(f"{n:,} {k.replace('_', ' ')}" for k, n in total.items()))


def reset(args: argparse.Namespace) -> None:
    _store(args.database_url).reset()
    print("store emptied")


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"{flag} takes NAME=VALUE, not {item!r}")
        out[key] = value
    return out


def conform(args: argparse.Namespace) -> None:
    from pathlib import Path

    from .conform.run import conform as run_conform
    from .conform.run import load_spec, summary
    from .registry import by_name

    vendor = by_name(args.vendor)
    spec_name = args.spec or vendor.spec_file
    try:
        _, spec = load_spec(spec_name)
    except OSError:
        raise SystemExit(f"loginaudit conform: no document {spec_name!r}; {vendor.name} has "
                         f"{', '.join((vendor.spec_file, *vendor.client_specs))}") from None
    auth, schemes = _pairs(args.auth, "--auth"), sorted(spec.get("components", {}).get("securitySchemes", {}))
    unknown = sorted(set(auth) - set(schemes))
    if unknown:
        raise SystemExit(f"loginaudit conform: --auth {unknown[0]}=...: {spec_name} has the security schemes "
                         f"{', '.join(schemes) or 'none'}")
    if schemes and not auth:
        print(f"warning: no --auth given; {spec_name} wants one of {', '.join(schemes)} (every call will be "
              "unauthenticated)", file=sys.stderr, flush=True)
    outcomes = run_conform(vendor.name, args.base_url, spec_name=spec_name,
                           auth=auth, params=_pairs(args.param, "--param"),
                           seed_value=args.seed, max_examples=args.max_examples, max_time=args.max_time,
                           junit_path=Path(args.junit) if args.junit else None)
    print(summary(outcomes), flush=True)
    raise SystemExit(1 if any(o.ok is False for o in outcomes) else 0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="loginaudit", description=__doc__)
    parser.add_argument("--database-url", help=f"SQLAlchemy URL (default ${URL_ENV} or sqlite:///loginaudit.db)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve every vendor API (seeds demo data into an empty store)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 exposes it: see --control-token)")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                   help="a host name clients may call it by besides loopback and --host (repeatable)")
    p.add_argument("--control-token", help="require 'Authorization: Bearer TOKEN' on the control plane "
                                           "(default $LOGINAUDIT_CONTROL_TOKEN)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--demo-events", type=int, default=DEMO_EVENTS, help="events to seed when the store is empty")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--log-level", default="info")
    p.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=True)
    # asyncio's loop, not uvicorn's default uvloop: at 16 connections uvloop answered 1-2% of requests a
    # whole round late (p99 2x p50 with a constant 1 ms handler, asyncio's 1.08x), for the same CPU a
    # request (README, Performance: Session 19)
    p.add_argument("--loop", choices=("asyncio", "uvloop", "auto"), default="asyncio",
                   help="event loop (default asyncio: fairer to concurrent connections than uvloop here)")
    p.add_argument("--scenario", help="load this scenario (shipped name or YAML path) instead of demo data")
    p.add_argument("--mock-config", help="YAML with `faults` and `rate_limits` rules to start with")
    p.add_argument("--journal-size", type=int,
                   help=f"requests the journal keeps (default {DEFAULT_JOURNAL_SIZE}; 0: off)")
    p.set_defaults(func=serve)

    p = sub.add_parser("load", help="load a scenario (a shipped name or a YAML file) into the store")
    p.add_argument("scenario")
    p.add_argument("--reset", action="store_true", help="empty the store first")
    p.add_argument("--json", action="store_true", help="print every created record's id as JSON")
    p.set_defaults(func=load)

    p = sub.add_parser("seed", help="add deterministic demo data")
    p.add_argument("--events", type=int, default=DEMO_EVENTS,
                   help=f"login events to generate (default {DEMO_EVENTS:,}; people and accounts scale with it)")
    p.add_argument("--seed", type=int, default=1, help="random seed: the same seed and anchor give the same store")
    p.add_argument("--json", action="store_true", help="print the store's counts as JSON")
    p.add_argument("--anchor", help="ISO time the demo history ends at (default: start of the current UTC hour)")
    p.add_argument("--reset", action="store_true", help="empty the store first")
    p.set_defaults(func=seed)

    p = sub.add_parser("reset", help="delete every record")
    p.set_defaults(func=reset)

    p = sub.add_parser("conform", help="check any server against a vendor's spec and semantics",
                       epilog=_conform_epilog() if {"-h", "--help"} & set(argv or sys.argv) else None,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vendor", required=True, choices=[v.name for v in VENDORS])
    p.add_argument("--base-url", required=True, help="the server root, e.g. https://qradar.example.com")
    p.add_argument("--auth", action="append", default=[], metavar="SCHEME=VALUE",
                   help="a credential for one security scheme of the spec (basic: user:password); repeatable")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="inputs for the semantics checks, e.g. userid=<uuid> for SSOJet")
    p.add_argument("--spec", help="another document of the vendor, e.g. ssojet-current.yaml")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--max-examples", type=int, default=25)
    p.add_argument("--max-time", type=float, default=300.0, help="seconds for the Schemathesis part")
    p.add_argument("--junit", help="write a JUnit XML report here")
    p.set_defaults(func=conform)

    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (OSError, SQLAlchemyError, ValueError, LookupError) as exc:
        if os.environ.get("LOGINAUDIT_DEBUG"):
            raise
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SystemExit(f"loginaudit {args.command}: {first} (LOGINAUDIT_DEBUG=1 shows the traceback)") from None


# What `conform --help` lists: each vendor's security schemes (its --auth names) and the --params it needs.
CONFORM_PARAMS = {"ssojet": "userid=<uuid of a user of the API key's application>"}


def _conform_epilog() -> str:
    lines = ["--auth names (the spec's security schemes) per vendor:"]
    for v in VENDORS:
        for name in (v.spec_file, *v.client_specs):
            from .conform.run import load_spec

            schemes = sorted(load_spec(name)[1].get("components", {}).get("securitySchemes", {}))
            lines.append(f"  {v.name:<9} {name:<22} --auth {' | '.join(f'{s}=...' for s in schemes)}")
        if v.name in CONFORM_PARAMS:
            lines.append(f"  {'':<9} {'':<22} --param {CONFORM_PARAMS[v.name]}")
    lines.append("basic schemes take user:password; LOGINAUDIT_DEBUG=1 shows tracebacks.")
    return "\n".join(lines)
