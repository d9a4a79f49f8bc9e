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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import literal_column
from sqlalchemy.orm import Session

from ..timefmt import go_rfc3339nano, iso_ms_offset, iso_ms_z, ms_since_epoch, ruby_utc
from .driver import SQLITE, Prepared, fetch, prepare
from .events import FIELDS, JOINED_COLUMNS, EventQuery, event_rows, form_of, row_type, select_page


@dataclass(frozen=True)
class Col:
    """The column's value as stored: text, integer, or null."""

    name: str


@dataclass(frozen=True)
class AsText:
    """The column's value as a JSON string (JSON:API ids are strings); null stays null."""

    name: str


@dataclass(frozen=True)
class Or:
    """The column's text, `default` where it is null or empty (Python's `value or default`)."""

    name: str
    default: str


@dataclass(frozen=True)
class Derived:
    """A Python function of the column's value, for what SQL cannot say (a user agent's browser by the
    ua-parser rules): SQLite calls it per row as a registered function. It must be deterministic and
    return text, an integer or None."""

    name: str
    function: Callable[[Any], Any]


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
    # Go's RFC3339Nano of milliseconds: the fraction's trailing zeros trimmed, none on a whole second
    "go_ms": (go_rfc3339nano, "substr({c}, 1, 10) || 'T' || substr({c}, 12, 8) || CASE rtrim(substr({c}, 21, 3), '0') "
                              "WHEN '' THEN '' ELSE '.' || rtrim(substr({c}, 21, 3), '0') END || 'Z'"),
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
    field: Col | AsText | Or | Derived | Flag | Time | Mapped | Choice


@dataclass(frozen=True)
class Obj:
    """A nested document."""

    doc: Doc


Field = Col | AsText | Or | Derived | Const | Flag | Time | Mapped | Choice | NullWhen | Obj
Doc = tuple[tuple[str, Field], ...]  # a row's document: its keys in order, each value's derivation


def _leaves(doc: Doc) -> Iterator[Field]:
    """Every field of `doc` that reads a column or is constant, nested objects and NullWhen opened,
    in document order (a NullWhen's flag column comes before its field)."""
    for _, field in doc:
        if isinstance(field, Obj):
            yield from _leaves(field.doc)
        elif isinstance(field, NullWhen):
            yield Col(field.flag)
            yield field.field
        else:
            yield field


def columns(doc: Doc) -> tuple[str, ...]:
    """The event columns `doc` reads (an event field or a JOINED_COLUMNS name), in first-use order."""
    return tuple(dict.fromkeys(f.name for f in _leaves(doc) if not isinstance(f, Const | Obj | NullWhen)))


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
    if isinstance(field, Or):
        default = field.default
        return lambda row: get(row) or default
    if isinstance(field, Derived):
        function = field.function
        return lambda row: function(get(row))
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
    if isinstance(field, Or):
        return f"COALESCE(NULLIF({col}, ''), {_quoted(field.default)})"
    if isinstance(field, Derived):
        return f"{_function_name(field.function)}({col})"
    if isinstance(field, Choice):
        test = col if field.equals is None else f"{col} = {_quoted(field.equals)}"
        return f"CASE WHEN {test} THEN {_quoted(field.then)} ELSE {_quoted(field.otherwise)} END"
    if isinstance(field, Mapped):
        whens = " ".join(f"WHEN {_quoted(k)} THEN {_quoted(v)}" for k, v in field.mapping)
        return f"CASE {col} {whens} ELSE {col} END" if whens else col
    return col


_NAMES: dict[Callable[[Any], Any], str] = {}  # a Derived function -> its SQL name in this process
_REGISTERED = "loginaudit.functions"  # a driver connection's info: the functions it knows


def _function_name(function: Callable[[Any], Any]) -> str:
    return _NAMES.setdefault(function, f"loginaudit_fn{len(_NAMES)}")


@lru_cache(maxsize=512)
def _functions(doc: Doc) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    return tuple((_function_name(f.function), f.function) for f in _leaves(doc) if isinstance(f, Derived))


def _register(session: Session, doc: Doc) -> None:
    """The doc's functions, known to the session's SQLite connection (once per pooled connection)."""
    wanted = _functions(doc)
    if not wanted:
        return
    pooled = session.connection().connection
    known: set[str] = pooled.info.setdefault(_REGISTERED, set())
    for name, function in wanted:
        if name not in known:
            driver = pooled.driver_connection
            assert driver is not None  # a checked-out connection's
            driver.create_function(name, 1, function, deterministic=True)
            known.add(name)


def json_sql(doc: Doc) -> str:
    return "json_object(" + ", ".join(f"{_quoted(key)}, {_sql(field)}" for key, field in doc) + ")"


@lru_cache(maxsize=512)
def _prepared(form: Any, doc: Doc, extra: tuple[str, ...], joined: bool, deferred: bool) -> Prepared:
    picked = [literal_column(json_sql(doc)), *(FIELDS[c] for c in extra)]
    return prepare(select_page(form, picked, joined, deferred))


@lru_cache(maxsize=64)
def _processors(extra: tuple[str, ...]) -> tuple[Callable[[Any], Any] | None, ...]:
    """What SQLAlchemy does to each `extra` column's stored value (a time's text -> an aware datetime)."""
    return tuple(FIELDS[c].type.dialect_impl(SQLITE).result_processor(SQLITE, None) for c in extra)


def event_json(session: Session, q: EventQuery, doc: Doc) -> list[str]:
    """Each event `q` selects as the JSON text of `doc` (compact; non-ASCII possibly raw, see
    `fastjson.encoded`), in `q`'s order."""
    if session.connection().dialect.name != "sqlite":
        render = renderer(doc)
        return [orjson.dumps(render(row)).decode() for row in event_rows(session, q, columns(doc))]
    return [row[0] for row in _written(session, q, doc, ())]


def _written(session: Session, q: EventQuery, doc: Doc, extra: tuple[str, ...]) -> list[Any]:
    """SQLite's rows for `q`: the JSON text of `doc`, then the `extra` columns as stored."""
    _register(session, doc)
    form, params, joined, deferred = form_of(q, (*columns(doc), *extra))
    return fetch(session, _prepared(form, doc, extra, joined, deferred), params)


def event_json_with(session: Session, q: EventQuery, doc: Doc, extra: tuple[str, ...]) -> list[tuple[str, Any]]:
    """`event_json`, each row's JSON with a row of the `extra` event columns as `event_rows` gives them
    (what a page's cursor is made of), from the same statement."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        render = renderer(doc)
        pick = row_type(extra)._make
        return [(orjson.dumps(render(row)).decode(), pick(getattr(row, c) for c in extra))
                for row in event_rows(session, q, tuple(dict.fromkeys((*columns(doc), *extra))))]
    rows = _written(session, q, doc, extra)
    make, processors = row_type(extra)._make, _processors(extra)
    return [(row[0], make(value if process is None or value is None else process(value)
                          for process, value in zip(processors, row[1:], strict=True))) for row in rows]
