"""Rows rendered by the store (storage/rendered.py) are byte for byte what the Python reference writes.

On SQLite a page's documents come from `json_object(...)`, on PostgreSQL from the same `Doc` rendered
in Python; both must equal the stdlib's encoding of the reference dicts, for any text a login log may
hold (every ASCII character, DEL, non-ASCII, astral, backslashes before `x`/`u` and quotes), every
mapped and unmapped value, both booleans, and timestamps on and off whole seconds.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import literal_column, select
from sqlalchemy.exc import OperationalError

from loginaudit.fastjson import document, encoded
from loginaudit.handlers import canvas, entra, ingedata, okta, qradar, ssojet, unleash
from loginaudit.storage import Store, rendered, template
from loginaudit.storage.criteria import Cmp, In, all_of
from loginaudit.storage.driver import fetch, prepare
from loginaudit.storage.events import EventQuery, event_rows
from loginaudit.storage.models import Credential, LoginEvent, Person, Tenant
from loginaudit.storage.rendered import (
    TIME_FORMS,
    Col,
    Doc,
    Mapped,
    Obj,
    Or,
    Time,
    columns,
    event_json,
    event_json_with,
    renderer,
)

HOSTILE = ["".join(chr(c) for c in range(1, 128)), "é€ü\u2028\ue000\uffff", "😀 astral 𝄞", 'a\\x41 \\u00e9 \\"q\\"',
           "\\\\x7f", "plain@example.com", "'; DROP TABLE login_events; --", ""]
START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
AGENTS = ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.0 Mobile/15E148 Safari/604.1",
          "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
          "Googlebot/2.1 (+http://www.google.com/bot.html)", "curl/8.4.0", None]
# Either side of zone transitions (New York's and Lord Howe's half-hour ones, 2026), on and off whole seconds,
# and a time past the years a zoned statement covers (Python converts it).
TRANSITIONS = [datetime(2026, 3, 8, 6, 59, 59, 999_999, tzinfo=UTC), datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
               datetime(2026, 11, 1, 5, 59, 59, 500_000, tzinfo=UTC), datetime(2026, 11, 1, 6, 0, 0, 1, tzinfo=UTC),
               datetime(2026, 4, 4, 14, 59, 59, tzinfo=UTC), datetime(2026, 4, 4, 15, 0, tzinfo=UTC),
               datetime(2026, 10, 3, 15, 59, 59, 999_000, tzinfo=UTC), datetime(2026, 10, 3, 16, 0, tzinfo=UTC),
               datetime(2025, 1, 1, tzinfo=UTC), datetime(2024, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
               datetime(2028, 1, 1, tzinfo=UTC), datetime(2027, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
               # London from GMT to BST; Denver from local mean time (-06:59:56) to MST
               datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
               datetime(1883, 11, 18, 18, 59, 59, tzinfo=UTC), datetime(1883, 11, 18, 19, 0, tzinfo=UTC)]
EDGES = [datetime(999, 5, 6, 7, 8, 9, 10_000, tzinfo=UTC), datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC),
         datetime(2, 1, 1, tzinfo=UTC), datetime(9998, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)]


# Wider than one json_object call takes (127 arguments), a wide object nested in it, each ending on a nested
# object (whose brace the chunk joining must keep).
_INNER: Doc = tuple((f"i{n}", Col("username") if n % 7 else Obj((("deep", Col("city")),))) for n in range(90))
WIDE: Doc = (*((f"k{n}", Obj(_INNER) if n == 45 else Time("occurred_at", "iso_s_z") if n % 5 else Col("ip"))
               for n in range(130)), ("last", Obj((("x", Col("id")),))))


@pytest.fixture
def hostile(store: Store) -> list[int]:
    with store.session(write=True) as s:
        tenant = Tenant(name="t", client_id="c", created_at=START)
        holder = Person(first_name=HOSTILE[0], last_name="O'Brien \"é😀\"", email="p@example.com", created_at=START,
                        updated_at=START)
        s.add_all([tenant, holder])
        s.flush()
        login = Credential(person_id=holder.id, tenant_id=tenant.id, login="p", created_at=START, updated_at=START)
        s.add(login)
        s.flush()
        events = []
        for i, text in enumerate(HOSTILE * 2):
            held = i % 3 == 2  # a credential's holder (a joined name), else an unknown name
            events.append(LoginEvent(
                credential_id=login.id if held else None, person_id=holder.id if held else None,
                request_id=text[:36] if i % 2 else None,
                occurred_at=START + timedelta(seconds=i, microseconds=0 if i % 3 == 0 else 999_999 - i * 1_000),
                username=text or "x", successful=bool(i % 2), failure_reason=None if i % 4 == 3 else text,
                auth_method=("password", "http_basic", "saml", "o'dd")[i % 4], ip=text[:45] or None,
                country=None if i % 5 == 0 else text[:64],
                event_type=("login", "logout")[i % 3 == 1], city=text[:128] or None,
                user_agent=AGENTS[i % len(AGENTS)] if i % 2 else text))
        # JavaScript pads years to four digits; milliseconds before 1970 floor; zones change offsets
        for i, when in enumerate(EDGES + TRANSITIONS):
            events.append(LoginEvent(occurred_at=when, username=f"edge{i}", successful=bool(i % 2),
                                     auth_method="http_basic", event_type="login", credential_id=None))
        s.add_all(events)
        s.flush()
        return [e.id for e in events]


DOCS: list[Doc] = [unleash.DOC, unleash.TYPED_DOC, qradar._doc(qradar.FIELDS), qradar._doc(("user_id", "attempt_time")),
                   ingedata._login_doc("ruby", None), ingedata._login_doc("iso8601", ("ip", "date")), ssojet.AUDIT_LOG,
                   okta.LOG_EVENT, entra.sign_in_doc("v1.0", "t'1", None), entra.sign_in_doc("beta", "t'1", None),
                   entra.sign_in_doc("beta", "t", ("status", "nope", "userId", "status")),
                   WIDE, canvas.event_doc("America/New_York", 2026), canvas.event_doc("Australia/Lord_Howe", 2026),
                   canvas.event_doc("Asia/Kolkata", 2026), canvas.event_doc("UTC", 2026),
                   canvas.event_doc("Europe/London", 2026), canvas.event_doc("America/Denver", 1883),
                   (("quote'key \"k\"", Mapped("username", (("o'dd", "it's"), ("plain@example.com", "\u00e9")))),
                    ("when", Time("occurred_at", "iso_ms_z")), ("ua", Col("user_agent")), ("id", Col("id")))]


@pytest.mark.parametrize("doc", DOCS, ids=["unleash", "unleash-typed", "qradar", "qradar-fields", "ingedata",
                                           "ingedata-iso-sparse", "ssojet", "okta", "entra", "entra-beta",
                                           "entra-select", "wide", "canvas-new-york", "canvas-lord-howe",
                                           "canvas-kolkata", "canvas-utc", "canvas-london", "canvas-denver-lmt",
                                           "constants"])
@pytest.mark.parametrize("writer", ["python", "sqlite"])
def test_the_store_writes_each_row_as_the_reference_does(store: Store, hostile: list[int], doc: Doc, writer: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite a row is written by its compiled template (storage/template.py), or for a zoned doc by
    SQLite's json_object: both held to the reference, for every doc."""
    compiled = rendered._Compiled(doc)
    if writer == "sqlite":
        compiled.write = None
    elif compiled.write is None:
        compiled.write = template.writer(doc)
    original = rendered._compiled
    monkeypatch.setattr(rendered, "_compiled", lambda d: compiled if d is doc else original(d))
    query = EventQuery(where=In("event_type", ("login", "logout")), limit=50)
    with store.session() as s:
        texts = event_json(s, query, doc)
        reference = [renderer(doc)(row) for row in event_rows(s, query, columns(doc))]
    assert len(texts) == len(hostile)
    assert encoded("[" + ",".join(texts) + "]") == json.dumps(reference, separators=(",", ":"))


