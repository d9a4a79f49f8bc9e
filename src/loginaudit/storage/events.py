"""Reading login events: filtered, ordered, offset- or keyset-paginated, counted."""

from __future__ import annotations

import itertools
import operator
from collections import OrderedDict, namedtuple
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    Row,
    Select,
    and_,
    bindparam,
    case,
    false,
    func,
    literal_column,
    not_,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from ..bounded import unstorable_at
from .criteria import And, Between, Cmp, Expr, In, IsNull, Not, Or, Text, tightened
from .driver import Prepared, fetch, prepare
from .memo import session_generation
from .models import Credential, LoginEvent, Person

# Canonical field names a criteria tree or an order may use: table columns, not ORM attributes, so a
# read is a Core statement on the session's connection (no ORM compile or loading step).
_EVENTS, _CREDENTIALS, _PEOPLE = LoginEvent.__table__.c, Credential.__table__.c, Person.__table__.c
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


Shape = tuple[Any, ...]  # a criteria tree with its values taken out: all the SQL text depends on


def shaped(expr: Expr, values: list[Any]) -> Shape:
    """The shape of `expr`, its values appended to `values` in the order `_clause` binds them.

    Only what changes the SQL text is in a shape (fields, operators, NULL tests, empty sets), so
    the windows, ids and names of a connector's walk share one statement, built and compiled once
    (building and cache-keying a statement per request was ~1 ms of a QRadar walk's 5; issue 20)."""
    expr = _storable_only(expr)
    match expr:
        case Cmp(field=f, op=op, value=v):
            if v is None:
                return ("null", f, op)
            values.append(v)
            return ("cmp", f, op)
        case In(field=f, values=vs, negate=neg):
            if not vs:
                return ("empty", neg)
            values.append(list(vs))
            return ("in", f, neg)
        case Between(field=f, low=lo, high=hi, negate=neg):
            values.extend((lo, hi))
            return ("between", f, neg)
        case IsNull(field=f, negate=neg):
            return ("isnull", f, neg)
        case Text(field=f, mode=mode, value=v, casefold=fold):
            v = v.lower() if fold else v
            if mode == "equals" or (not fold and mode == "contains"):
                values.append(v)
            elif not fold:  # prefix
                values.extend((len(v), v))
            else:
                escaped = v.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                values.append(escaped + "%" if mode == "prefix" else "%" + escaped + "%")
            return ("text", f, mode, fold)
        case Not(expr=e):
            return ("not", shaped(e, values))
        case And(exprs=es):
            return ("and", *[shaped(e, values) for e in es])
        case Or(exprs=es):
            return ("or", *[shaped(e, values) for e in es])
    raise TypeError(expr)


def _bind(names: Iterator[int], type_: Any, *, expanding: bool = False) -> Any:
    return bindparam(f"p{next(names)}", type_=type_, expanding=expanding)


def _clause(shape: Shape, names: Iterator[int]) -> ColumnElement[bool]:
    """A shape → SQLAlchemy boolean clause, its values bound as p0, p1, ... in `shaped`'s order.

    Two-valued logic: a comparison with a NULL column is false (or true for `!=` and negated
    forms), never unknown, so `Not(e)` always matches exactly the rows `e` does not.
    """
    kind = shape[0]
    if kind in ("not", "and", "or"):
        parts = [_clause(part, names) for part in shape[1:]]
        return not_(parts[0]) if kind == "not" else and_(true(), *parts) if kind == "and" else or_(false(), *parts)
    if kind == "empty":
        return true() if shape[1] else false()
    col = _column(shape[1])
    match shape:
        case ("null", _, op):
            return col.is_(None) if op == "=" else col.is_not(None) if op == "!=" else false()
        case ("cmp", _, op):
            value = _bind(names, col.type)
            return _unknown_or(col, col != value) if op == "!=" else _known(col, _OPS[op](col, value))
        case ("in", _, neg):
            values = _bind(names, col.type, expanding=True)
            return _unknown_or(col, col.not_in(values)) if neg else _known(col, col.in_(values))
        case ("between", _, neg):
            clause = col.between(_bind(names, col.type), _bind(names, col.type))
            return _unknown_or(col, not_(clause)) if neg else _known(col, clause)
        case ("isnull", _, neg):
            return col.is_not(None) if neg else col.is_(None)  # type: ignore[no-any-return]
        case ("text", _, mode, fold):
            subject = func.lower(col) if fold else col
            if mode == "equals":
                return _known(col, subject == _bind(names, col.type))
            if not fold:  # SQLite's LIKE ignores ASCII case: exact tests by position instead
                if mode == "prefix":
                    length = _bind(names, Integer())
                    return _known(col, func.substr(col, 1, length) == _bind(names, col.type))
                return _known(col, _Position(col, _bind(names, col.type)) > 0)
            return _known(col, subject.like(_bind(names, col.type), escape="\\"))
    raise TypeError(shape)


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
# A page's row: the event columns asked for, by name and by position. A plain named tuple per column
# set, not SQLAlchemy's Row: a vendor reads ten to twenty fields of every row, and a Row's attribute is
# 0.3 µs where a named tuple's is 0.04 (Unleash's 50-row page: 4.4 -> 1.7 µs a row, for 0.25 µs a row to
# convert).
EventRow = Any
# What a row may carry beyond the event's own columns: the credential's, under a plain name.
# "login_name": the name of the person holding the event's credential ("first last"), null without one;
# "login_person_uuid": that person's uuid. Read in the page's statement, these cost two primary-key
# lookups a row; a query not reading them joins nothing more (both backends drop an unused outer join
# on a unique key).
JOINED_COLUMNS: dict[str, tuple[str, ColumnElement[Any]]] = {
    "role": ("role", _ROLE),
    "login_name": ("login_name", case((_PEOPLE["id"].is_(None), null()),
                                      else_=_PEOPLE["first_name"] + literal_column("' '") + _PEOPLE["last_name"])),
    "login_person_uuid": ("login_person_uuid", _PEOPLE["uuid"]),
}

