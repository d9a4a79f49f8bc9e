"""Scenario files: a test's whole arrangement (people, accounts, credentials, tokens, events) in YAML.

Records are named and referred to by name; times may be relative to the store clock (`-2h`, `-90m`,
`+1d`, `now`) or absolute. Every record is checked against the control plane's own input schema
(`openapi/control.yaml`) once names and times are resolved, so a scenario accepts exactly what
the control plane accepts. One scenario loads in one transaction: all of it or nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from connexion.json_schema import Draft4RequestValidator
from sqlalchemy.orm import Session

from .bounded import BadInput, excerpt, loads_yaml
from .registry import CONTROL, SettingsError, checked_settings
from .storage import Store, clock, settings
from .storage.records import create_credential, create_person, create_tenant, ingest_events
from .timefmt import iso_ms_z, parse_iso, storable
from .tokens import issue

BUILTIN_DIR = Path(__file__).parent / "scenarios"
_RELATIVE = re.compile(r"^([+-])(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_EVENTS = 100_000  # rows one scenario may make, `repeat` included (control.yaml#Scenario)
_SECTIONS = ("clock", "settings", "tenants", "people", "credentials", "tokens", "events")


class ScenarioError(ValueError):
    """The scenario is not loadable; the message says where (e.g. `events[3].credential`)."""


@dataclass
class Loaded:
    """Ids of the named records, and the secrets of the named tokens."""

    tenants: dict[str, int] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)
    credentials: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    event_ids: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"tenants": self.tenants, "people": self.people, "credentials": self.credentials,
                "tokens": self.tokens, "events": len(self.event_ids), "event_ids": self.event_ids}


def duration(text: str) -> timedelta:
    match = _RELATIVE.match(("+" + text) if text[:1].isdigit() else text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (e.g. 30s, 15m, 2h, 3d, 1w)")
    sign, amount, unit = match.groups()
    try:
        delta = timedelta(**{_UNITS[unit]: float(amount)})
    except OverflowError:
        raise ValueError(f"duration too long: {excerpt(text)}") from None
    return -delta if sign == "-" else delta


def shifted(at: datetime, delta: timedelta) -> datetime:
    """`at + delta`, which the store must be able to keep (ValueError otherwise)."""
    try:
        return storable(at + delta)
    except OverflowError:
        raise ValueError(f"{at.isoformat()} shifted by {delta} is outside the times the store keeps") from None


def resolve_time(value: Any, now: datetime) -> str:
    """`now`, `-2h`, `+1d` or an ISO string -> ISO 8601 UTC with milliseconds."""
    if value == "now":
        at = now
    elif isinstance(value, str) and _RELATIVE.match(value):
        at = shifted(now, duration(value))
    elif isinstance(value, str):
        try:
            at = parse_iso(value)
        except ValueError as exc:
            raise ValueError(f"not a time the store keeps: {excerpt(value)} ({exc})") from None
    else:
        raise ValueError(f"not a time: {excerpt(repr(value))}")
    return iso_ms_z(at)


@cache
def _validator(schema_name: str) -> Any:
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": CONTROL.spec["components"]}
    return Draft4RequestValidator(schema, format_checker=jsonschema.FormatChecker())


def _checked(schema_name: str, record: dict[str, Any], where: str) -> dict[str, Any]:
    error = jsonschema.exceptions.best_match(_validator(schema_name).iter_errors(record))
    if error is not None:
        at = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        raise ScenarioError(f"{where}{at}: {error.message}")
    return record


def parse(text: str | bytes) -> dict[str, Any]:
    try:
        doc = loads_yaml(text)
    except BadInput as exc:
        raise ScenarioError(str(exc)) from None
    return _shape(_plain(doc))


def _plain(node: Any) -> Any:
    """YAML reads unquoted timestamps as datetimes; a scenario holds them as the strings JSON would."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, datetime):
        return (node if node.tzinfo else node.replace(tzinfo=UTC)).isoformat()
    if isinstance(node, date):
        return node.isoformat()
    return node


def _shape(doc: Any) -> dict[str, Any]:
    """The document's outline, checked against the control plane's `Scenario` schema."""
    if not isinstance(doc, dict):
        raise ScenarioError("a scenario is a mapping with sections " + ", ".join(_SECTIONS))
    return _checked("Scenario", doc, "scenario")


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def read(name_or_path: str | Path) -> dict[str, Any]:
    """A shipped scenario by name (`account-takeover`), or a YAML file by path."""
    path = Path(name_or_path)
    if not path.suffix and str(name_or_path) in builtin_names():
        path = BUILTIN_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ScenarioError(f"no scenario file {str(name_or_path)!r}; built in: {builtin_names()}")
    return parse(path.read_text(encoding="utf-8"))


