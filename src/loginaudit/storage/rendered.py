"""A page's events as JSON text, each row's document written by the store itself (issue 20, item 4).

A connector's walk asks pages nobody asked before, so no cache helps it; what a miss cost was building
each row's document in Python (a datetime parsed and re-formatted, a dict, the encoder: ~1/3 of a miss)
and SQLAlchemy's execution of the page's statement (~1/3). A vendor declares its row document once (a
`Doc`: key -> how the value derives from an event column), and on SQLite the page's statement selects
`json_object(...)` of it, compiled once per query form and run on the session's driver cursor: SQLite
writes each row's JSON in C and Python only joins the texts. Nothing is stored beyond the events (a
write-time projection of every vendor's bytes would be ~7.4 KB an event, README). On another backend the
same `Doc` is rendered in Python from `event_rows` (the reference; PostgreSQL's JSON functions space their
output differently). SQLite writes non-ASCII raw where the vendors' encoder escapes it: each row's
text is escaped as the stdlib escapes it (`fastjson.escaped`; parity: tests/test_rendered.py).

Since session 12 most docs, and since session 16 every doc, are written on SQLite by a compiled Python
template (storage/template.py) from the statement's columns, which measured faster than json_object for
each vendor (json_object for every doc: Okta +33%, SSOJet +30%, Unleash -2%; README). The json_object
writer stays, held to the same reference, as the measured alternative (`_Compiled.write = None`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import literal_column
from sqlalchemy.orm import Session

from ..fastjson import escaped
from ..timefmt import (
    EARLIEST,
    LATEST,
    UTC_NAMES,
    go_rfc3339nano,
    iso_ms_offset,
    iso_ms_z,
    iso_s_z,
    local_iso_seconds,
    ms_since_epoch,
    ruby_utc,
)
from .driver import SQLITE, Prepared, fetch, prepare
from .events import (
    FIELDS,
    JOINED_COLUMNS,
    PERSON_FACTS,
    EventQuery,
    event_rows,
    form_of,
    person_at,
    row_type,
    select_page,
)
from .records import people_named


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
    """The column's text, `default` where it is null or empty (Python's `value or default`); with
    `blank=False` only where it is null (`value if value is not None else default`). The default is a
    text or another field (e.g. a value derived from another column)."""

    name: str
    default: str | Field
    blank: bool = True


@dataclass(frozen=True)
class Derived:
    """A Python function of the column's value, for what SQL cannot say (a user agent's browser by the
    ua-parser rules): SQLite calls it per row as a registered function (~0.7 µs a call). It must be
    deterministic and return text, an integer or None. Where SQLite can say the same, `sql` (an
    expression of `{c}`, the column) is used instead; the parity test holds it to the function."""

    name: str
    function: Callable[[Any], Any]
    sql: str = ""


@dataclass(frozen=True)
class Const:
    """The same scalar on every row (a JSON:API type, a null, a zero, a false)."""

    value: str | int | bool | None


@dataclass(frozen=True)
class Json:
    """The same JSON text on every row, parsed (an empty array a vendor always sends)."""

    text: str


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
    "iso_s_z": (iso_s_z, "substr({c}, 1, 10) || 'T' || substr({c}, 12, 8) || 'Z'"),
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
class ZonedTime:
    """A timestamp column as local time in the IANA `zone` to the second, with its offset as Rails writes
    it (timefmt.local_iso_seconds). SQLite has no zone database: the zone's offsets over the years
    `first`..`last` are written into the statement (a CASE over its transitions), and a time outside
    them is converted by Python, called per row (so a statement stays exact whatever the clock)."""

    name: str
    zone: str
    first: int
    last: int


@dataclass(frozen=True)
class Mapped:
    """The column's value through `mapping`; a value not in it as it is (`keep=False`: null)."""

    name: str
    mapping: tuple[tuple[str, str], ...]
    keep: bool = True


@dataclass(frozen=True)
class Choice:
    """`then` where the column is true (or equals `equals`, or holds the text `contains`, or is null
    with `absent`), else `otherwise`; each a text or another field (which may be another Choice)."""

    name: str
    then: str | Field
    otherwise: str | Field
    equals: str | None = None
    contains: str | None = None
    absent: bool = False


