"""Writing and reading the canonical records: tenants, people, credentials, events, tokens."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Row, Select, bindparam, func, insert, select, text
from sqlalchemy.orm import Session

from ..bounded import unstorable_at
from . import clock
from .events import as_tuples
from .memo import remembered_each
from .models import ApiToken, Base, Credential, LoginEvent, Person, Tenant

MAX_ID = 2**63 - 1  # ids and offsets are signed 64-bit on every backend


def as_id(text: str) -> int | None:
    """A client-supplied decimal id, or None when it is not one (or could not be a stored id)."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:  # no int() on 5,000 digits
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def storable_text(*values: str) -> bool:
    """Whether the store could hold all these strings. Writes refuse what it cannot keep (NUL,
    lone surrogates) on every backend, so such a string equals no stored one."""
    return all(unstorable_at(v) < 0 for v in values)


def _uuid() -> str:
    return str(uuidlib.uuid4())


class NotFound(LookupError):
    """A referenced record does not exist."""


M = TypeVar("M", bound=Base)


def noun(model: type[Base]) -> str:
    """What an error message calls a record of `model`."""
    return {Person: "person", LoginEvent: "event", ApiToken: "token"}.get(model, str(model.__tablename__)[:-1])


def _get(session: Session, model: type[M], ident: int) -> M:
    row = session.get(model, ident)
    if row is None:
        raise NotFound(f"{noun(model)} {ident} not found")
    return row


class Conflict(Exception):
    """The change would orphan records, or a chosen id or unique value is taken."""


def claim_ids(session: Session, model: type[Base], ids: Sequence[int]) -> None:
    """Conflict when any chosen id is taken (by a stored row or twice in one request)."""
    if len(set(ids)) != len(ids):
        raise Conflict(f"{noun(model)} id {next(i for i in ids if ids.count(i) > 1)} is given twice")
    pk = model.__table__.c.id
    for start in range(0, len(ids), 1000):
        taken = session.scalar(select(pk).where(pk.in_(ids[start:start + 1000])).limit(1))
        if taken is not None:
            raise Conflict(f"{noun(model)} id {taken} is taken")


def after_chosen_ids(session: Session, model: type[Base]) -> None:
    """Automatic ids continue above the highest used: PostgreSQL's sequence does not see explicit ids."""
    if session.get_bind().dialect.name == "postgresql":
        table = model.__tablename__
        session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"(SELECT max(id) FROM {table}))"))


def _chosen(session: Session, model: type[Base], ident: int | None) -> None:
    if ident is not None:
        claim_ids(session, model, [ident])


def create_tenant(session: Session, *, name: str, client_id: str | None = None,
                  parent_id: int | None = None, time_zone: str = "UTC", sis_id: str | None = None, active: bool = True,
                  created_at: datetime | None = None, uuid: str | None = None, id: int | None = None) -> Tenant:
    if parent_id is not None:
        _get(session, Tenant, parent_id)
    _chosen(session, Tenant, id)
    tenant = Tenant(id=id, uuid=uuid or _uuid(), name=name, parent_id=parent_id, time_zone=time_zone, sis_id=sis_id,
                    active=active,
                    created_at=created_at or clock.now(session), client_id=client_id or "")
    session.add(tenant)
    session.flush()
    if id is not None:
        after_chosen_ids(session, Tenant)
    if not client_id:
        tenant.client_id = f"app_{tenant.uuid.replace('-', '')[:20]}"
    return tenant


def create_person(session: Session, *, first_name: str, last_name: str, email: str,
                  middle_name: str | None = None, sis_id: str | None = None, active: bool = True,
                  created_at: datetime | None = None, uuid: str | None = None,
                  lti_context_id: str | None = None, id: int | None = None) -> Person:
    _chosen(session, Person, id)
    at = created_at or clock.now(session)
    person = Person(id=id, uuid=uuid or _uuid(), first_name=first_name, middle_name=middle_name, last_name=last_name,
                    email=email, sis_id=sis_id, lti_context_id=lti_context_id, active=active, created_at=at,
                    updated_at=at)
    session.add(person)
    session.flush()
    if id is not None:
        after_chosen_ids(session, Person)
    return person


