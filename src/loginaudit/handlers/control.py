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
from ..registry import VENDORS, SettingsError, checked_settings
from ..storage import clock, current, editing, settings
from ..storage.criteria import Cmp
from ..storage.events import EventQuery, EventRow, event_rows
from ..storage.models import ApiToken, Credential, LoginEvent, Person, Tenant
from ..storage.records import (
    Conflict,
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
from ..tokens import forget as tokens_forget

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


def _event(e: EventRow | LoginEvent) -> dict[str, Any]:
    return _columns(e, ("id", "uuid", "occurred_at", "credential_id", "person_id", "tenant_id", "username",
                        "event_type", "successful", "failure_reason", "auth_method", "ip", "user_agent",
                        "country", "city", "device", "os", "request_id", "client_name"))


def _stored_event(e: LoginEvent) -> dict[str, Any]:
    return {**_event(e), "role": e.role}


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


def getVendorSettings(vendor: str) -> Reply:
    try:
        v, defaults = checked_settings(vendor, {})
    except SettingsError as exc:
        return _problem(exc.status, str(exc))
    with current().session() as s:
        return settings.read(s, v.name, defaults), 200, JSON


def setVendorSettings(vendor: str, body: dict[str, Any]) -> Reply:
    try:
        v, defaults = checked_settings(vendor, body)
    except SettingsError as exc:
        return _problem(exc.status, str(exc))
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
    except Conflict as exc:
        return _problem(409, str(exc))


def createTenant(body: dict[str, Any]) -> Reply:
    try:
        return _create(create_tenant, _tenant, body, "created_at")
    except IntegrityError:  # a unique value, or a chosen id another worker took first
        return _problem(409, f"client_id {body.get('client_id')!r} or id {body.get('id')!r} is taken")


def _raced(create: Any) -> Any:
    """A create whose chosen id another worker took between the check and the insert: 409 as well."""
    def guarded(body: dict[str, Any]) -> Reply:
        try:
            return create(body)  # type: ignore[no-any-return]
        except IntegrityError:
            return _problem(409, f"id {body.get('id')!r} is taken")
    return guarded


@_raced
def createPerson(body: dict[str, Any]) -> Reply:
    return _create(create_person, _person, body, "created_at")


@_raced
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
    except Conflict as exc:
        return _problem(409, str(exc))
    except ValueError as exc:
        return _problem(422, str(exc))
    return {"ids": ids}, 201, JSON


def listEvents(limit: int = 100, offset: int = 0, credential_id: int | None = None) -> Reply:
    where = Cmp("credential_id", "=", credential_id) if credential_id is not None else None
    with current().session() as s:
        rows = event_rows(s, EventQuery(where=where, offset=offset, limit=limit))
        total = editing.page(s, LoginEvent, offset=0, limit=0,
                             where={"credential_id": credential_id} if credential_id else None)[1]
        overrides = editing.roles_of(s, [e.id for e in rows])
        return {"events": [{**_event(e), "role": overrides.get(e.id)} for e in rows], "total": total}, 200, JSON


# ---- inspect, change and delete what was arranged ------------------------------------------------------

_RENDER: dict[type[Any], Any] = {Tenant: _tenant, Person: _person, Credential: _credential,
                                 LoginEvent: _stored_event, ApiToken: _token}
_DATES = ("created_at", "expires_at", "occurred_at")


def _listed(model: type[Any], plural: str, limit: int, offset: int, **where: Any) -> Reply:
    with current().session() as s:
        rows, total = editing.page(s, model, offset=offset, limit=limit,
                                   where={k: v for k, v in where.items() if v is not None})
        return {plural: [_RENDER[model](r) for r in rows], "total": total}, 200, JSON


def listTenants(limit: int = 100, offset: int = 0, parent_id: int | None = None) -> Reply:
    return _listed(Tenant, "tenants", limit, offset, parent_id=parent_id)


def listPeople(limit: int = 100, offset: int = 0) -> Reply:
    return _listed(Person, "people", limit, offset)


def listCredentials(limit: int = 100, offset: int = 0, person_id: int | None = None,
                    tenant_id: int | None = None) -> Reply:
    return _listed(Credential, "credentials", limit, offset, person_id=person_id, tenant_id=tenant_id)


def _changed(model: type[Any], ident: int, body: dict[str, Any]) -> Reply:
    changes = {k: (_when(v) if k in _DATES else v) for k, v in body.items()}
    if changes.get("occurred_at", 1) is None:
        return _problem(422, "occurred_at cannot be null")
    try:
        with current().session(write=True) as s:
            answer = _RENDER[model](editing.update_record(s, model, ident, changes)), 200, JSON
    except NotFound as exc:
        return _problem(404, str(exc))
    except Conflict as exc:
        return _problem(409, str(exc))
    except IntegrityError:
        return _problem(409, f"a value given is taken: {sorted(body)}")
    tokens_forget()  # a switched-off login or a revoked secret stops working in this process at once
    return answer


def _deleted(model: type[Any], ident: int, cascade: bool) -> Reply:
    try:
        with current().session(write=True) as s:
            removed = editing.delete_record(s, model, ident, cascade=cascade)
    except NotFound as exc:
        return _problem(404, str(exc))
    except Conflict as exc:
        return _problem(409, str(exc))
    tokens_forget()
    return {"deleted": removed}, 200, JSON


def updateTenant(tenant_id: int, body: dict[str, Any]) -> Reply:
    return _changed(Tenant, tenant_id, body)


def deleteTenant(tenant_id: int, cascade: bool = False) -> Reply:
    return _deleted(Tenant, tenant_id, cascade)


def updatePerson(person_id: int, body: dict[str, Any]) -> Reply:
    return _changed(Person, person_id, body)


def deletePerson(person_id: int, cascade: bool = False) -> Reply:
    return _deleted(Person, person_id, cascade)


def updateCredential(credential_id: int, body: dict[str, Any]) -> Reply:
    return _changed(Credential, credential_id, body)


def deleteCredential(credential_id: int, cascade: bool = False) -> Reply:
    return _deleted(Credential, credential_id, cascade)


def getEvent(event_id: int) -> Reply:
    return _read(lambda s, i: editing.get(s, LoginEvent, i), _stored_event, event_id)


def updateEvent(event_id: int, body: dict[str, Any]) -> Reply:
    return _changed(LoginEvent, event_id, body)


def deleteEvent(event_id: int, cascade: bool = False) -> Reply:
    return _deleted(LoginEvent, event_id, cascade)


def getToken(token_id: int) -> Reply:
    return _read(lambda s, i: editing.get(s, ApiToken, i), _token, token_id)


def updateToken(token_id: int, body: dict[str, Any]) -> Reply:
    return _changed(ApiToken, token_id, body)


def deleteToken(token_id: int, cascade: bool = False) -> Reply:
    return _deleted(ApiToken, token_id, cascade)


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


def listTokens(vendor: str | None = None, limit: int = 100, offset: int = 0) -> Reply:
    with current().session() as s:
        return [_token(t) for t in tokens(s, vendor)[offset:offset + limit]], 200, JSON


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
    except Conflict as exc:
        return _problem(409, str(exc))
    except IntegrityError as exc:
        return _problem(422, f"conflicts with a stored record: {first_line(str(exc.orig), 'integrity error')}")
