"""Per-vendor behaviour switches (e.g. Canvas's `api_auth_error_updates`), shared by all workers."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from .models import Setting


def _key(vendor: str) -> str:
    return f"vendor:{vendor}"


def read(session: Session, vendor: str, defaults: dict[str, Any]) -> dict[str, Any]:
    row = session.get(Setting, _key(vendor))
    return {**defaults, **(row.value if row else {})}


def write(session: Session, vendor: str, values: dict[str, Any]) -> None:
    row = session.get(Setting, _key(vendor))
    if row is None:
        session.add(Setting(key=_key(vendor), value=dict(values)))
    else:
        row.value = {**row.value, **values}


EPOCH_KEY = "store:epoch"


def store_epoch(session: Session) -> str | None:
    """A value that changes at every reset, so caches keyed on the store's contents never outlive them."""
    row = session.get(Setting, EPOCH_KEY)
    return None if row is None else str(row.value.get("epoch"))


def new_epoch(session: Session) -> None:
    import uuid

    session.merge(Setting(key=EPOCH_KEY, value={"epoch": uuid.uuid4().hex}))