def create_credential(session: Session, *, person_id: int, tenant_id: int, login: str,
                      auth_method: str = "password", role: str = "employee",
                      account_type: str = "personal_account", sis_id: str | None = None,
                      integration_id: str | None = None, active: bool = True, enabled: bool = True,
                      created_at: datetime | None = None, expires_at: datetime | None = None,
                      id: int | None = None) -> Credential:
    _get(session, Person, person_id)
    _get(session, Tenant, tenant_id)
    _chosen(session, Credential, id)
    at = created_at or clock.now(session)
    cred = Credential(id=id, person_id=person_id, tenant_id=tenant_id, login=login, auth_method=auth_method,
                      role=role, account_type=account_type, sis_id=sis_id, integration_id=integration_id,
                      active=active, enabled=enabled, created_at=at, updated_at=at, expires_at=expires_at)
    session.add(cred)
    session.flush()
    if id is not None:
        after_chosen_ids(session, Credential)
    return cred


EVENT_FIELDS = ("occurred_at", "event_type", "successful", "failure_reason", "auth_method", "ip",
                "user_agent", "country", "city", "device", "os", "request_id", "client_name", "uuid",
                "role")


def ingest_events(session: Session, events: Iterable[Mapping[str, Any]]) -> list[int]:
    """Store a batch of canonical events atomically and return their ids, in input order.

    An event names either a `credential_id` (person, tenant, login name and default auth method
    follow from it) or just a `username` (a failed attempt for a name nobody holds). Idempotent on
    `uuid`: an event whose uuid is stored already (a retried batch) is not stored again, and its
    id is the stored one's. A concurrent twin can still win the race: IntegrityError, retry then.
    """
    creds: dict[int, Credential] = {}
    rows: list[dict[str, Any]] = []
    for ev in events:
        row: dict[str, Any] = {k: ev.get(k) for k in EVENT_FIELDS}
        if ev.get("id") is not None:
            row["id"] = ev["id"]
        row["uuid"] = row["uuid"] or _uuid()
        row["event_type"] = row["event_type"] or "login"
        row["successful"] = True if row["successful"] is None else row["successful"]
        cid = ev.get("credential_id")
        if cid is not None:
            cred = creds.get(cid) or _get(session, Credential, cid)
            creds[cid] = cred
            row.update(credential_id=cid, person_id=cred.person_id, tenant_id=cred.tenant_id,
                       username=ev.get("username") or cred.login)
            row["auth_method"] = row["auth_method"] or cred.auth_method
        elif ev.get("username"):
            row.update(credential_id=None, person_id=None, tenant_id=None, username=ev["username"])
            row["auth_method"] = row["auth_method"] or "password"
        else:
            raise ValueError("an event needs a credential_id or a username")
        rows.append(row)
    if not rows:
        return []
    ids = _stored_ids(session, [r["uuid"] for r in rows])
    fresh, seen = [], set(ids)
    for row in rows:  # the first of each new uuid, in input order
        if row["uuid"] not in seen:
            seen.add(row["uuid"])
            fresh.append(row)
    chosen = [r for r in fresh if r.get("id") is not None]
    if chosen:
        claim_ids(session, LoginEvent, [r["id"] for r in chosen])
    for group in (chosen, [r for r in fresh if r.get("id") is None]):  # one column set per INSERT
        if not group:
            continue
        if group is not chosen:
            group = [{k: v for k, v in r.items() if k != "id"} for r in group]
        stmt = insert(LoginEvent).returning(LoginEvent.id, sort_by_parameter_order=True)
        ids.update(zip((r["uuid"] for r in group), (int(i) for i in session.scalars(stmt, group)), strict=True))
        if group is chosen:  # the automatic ones of this batch continue above them too
            after_chosen_ids(session, LoginEvent)
    return [ids[r["uuid"]] for r in rows]


