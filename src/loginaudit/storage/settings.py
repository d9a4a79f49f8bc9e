"""Settings every worker shares: vendor switches, vendor-private state, the store generation."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, insert, select, update
from sqlalchemy.orm import Session

from .models import Setting


def _key(vendor: str) -> str:
    return f"vendor:{vendor}"


def read(session: Session, vendor: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """The vendor's documented switches (the keys of `defaults`) with their current values; nothing else."""
    row = session.get(Setting, _key(vendor))
    return {**defaults, **{k: v for k, v in (row.value if row else {}).items() if k in defaults}}


def write(session: Session, vendor: str, values: dict[str, Any]) -> None:
    row = session.get(Setting, _key(vendor))
    if row is None:
        session.add(Setting(key=_key(vendor), value=dict(values)))
    else:
        row.value = {**row.value, **values}


GENERATION_KEY = "store:generation"


_GENERATION = select(Setting.__table__.c.value).where(Setting.__table__.c.key == GENERATION_KEY)


def generation(session: Session) -> str | None:
    """A value every committed write changes (a reset too): what remembered answers are keyed on.
    One prebuilt Core statement on the session's connection (inside its transaction, so it is the
    generation of the rows the session reads); the ORM's get cost ~600 µs per request here.

    Not the highest event id: on PostgreSQL a batch with lower ids can commit after a later one."""
    value = session.connection().execute(_GENERATION).scalar()
    return None if value is None else str(value.get("g"))


def bump_generation(conn: Connection | Session) -> None:
    """Inside the writing transaction, so the new generation is visible exactly with the write."""
    value = {"g": uuid.uuid4().hex}
    done = conn.execute(update(Setting).where(Setting.key == GENERATION_KEY).values(value=value))
    if not cast(CursorResult[Any], done).rowcount:  # the first write to this store
        conn.execute(insert(Setting).values(key=GENERATION_KEY, value=value))


def read_private(session: Session, name: str) -> dict[str, Any]:
    """State a vendor keeps for itself (e.g. a signing key): never listed or served by the control plane."""
    row = session.get(Setting, f"private:{name}")
    return dict(row.value) if row else {}


def write_private(session: Session, name: str, values: dict[str, Any]) -> None:
    session.merge(Setting(key=f"private:{name}", value=dict(values)))
