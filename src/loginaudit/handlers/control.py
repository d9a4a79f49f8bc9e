"""The control plane: arrange the shared store that every vendor API projects."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from connexion import NoContent
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionResponse
from connexion.problem import problem
from sqlalchemy.exc import IntegrityError

from .. import caches, scenario
from .. import seed as seeding
from ..errors import first_line
from ..mocking import rules as mock_rules
from ..mocking.journal import JOURNAL
from ..mocking.middleware import reseed
from ..mocking.ratelimit import LIMITER
from ..registry import VENDORS, by_name
from ..storage import clock, current, settings
from ..storage.criteria import Cmp
from ..storage.events import EventQuery, EventRow, event_rows
from ..storage.models import ApiToken, Credential, Person, Tenant
from ..storage.records import (
    NotFound,
    counts,
    create_credential,
    create_person,
    create_tenant,
    get_credential,
    get_person,
    get_tenant,
    ingest_events,
    tokens,
)
from ..timefmt import parse_iso
from ..tokens import TokenKind, TokenRequestError, issue

Reply = tuple[Any, int] | tuple[Any, int, dict[str, str]]
PROBLEM = {"Content-Type": "application/problem+json"}
JSON = {"Content-Type": "application/json"}  # every operation also declares problem+json, so say which


def render_error(status: int, detail: str, headers: Mapping[str, str], path: str) -> ConnexionResponse:
    detail = first_line(detail, "error")
    return problem(status=status, title=_TITLES.get(status, "Error"), detail=detail, headers=dict(headers))


_TITLES = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
           408: "Request Timeout", 409: "Conflict", 413: "Content Too Large", 414: "URI Too Long",
           422: "Unprocessable Entity", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
           503: "Service Unavailable"}


def _problem(status: int, detail: str) -> Reply:
    return {"type": "about:blank", "title": _TITLES[status], "status": status, "detail": detail}, status, PROBLEM


def _when(value: str | None) -> datetime | None:
    """A body's date-time (the spec checked its format) as the store keeps it; 422 outside its range."""
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise ProblemException(status=422, title=_TITLES[422], detail=str(exc)) from None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _columns(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for name in names:
        value = getattr(row, name)
        out[name] = _iso(value) if isinstance(value, datetime) else value
    return out


def _tenant(t: Tenant) -> dict[str, Any]:
    return _columns(t, ("id", "uuid", "name", "client_id", "parent_id", "time_zone", "sis_id", "active", "created_at"))


def _person(p: Person) -> dict[str, Any]:
    return _columns(p, ("id", "uuid", "first_name", "middle_name", "last_name", "email", "sis_id", "lti_context_id",
                        "active", "created_at"))


def _credential(c: Credential) -> dict[str, Any]:
    return _columns(c, ("id", "person_id", "tenant_id", "login", "auth_method", "role", "account_type", "sis_id",
                        "integration_id", "active", "enabled", "created_at", "expires_at"))


def _event(e: EventRow) -> dict[str, Any]:
    return _columns(e, ("id", "uuid", "occurred_at", "credential_id", "person_id", "tenant_id", "username",
                        "event_type", "successful", "failure_reason", "auth_method", "ip", "user_agent",
                        "country", "city", "device", "os", "request_id", "client_name"))


def _token(t: ApiToken) -> dict[str, Any]:
    return _columns(t, ("id", "vendor", "kind", "secret", "grants", "credential_id", "label", "expires_at", "revoked"))


def health() -> Reply:
    store = current()
    with store.session() as s:
        return {"status": "ok", "database": store.engine.dialect.name, "worker": os.getpid(),
                "counts": counts(s)}, 200, JSON


def reset() -> Reply:
    current().reset()
    caches.forget_all()
    return NoContent, 204


def seed(body: dict[str, Any]) -> Reply:
    try:
        summary = seeding.seed(current(), events=body.get("events", 500), seed=body.get("seed", 1))
    except seeding.AlreadySeeded as exc:
        return _problem(409, str(exc))
    return {"counts": summary["counts"], "tokens": [_token(t) for t in summary["tokens"]]}, 201, JSON


def _kind_json(kind: TokenKind) -> dict[str, Any]:
    return {"description": kind.description, "needs_credential": kind.needs_credential, "grants": list(kind.grants)}


def listVendors() -> Reply:
    return [{"name": v.name, "title": v.title, "base_path": v.base_path,
             "token_kinds": {k: _kind_json(t) for k, t in v.module.TOKEN_KINDS.items()},
             "settings": _settings_json(v.module)} for v in VENDORS], 200, JSON


def _settings_json(module: Any) -> dict[str, Any]:
    choices = getattr(module, "SETTING_CHOICES", {})
    return {name: {"default": default, **({"choices": choices[name]} if name in choices else {})}
            for name, default in getattr(module, "SETTINGS", {}).items()}


def _vendor_settings(vendor: str) -> tuple[Any, dict[str, Any]] | None:
    try:
        v = by_name(vendor)
    except KeyError:
        return None
    return v, dict(getattr(v.module, "SETTINGS", {}))


def getVendorSettings(vendor: str) -> Reply:
    found = _vendor_settings(vendor)
    if found is None:
        return _problem(404, f"unknown vendor {vendor!r}")
    with current().session() as s:
        return settings.read(s, found[0].name, found[1]), 200, JSON


def setVendorSettings(vendor: str, body: dict[str, Any]) -> Reply:
    found = _vendor_settings(vendor)
    if found is None:
        return _problem(404, f"unknown vendor {vendor!r}")
    v, defaults = found
    for key, value in body.items():
        if key not in defaults:
            return _problem(422, f"{v.name} has no setting {key!r}; it has {sorted(defaults)}")
        if type(value) is not type(defaults[key]):
            return _problem(422, f"{v.name} setting {key!r} takes a {type(defaults[key]).__name__}")
        choices = getattr(v.module, "SETTING_CHOICES", {}).get(key)
        if choices is not None and value not in choices:
            return _problem(422, f"{v.name} setting {key!r} is one of {sorted(choices)}")
    with current().session(write=True) as s:
        settings.write(s, v.name, body)
        return settings.read(s, v.name, defaults), 200, JSON


def _create(make: Any, render: Any, body: dict[str, Any], *dates: str) -> Reply:
    fields = {**body, **{d: _when(body.get(d)) for d in dates if d in body}}
    try:
        with current().session(write=True) as s:
            return render(make(s, **fields)), 201, JSON
    except NotFound as exc:
        return _problem(404, str(exc))


def createTenant(body: dict[str, Any]) -> Reply:
    try:
        return _create(create_tenant, _tenant, body, "created_at")
    except IntegrityError:
        return _problem(409, f"client_id {body.get('client_id')!r} is taken")


def createPerson(body: dict[str, Any]) -> Reply:
    return _create(create_person, _person, body, "created_at")


def createCredential(body: dict[str, Any]) -> Reply:
    return _create(create_credential, _credential, body, "created_at", "expires_at")


def _read(get: Any, render: Any, ident: int) -> Reply:
    try:
        with current().session() as s:
            return render(get(s, ident)), 200, JSON
    except NotFound as exc:
        return _problem(404, str(exc))


def getTenant(tenant_id: int) -> Reply:
    return _read(get_tenant, _tenant, tenant_id)


def getPerson(person_id: int) -> Reply:
    return _read(get_person, _person, person_id)


def getCredential(credential_id: int) -> Reply:
    return _read(get_credential, _credential, credential_id)


def ingestEvents(body: dict[str, Any]) -> Reply:
    events = [{**ev, "occurred_at": _when(ev["occurred_at"])} for ev in body["events"]]

    def ingest() -> list[int]:
        with current().session(write=True) as s:
            return ingest_events(s, events)

    try:
        try:
            ids = ingest()
        except IntegrityError:  # a concurrent retry stored some of these uuids first; now they are found
            ids = ingest()
    except NotFound as exc:
        return _problem(404, str(exc))
    except ValueError as exc:
        return _problem(422, str(exc))
    return {"ids": ids}, 201, JSON


def listEvents(limit: int = 100, offset: int = 0, credential_id: int | None = None) -> Reply:
    where = Cmp("credential_id", "=", credential_id) if credential_id is not None else None
    with current().session() as s:
        rows = event_rows(s, EventQuery(where=where, offset=offset, limit=limit))
        return {"events": [_event(e) for e in rows]}, 200, JSON


def _clock() -> Reply:
    with current().session() as s:
        state = clock.describe(s)
    return {"now": _iso(state["now"]), "frozen": state["frozen"]}, 200, JSON


def getClock() -> Reply:
    return _clock()


def setClock(body: dict[str, Any]) -> Reply:
    at = _when(body["now"])
    assert at is not None
    with current().session(write=True) as s:
        clock.set_clock(s, at, frozen=body.get("frozen", True))
    return _clock()


def resetClock() -> Reply:
    with current().session(write=True) as s:
        clock.reset_clock(s)
    return _clock()


def issueToken(body: dict[str, Any]) -> Reply:
    try:
        with current().session(write=True) as s:
            token = issue(s, body["vendor"], body["kind"], credential_id=body.get("credential_id"),
                          secret=body.get("secret"), grants=body.get("grants"), label=body.get("label"),
                          expires_at=_when(body.get("expires_at")))
            return _token(token), 201, JSON
    except TokenRequestError as exc:
        return _problem(422, str(exc))
    except NotFound as exc:
        return _problem(404, str(exc))
    except IntegrityError:
        return _problem(409, "that secret is already issued")


def listTokens(vendor: str | None = None) -> Reply:
    with current().session() as s:
        return [_token(t) for t in tokens(s, vendor)], 200, JSON


# ---- mock-server behaviours: faults, rate limits, the request journal --------------------------------

def getFaults() -> Reply:
    rules_now, seed_now = mock_rules.faults()
    return {"rules": [asdict(r) for r in rules_now], "seed": seed_now}, 200, JSON


def setFaults(body: dict[str, Any]) -> Reply:
    try:
        parsed = mock_rules.parse_faults(body["rules"])
    except mock_rules.RuleError as exc:
        return _problem(422, str(exc))
    mock_rules.set_faults(parsed, body.get("seed"))
    reseed(body.get("seed"))
    return getFaults()


def clearFaults() -> Reply:
    mock_rules.set_faults([])
    return NoContent, 204


def getRateLimits() -> Reply:
    return {"rules": [asdict(r) for r in mock_rules.limits()]}, 200, JSON


def setRateLimits(body: dict[str, Any]) -> Reply:
    try:
        parsed = mock_rules.parse_limits(body["rules"])
    except mock_rules.RuleError as exc:
        return _problem(422, str(exc))
    mock_rules.set_limits(parsed)
    LIMITER.clear()
    return getRateLimits()


def clearRateLimits() -> Reply:
    mock_rules.set_limits([])
    LIMITER.clear()
    return NoContent, 204


def getJournal(vendor: str | None = None, limit: int | None = None) -> Reply:
    return {"size": JOURNAL.size, "entries": [e.as_json() for e in JOURNAL.entries(vendor, limit)]}, 200, JSON


def setJournal(body: dict[str, Any]) -> Reply:
    JOURNAL.resize(body["size"])
    return getJournal()


def clearJournal() -> Reply:
    JOURNAL.clear()
    return NoContent, 204


# ---- scenarios -----------------------------------------------------------------------------------------

def listScenarios() -> Reply:
    return scenario.builtin_names(), 200, JSON


def loadScenario(body: Any) -> Reply:
    try:
        doc: Any = scenario.parse(body) if isinstance(body, bytes | str) else body
        if isinstance(doc, dict) and "name" in doc:
            if set(doc) != {"name"}:
                return _problem(422, "`name` loads a shipped scenario and takes no other section")
            if doc["name"] not in scenario.builtin_names():
                return _problem(404, f"no shipped scenario {doc['name']!r}; there are {scenario.builtin_names()}")
            doc = scenario.read(doc["name"])
        return scenario.load(current(), doc).as_json(), 201, JSON
    except scenario.ScenarioError as exc:
        return _problem(422, str(exc))
    except NotFound as exc:
        return _problem(404, str(exc))
    except IntegrityError as exc:
        return _problem(422, f"conflicts with a stored record: {first_line(str(exc.orig), 'integrity error')}")
