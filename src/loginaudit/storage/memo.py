"""Values derived from the store, remembered per store generation in this process.

A vendor read asks the same few facts on every request (the caller's root account and time zone,
the signing key, the clock, whether a user exists): each was an ORM load of 100-600 µs. Every
committed write moves the generation (settings.generation), so a value remembered under the
generation the session reads is exactly what the session would load. Only plain data is kept
(never ORM objects, which belong to their session), and nothing is remembered from a session that
has written: its rows are not yet the generation's.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from . import settings
from .db import WROTE
from .settings import generation

T = TypeVar("T")
_KEPT = 4096
_REMEMBERED: dict[tuple[Hashable, str | None], Any] = {}
_GENERATION = "loginaudit.generation"  # Session.info: the generation this transaction reads


def session_generation(session: Session) -> str | None:
    """The generation, read once per session (a vendor read is one transaction, one snapshot)."""
    if _GENERATION not in session.info:
        session.info[_GENERATION] = generation(session)
    value: str | None = session.info[_GENERATION]
    return value


def _changed(session: Session) -> bool:
    return bool(session.info.get(WROTE) or session.new or session.dirty or session.deleted)


def remembered(session: Session, key: Hashable, compute: Callable[[], T],
               keep: Callable[[T], bool] | None = None) -> T:
    """`compute()` as of the session's generation, computed once per generation in this process;
    with `keep`, only values it accepts are remembered (e.g. not a stranger's bad token)."""
    if _changed(session):
        return compute()
    full = (key, session_generation(session))
    try:
        return _REMEMBERED[full]  # type: ignore[no-any-return]
    except KeyError:
        pass
    value = compute()
    if _changed(session) or (keep is not None and not keep(value)):  # a write (a first signing key):
        return value  # not the generation's yet
    if len(_REMEMBERED) >= _KEPT:
        _REMEMBERED.clear()  # a generation's worth of facts is small; older generations are dead
    _REMEMBERED[full] = value
    return value


MISSING: Any = object()


def recall(key: Hashable, at: str | None) -> Any:
    """What `remembered` keeps for `key` at generation `at` (as read by Store.generation, outside any
    transaction), or MISSING: for a check that needs no transaction of its own when it hits."""
    return _REMEMBERED.get((key, at), MISSING)


# Per-record values (a page's linked logins and users): a connector's walk meets the same few thousand
# people page after page, so each is loaded and rendered once per generation rather than once per page.
# Kept by (kind, generation), then by id: a page's fifty lookups hash their kind once, not fifty times.
_EACH_KEPT = 20_000
_EACH: dict[tuple[Hashable, str | None], dict[int, Any]] = {}
_EACH_SIZE = [0]


def remembered_each(session: Session, kind: Hashable, ids: Iterable[int | None],
                    load: Callable[[list[int]], Mapping[int, T]]) -> dict[int, T]:
    """`load(ids)` as of the session's generation, by id: only the ids not remembered are loaded, in one
    call (ids `load` does not answer for are asked again next time: they are rare, e.g. a deleted login)."""
    wanted = sorted({i for i in ids if i is not None})
    if _changed(session):
        return dict(load(wanted))
    at = session_generation(session)
    kept = _EACH.get((kind, at))
    found: dict[int, T] = {}
    missing = []
    for ident in wanted:
        value = MISSING if kept is None else kept.get(ident, MISSING)
        if value is MISSING:
            missing.append(ident)
        else:
            found[ident] = value
    if missing:
        loaded = load(missing)
        if not _changed(session):
            if _EACH_SIZE[0] + len(loaded) > _EACH_KEPT:
                _EACH.clear()  # older generations' records are dead; a walk's working set comes back
                _EACH_SIZE[0] = 0
                kept = None
            if kept is None:
                kept = _EACH[(kind, at)] = {}
            before = len(kept)
            kept.update(loaded)
            _EACH_SIZE[0] += len(kept) - before
        found.update(loaded)
    return found


def forget() -> None:
    """After a reset (the generation moved already; this frees the memory)."""
    _REMEMBERED.clear()
    _EACH.clear()
    _EACH_SIZE[0] = 0


def vendor_settings(session: Session, vendor: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """settings.read, remembered: a vendor whose behaviour depends on a switch asks on every request."""
    return remembered(session, ("settings", vendor), lambda: settings.read(session, vendor, defaults))