@dataclass(frozen=True)
class Concat:
    """A constant text before another field's text (which must not be null)."""

    prefix: str
    field: Field


@dataclass(frozen=True)
class Listed:
    """`[field]` where the column is non-empty, else `[]` (Python's `[...] if value else []`)."""

    name: str
    field: Field


@dataclass(frozen=True)
class Items:
    """A JSON array of these fields, on every row."""

    fields: tuple[Field, ...]


@dataclass(frozen=True)
class NullWhen:
    """Null where the `flag` column is true (e.g. no failure reason on a success), else `field`."""

    flag: str
    field: Field


@dataclass(frozen=True)
class Obj:
    """A nested document. Its hash is computed once: a Doc is a cache key on every request (statements,
    functions, columns), and hashing a large nested one field by field was ~9 µs each time."""

    doc: Doc

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash(self.doc))

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined,no-any-return]


Field = (Col | AsText | Or | Derived | Const | Json | Flag | Time | ZonedTime | Mapped | Choice | Concat | Listed
         | Items | NullWhen | Obj)
Doc = tuple[tuple[str, Field], ...]  # a row's document: its keys in order, each value's derivation


def _parts(field: Field | str) -> Iterator[Field]:
    """The fields `field` reads, composites opened: a column it tests as a Col of it, then what it
    holds, in document order (a constant text branch reads nothing)."""
    if isinstance(field, str):
        return
    if isinstance(field, Obj):
        for _, inner in field.doc:
            yield from _parts(inner)
    elif isinstance(field, NullWhen):
        yield Col(field.flag)
        yield from _parts(field.field)
    elif isinstance(field, Or):
        yield Col(field.name)
        yield from _parts(field.default)
    elif isinstance(field, Choice):
        yield Col(field.name)
        yield from _parts(field.then)
        yield from _parts(field.otherwise)
    elif isinstance(field, Listed):
        yield Col(field.name)
        yield from _parts(field.field)
    elif isinstance(field, Concat):
        yield from _parts(field.field)
    elif isinstance(field, Items):
        for inner in field.fields:
            yield from _parts(inner)
    else:
        yield field


def _leaves(doc: Doc) -> Iterator[Field]:
    """Every plain field of `doc` (a column read as it is or through one function, or a constant)."""
    return _parts(Obj(doc))


@lru_cache(maxsize=512)
def columns(doc: Doc) -> tuple[str, ...]:
    """The event columns `doc` reads (an event field or a JOINED_COLUMNS name), in first-use order."""
    reading = (f for f in _leaves(doc) if isinstance(f, Col | AsText | Derived | Flag | Time | ZonedTime | Mapped))
    return tuple(dict.fromkeys(f.name for f in reading))


def _branch(value: str | Field) -> Callable[[Any], Any]:
    if isinstance(value, str):
        return lambda row: value
    return _python(value)


def _python(field: Field) -> Callable[[Any], Any]:
    if isinstance(field, Obj):
        return renderer(field.doc)
    if isinstance(field, Const):
        value = field.value
        return lambda row: value
    if isinstance(field, Json):
        text = field.text
        return lambda row: orjson.loads(text)  # a fresh value per row, as a literal in the old code was
    if isinstance(field, NullWhen):
        flag, inner = operator.attrgetter(field.flag), _python(field.field)
        return lambda row: None if flag(row) else inner(row)
    if isinstance(field, Concat):
        prefix, inner = field.prefix, _python(field.field)
        return lambda row: prefix + inner(row)
    if isinstance(field, Items):
        items = [_python(inner) for inner in field.fields]
        return lambda row: [item(row) for item in items]
    get = operator.attrgetter(field.name)
    if isinstance(field, Time):
        form = TIME_FORMS[field.form][0]
        return lambda row: None if get(row) is None else form(get(row))
    if isinstance(field, ZonedTime):
        zone = ZoneInfo(field.zone)
        return lambda row: None if get(row) is None else local_iso_seconds(get(row), zone)
    if isinstance(field, AsText):
        return lambda row: None if get(row) is None else str(get(row))
    if isinstance(field, Or):
        default = _branch(field.default)
        if field.blank:
            return lambda row: get(row) or default(row)
        return lambda row: get(row) if get(row) is not None else default(row)
    if isinstance(field, Derived):
        function = field.function
        return lambda row: function(get(row))
    if isinstance(field, Mapped):
        mapping = dict(field.mapping)
        if field.keep:
            return lambda row: mapping.get(get(row), get(row))
        return lambda row: mapping.get(get(row))
    if isinstance(field, Listed):
        inner = _python(field.field)
        return lambda row: [inner(row)] if get(row) else []
    if isinstance(field, Choice):
        then, otherwise, equals, contains = _branch(field.then), _branch(field.otherwise), field.equals, field.contains
        if field.absent:
            return lambda row: then(row) if get(row) is None else otherwise(row)
        if contains is not None:
            return lambda row: then(row) if contains in (get(row) or "") else otherwise(row)
        if equals is not None:
            return lambda row: then(row) if get(row) == equals else otherwise(row)
        return lambda row: then(row) if get(row) else otherwise(row)
    return get  # Col, Flag: SQLAlchemy's row already holds int/str/bool/None


