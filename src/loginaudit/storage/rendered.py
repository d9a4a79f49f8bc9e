"""A page's events as JSON text, each row's document written by the store itself (issue 20, item 4).

A connector's walk asks pages nobody asked before, so no cache helps it; what a miss cost was building
each row's document in Python (a datetime parsed and re-formatted, a dict, the encoder: ~1/3 of a miss)
and SQLAlchemy's execution of the page's statement (~1/3). A vendor declares its row document once (a
`Doc`: key -> how the value derives from an event column), and on SQLite the page's statement selects
`json_object(...)` of it, compiled once per query form and run on the session's driver cursor: SQLite
writes each row's JSON in C and Python only joins the texts. Nothing is stored beyond the events (a
write-time projection of every vendor's bytes would be ~7.4 KB an event, README). On another backend the
same `Doc` is rendered in Python from `event_rows` (the reference; PostgreSQL's JSON functions space their
output differently). SQLite writes non-ASCII raw where the vendors' encoder escapes it:
`fastjson.encoded` escapes the assembled body, as it does orjson's (parity: tests/test_rendered.py).
"""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import literal_column
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..timefmt import iso_ms_z, ms_since_epoch
from .events import FIELDS, EventQuery, event_rows, form_of, select_page

_SQLITE = sqlite.dialect()


@dataclass(frozen=True)
class Col:
    """The column's value as stored: text, integer, or null."""

    name: str


@dataclass(frozen=True)
class Flag:
    """A boolean column: true or false (null stays null)."""

    name: str


@dataclass(frozen=True)
class IsoMsZ:
    """A timestamp as JavaScript's Date.toISOString() writes it (`timefmt.iso_ms_z`)."""

    name: str


@dataclass(frozen=True)
class Mapped:
    """The column's value through `mapping`; a value not in it as it is."""

    name: str
    mapping: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class EpochMs:
    """A timestamp as integer milliseconds since 1970 (floored, as QRadar's Java longs are)."""

    name: str


@dataclass(frozen=True)
class Choice:
    """`then` where the column is true (or equals `equals`, when given), else `otherwise`."""

    name: str
    then: str
    otherwise: str
    equals: str | None = None


@dataclass(frozen=True)
class NullWhen:
    """Null where the `flag` column is true (e.g. no failure reason on a success), else `field`."""

    flag: str
    field: Col | Flag | IsoMsZ | EpochMs | Mapped | Choice


Field = Col | Flag | IsoMsZ | EpochMs | Mapped | Choice | NullWhen
Doc = tuple[tuple[str, Field], ...]  # a row's document: its keys in order, each value's derivation


def columns(doc: Doc) -> tuple[str, ...]:
    """The event columns `doc` reads, in first-use order."""
    seen: dict[str, None] = {}
    for _, field in doc:
        if isinstance(field, NullWhen):
            seen[field.flag] = None
            field = field.field
        seen[field.name] = None
    return tuple(seen)


def _python(field: Field) -> Callable[[Any], Any]:
    if isinstance(field, NullWhen):
        flag, inner = operator.attrgetter(field.flag), _python(field.field)
        return lambda row: None if flag(row) else inner(row)
    get = operator.attrgetter(field.name)
    if isinstance(field, IsoMsZ):
        return lambda row: None if get(row) is None else iso_ms_z(get(row))
    if isinstance(field, EpochMs):
        return lambda row: None if get(row) is None else ms_since_epoch(get(row))
    if isinstance(field, Mapped):
        mapping = dict(field.mapping)
        return lambda row: mapping.get(get(row), get(row))
    if isinstance(field, Choice):
        then, otherwise, equals = field.then, field.otherwise, field.equals
        if equals is None:
            return lambda row: then if get(row) else otherwise
        return lambda row: then if get(row) == equals else otherwise
    return get  # Col, Flag: SQLAlchemy's row already holds int/str/bool/None


