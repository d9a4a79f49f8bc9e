"""Engine and session management for the shared store (SQLite by default, any SQLAlchemy URL)."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, delete, event, inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker
from sqlalchemy.schema import CreateIndex

from .models import RETIRED_INDEXES, ApiToken, Base, Credential, LoginEvent, Person, Setting, Tenant, indexes_on
from .settings import bump_generation, read_generation

log = logging.getLogger(__name__)
DEFAULT_URL = "sqlite:///loginaudit.db"
URL_ENV = "LOGINAUDIT_DATABASE_URL"


def database_url(url: str | None = None) -> str:
    """The explicit URL, else $LOGINAUDIT_DATABASE_URL, else a SQLite file in the working dir."""
    return url or os.environ.get(URL_ENV) or DEFAULT_URL


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy's `begin` event below says BEGIN, not the driver
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer; several processes share it
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


IMMEDIATE = "loginaudit_immediate"  # execution option of a connection that will write


def _sqlite_begin(conn: Connection) -> None:
    """A writing transaction takes SQLite's write lock at BEGIN, waiting for it (busy_timeout): a
    deferred one that read first gets SQLITE_BUSY at once when another process writes, whatever the
    timeout ("database is locked" under two workers). Said on the driver connection: every request
    begins a transaction, and SQLAlchemy's statement execution costs ~20 µs more than sqlite3's."""
    begin = "BEGIN IMMEDIATE" if conn.get_execution_options().get(IMMEDIATE) else "BEGIN"
    _driver_says(conn.connection.driver_connection, begin)  # type: ignore[arg-type]


def _driver_says(driver: sqlite3.Connection, statement: str) -> None:
    """A statement said on the driver connection, its error raised as SQLAlchemy would raise it
    ("database is locked" is a 503: errors.py)."""
    try:
        driver.execute(statement)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


WROTE = "loginaudit.wrote"  # Session.info flag: this transaction changed rows


def _wrote(session: Session, _context: Any) -> None:
    session.info[WROTE] = True


def _wrote_by_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[WROTE] = True


def analyze(conn: Connection) -> None:
    """Planner statistics, complete: without them SQLite picks between equally shaped indexes by
    creation order (tenant instead of person for SSOJet's page: 270 ms, not 0.6), and sampled ones
    (analysis_limit=1000) estimated 1,000 events per tenant where there were 333,000, so Ingedata's
    one-account page took the tenant index (89 ms, not 2). Complete: 0.84 s on 1M events."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA analysis_limit=0")
    conn.exec_driver_sql("ANALYZE")


class _KeptRead:
    """The event loop's read Session on SQLite, kept between requests with its SQLAlchemy transaction open
    and the driver connection in autocommit: each read says BEGIN and COMMIT (or ROLLBACK) on the driver
    itself. SQLAlchemy's own begin and commit of a Session (its connection, the transaction's state
    machine and events) were ~40 of a read's ~50 µs of transaction overhead; sqlite3's BEGIN and COMMIT
    are ~3. The Session never commits by itself (autocommit off, nothing calls commit on it), so its
    open transaction only tells SQLAlchemy it may use the connection; the driver's transaction is the
    one the read runs in. Anything unusual (the Session's transaction no longer active after a failed
    flush, the connection invalidated) and it is thrown away; the next read makes a new one."""

    def __init__(self, conn: Connection, sessions: sessionmaker[Session]) -> None:
        self.conn, self.busy, self.closed = conn, False, True  # open once set up (close() needs it all)
        try:
            self.session = sessions(bind=conn, join_transaction_mode="control_fully")
            self.session.begin()
            self.session.connection()  # the engine's `begin` event says BEGIN on the driver: end it at once
            self.driver: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
            if self.driver.in_transaction:
                _driver_says(self.driver, "COMMIT")
        except BaseException:
            conn.close()
            raise
        self.closed = False

    def usable(self) -> bool:
        """Between reads: the connection open, the Session's transaction active, the driver's ended."""
        transaction = self.session.get_transaction()
        return (not self.conn.closed and not self.conn.invalidated and transaction is not None
                and transaction.is_active and not self.driver.in_transaction)

    def read(self, transaction: Callable[[Session, bool], Iterator[Session]]) -> Iterator[Session]:
        s, driver = self.session, self.driver
        self.busy = True
        s.info.clear()
        try:
            _driver_says(driver, "BEGIN")
            yield from transaction(s, False)
            _driver_says(driver, "COMMIT")
        except BaseException:
            if driver.in_transaction:
                driver.execute("ROLLBACK")
            raise
        finally:
            if s.identity_map:  # pending, changed and deleted objects went with the commit or the rollback
                s.expunge_all()
            s.info.clear()
            self.busy = False

    def __del__(self) -> None:
        """Its thread ended (its thread-local let it go): back to the pool now, not when the garbage
        collector finds the Session's reference cycles (a test client's thread per request ran the
        pool dry that way)."""
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self.driver.in_transaction:
                self.driver.execute("ROLLBACK")
            self.session.close()
            self.conn.close()
        except (DBAPIError, sqlite3.Error):  # a connection already broken or closed: nothing of it to keep
            log.debug("kept read connection closed with an error", exc_info=True)


