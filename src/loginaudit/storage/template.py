"""A row `Doc` compiled into one Python function writing the row's JSON text from its stored columns.

SQLite's json_object costs ~9 µs a row for Okta's LogEvent (~50 values, 10 nested objects, a Python
function called back per user-agent field), the largest item of an Okta or Entra page after the
framework (issue 20). Python's generic path (a dict per row, then orjson) was ~11. Here a `Doc` is
compiled once into the source of one function: the document's constant parts are literal text, each
value one inline expression over the row tuple (stored values as sqlite3 returns them), strings escaped
by the stdlib encoder's C function (`encode_basestring_ascii`, exactly what `json.dumps` writes, so no
escaping pass afterwards), and the row one join of them. It mirrors `rendered._python` (the reference)
field for field; tests/test_rendered.py holds the three paths to each other.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from json.encoder import encode_basestring_ascii
from typing import Any

from . import rendered as r
from .events import PERSON_FACTS, person_at

_ENCODE: Callable[[str], str] = encode_basestring_ascii


def _json(value: Any) -> str:
    """A stored or derived scalar as the stdlib writes it (str, int, None; anything else through json)."""
    kind = value.__class__
    if kind is str:
        return _ENCODE(value)
    if value is None:
        return "null"
    if kind is int:
        return str(value)
    return json.dumps(value)


@lru_cache(maxsize=4096)
def _days(day: str) -> int:
    """Days from 1970-01-01 to a stored time's date ('YYYY-MM-DD')."""
    return (date(int(day[:4]), int(day[5:7]), int(day[8:10])) - _EPOCH_DAY).days


_EPOCH_DAY = date(1970, 1, 1)


def _epoch_ms(t: str) -> int:
    """timefmt.ms_since_epoch of a stored time's text ('YYYY-MM-DD HH:MM:SS.ffffff', UTC): whole days and
    seconds, then the milliseconds the text holds (truncated, as the microseconds are floored)."""
    seconds = _days(t[:10]) * 86_400 + int(t[11:13]) * 3600 + int(t[14:16]) * 60 + int(t[17:19])
    return seconds * 1000 + int(t[20:23])


# Each TIME_FORMS form from the stored text, as its SQLite expression slices it (a JSON string: the
# text is ASCII digits and punctuation, so quoting is all its encoding needs).
def _go_ms(t: str) -> str:
    fraction = t[20:23].rstrip("0")
    return f'"{t[:10]}T{t[11:19]}.{fraction}Z"' if fraction else f'"{t[:10]}T{t[11:19]}Z"'


@lru_cache(maxsize=64)
def _zoned(zone: str, name: str, first: int, last: int) -> Callable[[str | None], str]:
    """A ZonedTime's JSON text from the stored text, as rendered's statement writes it: the zone's period
    found among its transitions over the covered years (by the stored text, which sorts as time does),
    the whole seconds shifted by its offset; a time outside those years converted by Python's zone.

    Where every transition falls on a whole minute and every offset is whole minutes (any zone today),
    one minute's times share their period and their shift, which leaves the seconds alone: the minute's
    local text and offset are worked out once and remembered (a page's 51 rows lie in a few minutes; the
    datetime parsed, moved and formatted per row was ~1.5 µs, most of a Canvas row's writing)."""
    periods = r.zone_periods(zone, first, last)
    starts = [r._stored(start) for start, _ in periods]
    shifts = [(offset, r._offset_text(offset, utc_named)) for _, (offset, utc_named) in periods]
    low, high = starts[0], r._stored(datetime(last + 1, 1, 1, tzinfo=UTC))
    outside = r._zoned_fallback(zone, name)

    def written(t: str) -> str:
        offset, text = shifts[bisect_right(starts, t) - 1]
        if not offset:
            return f'"{t[:10]}T{t[11:19]}{text}"'
        return f'"{(datetime.fromisoformat(t[:19]) + timedelta(seconds=offset)).isoformat()}{text}"'

    if not all(start.endswith(":00.000000") for start in starts) or any(offset % 60 for offset, _ in shifts):
        def write(t: str | None) -> str:
            if t is None:
                return "null"
            return _json(outside(t)) if t < low or t >= high else written(t)
        return write

    @lru_cache(maxsize=4096)
    def minute(prefix: str) -> tuple[str, str]:
        """The minute `prefix` ('YYYY-MM-DD HH:MM') written up to its seconds, and what follows them."""
        text = written(prefix + ":00.000000")  # '"YYYY-MM-DDTHH:MM:00<offset>"'
        return text[:17], text[20:]

    def write_minutes(t: str | None) -> str:
        if t is None:
            return "null"
        if t < low or t >= high:
            return _json(outside(t))
        head, tail = minute(t[:16])
        return head + t[16:19] + tail
    return write_minutes


