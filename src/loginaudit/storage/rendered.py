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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import literal_column
from sqlalchemy.orm import Session

from ..timefmt import iso_ms_offset, iso_ms_z, ms_since_epoch, ruby_utc
from .driver import SQLITE, Prepared, fetch, prepare
from .events import FIELDS, JOINED_COLUMNS, EventQuery, event_rows, form_of, select_page


@dataclass(frozen=True)
class Col:
    """The column's value as stored: text, integer, or null."""

    name: str


@dataclass(frozen=True)
class AsText:
    """The column's value as a JSON string (JSON:API ids are strings); null stays null."""

    name: str


@dataclass(frozen=True)
class Const:
    """The same text on every row (a JSON:API type)."""

    value: str


@dataclass(frozen=True)
class Flag:
    """A boolean column: true or false (null stays null)."""

    name: str


# A timestamp's wire forms: (Python from an aware datetime, SQLite from the stored text). The store
# writes 'YYYY-MM-DD HH:MM:SS.ffffff' (UTCDateTime through SQLAlchemy's DATETIME: microseconds always,
# the year four digits), so each is a slice of it; milliseconds truncate, as Python's do.
TIME_FORMS: dict[str, tuple[Callable[[datetime], Any], str]] = {
    "iso_ms_z": (iso_ms_z, "substr({c}, 1, 10) || 'T' || substr({c}, 12, 12) || 'Z'"),
    "iso_ms_offset": (iso_ms_offset, "substr({c}, 1, 10) || 'T' || substr({c}, 12, 12) || '+00:00'"),
    "ruby_utc": (ruby_utc, "substr({c}, 1, 19) || ' +0000'"),
    # whole seconds by SQLite's calendar, the milliseconds from the text
    "epoch_ms": (ms_since_epoch, "CAST(strftime('%s', substr({c}, 1, 19)) AS INTEGER) * 1000 "
                                 "+ CAST(substr({c}, 21, 3) AS INTEGER)"),
}


@dataclass(frozen=True)
class Time:
    """A timestamp column in one of TIME_FORMS (null stays null)."""

    name: str
    form: str


@dataclass(frozen=True)
class Mapped:
    """The column's value through `mapping`; a value not in it as it is."""

    name: str
    mapping: tuple[tuple[str, str], ...]


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
    field: Col | AsText | Flag | Time | Mapped | Choice


@dataclass(frozen=True)
class Obj:
    """A nested document."""

    doc: Doc


Field = Col | AsText | Const | Flag | Time | Mapped | Choice | NullWhen | Obj
Doc = tuple[tuple[str, Field], ...]  # a row's document: its keys in order, each value's derivation


def columns(doc: Doc) -> tuple[str, ...]:
    """The event columns `doc` reads (an event field or a JOINED_COLUMNS name), in first-use order."""
    seen: dict[str, None] = {}
    for _, field in doc:
        if isinstance(field, Obj):
            seen.update(dict.fromkeys(columns(field.doc)))
            continue
        if isinstance(field, NullWhen):
            seen[field.flag] = None
            field = field.field
        if not isinstance(field, Const):
            seen[field.name] = None
    return tuple(seen)


def _python(field: Field) -> Callable[[Any], Any]:
    if isinstance(field, Obj):
        return renderer(field.doc)
    if isinstance(field, Const):
        value = field.value
        return lambda row: value
    if isinstance(field, NullWhen):
        flag, inner = operator.attrgetter(field.flag), _python(field.field)
        return lambda row: None if flag(row) else inner(row)
    get = operator.attrgetter(field.name)
    if isinstance(field, Time):
        form = TIME_FORMS[field.form][0]
        return lambda row: None if get(row) is None else form(get(row))
    if isinstance(field, AsText):
        return lambda row: None if get(row) is None else str(get(row))
    if isinstance(field, Mapped):
        mapping = dict(field.mapping)
        return lambda row: mapping.get(get(row), get(row))
    if isinstance(field, Choice):
        then, otherwise, equals = field.then, field.otherwise, field.equals
        if equals is None:
            return lambda row: then if get(row) else otherwise
        return lambda row: then if get(row) == equals else otherwise
    return get  # Col, Flag: SQLAlchemy's row already holds int/str/bool/None


@lru_cache(maxsize=256)
def renderer(doc: Doc) -> Callable[[Any], dict[str, Any]]:
    """The row document `doc` describes, built in Python from an `event_rows` row (CSV uses it too)."""
    parts = [(key, _python(field)) for key, field in doc]
    return lambda row: {key: value(row) for key, value in parts}


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _column(name: str) -> str:
    column = FIELDS[name] if name in FIELDS else JOINED_COLUMNS[name][1]
    return str(column.compile(dialect=SQLITE))


def _sql(field: Field) -> str:
    """SQLite's expression for `field` (SQL text: constants from code only, never from a request)."""
    if isinstance(field, Obj):
        return json_sql(field.doc)
    if isinstance(field, Const):
        return _quoted(field.value)
    if isinstance(field, NullWhen):
        return f"CASE WHEN {_column(field.flag)} THEN NULL ELSE {_sql(field.field)} END"
    col = _column(field.name)
    if isinstance(field, Flag):
        return f"CASE WHEN {col} IS NULL THEN NULL WHEN {col} THEN json('true') ELSE json('false') END"
    if isinstance(field, Time):
        return TIME_FORMS[field.form][1].format(c=col)
    if isinstance(field, AsText):
        return f"CAST({col} AS TEXT)"
    if isinstance(field, Choice):
        test = col if field.equals is None else f"{col} = {_quoted(field.equals)}"
        return f"CASE WHEN {test} THEN {_quoted(field.then)} ELSE {_quoted(field.otherwise)} END"
    if isinstance(field, Mapped):
        whens = " ".join(f"WHEN {_quoted(k)} THEN {_quoted(v)}" for k, v in field.mapping)
        return f"CASE {col} {whens} ELSE {col} END" if whens else col
    return col


def json_sql(doc: Doc) -> str:
    return "json_object(" + ", ".join(f"{_quoted(key)}, {_sql(field)}" for key, field in doc) + ")"


@lru_cache(maxsize=512)
def _prepared(form: Any, doc: Doc, joined: bool, deferred: bool) -> Prepared:
    return prepare(select_page(form, [literal_column(json_sql(doc))], joined, deferred))


def event_json(session: Session, q: EventQuery, doc: Doc) -> list[str]:
    """Each event `q` selects as the JSON text of `doc` (compact; non-ASCII possibly raw, see
    `fastjson.encoded`), in `q`'s order."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        render = renderer(doc)
        return [orjson.dumps(render(row)).decode() for row in event_rows(session, q, columns(doc))]
    form, params, joined, deferred = form_of(q, columns(doc))
    return [row[0] for row in fetch(session, _prepared(form, doc, joined, deferred), params)]
