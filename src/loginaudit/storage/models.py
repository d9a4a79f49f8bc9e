"""The canonical model every vendor API is a projection of.

One tenant (a customer's instance: Canvas root account, Ingedata organisation, SSOJet application,
QRadar console) has people; a person holds credentials (a login name on a tenant: Canvas's
pseudonym, Ingedata's account, QRadar's user); login events happen to credentials (or to an unknown
login name, for failures).  Vendor API tokens are stored too, so several server processes on one
database agree on who may call what.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def only(dialect: str, index: Index) -> Index:
    """An index built on one backend only: create_all skips it elsewhere, and `indexes_on` leaves it
    out for every path that builds or drops indexes one by one."""
    index.info["dialect"] = dialect
    return index.ddl_if(dialect=dialect)


def indexes_on(table: Table, dialect: str) -> list[Index]:
    """The indexes of `table` a store of `dialect` holds (all but those `only` gives another backend),
    by name."""
    return sorted((ix for ix in table.indexes if ix.info.get("dialect", dialect) == dialect),
                  key=lambda ix: str(ix.name))


class UTCDateTime(TypeDecorator[datetime]):
    """timestamptz on PostgreSQL; naive UTC text on SQLite, re-attached to UTC on read.

    Every writer goes through this type, so SQLite's lexicographic comparisons stay correct.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; attach a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        """On SQLite, parse the stored text and attach UTC in one step (a page reads up to three
        timestamps per row; the generic TypeDecorator chain costs twice as much)."""
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse = datetime.fromisoformat

        def process(value: str | None) -> datetime | None:
            return None if value is None else parse(value).replace(tzinfo=UTC)
        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


BigIntPK = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrement needs INTEGER PRIMARY KEY


def _uuid() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    pass


class Tenant(Base):
    """A customer's instance of a vendor product; `parent_id` makes Canvas sub-accounts."""

    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), default=_uuid, unique=True)
    name: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)  # SSOJet application client id
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    sis_id: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Person(Base):
    """A human; vendors call it user (Canvas, SSOJet) or person (Ingedata)."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), default=_uuid, unique=True)
    first_name: Mapped[str] = mapped_column(String(128))
    middle_name: Mapped[str | None] = mapped_column(String(128))
    last_name: Mapped[str] = mapped_column(String(128))
    email: Mapped[str] = mapped_column(String(255))
    sis_id: Mapped[str | None] = mapped_column(String(255))
    lti_context_id: Mapped[str | None] = mapped_column(String(255))  # Canvas users.lti_context_id
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Credential(Base):
    """A login name of a person on a tenant (Canvas pseudonym, Ingedata account, QRadar user)."""

    __tablename__ = "credentials"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    login: Mapped[str] = mapped_column(String(255), index=True)
    auth_method: Mapped[str] = mapped_column(String(32), default="password")
    role: Mapped[str] = mapped_column(String(64), default="employee")
    account_type: Mapped[str] = mapped_column(String(32), default="personal_account")
    sis_id: Mapped[str | None] = mapped_column(String(255))
    integration_id: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Outer, not inner: behind another joined load (token -> credential -> person) an inner join is
    # rendered nested, `LEFT JOIN (credentials JOIN people JOIN tenants)`, which SQLite materialises
    # by scanning every credential on each query (9 ms per token lookup, 26 ms per 50 events on 5k
    # people); chained LEFT JOINs use the primary keys (0.08 ms, 0.5 ms). The keys are NOT NULL anyway.
    person: Mapped[Person] = relationship(lazy="joined")
    tenant: Mapped[Tenant] = relationship(lazy="joined")


class LoginEvent(Base):
    """One login, logout or failed login attempt.

    `tenant_id` and `person_id` are denormalised from the credential so the hot vendor queries
    ("events of X between t1 and t2, newest first") are single index range scans.
    """

    __tablename__ = "login_events"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), default=_uuid)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    credential_id: Mapped[int | None] = mapped_column(ForeignKey("credentials.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"))
    username: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(16), default="login")  # login | logout
    successful: Mapped[bool] = mapped_column(Boolean, default=True)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    auth_method: Mapped[str] = mapped_column(String(32), default="password")
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(128))
    device: Mapped[str | None] = mapped_column(String(64))
    os: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(36))  # Canvas page_view
    client_name: Mapped[str | None] = mapped_column(String(128))  # the client as the IdP recorded it (SSOJet Name)
    role: Mapped[str | None] = mapped_column(String(64))  # the role at the time, when not the credential's today

    credential: Mapped[Credential | None] = relationship()

    __table_args__ = (
        # Covers the every-vendor visibility filter (logins of known credentials) too, so a deep offset
        # page (QRadar's Range) skips its rows in the index: items=500000-500049 costs 42 ms, not 1.2 s.
        Index("ix_events_time_cover", "occurred_at", "id", "event_type", "credential_id"),
        Index("ix_events_credential_time_id", "credential_id", "occurred_at", "id"),
        # Logins in a time window (QRadar's login_attempts: every filter and its Content-Range count): the
        # scan covers the window's logins only, where the time index above held its logouts too and
        # tested each row's event_type (a one-hour window's count 97 -> 61 µs in SQLite; QRadar's walk
        # in-process 473-489 -> 441-448 µs; Entra's sign-ins take it too). +48 MB on 1M events.
        Index("ix_events_type_time", "event_type", "occurred_at", "id", "credential_id"),
        # An account's successful logins in id order (Ingedata's account_logins filtered by account, its
        # default sort): the page stops at its 50th row; by ix_events_credential_time_id SQLite read and
        # sorted all of the account's ~164 events (439 -> 165 µs a page on 1M events; ~1.2 s to build there).
        # It also holds what the page shows and scopes by (session 17): an account's logins lie across the
        # whole history, so each row was a table page of its own, read from the OS's cache (the walk's
        # system CPU was 180 µs a request, Unleash's 45). 51 rows 270 -> 74 µs; 21 -> 68 MB on 1M events.
        Index("ix_events_credential_login_cover", "credential_id", "event_type", "successful", "id",
              "tenant_id", "role", "occurred_at", "ip"),
        Index("ix_events_person_time_id", "person_id", "occurred_at", "id"),
        # A person's successful logins newest first (every SSOJet login-log query): the table is read for
        # the page's 51 rows only, not for the person's logouts and failures in between (258 -> 193 µs).
        # On SQLite it covers the page (session 17, as the account index above): 51 rows 240 -> 95 µs,
        # 47 -> 170 MB on 1M events. PostgreSQL keeps the narrow one: a B-tree entry there must fit a
        # third of a page, and a user agent may be 2,000 characters.
        only("postgresql", Index("ix_events_person_login_time_id", "person_id", "event_type", "successful",
                                 "occurred_at", "id")),
        only("sqlite", Index("ix_events_person_login_cover", "person_id", "event_type", "successful",
                             "occurred_at", "id", "tenant_id", "city", "country", "ip", "user_agent")),
        Index("ix_events_tenant_time_id", "tenant_id", "occurred_at", "id"),
        # A tenant's events in id order (Ingedata's default sort, scoped to the token's organization):
        # without it SQLite takes the time index above and sorts a third of 1M rows (2.3 s, not 0.1 ms).
        Index("ix_events_tenant_id", "tenant_id", "id"),
        # Ingest is idempotent on the client's uuid: a retried batch stores nothing twice.
        Index("ux_events_uuid", "uuid", unique=True),
    )


# Indexes an older version built, dropped from a store it made (a successor now does their work).
RETIRED_INDEXES: dict[str, tuple[str, ...]] = {"login_events": ("ix_events_credential_login_id",)}


class ApiToken(Base):
    """A vendor credential issued through the control plane (token, key, or basic password)."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    vendor: Mapped[str] = mapped_column(String(32))
    secret: Mapped[str] = mapped_column(String(2048), unique=True)  # Entra's access tokens are JWTs
    kind: Mapped[str] = mapped_column(String(32))
    credential_id: Mapped[int | None] = mapped_column(ForeignKey("credentials.id"))
    grants: Mapped[list[str]] = mapped_column(JSON, default=list)
    label: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    credential: Mapped[Credential | None] = relationship(lazy="joined")


class Setting(Base):
    """Shared key/value settings (the clock), so every worker process sees the same value."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