@lru_cache(maxsize=64)
def renderer(doc: Doc) -> Callable[[Any], dict[str, Any]]:
    """The row document `doc` describes, built in Python from an `event_rows` row (CSV uses it too)."""
    parts = [(key, _python(field)) for key, field in doc]
    return lambda row: {key: value(row) for key, value in parts}


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql(field: Field) -> str:
    """SQLite's expression for `field` (SQL text: constants from code only, never from a request)."""
    if isinstance(field, NullWhen):
        return f"CASE WHEN {_sql(Col(field.flag))} THEN NULL ELSE {_sql(field.field)} END"
    col = str(FIELDS[field.name].compile(dialect=_SQLITE))
    if isinstance(field, Flag):
        return f"CASE WHEN {col} IS NULL THEN NULL WHEN {col} THEN json('true') ELSE json('false') END"
    if isinstance(field, IsoMsZ):
        # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTCDateTime via SQLAlchemy's DATETIME, always with
        # microseconds): the milliseconds truncated, as isoformat(timespec="milliseconds") does
        return f"substr({col}, 1, 10) || 'T' || substr({col}, 12, 12) || 'Z'"
    if isinstance(field, EpochMs):  # whole seconds by SQLite's calendar, milliseconds from the text
        return (f"CAST(strftime('%s', substr({col}, 1, 19)) AS INTEGER) * 1000 "
                f"+ CAST(substr({col}, 21, 3) AS INTEGER)")
    if isinstance(field, Choice):
        test = col if field.equals is None else f"{col} = {_quoted(field.equals)}"
        return f"CASE WHEN {test} THEN {_quoted(field.then)} ELSE {_quoted(field.otherwise)} END"
    if isinstance(field, Mapped):
        whens = " ".join(f"WHEN {_quoted(k)} THEN {_quoted(v)}" for k, v in field.mapping)
        return f"CASE {col} {whens} ELSE {col} END" if whens else col
    return col


def json_sql(doc: Doc) -> str:
    return "json_object(" + ", ".join(f"{_quoted(key)}, {_sql(field)}" for key, field in doc) + ")"


@dataclass(frozen=True, eq=False)  # one per form (lru_cache), hashed by identity for _expanded's cache
class _Prepared:
    """A compiled statement for sqlite3: its text, and per positional parameter its name, constant
    value (a literal SQLAlchemy bound) or bind processor, and whether it expands to a list."""

    sql: str
    names: tuple[str, ...]
    constants: dict[str, Any]
    processors: dict[str, Callable[[Any], Any]]
    expanding: frozenset[str]


@lru_cache(maxsize=512)
def _prepared(form: Any, doc: Doc, joined: bool, deferred: bool) -> _Prepared:
    stmt = select_page(form, [literal_column(json_sql(doc))], joined, deferred)
    compiled = stmt.compile(dialect=_SQLITE)
    binds = compiled.binds
    names = tuple(compiled.positiontup or ())
    processors: dict[str, Callable[[Any], Any]] = {}
    for name in names:
        process = binds[name].type.dialect_impl(_SQLITE).bind_processor(_SQLITE)
        if process is not None:
            processors[name] = process
    return _Prepared(compiled.string, names,
                     {n: binds[n].value for n in names if binds[n].value is not None and not binds[n].callable},
                     processors, frozenset(n for n in names if binds[n].expanding))


@lru_cache(maxsize=512)
def _expanded(prepared: _Prepared, lengths: tuple[tuple[str, int], ...]) -> str:
    sql = prepared.sql
    for name, n in lengths:
        sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * n))
    return sql


def _arguments(prepared: _Prepared, params: dict[str, Any]) -> tuple[str, list[Any]]:
    out: list[Any] = []
    lengths = []
    for name in prepared.names:
        value = params[name] if name in params else prepared.constants[name]
        process = prepared.processors.get(name)
        if name in prepared.expanding:
            lengths.append((name, len(value)))
            out.extend(value if process is None else map(process, value))
        else:
            out.append(value if process is None else process(value))
    return (_expanded(prepared, tuple(lengths)) if lengths else prepared.sql), out


def event_json(session: Session, q: EventQuery, doc: Doc) -> list[str]:
    """Each event `q` selects as the JSON text of `doc` (compact; non-ASCII possibly raw, see
    `fastjson.encoded`), in `q`'s order."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        render = renderer(doc)
        return [orjson.dumps(render(row)).decode() for row in event_rows(session, q, columns(doc))]
    form, params, joined, deferred = form_of(q, columns(doc))
    sql, arguments = _arguments(_prepared(form, doc, joined, deferred), params)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, arguments)
        rows: Sequence[tuple[str]] = cursor.fetchall()
    except sqlite3.Error as exc:  # as SQLAlchemy would raise it (errors.py maps what a client may see)
        raise DBAPIError.instance(sql, arguments, exc, sqlite3.Error) from exc
    finally:
        cursor.close()
    return [row[0] for row in rows]
