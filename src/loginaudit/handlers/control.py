"""The control plane: arrange the shared store that every vendor API projects."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connexion.lifecycle import ConnexionResponse
from connexion.problem import problem
from sqlalchemy.exc import IntegrityError

from .. import seed as seeding
from ..errors import first_line
from ..registry import VENDORS, by_name
from ..storage import clock, current, settings
from ..storage.criteria import Cmp
from ..storage.events import EventQuery, list_events
from ..storage.models import ApiToken, Credential, LoginEvent, Person, Tenant
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
    issue_token,
    tokens,
)
from ..tokens import TokenKind

Reply = tuple[Any, int] | tuple[Any, int, dict[str, str]]
PROBLEM = {"Content-Type": "application/problem+json"}
JSON = {"Content-Type": "application/json"}  # every operation also declares problem+json, so say which


def render_error(status: int, detail: str, headers: Mapping[str, str], path: str) -> ConnexionResponse:
    detail = first_line(detail, "error")
    return problem(status=status, title=_TITLES.get(status, "Error"), detail=detail, headers=dict(headers))


_TITLES = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
           409: "Conflict", 422: "Unprocessable Entity", 500: "Internal Server Error"}


def _problem(status: int, detail: str) -> Reply:
    return {"type": "about:blank", "title": _TITLES[status], "status": status, "detail": detail}, status, PROBLEM


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


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
    return _columns(p, ("id", "uuid", "first_name", "middle_name", "last_name", "email", "sis_id", "active",
                        "created_at"))


def _credential(c: Credential) -> dict[str, Any]:
    return _columns(c, ("id", "person_id", "tenant_id", "login", "auth_method", "role", "account_type", "sis_id",
                        "integration_id", "active", "enabled", "created_at", "expires_at"))


def _event(e: LoginEvent) -> dict[str, Any]:
    return _columns(e, ("id", "uuid", "occurred_at", "credential_id", "person_id", "tenant_id", "username",
                        "event_type", "successful", "failure_reason", "auth_method", "ip", "user_agent",
                        "country", "city", "device", "os", "request_id"))


def _token(t: ApiToken) -> dict[str, Any]:
    return _columns(t, ("id", "vendor", "kind", "secret", "grants", "credential_id", "label", "expires_at", "revoked"))


def health() -> Reply:
    store = current()
    with store.session() as s:
        return {"status": "ok", "database": store.engine.dialect.name, "counts": counts(s)}, 200, JSON


def reset() -> Reply:
    current().reset()
    return "", 204


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
             "token_kinds": {k: _kind_json(t) for k, t in v.module.TOKEN_KINDS.items()}} for v in VENDORS], 200, JSON


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
    with current().session() as s:
        settings.write(s, v.name, body)
        return settings.read(s, v.name, defaults), 200, JSON


def _create(make: Any, render: Any, body: dict[str, Any], *dates: str) -> Reply:
    fields = {**body, **{d: _when(body.get(d)) for d in dates if d in body}}
    try:
        with current().session() as s:
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
    try:
        with current().session() as s:
            return {"ids": ingest_events(s, events)}, 201, JSON
    except NotFound as exc:
        return _problem(404, str(exc))
    except ValueError as exc:
        return _problem(422, str(exc))


def listEvents(limit: int = 100, offset: int = 0, credential_id: int | None = None) -> Reply:
    where = Cmp("credential_id", "=", credential_id) if credential_id is not None else None
    with current().session() as s:
        rows = list_events(s, EventQuery(where=where, offset=offset, limit=limit))
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
    with current().session() as s:
        clock.set_clock(s, at, frozen=body.get("frozen", True))
    return _clock()


def resetClock() -> Reply:
    with current().session() as s:
        clock.reset_clock(s)
    return _clock()


def issueToken(body: dict[str, Any]) -> Reply:
    try:
        vendor = by_name(body["vendor"])
    except KeyError:
        return _problem(422, f"unknown vendor {body['vendor']!r}")
    kind: TokenKind | None = vendor.module.TOKEN_KINDS.get(body["kind"])
    if kind is None:
        return _problem(422, f"unknown token kind {body['kind']!r} for {vendor.name}; "
                             f"one of {sorted(vendor.module.TOKEN_KINDS)}")
    if kind.needs_credential and body.get("credential_id") is None:
        return _problem(422, f"a {vendor.name} {body['kind']} token needs a credential_id")
    try:
        with current().session() as s:
            token = issue_token(
                s, vendor=vendor.name, kind=body["kind"], secret=body.get("secret") or kind.mint(None),
                grants=list(body["grants"]) if "grants" in body else list(kind.grants),
                credential_id=body.get("credential_id"), label=body.get("label"),
                expires_at=_when(body.get("expires_at")),
            )
            return _token(token), 201, JSON
    except NotFound as exc:
        return _problem(404, str(exc))
    except IntegrityError:
        return _problem(409, "that secret is already issued")


def listTokens(vendor: str | None = None) -> Reply:
    with current().session() as s:
        return [_token(t) for t in tokens(s, vendor)], 200, JSON
