"""Entra's `$filter` parsed by its shape (entra_filter.parse) gives what the text's own parse gives; a
sign-in's correlation id written from its digest is uuid.uuid5's.

A shape's criteria are remembered and the text's date-times put back; the property: for filters mixing
date-times in every form the lexer takes (and some it does not, or the store cannot keep) with every
kind of property, inside and outside strings, the answer (criteria or error) is the text's own.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loginaudit.handlers import entra, entra_filter

SETTINGS = settings(max_examples=400, deadline=None, derandomize=True)
TIMES = st.sampled_from(["2026-11-21T16:16:19Z", "2026-11-21T16:16Z", "2026-11-21T16:16:19.123456Z",
                         "2026-11-21T16:16:19+05:30", "2026-01-02T03:04:05-08:00", "0001-01-01T00:00:00Z",
                         "2026-13-01T00:00:00Z", "1999-12-31T23:59:59.9Z", "2026-11-21T16:16:19"])
OPS = st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"])


def _person_of(user: str) -> int | None:
    return 7 if user == "00000000-0000-0000-0000-000000000007" else None


@st.composite
def predicates(draw: Any) -> str:
    time, op = draw(TIMES), draw(OPS)
    text: str = draw(st.sampled_from([
        f"createdDateTime {op} {time}", f"createdDateTime {op} {time}", f"status/errorCode {op} {time}",
        f"status/errorCode {op} 0", f"isInteractive eq {time}", f"ipAddress {op} {time}",
        f"userPrincipalName eq '{time}'", f"userPrincipalName eq 'it''s {time}'",
        "userId eq '00000000-0000-0000-0000-000000000007'", f"userId eq '{time}'",
        "startswith(userPrincipalName, 'a')", f"createdDateTime {op} {time}x", f"createdDateTime {op}{time}",
        f"createdDateTime {op} '{time}'", f"clientAppUsed eq {time}", f"createdDateTime {op} {time} {time}",
    ]))
    return text


FILTERS = st.recursive(predicates(), lambda inner: st.one_of(
    st.tuples(inner, st.sampled_from([" and ", " or "]), inner).map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
    st.tuples(inner, st.sampled_from([" and ", " or "]), inner).map(lambda t: f"{t[0]}{t[1]}{t[2]}"),
    inner.map(lambda e: f"not ({e})")), max_leaves=4)


def _answer(parse: Any, text: str, beta: bool) -> Any:
    collections = entra.BETA_COLLECTIONS if beta else {}
    try:
        return parse(text, entra.KINDS, _person_of, collections)
    except entra_filter.FilterError as exc:
        return ("error", str(exc))


@SETTINGS
@given(FILTERS, st.booleans())
def test_a_filter_parsed_by_its_shape_is_the_texts_own_parse(text: str, beta: bool) -> None:
    assert _answer(entra_filter.parse, text, beta) == _answer(entra_filter._parsed, text, beta)


def test_a_walks_windows_share_one_shape_and_keep_their_own_times() -> None:
    entra_filter._SHAPES.clear()
    texts = [f"createdDateTime ge 2026-11-{day:02d}T16:00:00Z and createdDateTime lt 2026-11-{day:02d}T17:00:00Z"
             for day in range(1, 29)]
    for text in texts:
        assert entra_filter.parse(text, entra.KINDS, _person_of) == entra_filter._parsed(text, entra.KINDS,
                                                                                          _person_of, {})
    assert len(entra_filter._SHAPES) == 1 and next(iter(entra_filter._SHAPES.values()))[1] is not None
    # a shape that names a user, or compares a date-time by value, is parsed per text
    for text in ("createdDateTime ge 2026-11-01T00:00:00Z and userId eq '00000000-0000-0000-0000-000000000007'",
                 "status/errorCode eq 2026-11-01T00:00:00Z"):
        entra_filter.parse(text, entra.KINDS, _person_of)
    assert [criteria is None for _, criteria in entra_filter._SHAPES.values()] == [False, True, True]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.one_of(st.uuids().map(str), st.text()))
def test_a_correlation_id_is_the_events_uuid5(event_uuid: str) -> None:
    """entra._correlation writes uuid5 from the digest itself; it must be uuid.uuid5's to the character."""
    import uuid

    try:
        expected = str(uuid.uuid5(uuid.NAMESPACE_OID, event_uuid))
    except UnicodeEncodeError:  # a lone surrogate: both refuse it
        with pytest.raises(UnicodeEncodeError):
            entra._correlation(event_uuid)
        return
    assert entra._correlation(event_uuid) == expected