_TIMES: dict[str, str] = {  # form -> expression of `{t}`, the stored text (never None here)
    "iso_ms_z": "'\"' + {t}[:10] + 'T' + {t}[11:23] + 'Z\"'",
    "iso_s_z": "'\"' + {t}[:10] + 'T' + {t}[11:19] + 'Z\"'",
    "iso_ms_offset": "'\"' + {t}[:10] + 'T' + {t}[11:23] + '+00:00\"'",
    "ruby_utc": "'\"' + {t}[:19] + ' +0000\"'",
    "go_ms": "_go_ms({t})",
    "epoch_ms": "str(_epoch_ms({t}))",
}


def _python_type(name: str) -> type | None:
    """The Python type SQLAlchemy reads an event column (or a JOINED_COLUMNS expression) as, if it says."""
    try:
        kind: type = r._read(name).type.python_type
    except NotImplementedError:
        return None
    return kind


def _kind(name: str) -> type | None:
    """What sqlite3 returns for a column: str or int (never anything else but None), or None if unsure
    (a boolean is stored as 0/1 where SQLAlchemy's reading is a bool; a time is text for a datetime)."""
    kind = _python_type(name)
    return kind if kind in (str, int) else None


_UNSET = object()  # a per-row local not computed yet


def _calls(field: r.Field | str) -> bool:
    """Whether the value calls a Derived function (what is worth computing once per row)."""
    if isinstance(field, r.Derived):
        return True
    if isinstance(field, r.Or):
        return _calls(field.default)
    if isinstance(field, r.Concat):
        return _calls(field.field)
    if isinstance(field, r.Choice):
        return _calls(field.then) or _calls(field.otherwise)
    return False


@lru_cache(maxsize=64)
def _derived_text(function: Callable[[Any], Any]) -> Callable[[Any], str]:
    """A Derived function's JSON text of a stored value, remembered (a hit is one C call, where the
    function and the encoder were two Python calls)."""
    return lru_cache(maxsize=4096)(lambda value: _json(function(value)))