class Store:
    """One database: schema management and transactional sessions."""

    def __init__(self, url: str | None = None) -> None:
        self.url = database_url(url)
        self.engine = make_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self._sessions, "after_flush", _wrote)
        event.listen(self._sessions, "do_orm_execute", _wrote_by_statement)
        self._kept = threading.local()  # the event loop's connection and Session for inline reads (_KeptRead)

    def create_schema(self) -> None:
        """Tables and every index, also an index a killed bulk load dropped (queries would scan
        forever) or one a newer version added to an existing store; an index it replaced is dropped."""
        Base.metadata.create_all(self.engine)
        self._add_missing_columns()
        created = False
        dialect = self.engine.dialect.name
        for table in Base.metadata.sorted_tables:
            present = {str(ix["name"]) for ix in inspect(self.engine).get_indexes(table.name)}
            built = indexes_on(table, dialect)
            # one of ours this backend does not keep (`only`), or no version keeps now: IF EXISTS, as
            # several workers starting on one database may each drop it
            unkept = {str(ix.name) for ix in table.indexes} - {str(ix.name) for ix in built}
            for name in sorted((unkept | set(RETIRED_INDEXES.get(table.name, ()))) & present):
                with self.engine.begin() as conn:
                    conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")  # a name from our own lists
            for index in built:
                if index.name in present:
                    continue
                try:
                    with self.engine.begin() as conn:  # IF NOT EXISTS: a server process starting beside
                        # this one on the same store may have built it since `present` was read
                        conn.execute(CreateIndex(index, if_not_exists=True))
                    created = True
                except IntegrityError as exc:  # e.g. duplicate event uuids stored before they were unique
                    log.warning("index %s not created: %s", index.name, exc.orig)
        if created:
            with self.engine.begin() as conn:
                analyze(conn)


    def _add_missing_columns(self) -> None:
        """A nullable column a newer version added to the model is added to an existing store's
        table (its rows get NULL), and a string column it widened is widened (PostgreSQL enforces
        lengths, SQLite does not), so a store made by an older version keeps working."""
        inspector = inspect(self.engine)
        for table in Base.metadata.sorted_tables:
            stored: dict[str, Any] = {c["name"]: c for c in inspector.get_columns(table.name)}
            present = set(stored)
            for column in table.columns:
                wanted = getattr(column.type, "length", None)
                have = getattr((stored.get(column.name) or {}).get("type"), "length", None)
                if self.engine.dialect.name == "postgresql" and wanted and have and have < wanted:
                    with self.engine.begin() as conn:
                        conn.execute(text(f'ALTER TABLE {table.name} ALTER COLUMN "{column.name}" '
                                          f"TYPE VARCHAR({int(wanted)})"))
                    log.info("widened %s.%s to %s characters", table.name, column.name, wanted)
                if column.name in present or not column.nullable:
                    continue
                kind = column.type.compile(dialect=self.engine.dialect)
                with self.engine.begin() as conn:
                    conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))
                log.info("added column %s.%s to an existing store", table.name, column.name)

    def _kept_read(self) -> _KeptRead | None:
        """What a read on SQLite's event loop reuses between requests, or None where it cannot.

        A vendor read on SQLite runs inline on the event loop (framework.py), one at a time and never
        across an await, so that thread keeps one connection and one Session on it rather than check a
        connection out of the pool and begin and commit a Session per request. Not in a worker thread
        (no running loop: there can be many), not for a session opened inside another (it is busy), not
        on PostgreSQL."""
        if self.engine.dialect.name != "sqlite":
            return None
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return None
        kept: _KeptRead | None = getattr(self._kept, "read", None)
        if kept is not None and kept.busy:
            return None
        if kept is None or not kept.usable():
            if kept is not None:
                kept.close()
            kept = self._kept.read = _KeptRead(self.engine.connect(), self._sessions)
        return kept

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A session committed on success and rolled back on error; one that wrote anything moves
        the store's generation in the same transaction. Say `write` when it will write: on SQLite
        it then waits for the write lock up front instead of failing halfway. A read on SQLite's event
        loop runs in the Session that thread keeps (`_KeptRead`), its transaction begun and ended on the
        driver connection; then its objects are let go (as closing would) and its `info` emptied, so no
        request sees another's state."""
        kept = None if write else self._kept_read()
        if kept is None:
            with self._sessions() as own, own.begin():
                yield from self._transaction(own, write)
            return
        yield from kept.read(self._transaction)

    @staticmethod
    def _transaction(s: Session, write: bool) -> Iterator[Session]:
        if write:
            s.connection(execution_options={IMMEDIATE: True})
        yield s
        s.flush()  # what would flush at commit flushes now, so after_flush has marked it
        if s.info.pop(WROTE, False):
            bump_generation(s)

    def reset(self) -> None:
        """Delete every row, keeping the schema; ids start again at 1 on every backend, so a test's
        arranged records get the same ids on SQLite and PostgreSQL."""
        if self.engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            with self.session(write=True) as s:
                s.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                s.info[WROTE] = True  # raw SQL is not seen by the listeners: the session moves the generation
            return
        with self.session(write=True) as s:  # SQLite reuses max(rowid)+1: an emptied table starts at 1
            for model in (LoginEvent, ApiToken, Credential, Person, Setting):
                s.execute(delete(model))
            s.execute(delete(Tenant).where(Tenant.parent_id.is_not(None)))
            s.execute(delete(Tenant))

    def generation(self) -> str | None:
        """The store's generation (see settings.generation) outside any transaction, on the event loop's
        kept connection between its reads, else on a pooled one: the response cache asks it on every
        request (a pool checkout and return was ~5% of Unleash's read)."""
        kept = self._kept_read()
        if kept is not None:
            return read_generation(kept.driver, "qmark")  # autocommit between reads: no snapshot is held
        raw = self.engine.raw_connection()
        try:
            return read_generation(raw, self.engine.dialect.paramstyle)
        finally:
            raw.close()  # back to the pool, which rolls back whatever the driver began

    def dispose(self) -> None:
        kept: _KeptRead | None = getattr(self._kept, "read", None)
        if kept is not None:
            kept.close()
            self._kept.read = None
        self.engine.dispose()


_current: Store | None = None


def bind(store: Store) -> None:
    """Make `store` the one the handlers of this process read and write."""
    global _current
    _current = store


def current() -> Store:
    if _current is None:
        raise RuntimeError("no store bound; create the app with loginaudit.app.create_app()")
    return _current