@lru_cache(maxsize=256)
def renderer(doc: Doc) -> Callable[[Any], dict[str, Any]]:
    """The row document `doc` describes, built in Python from an `event_rows` row (CSV uses it too)."""
    parts = [(key, _python(field)) for key, field in doc]
    return lambda row: {key: value(row) for key, value in parts}


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _column(name: str) -> str:
    return str(_read(name).compile(dialect=SQLITE, compile_kwargs={"literal_binds": True}))


def _constant(value: str | int | bool | None) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "json('true')" if value else "json('false')"
    if isinstance(value, int):
        return str(value)
    return _quoted(value)


def _branch_sql(value: str | Field) -> str:
    return _quoted(value) if isinstance(value, str) else _sql(value)


def _sql(field: Field) -> str:
    """SQLite's expression for `field` (SQL text: constants from code only, never from a request)."""
    if isinstance(field, Obj):
        return json_sql(field.doc, nested=True)
    if isinstance(field, Const):
        return _constant(field.value)
    if isinstance(field, Json):
        return f"json({_quoted(field.text)})"
    if isinstance(field, NullWhen):
        return f"CASE WHEN {_column(field.flag)} THEN NULL ELSE {_sql(field.field)} END"
    if isinstance(field, Concat):
        return f"{_quoted(field.prefix)} || {_sql(field.field)}"
    if isinstance(field, Items):
        return "json_array(" + ", ".join(_sql(inner) for inner in field.fields) + ")"
    col = _column(field.name)
    if isinstance(field, Flag):
        return f"CASE WHEN {col} IS NULL THEN NULL WHEN {col} THEN json('true') ELSE json('false') END"
    if isinstance(field, Time):
        return TIME_FORMS[field.form][1].format(c=col)
    if isinstance(field, ZonedTime):
        return _zoned_sql(field, col)
    if isinstance(field, AsText):
        return f"CAST({col} AS TEXT)"
    if isinstance(field, Or):
        value = f"NULLIF({col}, '')" if field.blank else col
        return f"COALESCE({value}, {_branch_sql(field.default)})"  # SQLite evaluates the default only when used
    if isinstance(field, Derived):
        return field.sql.format(c=col) if field.sql else f"{_function_name(field.function)}({col})"
    if isinstance(field, Listed):
        return f"CASE WHEN {col} IS NOT NULL AND {col} <> '' THEN json_array({_sql(field.field)}) ELSE json_array() END"
    if isinstance(field, Choice):
        test = (f"{col} IS NULL" if field.absent
                else f"{col} = {_quoted(field.equals)}" if field.equals is not None
                else f"instr({col}, {_quoted(field.contains)}) > 0" if field.contains is not None
                else col)
        return f"CASE WHEN {test} THEN {_branch_sql(field.then)} ELSE {_branch_sql(field.otherwise)} END"
    if isinstance(field, Mapped):
        whens = " ".join(f"WHEN {_quoted(k)} THEN {_quoted(v)}" for k, v in field.mapping)
        otherwise = col if field.keep else "NULL"
        return f"CASE {col} {whens} ELSE {otherwise} END" if whens else otherwise
    return col