class _Compiler:
    """Writes the function's source; values and functions the source refers to go in `names`."""

    def __init__(self, columns: tuple[str, ...], repeats: dict[r.Field, int] | None = None) -> None:
        self.position = {name: i for i, name in enumerate(columns)}
        self.repeats = repeats or {}  # how often each value is used (a first compilation's `seen`)
        self.seen: dict[r.Field, int] = {}
        self.locals: dict[r.Field, str] = {}
        self.names: dict[str, Any] = {"_json": _json, "_enc": _ENCODE, "_go_ms": _go_ms, "_epoch_ms": _epoch_ms,
                                      "_UNSET": _UNSET, "_NOBODY": (None, None)}

    def name(self, value: Any) -> str:
        key = f"_v{len(self.names)}"
        self.names[key] = value
        return key

    def col(self, name: str) -> str:
        if name in PERSON_FACTS:  # the row holds the person's id there (rendered._Compiled.read_columns)
            return f"_person[{PERSON_FACTS.index(name)}]"
        return f"row[{self.position[name]}]"

    def value(self, name: str) -> str:
        """A column written as its value: not a boolean, which SQLite hands back as 0/1 where the
        reference writes true/false (a Flag writes it; a Choice tests it)."""
        if _python_type(name) is bool:
            raise TypeError(f"boolean column {name!r} written as a value: use Flag")
        return self.col(name)

    def raw(self, field: r.Field | str) -> str:
        """An expression of the field's Python value (rendered._python's). One that calls a Derived
        function and recurs in the doc (Okta's request id, thrice a row) is computed once per row: a
        local set by its first use (uses may sit in branches, so not before)."""
        if isinstance(field, str):
            return repr(field)
        self.seen[field] = self.seen.get(field, 0) + 1
        expr = self._raw(field)
        if self.repeats.get(field, 0) < 2 or not _calls(field):
            return expr
        name = self.locals.setdefault(field, f"_h{len(self.locals)}")
        return f"({name} if {name} is not _UNSET else ({name} := {expr}))"

    def _raw(self, field: r.Field) -> str:
        if isinstance(field, str):
            return repr(field)
        if isinstance(field, r.Const):
            return repr(field.value)
        if isinstance(field, r.Concat):
            return f"({field.prefix!r} + {self.raw(field.field)})"
        if isinstance(field, r.Derived):
            return f"{self.name(field.function)}({self.col(field.name)})"
        if isinstance(field, r.Or):
            c = self.value(field.name)
            test = c if field.blank else f"{c} is not None"
            return f"({c} if {test} else {self.raw(field.default)})"
        if isinstance(field, r.Mapped):
            c, mapping = self.value(field.name), self.name(dict(field.mapping))
            return f"{mapping}.get({c}, {c})" if field.keep else f"{mapping}.get({c})"
        if isinstance(field, r.Choice):
            return f"({self.raw(field.then)} if {self.test(field)} else {self.raw(field.otherwise)})"
        if isinstance(field, r.AsText):
            c = self.value(field.name)
            return f"(None if {c} is None else str({c}))"
        if isinstance(field, r.Col):
            return self.value(field.name)
        raise TypeError(f"no scalar value for {field!r}")  # structured fields are written as text

    def test(self, field: r.Choice) -> str:
        c = self.col(field.name)
        if field.absent:
            return f"{c} is None"
        if field.contains is not None:
            return f"{field.contains!r} in ({c} or '')"
        if field.equals is not None:
            return f"{c} == {field.equals!r}"
        return c

    def text(self, field: r.Field | str) -> list[str | tuple[str]]:
        """The field's JSON text: literal parts as str, expressions as 1-tuples."""
        if isinstance(field, r.Obj):
            return self.doc(field.doc)
        if isinstance(field, r.Const | str):
            return [json.dumps(field if isinstance(field, str) else field.value)]
        if isinstance(field, r.Json):
            return [json.dumps(json.loads(field.text), separators=(",", ":"))]
        if isinstance(field, r.Items):
            parts: list[str | tuple[str]] = ["["]
            for i, inner in enumerate(field.fields):
                parts += ([","] if i else []) + self.text(inner)
            return [*parts, "]"]
        if isinstance(field, r.Flag):
            c = self.col(field.name)
            return [(f"('null' if {c} is None else 'true' if {c} else 'false')",)]
        if isinstance(field, r.NullWhen):
            return [(f"('null' if {self.col(field.flag)} else {self.joined(self.text(field.field))})",)]
        if isinstance(field, r.Listed):
            c = self.col(field.name)
            return [(f"('[' + {self.joined(self.text(field.field))} + ']' if {c} else '[]')",)]
        if isinstance(field, r.Time):
            c = self.col(field.name)
            return [(f"('null' if {c} is None else {_TIMES[field.form].format(t=c)})",)]
        if isinstance(field, r.ZonedTime):
            return [(f"{self.name(_zoned(field.zone, field.name, *r._covered(field)))}({self.col(field.name)})",)]
        if isinstance(field, r.Choice) and not (isinstance(field.then, str) and isinstance(field.otherwise, str)):
            then, otherwise = self.joined(self.text(field.then)), self.joined(self.text(field.otherwise))
            return [(f"({then} if {self.test(field)} else {otherwise})",)]
        if isinstance(field, r.Choice):  # both branches constant texts
            then, otherwise = (self.name(_ENCODE(b)) for b in (field.then, field.otherwise))  # type: ignore[arg-type]
            return [(f"({then} if {self.test(field)} else {otherwise})",)]
        if isinstance(field, r.Col) and _kind(field.name) in (str, int):
            c = self.value(field.name)
            return [(f"('null' if {c} is None else {'_enc' if _kind(field.name) is str else 'str'}({c}))",)]
        if isinstance(field, r.Or) and isinstance(field.default, str) and _kind(field.name) is str:
            c = self.value(field.name)
            test = c if field.blank else f"{c} is not None"
            return [(f"(_enc({c}) if {test} else {self.name(_ENCODE(field.default))})",)]
        if isinstance(field, r.Mapped) and _kind(field.name) is str:  # each mapped value's text written once
            c, texts = self.value(field.name), self.name({k: _ENCODE(v) for k, v in field.mapping})
            if field.keep:
                return [(f"({texts}.get({c}) or ('null' if {c} is None else _enc({c})))",)]
            return [(f"{texts}.get({c}, 'null')",)]
        if isinstance(field, r.Concat):  # text before text: a string (None would fail as it does in Python)
            return [(f"_enc({self.raw(field)})",)]
        if isinstance(field, r.Derived):  # deterministic (its contract): its text remembered per value
            return [(f"{self.name(_derived_text(field.function))}({self.col(field.name)})",)]
        if isinstance(field, r.Col | r.Or | r.Mapped | r.AsText | r.Concat):
            return [(f"_json({self.raw(field)})",)]
        raise TypeError(f"unknown field {field!r}")

    def doc(self, doc: r.Doc) -> list[str | tuple[str]]:
        parts: list[str | tuple[str]] = ["{"]
        for i, (key, field) in enumerate(doc):
            parts.append(("," if i else "") + _ENCODE(key) + ":")
            parts += self.text(field)
        return [*parts, "}"]

    def joined(self, parts: list[str | tuple[str]]) -> str:
        """One expression joining the parts (adjacent literals merged first)."""
        out: list[str] = []
        literal = ""
        for part in parts:
            if isinstance(part, str):
                literal += part
                continue
            if literal:
                out.append(repr(literal))
                literal = ""
            out.append(part[0])
        if literal:
            out.append(repr(literal))
        return out[0] if len(out) == 1 else "''.join((" + ", ".join(out) + "))"


Writer = Callable[[tuple[Any, ...], Mapping[int, tuple[str, str]] | None], str]


@lru_cache(maxsize=256)
def writer(doc: r.Doc) -> Writer:
    """A function of a row of `rendered.columns(doc)` (stored values, in that order; the person's id in
    place of each events.PERSON_FACTS column) and the page's people (records.people_named; None for a
    doc without those facts) -> the row's JSON text."""
    counting = _Compiler(r.columns(doc))
    counting.doc(doc)
    compiler = _Compiler(r.columns(doc), counting.seen)
    body = compiler.joined(compiler.doc(doc))
    start = "".join(f"    {name} = _UNSET\n" for name in compiler.locals.values())
    at = person_at(r.columns(doc))
    if at is not None:  # the person looked up once a row
        start += f"    _person = people.get(row[{at}], _NOBODY)\n"
    source = f"def write(row, people):\n{start}    return {body}\n"
    # the source is written from our own Doc, never from a request
    exec(compile(source, f"<template of {len(doc)} keys>", "exec"), compiler.names)
    return compiler.names["write"]  # type: ignore[no-any-return]
