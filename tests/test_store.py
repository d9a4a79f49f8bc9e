"""The store's neutral query language and keyset pagination, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from loginaudit.storage import Store
from loginaudit.storage.criteria import And, Between, Cmp, In, IsNull, Not, Or, all_of
from loginaudit.storage.events import EventQuery, UnknownField, count_events, event_rows
from loginaudit.storage.models import LoginEvent
from loginaudit.storage.records import create_credential, create_person, create_tenant, ingest_events

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def ids(store: Store) -> list[int]:
    with store.session() as s:
        tenant = create_tenant(s, name="t")
        person = create_person(s, first_name="a", last_name="b", email="e")
        cred = create_credential(s, person_id=person.id, tenant_id=tenant.id, login="a", role="admin")
        rows = [{"credential_id": cred.id if i % 2 else None, "username": f"u{i}",
                 "occurred_at": T0 + timedelta(seconds=i // 2), "successful": i % 3 != 0,
                 "ip": None if i % 5 == 0 else f"10.0.0.{i}"} for i in range(20)]
        return ingest_events(s, rows)


def _ids(store: Store, q: EventQuery) -> list[int]:
    with store.session() as s:
        return [e.id for e in event_rows(s, q)]


def test_default_order_is_newest_first_with_id_tiebreak(store: Store, ids: list[int]) -> None:
    assert _ids(store, EventQuery()) == sorted(ids, reverse=True)


@pytest.mark.parametrize(("expr", "expected"), [
    (Cmp("successful", "=", False), lambda i: i % 3 == 0),
    (Cmp("ip", "!=", "10.0.0.1"), lambda i: i != 1),  # NULL ips are "not equal" too
    (In("username", ("u1", "u2", "zz")), lambda i: i in (1, 2)),
    (In("username", ("u1",), negate=True), lambda i: i != 1),
    (In("username", ()), lambda i: False),
    (Between("occurred_at", T0 + timedelta(seconds=2), T0 + timedelta(seconds=3)), lambda i: 4 <= i <= 7),
    (IsNull("ip"), lambda i: i % 5 == 0),
    (IsNull("credential_id", negate=True), lambda i: i % 2 == 1),
    (Not(Cmp("successful", "=", True)), lambda i: i % 3 == 0),
    (Or((Cmp("username", "=", "u3"), And((IsNull("ip"), Cmp("username", "<", "u2"))))), lambda i: i in (0, 10, 15, 3)),
    (Cmp("role", "=", "admin"), lambda i: i % 2 == 1),
    (Cmp("ip", "=", None), lambda i: i % 5 == 0),
])
def test_criteria_match_a_python_reference(store: Store, ids: list[int], expr: Any, expected: Any) -> None:
    want = [ids[i] for i in range(20) if expected(i)]
    assert sorted(_ids(store, EventQuery(where=expr))) == sorted(want)
    with store.session() as s:
        assert count_events(s, expr) == len(want)


def test_keyset_pages_cover_everything_once(store: Store, ids: list[int]) -> None:
    seen: list[int] = []
    after = None
    while True:
        with store.session() as s:
            page = event_rows(s, EventQuery(limit=3, after=after))
        if not page:
            break
        seen += [e.id for e in page]
        after = (page[-1].occurred_at, page[-1].id)
    assert seen == sorted(ids, reverse=True)


def test_keyset_with_mixed_directions(store: Store, ids: list[int]) -> None:
    order = (("username", False), ("id", True))
    full = _ids(store, EventQuery(order=order))
    with store.session() as s:
        pivot = next(e for e in event_rows(s, EventQuery(order=order)) if e.id == full[6])
        rest = [e.id for e in event_rows(s, EventQuery(order=order, after=(pivot.username, pivot.id)))]
    assert rest == full[7:]


def test_count_cap(store: Store, ids: list[int]) -> None:
    with store.session() as s:
        assert count_events(s, None, cap=5) == 5
        assert count_events(s, all_of(None, Cmp("username", "=", "u1"))) == 1


def test_unknown_field_is_refused(store: Store) -> None:
    with pytest.raises(UnknownField):
        _ids(store, EventQuery(where=Cmp("password", "=", "x")))


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive"), store.session() as s:
        ingest_events(s, [{"username": "x", "occurred_at": datetime(2026, 1, 1)}])


def test_reset_restarts_ids_on_every_backend(store: Store) -> None:
    for _ in range(2):
        with store.session() as s:
            assert create_tenant(s, name="t").id == 1
        store.reset()


def test_remembered_counts_follow_ingests_and_resets(store: Store, ids: list[int]) -> None:
    where = Cmp("successful", "=", False)
    with store.session() as s:
        before = count_events(s, where)
        assert count_events(s, where) == before == 7
        ingest_events(s, [{"username": "x", "occurred_at": T0, "successful": False}])
    with store.session() as s:
        assert count_events(s, where) == 8
    store.reset()  # same number of rows again, ids restarting at 1: the count must not be the old one
    with store.session() as s:
        ingest_events(s, [{"username": f"u{i}", "occurred_at": T0, "successful": True} for i in range(21)])
    with store.session() as s:
        assert count_events(s, where) == 0


def test_a_store_made_before_a_column_existed_gains_it(store: Store) -> None:
    """A newer model's nullable column (people.lti_context_id) is added to an existing store's table."""
    from sqlalchemy import inspect, text

    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE people DROP COLUMN lti_context_id"))
    assert "lti_context_id" not in {c["name"] for c in inspect(store.engine).get_columns("people")}
    store.create_schema()
    assert "lti_context_id" in {c["name"] for c in inspect(store.engine).get_columns("people")}
    with store.session() as s:
        person = create_person(s, first_name="a", last_name="b", email="e", lti_context_id="x")
        assert person.lti_context_id == "x"


def test_bounds_are_tightened_to_one_per_side() -> None:
    """SQLite starts an index range at one bound: the tightest lower and upper bound of a field are kept
    (a retention bound beside a window made empty windows scan the whole retention period)."""
    from datetime import UTC, datetime

    from loginaudit.storage.criteria import And, Cmp, In, tightened

    t = [datetime(2026, 11, d, tzinfo=UTC) for d in (1, 5, 9, 12)]
    other = In("ip", ("10.0.0.1",))
    got = tightened(And((Cmp("occurred_at", ">=", t[0]), And((other, Cmp("occurred_at", ">", t[1]))),
                         Cmp("occurred_at", "<", t[3]), Cmp("occurred_at", "<=", t[2]), Cmp("id", ">", 7))))
    assert isinstance(got, And)
    assert set(got.exprs) == {other, Cmp("occurred_at", ">", t[1]), Cmp("occurred_at", "<=", t[2]), Cmp("id", ">", 7)}
    assert tightened(Cmp("id", ">", 1)) == Cmp("id", ">", 1)
    same = tightened(And((Cmp("id", ">=", 3), Cmp("id", ">", 3))))
    assert same == Cmp("id", ">", 3)  # strict wins at the same value


def test_the_seed_writes_events_in_time_order_as_a_log_grows(store: Store) -> None:
    """Ids follow time, so a time window's rows lie together in the table (the walks' pages read a few
    table pages, not one per row); only a logout after midnight lands among the next day's events."""
    from sqlalchemy import select

    from loginaudit.seed import WINDOW, seed
    from loginaudit.storage.models import LoginEvent

    seed(store, events=3000, seed=3, anchor=T0)
    with store.session() as s:
        times = list(s.scalars(select(LoginEvent.occurred_at).order_by(LoginEvent.id)))
    assert len(times) == 3000 and times[0] > T0 - WINDOW and times[-1] < T0
    descents = sum(1 for earlier, later in pairwise(times) if later < earlier)
    assert descents <= WINDOW.days - 2  # at most one per boundary between the 29 days