def _offset_text(seconds: int, utc_named: bool) -> str:
    """The offset as timefmt.local_iso_seconds writes it."""
    if utc_named and not seconds:
        return "Z"
    sign, seconds = ("+", seconds) if seconds >= 0 else ("-", -seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}"  # seconds of an offset dropped


Period = tuple[int, bool]  # a zone's UTC offset in seconds, and whether its abbreviation is UTC's


def _period(zone: ZoneInfo, at: datetime) -> Period:
    local = at.astimezone(zone)
    offset = local.utcoffset()
    return (int(offset.total_seconds()) if offset is not None else 0), local.tzname() in UTC_NAMES


def _covered(field: ZonedTime) -> tuple[int, int]:
    """The years a statement covers: the field's, within the years the store keeps (timefmt's bounds)."""
    return max(field.first, EARLIEST.year), min(field.last, LATEST.year - 1)


@lru_cache(maxsize=64)
def zone_periods(zone: str, first: int, last: int) -> tuple[tuple[datetime, Period], ...]:
    """The zone's periods from 1 January of `first` to the end of `last`, as (UTC start, period) in time
    order: days are stepped, and a day whose period changes is bisected to the second."""
    info, day = ZoneInfo(zone), timedelta(days=1)
    at, end = datetime(first, 1, 1, tzinfo=UTC), datetime(last + 1, 1, 1, tzinfo=UTC)
    periods = [(at, _period(info, at))]
    while at < end:
        step = min(at + day, end)
        if _period(info, step) != periods[-1][1]:
            low, high = at, step  # the period is the old one at `low`, the new one at `high`
            while high - low > timedelta(seconds=1):
                middle = (low + (high - low) // 2).replace(microsecond=0)
                low, high = (middle, high) if _period(info, middle) == periods[-1][1] else (low, middle)
            periods.append((high, _period(info, high)))
        at = step
    return tuple(periods)


def _stored(at: datetime) -> str:
    """`at` as the store writes a time (UTCDateTime: 'YYYY-MM-DD HH:MM:SS.ffffff'), to compare with it."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


@lru_cache(maxsize=64)
def _zoned_fallback(zone: str, name: str) -> Callable[[Any], Any]:
    """Python's conversion of column `name`'s stored time outside the statement's years (SQLite calls
    it): the column's own reading (SQLAlchemy's result processor), then the zone."""
    info, (read,) = ZoneInfo(zone), _processors((name,))
    assert read is not None  # a time column's text becomes an aware datetime

    def convert(stored: str | None) -> str | None:
        return None if stored is None else local_iso_seconds(read(stored), info)
    return convert


def _zoned_sql(field: ZonedTime, col: str) -> str:
    def local(period: Period) -> str:
        offset, text = period[0], _offset_text(*period)
        if not offset:
            return f"substr({col}, 1, 10) || 'T' || substr({col}, 12, 8) || '{text}'"
        # whole seconds first: SQLite rounds a time to milliseconds (.9999 would become the next second)
        return f"strftime('%Y-%m-%dT%H:%M:%S', substr({col}, 1, 19), '{offset:+d} seconds') || '{text}'"
    first, last = _covered(field)
    periods = zone_periods(field.zone, first, last)
    low, high = _stored(periods[0][0]), _stored(datetime(last + 1, 1, 1, tzinfo=UTC))
    whens = " ".join(f"WHEN {col} >= '{_stored(start)}' THEN {local(period)}" for start, period in reversed(periods))
    outside = f"{_function_name(_zoned_fallback(field.zone, field.name))}({col})"
    return f"CASE WHEN {col} IS NULL THEN NULL WHEN {col} < '{low}' OR {col} >= '{high}' THEN {outside} {whens} END"


_NAMES: dict[Callable[[Any], Any], str] = {}  # a Derived function -> its SQL name in this process
_REGISTERED = "loginaudit.functions"  # a driver connection's info: the functions it knows


def _function_name(function: Callable[[Any], Any]) -> str:
    return _NAMES.setdefault(function, f"loginaudit_fn{len(_NAMES)}")


MAX_PAIRS = 60  # key/value pairs per json_object call: SQLite takes at most 127 arguments (SQLITE_MAX_FUNCTION_ARG)
_SCALAR = (Col, AsText, Derived, Const, Flag, Time, Mapped, Concat)  # written as a string, number, bool or null


def json_sql(doc: Doc, nested: bool = False) -> str:
    """SQLite's expression writing `doc`. A document of more keys than one call takes (Graph's beta signIn
    has 78) is written in chunks joined as text: each chunk's object without its opening brace, and all
    but the last without their closing one; a chunk ends after a scalar-valued key, so trimming its
    closing brace cannot take a nested object's. Inside another object (`nested`) the joined text is
    re-read by json(), to be embedded as JSON rather than as a string."""
    if len(doc) <= MAX_PAIRS:
        return "json_object(" + ", ".join(f"{_quoted(key)}, {_sql(field)}" for key, field in doc) + ")"
    chunks: list[Doc] = [()]
    for pair in doc:
        if len(chunks[-1]) >= MAX_PAIRS:
            raise ValueError(f"no scalar-valued key to end a chunk of {MAX_PAIRS} near {pair[0]!r}")
        chunks[-1] += (pair,)
        if len(chunks[-1]) >= MAX_PAIRS // 2 and isinstance(pair[1], _SCALAR):
            chunks.append(())
    *head, last = [chunk for chunk in chunks if chunk]
    parts = [f"rtrim(substr({json_sql(chunk)}, 2), '}}')" for chunk in head] + [f"substr({json_sql(last)}, 2)"]
    text = "'{' || " + " || ',' || ".join(parts)
    return f"json({text})" if nested else text


class _Compiled:
    """What reading one Doc on SQLite needs, made once per Doc: a request then hashes the Doc once
    (a large one is ~100 nodes) rather than once per cache it consults."""

    KEPT = 512  # statements per Doc (a statement per query form)

    def __init__(self, doc: Doc) -> None:
        self.columns = columns(doc)
        called = [f.function for f in _leaves(doc) if isinstance(f, Derived) and not f.sql]
        called += [_zoned_fallback(f.zone, f.name) for f in _leaves(doc) if isinstance(f, ZonedTime)]
        self.functions = tuple((_function_name(function), function) for function in called)
        self.sql = json_sql(doc)
        self.statements: dict[tuple[Any, ...], Prepared] = {}
        # Python writes the rows (storage/template.py); SQLite's json_object (`sql`) is the other writer,
        # held to the same reference by tests/test_rendered.py. Zoned times were SQLite's until session
        # 16 (its CASE over the zone's transitions wrote Canvas's 51-row page in ~160 µs, the template
        # in ~177, a datetime parsed, moved and formatted per row); the template now shifts a minute's
        # times once (template._zoned): ~132 µs.
        from .template import Writer, writer  # template.py reads this module's field types

        self.write: Writer | None = writer(doc)
        # The template's row reads the person's id where it shows a fact of the person (events.PERSON_FACTS),
        # and the page looks the people up (records.people_named): no join for them.
        self.person_at = person_at(self.columns)
        self.read_columns = tuple("person_id" if c in PERSON_FACTS else c for c in self.columns)

    def register(self, session: Session) -> None:
        """The doc's functions, known to the session's SQLite connection (once per pooled connection)."""
        if not self.functions:
            return
        pooled = session.connection().connection
        known: set[str] = pooled.info.setdefault(_REGISTERED, set())
        for name, function in self.functions:
            if name not in known:
                driver = pooled.driver_connection
                assert driver is not None  # a checked-out connection's
                driver.create_function(name, 1, function, deterministic=True)
                known.add(name)

    def prepared(self, form: Any, extra: tuple[str, ...], joined: bool, deferred: bool) -> Prepared:
        key = (form, extra, joined, deferred)
        found = self.statements.get(key)
        if found is None:
            if len(self.statements) >= self.KEPT:
                self.statements.clear()
            read = [literal_column(self.sql)] if self.write is None else [_read(c) for c in self.read_columns]
            picked = [c.label(f"c{i}") for i, c in enumerate((*read, *(FIELDS[c] for c in extra)))]
            found = self.statements[key] = prepare(select_page(form, picked, joined, deferred))
        return found


def _read(name: str) -> Any:
    """An event column or a JOINED_COLUMNS expression, as the statement reads it."""
    return FIELDS[name] if name in FIELDS else JOINED_COLUMNS[name][1]


@lru_cache(maxsize=256)
def _compiled(doc: Doc) -> _Compiled:
    return _Compiled(doc)


@lru_cache(maxsize=64)
def _processors(extra: tuple[str, ...]) -> tuple[Callable[[Any], Any] | None, ...]:
    """What SQLAlchemy does to each `extra` column's stored value (a time's text -> an aware datetime)."""
    return tuple(FIELDS[c].type.dialect_impl(SQLITE).result_processor(SQLITE, None) for c in extra)


@lru_cache(maxsize=64)
def converter(extra: tuple[str, ...]) -> Callable[[tuple[Any, ...]], Any]:
    """Stored values of the `extra` columns -> the named tuple `event_rows` gives (`_processors`)."""
    pick, processors = row_type(extra)._make, _processors(extra)

    def convert(stored: tuple[Any, ...]) -> Any:
        return pick(value if process is None or value is None else process(value)
                    for process, value in zip(processors, stored, strict=True))
    return convert


def event_json(session: Session, q: EventQuery, doc: Doc) -> list[str]:
    """Each event `q` selects as the JSON text of `doc` (compact, escaped as the stdlib escapes:
    `fastjson.escaped`), in `q`'s order."""
    return event_json_with(session, q, doc, ()).texts


