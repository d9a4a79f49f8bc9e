"""Vendor bodies serialised by orjson, byte-identical to the stdlib encoder the specs were written against.

Encoding a 50-item page with `json` was 5-7% of a request's CPU (issue 20). orjson writes the same
compact bytes for what vendor handlers return (dicts, lists, str, int, bool, None) but for one
thing: the stdlib escapes every character outside printable ASCII (DEL and all non-ASCII text, as
`\\uXXXX`, astral characters as surrogate pairs) where orjson writes it raw, so those are escaped
afterwards (falling back to the stdlib for every page with a non-ASCII name was ~1 ms of an Okta
page). It falls back to the stdlib for integers past 64 bits and any other type (datetimes,
subclasses, dataclasses), which orjson is told to refuse rather than format its own way. Floats
would be formatted differently in exponent form (`1e16` vs `1e+16`); no vendor body carries one,
and the control plane keeps the stdlib.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from connexion.jsonifier import Jsonifier

_REFUSE_OTHERS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS
# orjson escapes `"`, `\` and C0 controls exactly as the stdlib does; anything else outside
# printable ASCII it leaves raw, and only inside strings, so escaping it afterwards is safe. Python's
# `backslashreplace` codec escapes it in C (a regex with a Python callback per character scanned the
# whole body: ~0.3 ms of a 75 KB Okta page with six non-ASCII characters): `\uXXXX` as the stdlib
# writes it, but `\xNN` below U+0100 and `\UXXXXXXXX` past U+FFFF, which are rewritten. A backslash
# preceded by an odd run of backslashes is escaped itself (orjson's `\\` before a literal `x`), not
# the codec's; the pattern starts with a literal, so the regex engine skips to backslashes.
_CODEC = re.compile(r"\\(x[0-9a-f]{2}|U[0-9a-f]{8})")


def _rewritten(found: re.Match[str]) -> str:
    text, at = found.string, found.start()
    run = at
    while run and text[run - 1] == "\\":
        run -= 1
    if (at - run) % 2:
        return found.group()
    code = found.group(1)
    if code[0] == "x":
        return "\\u00" + code[1:]
    astral = int(code[1:], 16) - 0x10000
    return f"\\u{0xD800 | astral >> 10:04x}\\u{0xDC00 | astral & 0x3FF:04x}"


def _escaped(text: str) -> str:
    """`text` (orjson's JSON) with every character outside printable ASCII as the stdlib escapes it."""
    out = text.encode("ascii", "backslashreplace").decode("ascii")
    if "\\x" in out or "\\U" in out:
        out = _CODEC.sub(_rewritten, out)
    return out.replace("\x7f", "\\u007f") if "\x7f" in out else out


def dumps(data: Any) -> str | None:
    """Compact JSON of `data` exactly as `json.dumps(data, separators=(",", ":"))` writes it, or
    None where orjson could not promise that."""
    try:
        raw = orjson.dumps(data, option=_REFUSE_OTHERS)
    except TypeError:
        return None
    if raw.isascii() and b"\x7f" not in raw:
        return raw.decode("ascii")
    return _escaped(raw.decode("utf-8"))


class Encoded(str):
    """A body already written as the stdlib would write it (`encoded`): the jsonifier sends it as it is."""


def escaped(text: str) -> str:
    """`text` (compact JSON, strings possibly with raw non-ASCII) as the stdlib would write it; a text
    already ASCII (most rows) is returned as it is. A page's rows are escaped one by one, so the body
    joined from them is ASCII and `encoded` passes it at once: escaping a 75 KB Okta body with a few
    non-ASCII names whole was 4% of its request."""
    return text if text.isascii() and "\x7f" not in text else _escaped(text)


def encoded(text: str) -> Encoded:
    """`text`, compact JSON whose strings may hold raw non-ASCII (orjson's, SQLite's json_object), with
    that escaped as the stdlib escapes it: SQLite escapes `"`, `\\` and C0 controls as orjson does
    (tests/test_rendered.py checks every ASCII character and astral ones)."""
    return Encoded(text if text.isascii() and "\x7f" not in text else _escaped(text))


def written(value: Any) -> str:
    """`value` as compact JSON, as the stdlib writes it: `dumps` where orjson promises that, else the
    stdlib. Compact JSON joins piece by piece, so a list's text is its members' texts joined by commas."""
    text = dumps(value)
    return json.dumps(value, separators=(",", ":")) if text is None else text


def document(members: list[tuple[str, Any]]) -> Encoded:
    """A JSON object of `members` in order; an Encoded value (e.g. a page of rows the store wrote)
    goes in as it is, any other as `written`."""
    parts = ["{"]
    for key, value in members:
        parts += ("," if len(parts) > 1 else "", json.dumps(key), ":",
                  value if isinstance(value, Encoded) else written(value))
    parts.append("}")
    return encoded("".join(parts))  # one join: a page's member is 10-120 KB, and each `+` copied it


class FastJsonifier(Jsonifier):  # type: ignore[misc]
    """Connexion's serialiser for vendor APIs: orjson where it is byte-identical, the stdlib otherwise."""

    def __init__(self) -> None:
        super().__init__(json, separators=(",", ":"))

    def dumps(self, data: Any, **kwargs: Any) -> str:
        if type(data) is Encoded:
            return data + "\n"
        fast = None if kwargs else dumps(data)
        return super().dumps(data, **kwargs) if fast is None else fast + "\n"