def test_a_bound_time_compares_as_the_store_writes_it(store: Store, hostile: list[int]) -> None:
    """A datetime parameter is bound as SQLAlchemy writes it (microseconds always), not as sqlite3's
    default adapter would (no fraction on a whole second, which sorts before the stored text)."""
    doc: Doc = (("id", Col("id")),)
    with store.session() as s:
        at_start = event_json(s, EventQuery(where=all_of(Cmp("occurred_at", "<=", START),
                                                          Cmp("occurred_at", ">", START - timedelta(days=1)))), doc)
        after = event_json(s, EventQuery(where=all_of(Cmp("occurred_at", ">", START),
                                                       Cmp("occurred_at", "<", START + timedelta(days=1)))), doc)
    assert at_start == [f'{{"id":{hostile[0]}}}']
    assert len(after) == len(HOSTILE) * 2 - 1



def test_a_driver_error_is_raised_as_sqlalchemys(store: Store) -> None:
    """errors.py maps SQLAlchemy's errors (a locked store is a 503): the driver path raises those too."""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("the driver path is SQLite's")
    with store.session() as s, pytest.raises(OperationalError, match="no such column"):
        fetch(s, prepare(select(literal_column("no_such_column"))), {})


def test_canvas_times_are_written_as_rails_writes_a_time_with_zone() -> None:
    """TimeWithZone#xmlschema: `Z` only for a zone abbreviated UTC, the offset otherwise (+00:00 for GMT);
    an offset's seconds (local mean time) dropped, as formatted_offset truncates them."""
    from zoneinfo import ZoneInfo

    from loginaudit.timefmt import local_iso_seconds
    winter, summer = datetime(2026, 1, 15, 12, 0, 0, 900_000, tzinfo=UTC), datetime(2026, 7, 15, 12, tzinfo=UTC)
    assert local_iso_seconds(winter, ZoneInfo("UTC")) == "2026-01-15T12:00:00Z"
    assert local_iso_seconds(winter, ZoneInfo("Europe/London")) == "2026-01-15T12:00:00+00:00"
    assert local_iso_seconds(summer, ZoneInfo("Europe/London")) == "2026-07-15T13:00:00+01:00"
    assert local_iso_seconds(winter, ZoneInfo("America/Denver")) == "2026-01-15T05:00:00-07:00"
    lmt = datetime(1800, 1, 1, tzinfo=UTC)
    assert local_iso_seconds(lmt, ZoneInfo("America/Denver")) == "1799-12-31T17:00:04-06:59"
    assert local_iso_seconds(lmt, ZoneInfo("Asia/Kolkata")) == "1800-01-01T05:53:28+05:53"