# The JOINED_COLUMNS that are facts of the event's person (its `person_id`), in the order
# records.people_named gives them: a page written by a template reads `person_id` in their place and
# looks the person up once per generation, not once per row through the join.
PERSON_FACTS = ("login_name", "login_person_uuid")


def person_at(columns: Sequence[str]) -> int | None:
    """Where a templated row of `columns` holds the person's id (each PERSON_FACTS column holds it there),
    or None where the row shows no fact of the person."""
    return next((i for i, c in enumerate(columns) if c in PERSON_FACTS), None)


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


@dataclass(frozen=True)
class _Form:
    """What a query's SQL text depends on (its values are bound apart): one statement per form."""

    where: Shape | None
    order: Order
    after: int  # how many keyset values (0: none)
    offset: bool
    limit: bool


def _where(where: Expr | None) -> tuple[Shape | None, dict[str, Any]]:
    """The filter's shape and its values as the parameters p0, p1, ... its clause binds."""
    if where is None:
        return None, {}
    values: list[Any] = []
    shape = shaped(tightened(where), values)
    return shape, {f"p{i}": v for i, v in enumerate(values)}


def _form(q: EventQuery) -> tuple[_Form, dict[str, Any]]:
    where, params = _where(q.where)
    after = tuple(q.after or ())
    params.update({f"k{i}": v for i, v in enumerate(after)})
    if q.offset:
        params["offset"] = q.offset
    if q.limit is not None:
        params["limit"] = q.limit
    return _Form(where, q.order, len(after), bool(q.offset), q.limit is not None), params


def _filtered(stmt: Select[Any], form: _Form) -> Select[Any]:
    if form.where is not None:
        stmt = stmt.where(_clause(form.where, itertools.count()))
    if form.after:
        keys = [bindparam(f"k{i}", type_=_column(name).type) for i, (name, _) in enumerate(form.order[:form.after])]
        stmt = stmt.where(_keyset(form.order, keys))
    stmt = stmt.order_by(*(_order_by(f, d) for f, d in form.order))
    if form.offset:
        stmt = stmt.offset(bindparam("offset", type_=Integer()))
    if form.limit:
        stmt = stmt.limit(bindparam("limit", type_=Integer()))
    return stmt


# The login's person is joined by the event's own person_id, which is its credential's (denormalised at
# ingest; neither an event's credential nor a credential's person can be changed, and deleting either
# deletes its events: tests/test_store.py holds every store to it). Each join then hangs off the events
# alone, and SQLite and PostgreSQL leave out a LEFT JOIN nothing reads: a page showing names (Okta's,
# Entra's) looks up people only, one seek a row instead of two (51 rows: ~150 -> ~128 µs in SQLite), and
# one showing the account's role (Ingedata's) looks up credentials only.
_joined = LoginEvent.__table__.outerjoin(
    Credential.__table__, _EVENTS["credential_id"] == _CREDENTIALS["id"]).outerjoin(
    Person.__table__, _EVENTS["person_id"] == _PEOPLE["id"])
