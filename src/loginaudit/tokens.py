"""Vendor credentials: how each vendor's secrets look, and resolving a presented secret.

Vendor modules declare `TOKEN_KINDS` (their secret formats and default grants); the control plane
mints from them; security functions resolve what a caller presents.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from .registry import by_name
from .storage import clock, current
from .storage.models import ApiToken
from .storage.records import find_token, issue_token, usable


def hex_secret(rng: random.Random | None, nbytes: int) -> str:
    return rng.randbytes(nbytes).hex() if rng else secrets.token_hex(nbytes)


@dataclass(frozen=True)
class TokenKind:
    description: str
    mint: Callable[[random.Random | None], str]
    grants: tuple[str, ...] = ()
    needs_credential: bool = False


@dataclass(frozen=True)
class Principal:
    """Who a valid secret speaks for; `as_token_info` is what Connexion hands the handler."""

    token_id: int
    kind: str
    grants: tuple[str, ...]
    credential_id: int | None = None
    person_id: int | None = None
    tenant_id: int | None = None
    tenant_uuid: str | None = None  # Graph names tenants by uuid (homeTenantId)
    login: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_token_info(self) -> dict[str, Any]:
        return {"sub": self.login or f"token-{self.token_id}", "principal": self}


Status = Literal["valid", "expired", "unknown"]


_VALID: dict[tuple[str, str], tuple[float, Principal]] = {}
CACHE_SECONDS = 1.0


def resolve(vendor: str, secret: str) -> tuple[Status, Principal | None, datetime | None]:
    """(status, principal, expired_at) for a presented secret; revoked secrets are unknown.

    A valid secret without an expiry is remembered by this process for a second: the lookup (a
    joined query) was a third of a small request's cost. Secrets are never changed in place, only
    issued or removed by a reset, which clears this process's memory at once (other workers' within
    the second); unknown and expiring secrets are always looked up.
    """
    remembered = _VALID.get((vendor, secret))
    if remembered is not None and time.monotonic() - remembered[0] < CACHE_SECONDS:
        return "valid", remembered[1], None
    with current().session() as s:
        tok = find_token(s, vendor, secret)
        if tok is None or tok.revoked:
            return "unknown", None, None
        now = clock.now(s)
        if tok.expires_at is not None and tok.expires_at <= now:
            return "expired", None, tok.expires_at
        cred = tok.credential
        if cred is not None and not usable(cred, now):  # a switched-off login's secrets stop working
            return "unknown", None, None
        principal = Principal(
            token_id=tok.id, kind=tok.kind, grants=tuple(tok.grants or ()),
            credential_id=cred.id if cred else None, person_id=cred.person_id if cred else None,
            tenant_id=cred.tenant_id if cred else None, tenant_uuid=cred.tenant.uuid if cred else None,
            login=cred.login if cred else None,
        )
        if tok.expires_at is None and (cred is None or cred.expires_at is None):
            if len(_VALID) > 10_000:
                _VALID.clear()
            _VALID[(vendor, secret)] = (time.monotonic(), principal)
        return "valid", principal, None


def forget() -> None:
    """After a store reset: no secret is known any more."""
    _VALID.clear()


class TokenRequestError(ValueError):
    """A token asked for that the vendor does not have (unknown vendor or kind, missing credential)."""


def issue(session: Session, vendor: str, kind: str, *, credential_id: int | None = None, secret: str | None = None,
          grants: list[str] | None = None, label: str | None = None, expires_at: datetime | None = None) -> ApiToken:
    """Mint (or take) a secret in the vendor's format and store it; the control plane and scenarios use this."""
    try:
        module = by_name(vendor).module
    except KeyError:
        raise TokenRequestError(f"unknown vendor {vendor!r}") from None
    token_kind: TokenKind | None = module.TOKEN_KINDS.get(kind)
    if token_kind is None:
        raise TokenRequestError(f"unknown token kind {kind!r} for {vendor}; one of {sorted(module.TOKEN_KINDS)}")
    if token_kind.needs_credential and credential_id is None:
        raise TokenRequestError(f"a {vendor} {kind} token needs a credential_id")
    return issue_token(session, vendor=vendor, kind=kind, secret=secret or token_kind.mint(None),
                       grants=list(token_kind.grants) if grants is None else list(grants),
                       credential_id=credential_id, label=label, expires_at=expires_at)
