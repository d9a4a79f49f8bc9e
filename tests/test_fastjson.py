"""orjson only where it writes the stdlib's exact bytes; the stdlib everywhere else."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from loginaudit.fastjson import FastJsonifier, dumps

# What vendor handlers put in bodies: no floats (orjson writes exponents its own way; see fastjson).
scalars = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.text()
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20)


@settings(max_examples=400, derandomize=True)
@given(values)
def test_bytes_are_the_stdlib_ones(value: Any) -> None:
    assert FastJsonifier().dumps(value) == json.dumps(value, separators=(",", ":")) + "\n"


@settings(max_examples=300, derandomize=True)
@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("\x7f\x00\x1f\u2028\U0001f600")))
def test_text_outside_printable_ascii_is_escaped_as_the_stdlib_does(text: str) -> None:
    assert dumps({text: [text]}) == json.dumps({text: [text]}, separators=(",", ":"))


@settings(max_examples=300, derandomize=True)
@given(st.text(alphabet=st.sampled_from("\\xUu0e9\"\x7f\x00\u00e9\u00ff\u0100\u20ac\U0001f600")))
def test_escapes_orjson_wrote_are_told_from_the_codecs(text: str) -> None:
    """A literal backslash before `x`/`U` (orjson's `\\\\x`) is not one of the codec's `\\xNN` escapes."""
    assert dumps([text, {text: text}]) == json.dumps([text, {text: text}], separators=(",", ":"))


def test_what_orjson_would_write_differently_is_escaped_or_falls_back() -> None:
    assert dumps({"name": "Zoë"}) == '{"name":"Zo\\u00eb"}'  # the stdlib escapes non-ASCII
    assert dumps(["\x7f", "\U0001f600"]) == '["\\u007f","\\ud83d\\ude00"]'  # DEL; astral: a surrogate pair
    assert dumps(["\ud800"]) is None  # a lone surrogate: orjson refuses it, the stdlib writes it
    assert dumps({"id": 2**64}) is None  # past 64 bits
    assert dumps({"at": datetime(2026, 1, 1, tzinfo=UTC)}) is None  # a type Connexion's encoder formats
    assert dumps({"a": [1, "b", None, True]}) == '{"a":[1,"b",null,true]}'


def test_rows_escaped_one_by_one_join_to_the_whole_bodys_escaping() -> None:
    """A page's rows are escaped each on its own (fastjson.escaped); joined, they equal the body escaped
    whole, whatever backslashes stand before an escaped character or at a row's end."""
    from loginaudit.fastjson import encoded, escaped

    rows = [orjson.dumps(v).decode() for v in ({"a": "é\\"}, {"b": "\\\\x7f\x7f"}, {"c": "plain"}, {"d": "😀\\u00e9"},
                                                {"e": "\\"}, {"f": "ü"})]
    body = "[" + ",".join(rows) + "]"
    joined = "[" + ",".join(escaped(r) for r in rows) + "]"
    assert joined.isascii() and joined == encoded(body) == json.dumps(json.loads(body), separators=(",", ":"))