def _written(session: Session, q: EventQuery, compiled: _Compiled, extra: tuple[str, ...]) -> list[Any]:
    """SQLite's rows for `q`: the compiled doc's columns (or its JSON text, where SQLite writes it), then
    the `extra` columns as stored."""
    if compiled.write is None:
        compiled.register(session)
    read = compiled.columns if compiled.write is None else compiled.read_columns
    form, params, joined, deferred = form_of(q, (*read, *extra))
    return fetch(session, compiled.prepared(form, extra, joined, deferred), params)


@dataclass(frozen=True)
class Written:
    """A page's rows as JSON texts, and each row's `extra` columns, converted only for the rows asked
    (a pager needs the last row's cursor; converting every row's time was 5% of an Okta page)."""

    texts: list[str]
    names: tuple[str, ...]  # the extra columns
    extras: list[tuple[Any, ...]]  # of every row read
    convert: Callable[[tuple[Any, ...]], Any]
    read: int  # rows the query gave (texts may hold fewer: event_json_with's `shown`)

    def extra(self, index: int) -> Any:
        """Row `index`'s extra columns as `event_rows` gives them (a named tuple)."""
        return self.convert(self.extras[index])

    def stored(self, name: str) -> list[Any]:
        """Every row's extra column `name` as stored: for a column SQLAlchemy does not convert (an id),
        what `event_rows` gives."""
        position = self.names.index(name)
        return [extras[position] for extras in self.extras]


def event_json_with(session: Session, q: EventQuery, doc: Doc, extra: tuple[str, ...],
                    shown: int | None = None) -> Written:
    """`event_json`, with the `extra` event columns of each row (what a page's cursor is made of), from
    the same statement; with `shown`, only the first `shown` rows' texts (a pager reads one row past its
    page to learn whether another follows: `Written.read` counts it, nothing writes its document)."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        render = renderer(doc)
        rows = event_rows(session, q, tuple(dict.fromkeys((*columns(doc), *extra))))
        return Written([escaped(orjson.dumps(render(row)).decode()) for row in rows[:shown]], extra,
                       [tuple(getattr(row, c) for c in extra) for row in rows], row_type(extra)._make, len(rows))
    compiled = _compiled(doc)
    rows = _written(session, q, compiled, extra)
    convert = converter(extra)
    write = compiled.write
    if write is None:
        return Written([escaped(row[0]) for row in rows[:shown]], extra, [row[1:] for row in rows], convert,
                       len(rows))
    width, at, page = len(compiled.columns), compiled.person_at, rows[:shown]
    people = None if at is None else people_named(session, [row[at] for row in page])
    return Written([write(row, people) for row in page], extra, [row[width:] for row in rows], convert, len(rows))