class _Loader:
    def __init__(self, session: Session) -> None:
        self.s = session
        self.out = Loaded()
        self.now = clock.now(session)

    def ref(self, kind: str, table: dict[str, int], name: Any, where: str) -> int:
        if name not in table:
            raise ScenarioError(f"{where}: no {kind} named {name!r} (named: {sorted(table)})")
        return table[name]

    def times(self, record: dict[str, Any], keys: tuple[str, ...], where: str) -> dict[str, Any]:
        out = dict(record)
        for key in keys:
            if key in out:
                try:
                    out[key] = resolve_time(out[key], self.now)
                except ValueError as exc:
                    raise ScenarioError(f"{where}.{key}: {exc}") from None
        return out

    def clock(self, spec: Any) -> None:
        if not isinstance(spec, dict) or "now" not in spec:
            raise ScenarioError("clock: {now: <time>, frozen: true|false}")
        try:
            at = parse_iso(resolve_time(spec["now"], clock.real_now()))
        except ValueError as exc:
            raise ScenarioError(f"clock.now: {exc}") from None
        clock.set_clock(self.s, at, frozen=bool(spec.get("frozen", True)))
        self.now = at

    def settings(self, items: dict[str, Any]) -> None:
        """Vendor modes ({vendor: {setting: value}}), checked as the control plane checks them."""
        for vendor, values in items.items():
            try:
                v, _ = checked_settings(vendor, values)
            except SettingsError as exc:
                raise ScenarioError(f"settings.{vendor}: {exc}") from None
            settings.write(self.s, v.name, values)

    def tenants(self, items: dict[str, Any]) -> None:
        pending = dict(items)
        while pending:  # parents first, whatever the file's order
            ready = [n for n, t in pending.items()
                     if (t or {}).get("parent") is None or t["parent"] in self.out.tenants]
            if not ready:  # a parent that is missing or in a cycle
                name = next(iter(pending))
                parent = pending[name]["parent"]
                raise ScenarioError(f"tenants.{name}.parent: no tenant named {parent!r} can be created first")
            for name in ready:
                raw = dict(pending.pop(name) or {})
                where = f"tenants.{name}"
                if "parent" in raw:
                    raw["parent_id"] = self.out.tenants[raw.pop("parent")]
                raw.setdefault("name", name)
                record = _checked("TenantIn", self.times(raw, ("created_at",), where), where)
                self.out.tenants[name] = create_tenant(self.s, **_dates(record, "created_at")).id

    def people(self, items: dict[str, Any]) -> None:
        for name, raw in items.items():
            where = f"people.{name}"
            record = _checked("PersonIn", self.times(dict(raw or {}), ("created_at",), where), where)
            self.out.people[name] = create_person(self.s, **_dates(record, "created_at")).id

    def credentials(self, items: dict[str, Any]) -> None:
        for name, raw in items.items():
            where = f"credentials.{name}"
            raw = dict(raw or {})
            raw["person_id"] = self.ref("person", self.out.people, raw.pop("person", None), f"{where}.person")
            raw["tenant_id"] = self.ref("tenant", self.out.tenants, raw.pop("tenant", None), f"{where}.tenant")
            record = _checked("CredentialIn", self.times(raw, ("created_at", "expires_at"), where), where)
            self.out.credentials[name] = create_credential(self.s, **_dates(record, "created_at", "expires_at")).id

    def tokens(self, items: dict[str, Any]) -> None:
        for name, raw in items.items():
            where = f"tokens.{name}"
            raw = dict(raw or {})
            if "credential" in raw:
                raw["credential_id"] = self.ref("credential", self.out.credentials, raw.pop("credential"),
                                                f"{where}.credential")
            record = _checked("TokenIn", self.times(raw, ("expires_at",), where), where)
            try:
                token = issue(self.s, record.pop("vendor"), record.pop("kind"), **_dates(record, "expires_at"))
            except ValueError as exc:
                raise ScenarioError(f"{where}: {exc}") from None
            self.out.tokens[name] = {"vendor": token.vendor, "kind": token.kind, "secret": token.secret,
                                     "credential_id": token.credential_id}

    def events(self, items: list[Any]) -> None:
        rows: list[dict[str, Any]] = []
        for i, raw in enumerate(items):
            where = f"events[{i}]"
            raw = dict(raw or {})
            repeat, every = raw.pop("repeat", 1), raw.pop("every", "1m")  # typed by the Scenario schema
            if len(rows) + repeat > MAX_EVENTS:
                raise ScenarioError(f"{where}.repeat: a scenario makes at most {MAX_EVENTS} events in all")
            if repeat > 1 and "uuid" in raw:  # events are unique by uuid: one uuid cannot make several
                raise ScenarioError(f"{where}.uuid: an event's uuid is unique, so it cannot be repeated")
            try:
                step = duration(str(every))
            except ValueError as exc:
                raise ScenarioError(f"{where}.every: {exc}") from None
            if "credential" in raw:
                raw["credential_id"] = self.ref("credential", self.out.credentials, raw.pop("credential"),
                                                f"{where}.credential")
            record = _checked("EventIn", self.times(raw, ("occurred_at",), where), where)
            first = _dates(record, "occurred_at")["occurred_at"]
            try:
                shifted(first, (repeat - 1) * step)
            except (ValueError, OverflowError):
                raise ScenarioError(f"{where}: the last of {repeat} events every {every} is outside the times "
                                    "the store keeps") from None
            rows.extend({**record, "occurred_at": first + k * step} for k in range(repeat))
        if rows:
            self.out.event_ids = ingest_events(self.s, rows)


def _dates(record: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: parse_iso(v) if k in keys and v is not None else v
            for k, v in record.items()}


def load(store: Store, doc: dict[str, Any]) -> Loaded:
    """Create everything `doc` describes, atomically; return the names' ids and the tokens' secrets."""
    doc = _shape(doc)
    with store.session(write=True) as s:
        loader = _Loader(s)
        if doc.get("clock") is not None:
            loader.clock(doc["clock"])
        loader.settings(doc.get("settings") or {})
        loader.tenants(doc.get("tenants") or {})
        loader.people(doc.get("people") or {})
        loader.credentials(doc.get("credentials") or {})
        loader.tokens(doc.get("tokens") or {})
        loader.events(doc.get("events") or [])
        return loader.out
