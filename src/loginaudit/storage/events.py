"""Reading login events: filtered, ordered, offset- or keyset-paginated, counted."""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, ColumnElement, Integer, Row, Select, and_, case, false, func, not_, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from ..bounded import unstorable_at
from .criteria import And, Between, Cmp, Expr, In, IsNull, Not, Or, Text, tightened
from .memo import session_generation
from .models import Credential, LoginEvent

# Canonical field names a criteria tree or an order may use: table columns, not ORM attributes, so a
# read is a Core statement on the session's connection (no ORM compile or loading step).
_EVENTS, _CREDENTIALS = LoginEvent.__table__.c, Credential.__table__.c
FIELDS: dict[str, ColumnElement[Any]] = {
    name: _EVENTS[name]
    for name in (
        "id", "uuid", "occurred_at", "credential_id", "person_id", "tenant_id", "username",
        "event_type", "successful", "failure_reason", "auth_method", "ip", "user_agent",
        "country", "city", "device", "os", "request_id", "client_name",
    )
}
# "role": the role at the time of the event (its own override), else the credential's current one.
_ROLE = func.coalesce(_EVENTS["role"], _CREDENTIALS["role"])
JOINED_FIELDS: dict[str, ColumnElement[Any]] = {"role": _ROLE}
# Derived, non-null values for orders no stored column gives (HTTP Basic attempts before the rest).
DERIVED: dict[str, Any] = {"not_http_basic": case((_EVENTS["auth_method"] == "http_basic", 0), else_=1)}


class UnknownField(ValueError):
    pass


def _column(name: str) -> Any:  # a column, or a derived expression
    for known in (FIELDS, JOINED_FIELDS, DERIVED):
        if name in known:
            return known[name]
    raise UnknownField(name)


def _uses_join(expr: Expr | None) -> bool:
    match expr:
        case None:
            return False
        case Cmp(field=f) | In(field=f) | Between(field=f) | IsNull(field=f) | Text(field=f):
            return f in JOINED_FIELDS
        case Not(expr=e):
            return _uses_join(e)
        case And(exprs=es) | Or(exprs=es):
            return any(_uses_join(e) for e in es)
    raise TypeError(expr)


_OPS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt, "<=": operator.le,
        ">=": operator.ge}


def _nullable(col: Any) -> bool:
    return isinstance(col, Column) and bool(col.nullable)


def _known(col: Any, clause: ColumnElement[bool]) -> ColumnElement[bool]:
    """`clause` that is FALSE rather than NULL on a NULL column, so NOT and OR stay two-valued."""
    return and_(col.is_not(None), clause) if _nullable(col) else clause


def _unknown_or(col: Any, clause: ColumnElement[bool]) -> ColumnElement[bool]:
    """A negative predicate: a NULL column satisfies it (NULL is "not equal" to any value)."""
    return or_(col.is_(None), clause) if _nullable(col) else clause


def _unstorable(value: Any) -> bool:
    return isinstance(value, str) and unstorable_at(value) >= 0


def _storable_only(expr: Expr) -> Expr:
    """The same predicate with only storable strings in it (drivers cannot bind NUL or lone
    surrogates). No stored string holds one, so `= v` matches nothing, and v orders just after
    its text up to that character (p): `x < v` is `x <= p`, `x > v` is `x > p`."""
    match expr:
        case Cmp(field=f, op=op, value=v) if _unstorable(v):
            if op in ("=", "!="):
                return In(f, (), negate=op == "!=")
            return Cmp(f, "<=" if op in ("<", "<=") else ">", v[: unstorable_at(v)])
        case In(field=f, values=vs, negate=neg) if any(_unstorable(v) for v in vs):
            return In(f, tuple(v for v in vs if not _unstorable(v)), negate=neg)
        case Text(field=f, value=v) if _unstorable(v):
            return In(f, ())
        case Between(field=f, low=lo, high=hi, negate=neg) if _unstorable(lo) or _unstorable(hi):
            inside = And((_storable_only(Cmp(f, ">=", lo)), _storable_only(Cmp(f, "<=", hi))))
            return Not(inside) if neg else inside
    return expr


