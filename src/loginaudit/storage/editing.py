"""Changing, removing and listing canonical records, and creating them under chosen ids.

The control plane's edit/delete/inspect side: everything a test can create it can change, remove
and read back (WireMock's and moto's bar). A delete that would orphan records is a Conflict unless
the caller asks for the cascade; a chosen id that is taken is a Conflict naming it; after a chosen
id, automatic ids continue above the highest used on both backends (SQLite does so by itself,
PostgreSQL's sequence is moved).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from . import clock
from .models import ApiToken, Base, Credential, LoginEvent, Person, Tenant
from .records import Conflict, NotFound, noun

# Who points at whom: deleting a record with any of these rows is a Conflict, or their cascade.
DEPENDENTS: dict[type[Base], tuple[tuple[type[Base], InstrumentedAttribute[Any]], ...]] = {
    Tenant: ((Tenant, Tenant.parent_id), (Credential, Credential.tenant_id), (LoginEvent, LoginEvent.tenant_id)),
    Person: ((Credential, Credential.person_id), (LoginEvent, LoginEvent.person_id)),
    Credential: ((LoginEvent, LoginEvent.credential_id), (ApiToken, ApiToken.credential_id)),
    LoginEvent: (),
    ApiToken: (),
}


def get(session: Session, model: type[Base], ident: int) -> Any:
    row = session.get(model, ident)
    if row is None:
        raise NotFound(f"{noun(model)} {ident} not found")
    return row


PLURALS = {Tenant: "tenants", Person: "people", Credential: "credentials", LoginEvent: "events",
           ApiToken: "tokens"}


def update_record(session: Session, model: type[Base], ident: int, changes: Mapping[str, Any]) -> Any:
    """Apply `changes` (fields the control spec lets change, already checked) to one record."""
    row = get(session, model, ident)
    if model is Tenant and changes.get("parent_id") is not None:
        _no_cycle(session, row, changes["parent_id"])
    for name, value in changes.items():
        setattr(row, name, value)
    if hasattr(row, "updated_at"):
        row.updated_at = clock.now(session)
    session.flush()
    return row


def _no_cycle(session: Session, tenant: Tenant, parent_id: int) -> None:
    seen = {tenant.id}
    current: Tenant | None = get(session, Tenant, parent_id)
    while current is not None:
        if current.id in seen:
            raise Conflict(f"tenant {parent_id} is below tenant {tenant.id}: a parent cannot be its own descendant")
        seen.add(current.id)
        current = session.get(Tenant, current.parent_id) if current.parent_id is not None else None


def dependents(session: Session, model: type[Base], ident: int) -> dict[str, int]:
    """How many rows of each kind point at one record."""
    out: dict[str, int] = {}
    for child, column in DEPENDENTS[model]:
        n = int(session.scalar(select(func.count()).select_from(child).where(column == ident)) or 0)
        if n:
            out[PLURALS[child]] = out.get(PLURALS[child], 0) + n
    return out


def delete_record(session: Session, model: type[Base], ident: int, *, cascade: bool = False) -> dict[str, int]:
    """Delete one record; with `cascade`, everything that points at it too. Returns what went, by kind."""
    get(session, model, ident)
    held = dependents(session, model, ident)
    if held and not cascade:
        listed = ", ".join(f"{n} {kind}" for kind, n in held.items())
        raise Conflict(f"{noun(model)} {ident} has {listed}; delete those first or ask for cascade=true")
    removed: dict[str, int] = {}
    _remove(session, model, [ident], removed)
    session.expunge_all()  # bulk deletes bypass the identity map
    return removed


def _remove(session: Session, model: type[Base], ids: list[int], removed: dict[str, int]) -> None:
    pk = model.__table__.c.id
    for child, column in DEPENDENTS[model]:
        if child is LoginEvent or child is ApiToken:  # leaves: one statement, however many rows
            gone = _rowcount(session.execute(delete(child).where(column.in_(ids))))
        else:
            child_ids = list(session.scalars(select(child.__table__.c.id).where(column.in_(ids))))
            if child is model:  # a sub-tenant: its own subtree first
                child_ids = [i for i in child_ids if i not in ids]
            if not child_ids:
                continue
            _remove(session, child, child_ids, removed)
            continue
        if gone:
            removed[PLURALS[child]] = removed.get(PLURALS[child], 0) + gone
    gone = _rowcount(session.execute(delete(model).where(pk.in_(ids))))
    removed[PLURALS[model]] = removed.get(PLURALS[model], 0) + gone


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


def page(session: Session, model: type[Base], *, offset: int, limit: int,
         where: Mapping[str, Any] | None = None) -> tuple[list[Any], int]:
    """One page of a record kind in id order, and how many there are in all."""
    stmt = select(model)
    for name, value in (where or {}).items():
        stmt = stmt.where(getattr(model, name) == value)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = list(session.scalars(stmt.order_by(model.__table__.c.id).offset(offset).limit(limit)).unique())
    return rows, total


def roles_of(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """The role overrides among some events (most have none)."""
    if not ids:
        return {}
    stmt = select(LoginEvent.id, LoginEvent.role).where(LoginEvent.id.in_(ids), LoginEvent.role.is_not(None))
    return {row[0]: str(row[1]) for row in session.execute(stmt)}