DEFERRED_OFFSET = 1000  # from here an offset page finds its ids first, then loads just those rows
STATEMENTS_KEPT = 512  # statements per form kept (a form is a filter's structure, not its values)


@lru_cache(maxsize=STATEMENTS_KEPT)
def _rows_statement(form: _Form, columns: tuple[str, ...], joined: bool, deferred: bool) -> Select[Any]:
    picked = [FIELDS[c].label(c) if c in FIELDS else JOINED_COLUMNS[c][1].label(JOINED_COLUMNS[c][0])
              for c in columns]
    return select_page(form, picked, joined, deferred)


def select_page(form: _Form, picked: Sequence[ColumnElement[Any]], joined: bool, deferred: bool) -> Select[Any]:
    """The statement selecting `picked` of the events of a query of `form` (`form_of`)."""
    stmt = select(*picked).select_from(_joined if joined else LoginEvent.__table__)
    if deferred:
        # A deep offset skips its rows in an id-only query, then reads just the page's rows
        # (skipping full rows is 2.2 s at 500k; see README).
        ids = _filtered(select(_EVENTS["id"]), form).scalar_subquery()
        return _filtered(stmt, _Form(None, form.order, 0, False, False)).where(_EVENTS["id"].in_(ids))
    return _filtered(stmt, form)


def event_rows(session: Session, q: EventQuery, columns: Sequence[str] = EVENT_COLUMNS) -> Sequence[EventRow]:
    """The events `q` selects, as rows of just `columns` (event fields, or a JOINED_COLUMNS name as
    its short label): a vendor shows a few columns of a page, and a row costs a fraction of an
    ORM object with its identity map and relationships (issue 20: ORM loading was 20-28% of a request).
    The statement is built once per form of query (`_Form`) and its values bound per request."""
    form, params, joined, deferred = form_of(q, columns)
    stmt = _rows_statement(form, tuple(columns), joined, deferred)
    return as_tuples(session.connection().execute(stmt, params).all(), _labels(tuple(columns)))


def form_of(q: EventQuery, columns: Sequence[str]) -> tuple[_Form, dict[str, Any], bool, bool]:
    """What the statement for `q` reading `columns` depends on (its form, whether it joins the
    credentials, whether a deep offset is deferred) and the values it binds."""
    filter_joined = _uses_join(q.where) or any(f in JOINED_FIELDS for f, _ in q.order)
    joined = filter_joined or any(c in JOINED_COLUMNS for c in columns)
    form, params = _form(q)
    return form, params, joined, q.offset >= DEFERRED_OFFSET and not filter_joined


@lru_cache(maxsize=STATEMENTS_KEPT)
def _labels(columns: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(JOINED_COLUMNS[c][0] if c in JOINED_COLUMNS else c for c in columns)


@lru_cache(maxsize=STATEMENTS_KEPT)
def row_type(labels: tuple[str, ...]) -> Any:
    return namedtuple("Row", labels)  # built per column set, once


def as_tuples(rows: Sequence[Row[Any]], labels: tuple[str, ...]) -> list[Any]:
    """`rows` as named tuples of `labels` (their columns, in order): see EventRow."""
    make = row_type(labels)._make
    return [make(row) for row in rows]


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


@lru_cache(maxsize=STATEMENTS_KEPT)
def _count_statement(where: Shape | None, joined: bool, offset: bool, cap: bool) -> Select[Any]:
    inner = select(_EVENTS["id"]).select_from(_joined if joined else LoginEvent.__table__)
    if where is not None:
        inner = inner.where(_clause(where, itertools.count()))
    if offset:
        inner = inner.order_by(_EVENTS["id"]).offset(bindparam("offset", type_=Integer()))
    if cap:
        inner = inner.limit(bindparam("cap", type_=Integer()))
    return select(func.count()).select_from(inner.subquery())


def _count(session: Session, where: Expr | None, cap: int | None, offset: int) -> int:
    shape, params = _where(where)
    if offset:
        params["offset"] = offset
    if cap is not None:
        params["cap"] = cap
    form = (shape, _uses_join(where), bool(offset), cap is not None)
    if session.connection().dialect.name == "sqlite":
        return int(fetch(session, _count_prepared(*form), params)[0][0] or 0)
    return int(session.connection().execute(_count_statement(*form), params).scalar() or 0)


@lru_cache(maxsize=STATEMENTS_KEPT)
def _count_prepared(where: Shape | None, joined: bool, offset: bool, cap: bool) -> Prepared:
    return prepare(_count_statement(where, joined, offset, cap))
