"""Deterministic, realistic demo data: the same seed and anchor give the same store.

Faker makes the people, organisations, addresses and user agents; a seeded `random.Random` makes
the events from small per-person pools (home city, habitual IPs and devices), so millions of events
stay fast to generate while still looking like real login history: office-hours peaks, ~12 %
failures, occasional credential-stuffing bursts from one foreign address, logouts after sessions.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from faker import Faker
from sqlalchemy import Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .registry import VENDORS
from .storage import Store
from .storage.db import analyze
from .storage.models import ApiToken, LoginEvent, indexes_on
from .storage.records import counts, create_credential, create_person, create_tenant, issue_token
from .storage.settings import bump_generation

WINDOW = timedelta(days=30)
BATCH = 20_000
BULK_THRESHOLD = 100_000  # events from which a seed rebuilds the event indexes instead of updating them
events_table = cast(Table, LoginEvent.__table__)
PLACES = (  # (country, city, timezone): plausible geography for users and attackers
    ("United States", "Denver", "America/Denver"), ("United States", "Chicago", "America/Chicago"),
    ("United States", "San Francisco", "America/Los_Angeles"), ("Canada", "Toronto", "America/Toronto"),
    ("United Kingdom", "London", "Europe/London"), ("Germany", "Berlin", "Europe/Berlin"),
    ("France", "Paris", "Europe/Paris"), ("India", "Jaipur", "Asia/Kolkata"),
    ("India", "Bengaluru", "Asia/Kolkata"), ("Philippines", "Manila", "Asia/Manila"),
    ("Brazil", "São Paulo", "America/Sao_Paulo"), ("Australia", "Sydney", "Australia/Sydney"),
    ("Japan", "Tokyo", "Asia/Tokyo"), ("Nigeria", "Lagos", "Africa/Lagos"),
)
ATTACK_PLACES = (("Russia", "Moscow"), ("China", "Shenzhen"), ("Netherlands", "Amsterdam"), ("Vietnam", "Hanoi"))
FAILURES = ("Invalid password", "Invalid password", "Invalid password", "No user found", "User is locked",
            "Password expired")
ROLES = ("employee", "manager", "employee", "contractor")
METHODS = ("password", "password", "password", "oidc", "saml", "google", "github")


@dataclass(frozen=True)
class Habit:
    credential_id: int
    person_id: int
    tenant_id: int
    login: str
    method: str
    ips: tuple[str, ...]
    agents: tuple[str, ...]
    country: str
    city: str


def default_anchor() -> datetime:
    """The start of the current UTC hour: demo history ends just before "now" (never in the future)
    and a seed stays reproducible for the hour; pass `anchor` for full reproducibility."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def _people_count(events: int) -> int:
    return max(12, min(5000, events // 150))


def _arrange(session: Session, fake: Faker, rng: random.Random, n_people: int,
             anchor: datetime) -> list[Habit]:
    start = anchor - timedelta(days=400)
    def new_uuid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    tenants = [create_tenant(session, name=fake.unique.company() + (" University" if i == 0 else ""),
                             time_zone=PLACES[i][2], created_at=start, uuid=new_uuid()) for i in range(3)]
    create_tenant(session, name="School of Engineering", parent_id=tenants[0].id, time_zone=PLACES[0][2],
                  sis_id="ENG", created_at=start, uuid=new_uuid())
    agents = [fake.user_agent() for _ in range(200)]
    habits = []
    for i in range(n_people):
        first, last = fake.first_name(), fake.last_name()
        email = f"{first}.{last}{i}@{fake.free_email_domain()}".lower()
        person = create_person(session, first_name=first, last_name=last, email=email,
                               middle_name=fake.first_name() if rng.random() < 0.2 else None,
                               sis_id=f"S{100000 + i}", created_at=start + timedelta(days=rng.randrange(30)),
                               uuid=new_uuid(), lti_context_id=f"{300000 + i:040x}")  # Canvas: 40 hex
        n_creds = 2 if rng.random() < 0.1 else 1
        for k in range(n_creds):
            tenant = tenants[(i + k) % len(tenants)]
            method = rng.choice(METHODS)
            cred = create_credential(session, person_id=person.id, tenant_id=tenant.id,
                                     login=email if k == 0 else f"{first}{i}".lower(), auth_method=method,
                                     role="admin" if i < len(tenants) else rng.choice(ROLES),
                                     sis_id=f"L{200000 + i * 2 + k}", integration_id=f"I{200000 + i * 2 + k}",
                                     created_at=person.created_at)
            country, city, _ = rng.choice(PLACES)
            ips = tuple(fake.ipv4_public() if rng.random() < 0.8 else fake.ipv6() for _ in range(rng.randint(1, 3)))
            own_agents = tuple(rng.sample(agents, rng.randint(1, 3)))
            habits.append(Habit(cred.id, person.id, tenant.id, cred.login, method, ips, own_agents,
                                country, city))
    return habits


def _office_time(rng: random.Random, day: datetime) -> datetime:
    hour = rng.choice((7, 8, 8, 9, 9, 9, 10, 10, 11, 13, 13, 14, 14, 15, 16, 17, 19, 22))
    return day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60),
                       microsecond=rng.randrange(1000) * 1000)