def test_years_before_1000_are_padded_as_javascript_and_ruby_pad_them() -> None:
    at = EDGES[0]  # 0999-05-06 07:08:09.010
    assert TIME_FORMS["iso_ms_z"][0](at) == "0999-05-06T07:08:09.010Z"  # new Date(...).toISOString()
    assert TIME_FORMS["ruby_utc"][0](at) == "0999-05-06 07:08:09 +0000"  # Time#to_s
    assert TIME_FORMS["iso_ms_offset"][0](at) == "0999-05-06T07:08:09.010+00:00"
    assert TIME_FORMS["epoch_ms"][0](EDGES[1]) == -500


def test_a_document_takes_written_members_as_they_are() -> None:
    members = [("data", encoded("[" + ",".join(['{"n":"é😀"}', '{"n":"\\\\x41"}']) + "]")),
               ("meta", {"count": 2, "more": False, "name": "ü\x7f"})]
    expected = {"data": [{"n": "é😀"}, {"n": "\\x41"}], "meta": {"count": 2, "more": False, "name": "ü\x7f"}}
    assert document(members) == json.dumps(expected, separators=(",", ":"))


def test_a_page_and_its_cursor_columns_come_from_one_statement(store: Store, hostile: list[int]) -> None:
    query = EventQuery(where=In("event_type", ("login", "logout")), limit=50)
    with store.session() as s:
        written = event_json_with(s, query, ssojet.AUDIT_LOG, ssojet.CURSOR)
        rows = event_rows(s, query, tuple(dict.fromkeys((*columns(ssojet.AUDIT_LOG), *ssojet.CURSOR))))
    assert encoded("[" + ",".join(written.texts) + "]") == json.dumps(
        [renderer(ssojet.AUDIT_LOG)(row) for row in rows], separators=(",", ":"))
    extras = [written.extra(i) for i in range(len(written.texts))]
    assert [tuple(extra) for extra in extras] == [(r.occurred_at, r.id) for r in rows]
    assert all(extra.occurred_at.utcoffset() == timedelta(0) for extra in extras)  # aware, as event_rows gives it
    assert {json.loads(text)["device"] for text in written.texts} >= {"Mobile", "Desktop", "Bot"}  # ua-parser's, in SQL


@pytest.mark.parametrize("writer", ["template", "sqlite"])
def test_a_pager_reading_one_row_past_its_page_writes_only_the_page(store: Store, hostile: list[int], writer: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    doc = canvas.event_doc("America/Chicago", 2026)
    compiled = rendered._Compiled(doc)
    if writer == "sqlite":
        compiled.write = None  # the json_object path (every doc is the template's since session 16)
    original = rendered._compiled
    monkeypatch.setattr(rendered, "_compiled", lambda d: compiled if d is doc else original(d))
    query = EventQuery(where=In("event_type", ("login", "logout")), limit=11)
    with store.session() as s:
        everything = event_json_with(s, query, doc, ssojet.CURSOR)
        page = event_json_with(s, query, doc, ssojet.CURSOR, shown=10)
    assert everything.read == page.read == len(everything.texts) == 11
    assert page.texts == everything.texts[:10]
    assert [page.extra(i) for i in range(11)] == [everything.extra(i) for i in range(11)]  # the cursor's row too


@pytest.mark.parametrize("field", [Col("successful"), Or("successful", "x", blank=False),
                                   Mapped("successful", (("1", "yes"),))])
def test_a_boolean_column_is_written_by_flag_not_as_a_value(store: Store, hostile: list[int], field: Any) -> None:
    """SQLite hands a boolean back as 0/1 where the reference writes true/false: such a Doc is refused on
    SQLite (a Flag writes it); elsewhere the reference's true and false are written."""
    doc: Doc = (("ok", field),)
    query = EventQuery(limit=50)
    with store.session() as s:
        if store.engine.dialect.name == "sqlite":
            with pytest.raises(TypeError, match="use Flag"):
                event_json(s, query, doc)
            return
        texts = event_json(s, query, doc)
    assert set(texts) == {'{"ok":true}', '{"ok":false}'}