def test_a_write_lock_not_had_is_sqlalchemys_operational_error(tmp_path: Any) -> None:
    """BEGIN is said on the driver connection (db._sqlite_begin); a lock it cannot get still raises
    SQLAlchemy's OperationalError, which errors.py answers as a 503 'store is busy', never a 500."""
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    url = f"sqlite:///{tmp_path / 'locked.db'}"
    Store(url).create_schema()
    holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's writer
    waiting = Store(url)
    event.listen(waiting.engine, "connect", lambda conn, _record: conn.execute("PRAGMA busy_timeout=50"))
    with pytest.raises(OperationalError, match="database is locked"), waiting.session(write=True):
        pass
    holder.execute("ROLLBACK")
    with waiting.session(write=True):  # the connection that failed to begin is usable again
        pass


def test_an_events_person_is_its_credentials_on_every_path_that_writes_events(store: Store,
                                                                                 ids: list[int]) -> None:
    """events._joined finds a login's person by the event's own person_id: the seed, a scenario and
    ingest (the `ids` fixture) all write the credential's person there, and nothing without one."""
    from sqlalchemy import func, select

    from loginaudit import scenario
    from loginaudit.seed import seed
    from loginaudit.storage.models import Credential, LoginEvent

    seed(store, events=500, seed=5, anchor=T0)
    scenario.load(store, scenario.read(scenario.builtin_names()[0]))
    with store.session() as s:
        by_credential = s.scalar(select(func.count()).select_from(LoginEvent).join(
            Credential, LoginEvent.credential_id == Credential.id).where(
            LoginEvent.person_id.is_distinct_from(Credential.person_id)))
        without = s.scalar(select(func.count()).select_from(LoginEvent).where(
            LoginEvent.credential_id.is_(None), LoginEvent.person_id.is_not(None)))
        linked = s.scalar(select(func.count()).select_from(LoginEvent).where(LoginEvent.credential_id.is_not(None)))
    assert (by_credential, without) == (0, 0)
    assert linked and linked > 500  # the seed's, the scenario's and ingest's events were all looked at