class _Position(FunctionElement[int]):
    """Where a substring starts in a string, 0 when absent: SQLite's instr(), PostgreSQL's strpos()."""

    type = Integer()
    inherit_cache = True


@compiles(_Position)
def _instr(element: Any, compiler: Any, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(_Position, "postgresql")
def _strpos(element: Any, compiler: Any, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


def compile_expr(expr: Expr) -> ColumnElement[bool]:
    """Criteria tree → SQLAlchemy boolean clause (values are always bound parameters).

    Two-valued logic: a comparison with a NULL column is false (or true for `!=` and negated
    forms), never unknown, so `Not(e)` always matches exactly the rows `e` does not.
    """
    expr = _storable_only(expr)
    match expr:
        case Cmp(field=f, op=op, value=v):
            col = _column(f)
            if v is None:
                return col.is_(None) if op == "=" else col.is_not(None) if op == "!=" else false()
            if op == "!=":
                return _unknown_or(col, col != v)
            return _known(col, _OPS[op](col, v))
        case In(field=f, values=vs, negate=neg):
            col = _column(f)
            if not vs:
                return true() if neg else false()
            return _unknown_or(col, col.not_in(vs)) if neg else _known(col, col.in_(vs))
        case Between(field=f, low=lo, high=hi, negate=neg):
            col = _column(f)
            clause = col.between(lo, hi)
            return _unknown_or(col, not_(clause)) if neg else _known(col, clause)
        case IsNull(field=f, negate=neg):
            col = _column(f)
            return col.is_not(None) if neg else col.is_(None)  # type: ignore[no-any-return]
        case Text(field=f, mode=mode, value=v, casefold=fold):
            col = _column(f)
            subject, v = (func.lower(col), v.lower()) if fold else (col, v)
            if mode == "equals":
                return _known(col, subject == v)
            if not fold:  # SQLite's LIKE ignores ASCII case: exact tests by position instead
                if mode == "prefix":
                    return _known(col, func.substr(col, 1, len(v)) == v)
                return _known(col, _Position(col, v) > 0)
            escaped = v.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = escaped + "%" if mode == "prefix" else "%" + escaped + "%"
            return _known(col, subject.like(pattern, escape="\\"))
        case Not(expr=e):
            return not_(compile_expr(e))
        case And(exprs=es):
            return and_(true(), *(compile_expr(e) for e in es))
        case Or(exprs=es):
            return or_(false(), *(compile_expr(e) for e in es))
    raise TypeError(expr)


Order = tuple[tuple[str, bool], ...]  # (field, descending)
NEWEST_FIRST: Order = (("occurred_at", True), ("id", True))


@dataclass(frozen=True)
class EventQuery:
    where: Expr | None = None
    order: Order = NEWEST_FIRST
    offset: int = 0
    limit: int | None = None
    after: tuple[Any, ...] | None = None  # keyset: the order-key values of the last row already seen


EVENT_COLUMNS = tuple(FIELDS)
EventRow = Row[Any]  # a page's row: the event columns asked for, by name
# What a row may carry beyond the event's own columns: the credential's, under a plain name.
JOINED_COLUMNS: dict[str, tuple[str, ColumnElement[Any]]] = {"role": ("role", _ROLE)}


def _keyset(order: Order, after: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after `after` in `order`, written as a <= b AND (a < b OR rest) so the
    leading key bounds an index range scan on both SQLite and PostgreSQL."""
    (name, desc), *rest = order
    col, value = _column(name), after[0]
    strict: ColumnElement[bool] = col < value if desc else col > value
    if not rest:
        return strict
    loose = col <= value if desc else col >= value
    return and_(loose, or_(strict, _keyset(tuple(rest), after[1:])))


def _order_by(name: str, desc: bool) -> Any:
    """PostgreSQL's NULL placement (last ascending, first descending) on every backend; only
    nullable columns get the explicit clause, so the time/id orders still walk their index."""
    col = _column(name)
    term = col.desc() if desc else col.asc()
    if _nullable(col):
        term = term.nulls_first() if desc else term.nulls_last()
    return term


def _filtered(stmt: Select[Any], q: EventQuery) -> Select[Any]:
    if q.where is not None:
        stmt = stmt.where(compile_expr(tightened(q.where)))
    if q.after is not None:
        stmt = stmt.where(_keyset(q.order, q.after))
    stmt = stmt.order_by(*(_order_by(f, d) for f, d in q.order))
    if q.offset:
        stmt = stmt.offset(q.offset)
    if q.limit is not None:
        stmt = stmt.limit(q.limit)
    return stmt


_joined = LoginEvent.__table__.outerjoin(Credential.__table__, _EVENTS["credential_id"] == _CREDENTIALS["id"])
DEFERRED_OFFSET = 1000  # from here an offset page finds its ids first, then loads just those rows


def event_rows(session: Session, q: EventQuery, columns: Sequence[str] = EVENT_COLUMNS) -> Sequence[EventRow]:
    """The events `q` selects, as rows of just `columns` (event fields, or a JOINED_COLUMNS name as
    its short label): a vendor shows a few columns of a page, and a row costs a fraction of an
    ORM object with its identity map and relationships (issue 20: ORM loading was 20-28% of a request)."""
    picked = [FIELDS[c].label(c) if c in FIELDS else JOINED_COLUMNS[c][1].label(JOINED_COLUMNS[c][0])
              for c in columns]
    filter_joined = _uses_join(q.where) or any(f in JOINED_FIELDS for f, _ in q.order)
    joined = filter_joined or any(c in JOINED_COLUMNS for c in columns)
    stmt = select(*picked).select_from(_joined if joined else LoginEvent.__table__)
    if q.offset >= DEFERRED_OFFSET and not filter_joined:
        # A deep offset skips its rows in an id-only query, then reads just the page's rows
        # (skipping full rows is 2.2 s at 500k; see README).
        ids = _filtered(select(_EVENTS["id"]), q).scalar_subquery()
        stmt = _filtered(stmt, EventQuery(order=q.order)).where(_EVENTS["id"].in_(ids))
    else:
        stmt = _filtered(stmt, q)
    return session.connection().execute(stmt).all()


_COUNTS: OrderedDict[tuple[Any, ...], int] = OrderedDict()
_COUNTS_KEPT = 256


def count_events(session: Session, where: Expr | None, cap: int | None = None, offset: int = 0) -> int:
    """How many events match (past the first `offset`); with `cap`, stop counting there.

    Counting a filter over a million rows is a scan (~140 ms on SQLite), and paging clients ask the
    same count page after page (QRadar's Content-Range total). A count is remembered per (criteria,
    store generation) in this process; every committed write moves the generation. The generation
    is read before counting, so a write committing in between can only make a remembered count
    larger than its generation's, never smaller (a pager never stops short).
    """
    try:
        key = (where, cap, offset, session_generation(session))
        hash(key)
    except TypeError:  # a criteria value that is not hashable: count without remembering
        return _count(session, where, cap, offset)
    if key in _COUNTS:
        _COUNTS.move_to_end(key)
        return _COUNTS[key]
    total = _COUNTS[key] = _count(session, where, cap, offset)
    while len(_COUNTS) > _COUNTS_KEPT:
        _COUNTS.popitem(last=False)
    return total


def _count(session: Session, where: Expr | None, cap: int | None, offset: int) -> int:
    inner = select(_EVENTS["id"]).select_from(_joined if _uses_join(where) else LoginEvent.__table__)
    if where is not None:
        inner = inner.where(compile_expr(tightened(where)))
    if offset:
        inner = inner.order_by(_EVENTS["id"]).offset(offset)
    if cap is not None:
        inner = inner.limit(cap)
    return int(session.connection().execute(select(func.count()).select_from(inner.subquery())).scalar() or 0)