def _events(rng: random.Random, fake: Faker, habits: list[Habit], anchor: datetime,
            total: int) -> Iterator[dict[str, Any]]:
    """Yield exactly `total` canonical event rows, a day at a time, oldest day first and each day in
    time order, as a login log grows: ids then follow time and a time window's rows lie together in the
    table (in random time order, every row of a 50-event hourly page was a page read of its own: a third
    of an Okta page's SQL time on 1M events). Only a logout that ends after midnight lands among the
    next day's events."""
    guessed = [f"{fake.user_name()}@{fake.free_email_domain()}" for _ in range(300)]  # names attackers try

    def row(h: Habit | None, at: datetime, **kw: Any) -> dict[str, Any]:
        base = {
            "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "occurred_at": at,
            "credential_id": h.credential_id if h else None, "person_id": h.person_id if h else None,
            "tenant_id": h.tenant_id if h else None, "username": h.login if h else kw.pop("username"),
            "event_type": "login", "successful": True, "failure_reason": None,
            "auth_method": h.method if h else "password", "ip": None, "user_agent": None, "country": None,
            "city": None, "device": None, "os": None, "request_id": None, "client_name": None, "role": None,
        }
        base.update(kw)
        return base

    def day_of_events(day: datetime, quota: int) -> list[dict[str, Any]]:
        made: list[dict[str, Any]] = []
        while len(made) < quota:
            h = rng.choice(habits)
            at = _office_time(rng, day)
            if rng.random() < 0.01:  # a credential-stuffing burst from one foreign address
                country, city = rng.choice(ATTACK_PLACES)
                ip, agent = fake.ipv4_public(), "python-requests/2.31.0"
                for _ in range(min(rng.randint(5, 30), quota - len(made))):
                    at += timedelta(seconds=rng.uniform(0.5, 8))
                    target = h if rng.random() < 0.7 else None
                    made.append(row(target, at, successful=False, ip=ip, user_agent=agent, country=country,
                                    city=city, failure_reason="Invalid password" if target else "No user found",
                                    username=rng.choice(guessed)))
                continue
            ok = rng.random() < 0.88
            method = "http_basic" if rng.random() < 0.05 else h.method
            where = dict(ip=rng.choice(h.ips), user_agent=rng.choice(h.agents), country=h.country, city=h.city,
                         auth_method=method)
            made.append(row(h, at, successful=ok, failure_reason=None if ok else rng.choice(FAILURES),
                            request_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)) if ok else None,
                            **where))
            if ok and len(made) < quota and rng.random() < 0.4:
                logout_at = at + timedelta(minutes=rng.randint(5, 480))
                if logout_at < anchor:  # a session still open at the anchor has not logged out yet
                    made.append(row(h, logout_at, event_type="logout", **where))
        made.sort(key=lambda ev: ev["occurred_at"])
        return made

    days = WINDOW.days - 1  # the newest is the day before the anchor's (its logouts may run up to the anchor)
    for n in range(days):
        quota = total * (n + 1) // days - total * n // days
        yield from day_of_events(anchor - timedelta(days=days - n), quota)