def test_each_backend_builds_its_own_indexes_and_drops_those_an_older_version_built(store: Store) -> None:
    """SQLite's SSOJet index holds the page's columns; PostgreSQL's may not (a user agent of 2,000
    characters would not fit a B-tree entry), so each backend has its own and a store made by an older
    version loses what no longer belongs on it, gaining what does."""
    from sqlalchemy import inspect, text

    from loginaudit.storage.models import RETIRED_INDEXES, indexes_on

    def names() -> set[str]:
        return {str(ix["name"]) for ix in inspect(store.engine).get_indexes("login_events")}

    table = LoginEvent.__table__
    dialect = store.engine.dialect.name
    built = {str(ix.name) for ix in indexes_on(table, dialect)}
    kept_elsewhere = {str(ix.name) for ix in table.indexes} - built
    assert ("ix_events_person_login_cover" in built) == (dialect == "sqlite")
    assert ("ix_events_person_login_time_id" in built) == (dialect == "postgresql")
    assert built <= names() and not names() & kept_elsewhere
    with store.engine.begin() as conn:  # what the previous version built
        conn.execute(text("CREATE INDEX ix_events_credential_login_id ON login_events "
                          "(credential_id, event_type, successful, id)"))
        conn.execute(text("DROP INDEX ix_events_credential_login_cover"))
        for name in kept_elsewhere:
            conn.execute(text(f"CREATE INDEX {name} ON login_events (person_id, event_type)"))
    assert "ix_events_credential_login_id" in RETIRED_INDEXES["login_events"]
    store.create_schema()
    assert built <= names() and not names() & (kept_elsewhere | {"ix_events_credential_login_id"})


def test_an_index_another_process_built_meanwhile_does_not_stop_the_start(store: Store,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Two server processes upgrading one store at once: each reads which indexes exist, then builds the
    missing ones; the slower one finds them built (as if it read the list before the other built them)."""
    import sqlalchemy

    from loginaudit.storage import db

    class Unaware:  # the index list as read before the other process built every index
        def __init__(self, engine: Any) -> None:
            self.inspector = sqlalchemy.inspect(engine)

        def get_indexes(self, table: str) -> list[Any]:
            return []

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inspector, name)

    monkeypatch.setattr(db, "inspect", Unaware)
    store.create_schema()  # every index already exists: built again, it would raise
    monkeypatch.undo()
    assert {str(ix["name"]) for ix in sqlalchemy.inspect(store.engine).get_indexes("login_events")} >= {
        "ix_events_credential_login_cover", "ix_events_time_cover"}