def _stored_ids(session: Session, uuids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    unique = sorted(set(uuids))
    for start in range(0, len(unique), 1000):  # bound the bound parameters per statement
        chunk = unique[start:start + 1000]
        stmt = select(LoginEvent.uuid, LoginEvent.id).where(LoginEvent.uuid.in_(chunk))
        found.update((row[0], row[1]) for row in session.execute(stmt))
    return found


def issue_token(session: Session, *, vendor: str, kind: str, secret: str, grants: list[str],
                credential_id: int | None = None, label: str | None = None,
                expires_at: datetime | None = None) -> ApiToken:
    if credential_id is not None:
        _get(session, Credential, credential_id)
    token = ApiToken(vendor=vendor, kind=kind, secret=secret, grants=grants, credential_id=credential_id,
                     label=label, expires_at=expires_at, created_at=clock.now(session))
    session.add(token)
    session.flush()
    return token


def usable(cred: Credential, now: datetime) -> bool:
    """Whether a credential can still sign in: active, enabled, not expired, its person active."""
    return (cred.active and cred.enabled and cred.person.active
            and (cred.expires_at is None or cred.expires_at > now))


def find_token(session: Session, vendor: str, secret: str) -> ApiToken | None:
    if not storable_text(vendor, secret):
        return None
    return session.scalar(select(ApiToken).where(ApiToken.vendor == vendor, ApiToken.secret == secret))


def tokens(session: Session, vendor: str | None = None) -> list[ApiToken]:
    stmt = select(ApiToken).order_by(ApiToken.id)
    if vendor is not None and not storable_text(vendor):
        return []
    if vendor:
        stmt = stmt.where(ApiToken.vendor == vendor)
    return list(session.scalars(stmt))


def get_tenant(session: Session, ident: int) -> Tenant:
    return _get(session, Tenant, ident)


def get_person(session: Session, ident: int) -> Person:
    return _get(session, Person, ident)


def get_credential(session: Session, ident: int) -> Credential:
    return _get(session, Credential, ident)


def counts(session: Session) -> dict[str, int]:
    from sqlalchemy import func

    return {m.__tablename__: int(session.scalar(select(func.count()).select_from(m)) or 0)
            for m in (Tenant, Person, Credential, LoginEvent, ApiToken)}


def find(session: Session, model: type[M], **where: Any) -> M | None:
    """The first row of `model` whose columns equal `where`, or None (lookups by sis id, login...)."""
    if not storable_text(*(v for v in where.values() if isinstance(v, str))):
        return None
    stmt = select(model).filter_by(**where).order_by(model.id).limit(1)  # type: ignore[attr-defined]
    return session.scalars(stmt).first()


LOGIN_LOOKUPS = {"sis_id": Credential.sis_id, "integration_id": Credential.integration_id, "login": Credential.login}


def logins_where(session: Session, column: str, value: str, *, casefold: bool = False) -> list[Credential]:
    """Active credentials whose `column` (a LOGIN_LOOKUPS key) equals `value`, lowest id first;
    `casefold` compares LOWER() of both (Canvas's `sis_login_id` lookup)."""
    if not storable_text(value):
        return []
    col = LOGIN_LOOKUPS[column]
    match = func.lower(col) == value.lower() if casefold else col == value
    stmt = select(Credential).where(match, Credential.active.is_(True)).order_by(Credential.id)
    return list(session.scalars(stmt).unique())


def users_of_console(session: Session, tenant_id: int | None) -> list[Row[Any]]:
    """Every credential of a tenant (all tenants for None) with its person's email, lowest id first:
    QRadar's user list of a console."""
    stmt = (select(_CRED.id, _CRED.login, _CRED.role, _PERSON.email)
            .select_from(Credential.__table__.join(Person.__table__, _CRED.person_id == _PERSON.id))
            .order_by(_CRED.id))
    if tenant_id is not None:
        stmt = stmt.where(_CRED.tenant_id == tenant_id)
    return list(cast(Sequence[Row[Any]], session.connection().execute(stmt).all()))


def people_by_uuid_prefix(session: Session, prefix: str) -> list[Person]:
    """People whose uuid starts with `prefix` (hex and dashes only, so no LIKE wildcard reaches SQL)."""
    if not prefix or any(ch not in "0123456789abcdef-" for ch in prefix):
        return []
    return list(session.scalars(select(Person).where(Person.uuid.like(prefix + "%")).order_by(Person.id)))


def members_of(session: Session, tenant_id: int) -> list[tuple[Person, datetime | None]]:
    """The people holding an active login on a tenant, with their newest successful login time there
    (None when never): SSOJet's user list of an application."""
    last = (select(LoginEvent.person_id, func.max(LoginEvent.occurred_at).label("last_login"))
            .where(LoginEvent.tenant_id == tenant_id, LoginEvent.event_type == "login",
                   LoginEvent.successful.is_(True))
            .group_by(LoginEvent.person_id).subquery())
    members = select(Credential.person_id).where(Credential.tenant_id == tenant_id, Credential.active.is_(True))
    stmt = (select(Person, last.c.last_login).outerjoin(last, last.c.person_id == Person.id)
            .where(Person.id.in_(members)).order_by(Person.id))
    return [(row[0], row[1]) for row in session.execute(stmt)]


def first_root_tenant(session: Session) -> Tenant | None:
    """The oldest root tenant (Canvas's `Account.default`)."""
    return session.scalars(select(Tenant).where(Tenant.parent_id.is_(None)).order_by(Tenant.id).limit(1)).first()


def credentials_of(session: Session, person_id: int, active_only: bool = True) -> list[Credential]:
    stmt = select(Credential).where(Credential.person_id == person_id).order_by(Credential.id)
    if active_only:
        stmt = stmt.where(Credential.active.is_(True))
    return list(session.scalars(stmt).unique())


def credentials_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, Credential]:
    """The credentials (with person and tenant) of a page's events, in one query."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return {c.id: c for c in session.scalars(select(Credential).where(Credential.id.in_(wanted))).unique()}


_CRED, _PERSON = Credential.__table__.c, Person.__table__.c
_WITH_PERSON = Credential.__table__.join(Person.__table__, _CRED.person_id == _PERSON.id)
_PAGE_IDS = _CRED.id.in_(bindparam("ids", expanding=True))
# Built once, the page's ids bound per call (building and cache-keying an IN list per page cost ~0.15 ms).
_LOGINS = select(*_CRED, _PERSON.first_name, _PERSON.last_name, _PERSON.created_at.label("person_created_at"),
                 _PERSON.sis_id.label("person_sis_id"), _PERSON.uuid.label("person_uuid")).select_from(
    _WITH_PERSON).where(_PAGE_IDS)
_LOGINS_LABELS = tuple(_LOGINS.selected_columns.keys())
# An active person holding an active login on a tenant, named by the person's uuid (built once).
_HOLDER = select(_PERSON.id).where(
    _PERSON.uuid == bindparam("uuid"), _PERSON.active.is_(True),
    select(_CRED.id).where(_CRED.person_id == _PERSON.id, _CRED.tenant_id == bindparam("tenant"),
                           _CRED.active.is_(True)).exists()).limit(1)
_LOGINS_ANY: Select[Any] = _LOGINS  # rows typed loosely: they become named tuples of their labels


_NAMED = select(_PERSON.id, _PERSON.first_name, _PERSON.last_name, _PERSON.uuid).where(
    _PERSON.id.in_(bindparam("ids", expanding=True)))


def people_named(session: Session, ids: Iterable[int | None]) -> dict[int, tuple[str, str]]:
    """Each person's "first last" name and uuid, by id, as of the session's generation (memo.py): what
    events.PERSON_FACTS a page shows, read once per person rather than joined into every page's rows
    (the join's primary-key lookup per row was ~48 of an Okta page's ~190 µs of SQL)."""
    def load(wanted: list[int]) -> dict[int, tuple[str, str]]:
        if not wanted:
            return {}
        rows = session.connection().execute(_NAMED, {"ids": wanted}).all()
        return {row[0]: (f"{row[1]} {row[2]}", row[3]) for row in rows}
    return remembered_each(session, "people.named", ids, load)


def holder_by_uuid(session: Session, person_uuid: str, tenant_id: int | None) -> int | None:
    """The id of the active person `person_uuid` names, if they hold an active login on `tenant_id`:
    one prebuilt statement (loading the person and their logins as ORM objects was ~9% of an SSOJet page)."""
    if tenant_id is None or not storable_text(person_uuid):
        return None
    found = session.connection().execute(_HOLDER, {"uuid": person_uuid, "tenant": tenant_id}).scalar()
    return None if found is None else int(found)


def login_rows(session: Session, ids: Iterable[int | None]) -> dict[int, Any]:
    """A page's credentials with their person's names, as named tuples (events.as_tuples) from one Core
    query: loading them as ORM objects with person and tenant was 27% of a Canvas page."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = session.connection().execute(_LOGINS_ANY, {"ids": wanted}).all()
    return {row.id: row for row in as_tuples(rows, _LOGINS_LABELS)}


def root_of(session: Session, tenant: Tenant) -> Tenant:
    """The root tenant (Canvas root account) above `tenant`."""
    seen = set()
    while tenant.parent_id is not None and tenant.id not in seen:
        seen.add(tenant.id)
        tenant = get_tenant(session, tenant.parent_id)
    return tenant