class AlreadySeeded(RuntimeError):
    """The store already holds the records this seed makes (same uuids and secrets)."""


def seed(store: Store, *, events: int, seed: int = 1, anchor: datetime | None = None,
         progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Add demo tenants, people, credentials, one token of every vendor kind, and `events` events.

    Deterministic on an empty store; seeding the same seed twice raises AlreadySeeded.
    """
    anchor = anchor or default_anchor()
    rng = random.Random(seed)
    fake = Faker(["en_US"])
    fake.seed_instance(seed)
    try:
        with store.session(write=True) as s:
            habits, tokens = _arrange_all(s, fake, rng, events, anchor)
    except IntegrityError:
        raise AlreadySeeded(f"the store already holds seed {seed}'s records; reset it or pick another seed") from None
    with _bulk_load(store, events >= BULK_THRESHOLD):
        writer = _Writer(store)
        batch: list[dict[str, Any]] = []
        for ev in _events(rng, fake, habits, anchor, events):
            batch.append(ev)
            if len(batch) >= BATCH:
                writer.flush(batch, progress)
        writer.flush(batch, progress)
    with store.session() as s:
        return {"counts": counts(s), "tokens": tokens}


def _arrange_all(s: Session, fake: Faker, rng: random.Random, events: int,
                 anchor: datetime) -> tuple[list[Habit], list[ApiToken]]:
    """People, tenants, credentials, and one demo token of every kind of every vendor."""
    habits = _arrange(s, fake, rng, _people_count(events), anchor)
    admin = habits[0].credential_id
    tokens = []
    for vendor in VENDORS:
        for kind, spec in vendor.module.TOKEN_KINDS.items():
            tokens.append(issue_token(s, vendor=vendor.name, kind=kind, secret=spec.mint(rng),
                                      grants=list(spec.grants), label=f"demo {kind}",
                                      credential_id=admin if spec.needs_credential else None))
    return habits, tokens


@contextmanager
def _bulk_load(store: Store, big: bool) -> Iterator[None]:
    """For a big seed, drop the event table's secondary indexes, build them once at the end and
    gather planner statistics: random-time inserts into four B-trees cost more than the rows
    themselves (147 s -> ~28 s for 1M on SQLite). Only the CLI seeds this much; queries during the
    load would scan."""
    indexes = indexes_on(events_table, store.engine.dialect.name) if big else []
    with store.engine.begin() as conn:
        for index in indexes:
            index.drop(conn)
    try:
        yield
    finally:
        with store.engine.begin() as conn:
            for index in indexes:
                index.create(conn)
            analyze(conn)


class _Writer:
    """One prepared INSERT, executemany'd on the driver with the columns' own bind processors applied
    once per value (the same values SQLAlchemy would send, without its per-row statement machinery)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        dialect = store.engine.dialect
        columns = [c for c in events_table.c if c.name != "id"]
        self.compiled = insert(events_table).compile(dialect=dialect, column_keys=[c.name for c in columns])
        self.sql = str(self.compiled)
        self.names = list(self.compiled.positiontup or []) if self.compiled.positional \
            else [c.name for c in columns]
        processors = {c.name: c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns}
        self.processors = [(name, processors.get(name)) for name in self.names]

    def flush(self, batch: list[dict[str, Any]], progress: Callable[[int], None] | None) -> None:
        if not batch:
            return
        rows: list[Any]
        if self.compiled.positional:
            rows = [tuple(p(ev[n]) if p else ev[n] for n, p in self.processors) for ev in batch]
        else:
            rows = [{n: p(ev[n]) if p else ev[n] for n, p in self.processors} for ev in batch]
        with self.store.engine.begin() as conn:
            conn.exec_driver_sql(self.sql, rows)
            bump_generation(conn)
        if progress:
            progress(len(batch))
        batch.clear()
