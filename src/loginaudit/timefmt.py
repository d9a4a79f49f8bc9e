"""Wire formats for instants that more than one vendor uses."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_iso(text: str) -> datetime:
    """ISO 8601 with a `Z` or an offset, as the control plane and scenarios take it."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def iso_ms_z(at: datetime) -> str:
    """UTC with exactly three fractional digits and `Z`, as JavaScript's Date.toISOString() writes it."""
    utc = at.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
