"""Settings every worker shares: vendor switches, vendor-private state, the store generation."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, insert, update
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


_GENERATION_SQL = {marker: f"SELECT value FROM settings WHERE key = {marker}" for marker in ("?", "%s")}


def read_generation(dbapi_connection: Any, paramstyle: str) -> str | None:
    """The generation as the stored JSON text, read on a driver connection (`?` for sqlite3's qmark,
    `%s` for psycopg): every request asks it first, where SQLAlchemy's execution of even a prebuilt
    statement cost ~30 µs of a ~1 ms miss (the ORM's get ~600 µs)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(_GENERATION_SQL["?" if paramstyle == "qmark" else "%s"], (GENERATION_KEY,))
        row = cursor.fetchone()
    finally:
        cursor.close()
    return None if row is None else str(row[0])


def generation(session: Session) -> str | None:
    """A value every committed write changes (a reset too): what remembered answers are keyed on. Read
    inside the session's transaction, so it is the generation of the rows the session reads.

    Not the highest event id: on PostgreSQL a batch with lower ids can commit after a later one."""
    conn = session.connection()
    return read_generation(conn.connection, conn.dialect.paramstyle)


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
