"""Listing an organization's accounts (credentials) and people: filtered by IN lists, ordered by one
column, offset-paged and counted, as Ingedata's JSON:API index routes read them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from .models import Credential, Person
from .records import storable_text

Kind = Literal["accounts", "people"]
COLUMNS: dict[Kind, dict[str, Any]] = {
    "accounts": {"id": Credential.id, "email": Credential.login, "account_type": Credential.account_type,
                 "auth_type": Credential.auth_method, "enabled": Credential.enabled,
                 "person_id": Credential.person_id, "organization_id": Credential.tenant_id,
                 "created_at": Credential.created_at, "updated_at": Credential.updated_at,
                 "expires_at": Credential.expires_at},
    "people": {"id": Person.id, "first_name": Person.first_name, "middle_name": Person.middle_name,
               "last_name": Person.last_name, "created_at": Person.created_at, "updated_at": Person.updated_at},
}


def _storable(values: Sequence[Any]) -> tuple[Any, ...]:
    """Only values a driver can bind: no stored string holds NUL or a lone surrogate, so such a value
    equals nothing anyway."""
    return tuple(v for v in values if not isinstance(v, str) or storable_text(v))


def _scoped(kind: Kind, organization: int, own: int | None, where: Mapping[str, Sequence[Any]]) -> Select[Any]:
    """The records an organization's token may list (`own`: only its own account, or that account's
    person), narrowed by `where` (column -> allowed values; an empty list matches nothing)."""
    stmt: Select[Any]
    if kind == "accounts":
        stmt = select(Credential).where(Credential.tenant_id == organization)
        if own is not None:
            stmt = stmt.where(Credential.id == own)
    else:
        members = select(Credential.person_id).where(Credential.tenant_id == organization)
        if own is not None:
            members = members.where(Credential.id == own)
        stmt = select(Person).where(Person.id.in_(members))
    for name, values in where.items():
        stmt = stmt.where(COLUMNS[kind][name].in_(_storable(values)))
    return stmt


def page(session: Session, kind: Kind, *, organization: int, own: int | None, where: Mapping[str, Sequence[Any]],
         order: tuple[str, bool], offset: int, limit: int) -> list[Any]:
    """One page of accounts or people, ORM objects, ordered by one column (then id, for a stable page)."""
    column = COLUMNS[kind][order[0]]
    ident = COLUMNS[kind]["id"]
    stmt = _scoped(kind, organization, own, where).order_by(column.desc() if order[1] else column.asc(),
                                                            ident.desc() if order[1] else ident.asc())
    return list(session.scalars(stmt.offset(offset).limit(limit)).unique())


def count(session: Session, kind: Kind, *, organization: int, own: int | None, where: Mapping[str, Sequence[Any]],
          cap: int, offset: int) -> int:
    """How many records from `offset` on, stopping at `cap` (Ingedata's count window)."""
    ident = COLUMNS[kind]["id"]
    inner = _scoped(kind, organization, own, where).with_only_columns(ident).order_by(ident).offset(offset).limit(cap)
    return int(session.scalar(select(func.count()).select_from(inner.subquery())) or 0)
