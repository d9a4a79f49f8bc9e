"""Wire formats for instants that more than one vendor uses, and the range the store keeps.

Python's datetime ends at years 1 and 9999: a time at the edge overflows when it is moved to UTC,
shifted into a time zone or has a retention window subtracted. The store therefore takes instants
from EARLIEST to LATEST only (a year of margin each side), and a vendor's query bound outside
Python's range is clamped to it (no stored instant lies beyond either end).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

EARLIEST = datetime(2, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
MIN_UTC = datetime.min.replace(tzinfo=UTC)
MAX_UTC = datetime.max.replace(tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # what QRadar's milliseconds and SSOJet's cursors count from


def parse_iso(text: str) -> datetime:
    """ISO 8601 as the control plane and scenarios take it: with a `Z` or an offset (none means
    UTC), inside the store's range; ValueError otherwise."""
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return storable(at)


def storable(at: datetime) -> datetime:
    """`at` in UTC when the store can keep it; ValueError naming the range otherwise."""
    utc = clamp_utc(at)
    if not EARLIEST <= utc <= LATEST:
        raise ValueError(f"{at.isoformat()} is outside the times the store keeps "
                         f"({EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}, UTC)")
    return utc


def clamp_utc(at: datetime) -> datetime:
    """An aware instant in UTC; one that lies past Python's last (or before its first) UTC instant
    becomes that instant, which sorts the same against every stored time."""
    try:
        return at.astimezone(UTC)
    except OverflowError:
        return MAX_UTC if at.year > 5000 else MIN_UTC


def iso_ms_z(at: datetime) -> str:
    """UTC with exactly three fractional digits and `Z`, as JavaScript's Date.toISOString() writes it
    (a year before 1000 padded to four digits, as it does: `0999-...`)."""
    utc = at if at.tzinfo is UTC else at.astimezone(UTC)
    return utc.isoformat(timespec="milliseconds")[:-6] + "Z"  # isoformat pads years; strftime would not


def iso_s_z(at: datetime) -> str:
    """UTC to the second with `Z`, as Microsoft Graph writes a sign-in's createdDateTime (.NET's
    round-trip form of a whole-second DateTimeOffset; the year four digits, as .NET writes it)."""
    return at.astimezone(UTC).isoformat(timespec="seconds")[:19] + "Z"


UTC_ZONE = ZoneInfo("UTC")  # the zone database's (ZoneInfo caches it: one object)
UTC_NAMES = ("UTC", "UCT")  # the zone abbreviations Rails's TimeWithZone#utc? answers true for


def local_iso_seconds(at: datetime, zone: tzinfo) -> str:
    """Local time in `zone` to the second with its offset: Rails's TimeWithZone#xmlschema of a time in the
    account's zone, as Canvas writes it (activesupport's time_with_zone.rb): `Z` only where the zone's
    abbreviation is UTC (`utc?`), so Europe/London in winter (GMT) is `+00:00`; an offset with seconds
    (local mean time before standard time, e.g. Denver's -06:59:56 before 1883) to the minute, as
    `formatted_offset` truncates it; the year four digits."""
    local = at if zone is UTC or zone is UTC_ZONE else at.astimezone(zone)
    text = local.isoformat(timespec="seconds")
    if len(text) > 25:  # ±HH:MM:SS after the 19 characters of the time
        text = text[:-3]
    return text[:-6] + "Z" if text.endswith("+00:00") and local.tzname() in UTC_NAMES else text


def ms_since_epoch(at: datetime) -> int:
    """Exact integer milliseconds since 1970, floored (floats lose the last digit on some instants)."""
    delta = at - EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def iso_ms_offset(at: datetime) -> str:
    """UTC with three fractional digits and `+00:00` (Python's isoformat; years padded to four)."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


def ruby_utc(at: datetime) -> str:
    """Ruby's Time#to_s of a UTC server's local time: `YYYY-MM-DD HH:MM:SS +0000` (the year four
    digits, as Ruby writes it)."""
    return at.astimezone(UTC).isoformat(sep=" ", timespec="seconds")[:19] + " +0000"


def go_rfc3339nano(at: datetime, digits: int = 3) -> str:
    """Go's RFC3339Nano of a UTC time kept to `digits` fraction digits: the fraction's trailing zeros
    trimmed, none at all on a whole second; the year four digits, as Go writes it."""
    utc = at.astimezone(UTC)
    base = utc.isoformat(timespec="seconds")[:19]
    fraction = f"{utc.microsecond:06d}"[:digits].rstrip("0")
    return f"{base}.{fraction}Z" if fraction else f"{base}Z"
