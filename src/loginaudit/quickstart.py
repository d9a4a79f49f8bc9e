"""How to call each vendor right now: its credentials in the store and a ready curl line.

The `serve` banner and the landing page show the same facts. A vendor module may define
`example_call(root, token, session) -> str` for its admin credential (the call differs per vendor:
Ingedata exchanges its key for a JWT first, SSOJet needs a user id and client_id); the rest comes
from the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from .registry import VENDORS, Vendor
from .storage import clock
from .storage.models import ApiToken
from .storage.records import counts, tokens


@dataclass
class VendorCard:
    vendor: Vendor
    credentials: list[tuple[str, str]] = field(default_factory=list)  # (kind, how to present it)
    example: str | None = None


@dataclass
class StoreCard:
    counts: dict[str, int]
    now: datetime
    frozen: bool
    vendors: list[VendorCard]


def _presented(token: ApiToken) -> str:
    """The secret as the vendor wants it; a Basic password with its login name."""
    if token.kind.startswith("basic") and token.credential is not None:
        return f"{token.credential.login}:{token.secret}  (HTTP Basic user:password)"
    return token.secret


def card(session: Session, root: str) -> StoreCard:
    state = clock.describe(session)
    cards = []
    for vendor in VENDORS:
        mine = tokens(session, vendor.name)
        c = VendorCard(vendor, [(t.kind, _presented(t)) for t in mine])
        admin = next((t for t in mine if t.kind == vendor.module.ADMIN_TOKEN_KIND), None)
        example = getattr(vendor.module, "example_call", None)
        if admin is not None and example is not None:
            c.example = example(root, admin, session)
        cards.append(c)
    return StoreCard(counts(session), state["now"], bool(state["frozen"]), cards)


def banner_lines(store_card: StoreCard, root: str) -> list[str]:
    """Aligned columns: vendor, base URL and docs; each credential; then `try:` and a curl line."""
    width = max((len(kind) for c in store_card.vendors for kind, _ in c.credentials), default=8)
    lines = []
    for c in store_card.vendors:
        v = c.vendor
        lines += [f"  {v.name if api is v else '':<9} {root}{api.base_path:<40} docs: {root}{api.base_path}/ui/"
                  for api in v.apis]
        lines += [f"      {kind:<{width}}  {secret}" for kind, secret in c.credentials]
        if c.example:
            lines += [f"      try: {line}" if i == 0 else f"           {line}"
                      for i, line in enumerate(c.example.splitlines())]
    n = store_card.counts
    lines.append(f"  store: {n['tenants']} tenants, {n['people']} people, {n['credentials']} credentials, "
                 f"{n['login_events']:,} events; clock {store_card.now.isoformat(timespec='seconds')}"
                 + (" (frozen: DELETE /_loginaudit/clock runs it again)" if store_card.frozen else ""))
    return lines


def quote_sh(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
